import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testKeyFile } from './data-key';
import { MAX_RATE_LIMIT } from '../../src-server/auth/clients';

/**
 * The real `liaison` command run as a child process (`node bin/liaison.js ...`), for tests that need to exit or
 * kill a node the way a user or the OS would. Shared by the tests that need a real process; not a test file itself.
 */

export const LIAISON_BIN = fileURLToPath(new URL('../../bin/liaison.js', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI without waiting for it (a test that kills it midway). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [LIAISON_BIN, ...args], { cwd: PROJECT_ROOT, env: { ...cliEnv(args), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Runs the CLI to completion (it must exit by itself within `timeoutMs`); `input` is written to its standard input
 * (a password, a secret), `env` added to its environment.
 */
export function runCli(args: string[], timeoutMs = 60_000, { input, env }: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LIAISON_BIN, ...args], { cwd: PROJECT_ROOT, env: { ...cliEnv(args), ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`liaison ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface ServingNode {
  child: ChildProcess;
  url: string;
  fhir: string;
  token: string;
  /** Resolves when the process has exited (code, signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): { stdout: string; stderr: string };
}

/** Every child started here, so a test file's afterAll can make sure none outlives it. */
export const liveChildren = new Set<ChildProcess>();

/** SIGKILLs every child still running (for afterAll) and waits for them to be gone. */
export async function killAllChildren(): Promise<void> {
  await Promise.all(
    [...liveChildren].map(async (child) => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      }
      liveChildren.delete(child);
    }),
  );
}

/**
 * `liaison serve --data <dir> --port 0 [extraArgs]` as a child: waits for the `listening on http://...` line, then gets an
 * owner token with the credentials the node wrote to `<dir>/owner-client.json`.
 */
export async function serve(dataDir: string, timeoutMs = 60_000, extraArgs: readonly string[] = [], { keyFile }: { keyFile?: string } = {}): Promise<ServingNode> {
  const child = spawn(process.execPath, [LIAISON_BIN, 'serve', '--data', dataDir, '--port', '0', ...extraArgs], {
    cwd: PROJECT_ROOT,
    // The folder's test key, unless it has a key of its own (a benchmark's prepared folder).
    env: { ...cliEnv(['--data', dataDir]), ...(keyFile ? { LIAISON_KEY_FILE: keyFile } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolve({ code, signal });
    });
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`liaison serve did not start within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    const onData = () => {
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', onData);
    // `exited` only resolves.
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`liaison serve exited (code ${code}, signal ${signal}) before listening\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
  if (!url.startsWith('http://127.0.0.1:')) {
    child.kill('SIGKILL');
    throw new Error(`liaison serve listens on ${url}, not on 127.0.0.1`);
  }
  const credentials = JSON.parse(readFileSync(join(dataDir, 'owner-client.json'), 'utf8')) as { client_id: string; client_secret: string };
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...credentials }),
  });
  if (response.status !== 200) throw new Error(`POST /oauth/token answered ${response.status}: ${await response.text()}`);
  const { access_token: token } = (await response.json()) as { access_token: string };
  // As startTestNode: the admin raises the owner's rate for tests and benches that call faster than 10 a second.
  const raised = await fetch(`${url}/admin/clients/${credentials.client_id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ rateLimit: MAX_RATE_LIMIT }),
  });
  if (raised.status !== 200) throw new Error(`PATCH /admin/clients answered ${raised.status}: ${await raised.text()}`);
  return { child, url, fhir: `${url}/fhir`, token, exited, output: () => ({ stdout, stderr }) };
}

/**
 * The environment of the children: ours, minus anything that would point them at another data directory, plus the key
 * file of the folder `--data` names (as an administrator's `LIAISON_KEY_FILE`).
 */
function cliEnv(args: readonly string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.LIAISON_DATA;
  delete env.NODE_OPTIONS;
  delete env.LIAISON_PASSPHRASE;
  const data = args.indexOf('--data');
  if (data >= 0 && args[data + 1]) env.LIAISON_KEY_FILE = testKeyFile(args[data + 1]);
  else delete env.LIAISON_KEY_FILE;
  return env;
}
