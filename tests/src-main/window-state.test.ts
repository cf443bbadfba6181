import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW_STATE, readWindowState, restoreWindowState, writeWindowState } from '../../src-main/window-state';
import { tempDir } from '../helpers/node';

const laptop = { x: 0, y: 0, width: 1440, height: 870 };
const external = { x: 1440, y: 0, width: 2560, height: 1410 };

describe('restoreWindowState', () => {
  it('reopens the window where it was on a screen that is still there', () => {
    expect(restoreWindowState({ x: 1600, y: 100, width: 1400, height: 900, maximized: true }, [laptop, external])).toEqual({
      x: 1600,
      y: 100,
      width: 1400,
      height: 900,
      maximized: true,
    });
  });

  it('lets the system place a window whose screen is gone, and shrinks it to the screens left', () => {
    expect(restoreWindowState({ x: 1600, y: 100, width: 2000, height: 1200, maximized: false }, [laptop])).toEqual({ width: 1440, height: 870, maximized: false });
  });

  it('keeps a window whose title bar is barely reachable off, but one mostly off to the right on', () => {
    expect(restoreWindowState({ x: 1400, y: 10, width: 900, height: 600 }, [laptop])).not.toHaveProperty('x');
    expect(restoreWindowState({ x: 1300, y: 10, width: 900, height: 600 }, [laptop])).toMatchObject({ x: 1300, y: 10 });
  });

  it('falls back to defaults on missing or damaged state, and enforces the minimum size', () => {
    expect(restoreWindowState(undefined, [external])).toEqual(DEFAULT_WINDOW_STATE);
    expect(restoreWindowState('garbage', [external])).toEqual(DEFAULT_WINDOW_STATE);
    expect(restoreWindowState({ width: 'wide', height: Number.NaN, x: null, maximized: 'yes' }, [external])).toEqual(DEFAULT_WINDOW_STATE);
    expect(restoreWindowState({ width: 10, height: 10 }, [external])).toMatchObject({ width: 800, height: 560 });
  });
});

describe('window state file', () => {
  it('round-trips and reads a damaged file as nothing', () => {
    const dir = tempDir('liaison-window-');
    const file = join(dir, 'sub/window-state.json');
    expect(readWindowState(file)).toBeUndefined();
    writeWindowState(file, { x: 5, y: 6, width: 900, height: 700, maximized: false });
    expect(readWindowState(file)).toEqual({ x: 5, y: 6, width: 900, height: 700, maximized: false });
    writeFileSync(file, '{"width": 9');
    expect(readWindowState(file)).toBeUndefined();
    expect(() => readFileSync(`${file}.tmp`)).toThrow();
    rmSync(dir, { recursive: true, force: true });
  });
});
