#!/usr/bin/env node
// `npm start`: the desktop app when an Electron runtime and a display are available; otherwise the node headless
// with the web UI, printing its URL (DESIGN §6). Extra arguments go to `liaison serve`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { chooseLaunchMode, electronInstalled } = await import('../src-main/launch-mode.ts');

const root = fileURLToPath(new URL('..', import.meta.url));
const path = (relative) => fileURLToPath(new URL(relative, `file://${root}/`));

function run(command, args) {
  const child = spawn(command, args, { stdio: 'inherit', cwd: root });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code) => process.exit(code ?? 1));
}

const launch = chooseLaunchMode({ electronInstalled: electronInstalled(root), platform: process.platform, env: process.env });
if (launch.mode === 'desktop') {
  run('npx', ['electron-vite', 'preview']);
} else {
  console.log(`Liaison: starting without the desktop window: ${launch.reason}.`);
  console.log('The node runs headless; open its web UI in a browser at the "Web UI" address below.');
  if (!existsSync(path('out/renderer/index.html'))) {
    console.log('Building the web UI (first start)…');
    const build = spawnSync('npx', ['electron-vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit', cwd: root });
    if (build.status !== 0) process.exit(build.status ?? 1);
  }
  run(process.execPath, [path('bin/liaison.js'), 'serve', ...process.argv.slice(2)]);
}
