import { extractAll, extractFile, listPackage, statFile } from '@electron/asar';
import { fork, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import builderConfig from '../../electron-builder.config';
import { generateExtraction } from '../../src-server/directory/generate';
import type { FromNode } from '../../src-server/node-process';
import { buildDesktop, projectRoot } from '../helpers/desktop-build';
import { testDataKey } from '../helpers/data-key';
import { tempDir } from '../helpers/node';

/**
 * The installers' configuration, checked offline: `electron-builder --linux dir` packages the electron-vite build
 * against a stand-in Electron (a script named `electron`: no Electron can be downloaded here), and the packaged
 * layout is what the app needs: app.asar with the build, the node's resources and its production dependencies only;
 * better-sqlite3's native module unpacked beside it; the node's entry starting from the packaged files.
 * Fuses are not flipped here (the stand-in has no fuse sentinel), and native modules are not rebuilt for Electron's
 * ABI (that needs the network): both happen in `npm run dist`.
 */

const work = tempDir('liaison-package-');
let outDir: string;
let appDir: string;
let archive: string;
let files: string[];

beforeAll(() => {
  outDir = buildDesktop('package-');
  const electronDist = join(work, 'electron-dist');
  mkdirSync(electronDist);
  writeFileSync(join(electronDist, 'electron'), '#!/bin/sh\necho "stand-in for Electron"\n');
  chmodSync(join(electronDist, 'electron'), 0o755);
  const electronVersion = (JSON.parse(readFileSync(join(projectRoot, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;
  const config = {
    ...builderConfig,
    // The build under test instead of out/ (which `npm start` and other tests use).
    files: [...(builderConfig.files as string[]).filter((pattern) => pattern !== 'out/**'), { from: outDir, to: 'out' }],
    directories: { ...builderConfig.directories, output: join(work, 'dist') },
    electronDist,
    electronVersion,
    npmRebuild: false,
    electronFuses: null,
  };
  writeFileSync(join(work, 'electron-builder.json'), JSON.stringify(config));
  const result = spawnSync('npx', ['electron-builder', '--linux', 'dir', '--config', join(work, 'electron-builder.json')], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, CSC_IDENTITY_AUTO_DISCOVERY: 'false', ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
  });
  if (result.status !== 0) throw new Error(`electron-builder failed:\n${result.stdout}\n${result.stderr}`);
  appDir = join(work, 'dist/linux-unpacked');
  archive = join(appDir, 'resources/app.asar');
  files = listPackage(archive, { isPack: false }).map((file) => file.replaceAll('\\', '/').replace(/^\//, ''));
}, 180_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('electron-builder --linux dir', () => {
  it('lays out the executable and the archive', () => {
    expect(statSync(join(appDir, 'liaison')).mode & 0o111).not.toBe(0);
    expect(existsSync(archive)).toBe(true);
    const packaged = JSON.parse(extractFile(archive, 'package.json').toString()) as { main: string; version: string };
    expect(packaged.main).toBe('out/main/index.js');
    expect(packaged.version).toBe(projectVersion());
  });

  it("packs the main process, the node entry and its threads' modules, the preload, the renderer, the node resources and the icons", () => {
    for (const file of [
      'package.json',
      'out/main/index.js',
      'out/main/node-process.js',
      'out/main/text-worker.js',
      'out/main/backup-worker.js',
      'out/main/directory-worker.js',
      'out/preload/index.cjs',
      'out/renderer/index.html',
      'resources/fhir/stu3-model.json',
      'resources/fhir/search-parameters.json',
      'resources/fhir/compartments/CompartmentDefinition-patient.json',
      'resources/liaison/search-parameters.json',
      'resources/default-settings.json',
      'resources/build/icon.png',
      'resources/build/tray.png',
    ]) {
      expect(files, file).toContain(file);
    }
  });

  it('leaves out sources, tests, dev tools and CLI-only packages', () => {
    const forbidden = [/^src-(server|main|renderer)\//, /^tests\//, /^bench\//, /^node_modules\/(electron|vitest|vite|typescript|electron-builder|tsx|esbuild|@esbuild|commander)\//, /^node_modules\/better-sqlite3\/(deps|src)\//, /\.a$/];
    expect(files.filter((file) => forbidden.some((pattern) => pattern.test(file)))).toEqual([]);
  });

  it('unpacks the better-sqlite3 native module next to the archive', () => {
    const nativeModule = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    expect(statFile(archive, nativeModule)).toMatchObject({ unpacked: true });
    expect(statSync(join(appDir, 'resources/app.asar.unpacked', nativeModule)).size).toBeGreaterThan(100_000);
  });

  it('packs every package the built code imports', () => {
    const built = readdirSync(join(outDir, 'main')).map((file) => readFileSync(join(outDir, 'main', file), 'utf8'));
    // ES imports of the bundles, and require() calls of the CommonJS code bundled into them.
    const pattern = /^import\s[^;]*?from\s*"([^"]+)"|__require\("([^"]+)"\)/gm;
    const specifiers = new Set(built.flatMap((code) => [...code.matchAll(pattern)].map((match) => match[1] ?? match[2])));
    const packages = [...specifiers]
      .filter((name) => !name.startsWith('.') && !name.startsWith('node:') && !builtinModules.includes(name) && name !== 'electron')
      .map((name) => name.split('/').slice(0, name.startsWith('@') ? 2 : 1).join('/'));
    expect(packages).toEqual(expect.arrayContaining(['fastify', 'better-sqlite3', 'fhirpath']));
    for (const name of packages) expect(files, name).toContain(`node_modules/${name}/package.json`);
  });

  it('starts the node from the packaged files alone', { timeout: 150_000 }, async () => {
    const extracted = join(work, 'extracted');
    extractAll(archive, extracted);
    const dataDir = join(work, 'data');
    const child = fork(join(extracted, 'out/main/node-process.js'), ['--data', dataDir, '--app-root', extracted], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<FromNode>((resolve, reject) => {
      // The node asks first for the folder's key, as the main process answers it (never in argv or env).
      child.on('message', (message: FromNode) => {
        if (message.type === 'key-needed') child.send({ type: 'key', key: testDataKey(dataDir).toString('hex') });
        else resolve(message);
      });
      child.once('exit', (code) => reject(new Error(`the packaged node exited with ${code}`)));
    });
    expect(ready, JSON.stringify(ready)).toMatchObject({ type: 'ready' });
    if (ready.type !== 'ready') return;
    const health = await fetch(`${ready.url}/health`);
    expect(await health.json()).toMatchObject({ status: 'ok', version: projectVersion() });
    // The text index thread starts from its own bundled file, with the app's resources.
    const text = await vi.waitFor(
      async () => {
        const health = ((await (await fetch(`${ready.url}/health`)).json()) as { textIndex: { ready?: boolean } }).textIndex;
        expect(health.ready).toBe(true);
        return health;
      },
      { timeout: 60_000, interval: 50 },
    );
    expect(text).toMatchObject({ ready: true, startedFrom: 'rebuild' });
    // So does the directory import's thread.
    const admin = { authorization: `Bearer ${ready.access.token}` };
    const files = generateExtraction(work, { lines: 50, seed: 5 });
    const started = await fetch(`${ready.url}/admin/directory/imports`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ path: files.activityFile }) });
    expect(started.status).toBe(202);
    const job = await vi.waitFor(
      async () => {
        const state = (await (await fetch(`${ready.url}${started.headers.get('location')}`, { headers: admin })).json()) as { status?: string; error?: string; report?: { lines: { accepted: number } } };
        expect(state.status).not.toBe('running');
        return state;
      },
      { timeout: 60_000, interval: 50 },
    );
    expect(job).toMatchObject({ status: 'done', report: { lines: { accepted: 50 } } });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send({ type: 'stop' });
    expect(await exited).toBe(0);
  });
});

describe('the installers configuration', () => {
  it('targets NSIS, dmg with the hardened runtime, AppImage and deb, without an update feed by default', () => {
    const targets = (platform: 'win' | 'mac' | 'linux') => (builderConfig[platform]?.target as { target: string }[]).map((entry) => entry.target);
    expect(targets('win')).toEqual(['nsis']);
    expect(targets('mac')).toEqual(['dmg']);
    expect(targets('linux')).toEqual(['AppImage', 'deb']);
    expect(builderConfig.mac?.hardenedRuntime).toBe(true);
    expect(builderConfig.appId).toBe('fr.liaison.desktop');
    if (!process.env.LIAISON_UPDATE_URL) expect(builderConfig.publish).toBeNull();
  });

  it('flips the Electron fuses of the security checklist', () => {
    expect(builderConfig.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });
});

function projectVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
