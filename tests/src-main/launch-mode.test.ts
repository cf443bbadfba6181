import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseLaunchMode, electronInstalled } from '../../src-main/launch-mode';
import { tempDir } from '../helpers/node';

describe('chooseLaunchMode', () => {
  it('opens the desktop app when Electron is installed and a display exists', () => {
    expect(chooseLaunchMode({ electronInstalled: true, platform: 'linux', env: { DISPLAY: ':0' } })).toEqual({ mode: 'desktop' });
    expect(chooseLaunchMode({ electronInstalled: true, platform: 'linux', env: { WAYLAND_DISPLAY: 'wayland-0' } })).toEqual({ mode: 'desktop' });
    expect(chooseLaunchMode({ electronInstalled: true, platform: 'win32', env: {} })).toEqual({ mode: 'desktop' });
    expect(chooseLaunchMode({ electronInstalled: true, platform: 'darwin', env: {} })).toEqual({ mode: 'desktop' });
  });

  it('falls back to the headless node, saying why', () => {
    expect(chooseLaunchMode({ electronInstalled: false, platform: 'win32', env: {} })).toMatchObject({ mode: 'headless', reason: expect.stringContaining('no Electron runtime') });
    expect(chooseLaunchMode({ electronInstalled: true, platform: 'linux', env: {} })).toMatchObject({ mode: 'headless', reason: expect.stringContaining('no graphical display') });
    expect(chooseLaunchMode({ electronInstalled: true, platform: 'linux', env: { DISPLAY: ':0', LIAISON_HEADLESS: '1' } })).toMatchObject({ mode: 'headless' });
  });
});

describe('electronInstalled', () => {
  it('needs both path.txt and the binary it names', () => {
    const root = tempDir('liaison-electron-');
    const pkg = join(root, 'node_modules/electron');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    expect(electronInstalled(root)).toBe(false);
    writeFileSync(join(pkg, 'path.txt'), 'electron');
    expect(electronInstalled(root)).toBe(false);
    writeFileSync(join(pkg, 'dist/electron'), '');
    expect(electronInstalled(root)).toBe(true);
    rmSync(root, { recursive: true, force: true });
  });
});
