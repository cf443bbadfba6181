import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/desktop-build';
import { tempDir } from '../helpers/node';

/**
 * `npm start` where Electron cannot run (here: no Electron binary, no display): it says why, starts the node
 * headless, prints the web UI's address, and that address answers.
 */

const dataDir = tempDir('liaison-start-');
const home = tempDir('liaison-home-');
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe('npm start without Electron', () => {
  it('starts the node headless, prints the web UI URL, and /health answers', async () => {
    // A newcomer's machine: no key named anywhere, a home of its own.
    const env = { ...process.env, HOME: home, LIAISON_KEY_FILE: undefined, LIAISON_PASSPHRASE: undefined, LIAISON_HEADLESS: undefined, DISPLAY: '', WAYLAND_DISPLAY: '' };
    child = spawn(process.execPath, [join(projectRoot, 'bin/start.js'), '--data', dataDir, '--port', '0'], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 90_000);
      child!.stdout!.on('data', () => {
        const match = /Web UI:\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child!.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
    });
    expect(output).toMatch(/starting without the desktop window: (no Electron runtime is installed|no graphical display was found)/);
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', fhirVersion: '3.0.1' });
    expect(existsSync(join(dataDir, 'liaison.db'))).toBe(true);
    // The data key was made in the user's home, outside the data folder, private, and the node said where.
    const keys = readdirSync(join(home, '.liaison', 'keys'));
    expect(keys).toHaveLength(1);
    expect(statSync(join(home, '.liaison', 'keys', keys[0])).mode & 0o777).toBe(0o600);
    expect(output).toContain(`The data key of ${dataDir} is in ${join(home, '.liaison', 'keys', keys[0])}`);
  }, 120_000);
});
