import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/node';
import { keyEnv } from '../helpers/data-key';

/** The `liaison` command as a user runs it: a real process through bin/liaison.js. */

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

describe('liaison CLI', () => {
  it('is declared as the liaison bin and answers --help with its commands', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(pkg.bin.liaison).toBe('bin/liaison.js');
    const help = spawnSync('node', ['bin/liaison.js', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: liaison');
    expect(help.stdout).toMatch(/serve\s+.*headless/);
    const serveHelp = spawnSync('node', ['bin/liaison.js', 'serve', '--help'], { encoding: 'utf8' });
    for (const option of ['--data <dir>', '--host <host>', '--port <port>']) expect(serveHelp.stdout).toContain(option);
  });

  it('refuses unknown commands and bad ports with a message and a non-zero exit', () => {
    const unknown = spawnSync('node', ['bin/liaison.js', 'frobnicate'], { encoding: 'utf8' });
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const port = spawnSync('node', ['bin/liaison.js', 'serve', '--port', 'eighty'], { encoding: 'utf8' });
    expect(port.status).not.toBe(0);
    expect(port.stderr).toContain('a port is an integer');
  });

  it('serve starts the node on 127.0.0.1, prints its URL, serves FHIR, and stops cleanly on SIGTERM', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const child = spawn('node', ['bin/liaison.js', 'serve', '--data', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: keyEnv(dataDir) });
    children.push(child);
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${output}`)), 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match && output.includes('owner-client.json')) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    expect(output).toContain(`Data:      ${dataDir}`);
    const metadata = await fetch(`${url}/fhir/metadata`);
    expect(metadata.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
