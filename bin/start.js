#!/usr/bin/env node
// `npm start`: the desktop app when an Electron runtime and a display are available; otherwise the node headless
// with the web UI, printing its URL (DESIGN §6). Extra arguments go to `liaison serve`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const path = (relative) => fileURLToPath(new URL(relative, `file://${root}/`));

function electronRuntime() {
  try {
    const binary = readFileSync(path('node_modules/electron/path.txt'), 'utf8');
    return existsSync(path(`node_modules/electron/dist/${binary}`));
  } catch {
    return false;
  }
}

const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);

function run(command, args) {
  const child = spawn(command, args, { stdio: 'inherit', cwd: root });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code) => process.exit(code ?? 1));
}

if (electronRuntime() && hasDisplay) {
  run('npx', ['electron-vite', 'preview']);
} else {
  console.log(
    electronRuntime()
      ? 'No display found: starting the Liaison node headless with its web UI.'
      : 'No Electron runtime installed (see README): starting the Liaison node headless with its web UI.',
  );
  if (!existsSync(path('out/renderer/index.html'))) {
    console.log('Building the web UI (first start)…');
    const build = spawnSync('npx', ['electron-vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit', cwd: root });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
  run(process.execPath, [path('bin/liaison.js'), 'serve', ...process.argv.slice(2)]);
}
