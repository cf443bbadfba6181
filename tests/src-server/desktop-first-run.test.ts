import { fork, type ChildProcess } from 'node:child_process';
import { testDataKey } from '../helpers/data-key';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PORT, nodeArguments, type NodeArguments } from '../../src-server/node-arguments';
import type { FromNode } from '../../src-server/node-process';
import { buildDesktop, projectRoot } from '../helpers/desktop-build';
import { tempDir } from '../helpers/node';
import { portIsFree, takenPort } from '../helpers/ports';
import { ADMIN_PASSWORD, call, passwordLogin, setupBody } from '../helpers/setup';

/**
 * The node as the desktop app starts it (docs/desktop.md): the built `out/main/node-process.js` forked with the
 * arguments node-arguments.ts builds for the supervisor, on a fresh data folder, with no flag about logins. Its first
 * run must lead to a working login, and the office's software must find it through node.json.
 */

type Ready = Extract<FromNode, { type: 'ready' }>;

let outDir: string;
const folders: string[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  outDir = buildDesktop('first-run-');
}, 180_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(outDir, { recursive: true, force: true });
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** Forks the built entry as the supervisor would: its first message (ready or failed). */
async function startAsTheApp(options: Omit<NodeArguments, 'appRoot'>): Promise<{ child: ChildProcess; message: FromNode }> {
  const child = fork(join(outDir, 'main/node-process.js'), nodeArguments({ ...options, appRoot: projectRoot }), { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  children.push(child);
  const message = await new Promise<FromNode>((resolve, reject) => {
    // The node asks first for the folder's key, which the main process unwraps with the keychain and sends.
    child.on('message', (message: FromNode) => {
      if (message.type === 'key-needed') child.send({ type: 'key', key: testDataKey(options.dataDir).toString('hex') });
      else resolve(message);
    });
    child.once('exit', (code) => reject(new Error(`the node exited (${code}) before saying anything`)));
  });
  return { child, message };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send({ type: 'stop' });
  await exited;
}

const readNodeFile = (dataDir: string) => JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8')) as Record<string, any>;

describe('the desktop node on its first run', () => {
  const dataDir = tempDir('liaison-first-run-');
  folders.push(dataDir);
  let child: ChildProcess;
  let ready: Ready;

  it('starts on 127.0.0.1:8347 (or says which port it took instead) and hands the set-up code to the app', async () => {
    const free = await portIsFree(DEFAULT_PORT);
    const started = await startAsTheApp({ dataDir });
    child = started.child;
    expect(started.message.type, JSON.stringify(started.message)).toBe('ready');
    ready = started.message as Ready;
    expect(ready.preferredPort).toBe(DEFAULT_PORT);
    expect(ready.setupCode).toMatch(/^[\w-]{24}$/);
    if (free) {
      expect(ready.url).toBe(`http://127.0.0.1:${DEFAULT_PORT}`);
      expect(ready.portNote).toBeUndefined();
    } else {
      expect(ready.url).not.toBe(`http://127.0.0.1:${DEFAULT_PORT}`);
      expect(ready.portNote).toContain(`Port ${DEFAULT_PORT} is taken`);
    }
  });

  it('names itself in node.json (0600) for the practice software', () => {
    const file = join(dataDir, 'node.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readNodeFile(dataDir)).toMatchObject({
      fhirBaseUrl: `${ready.url}/fhir`,
      uiUrl: `${ready.url}/`,
      pid: child.pid,
      port: Number(new URL(ready.url).port),
      preferredPort: DEFAULT_PORT,
      setupCode: ready.setupCode,
      version: JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).version,
    });
    expect(Date.now() - Date.parse(readNodeFile(dataDir).startedAt)).toBeLessThan(120_000);
  });

  it('is set up with that code and lets its first admin log in, with no flag and no file edited by hand', async () => {
    expect(await (await fetch(`${ready.url}/auth/config`)).json()).toEqual({ provider: null, localAccounts: true, setup: true });
    const done = await call(ready.url, 'POST', '/setup', { json: setupBody(), setupCode: ready.setupCode });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    const { tokens } = await passwordLogin(ready.url, 'admin', ADMIN_PASSWORD);
    const me = await call(ready.url, 'GET', '/auth/me', { token: tokens!.access_token });
    expect(me.body).toMatchObject({ id: done.body.userId, displayName: 'Marie Curie', roles: ['admin', 'staff'], organizations: [done.body.organizationId] });
    expect(await (await fetch(`${ready.url}/auth/config`)).json()).toMatchObject({ setup: false });
    // The code is spent: node.json no longer carries it.
    expect(readNodeFile(dataDir).setupCode).toBeUndefined();
    expect(readNodeFile(dataDir).fhirBaseUrl).toBe(`${ready.url}/fhir`);
  });

  it('refuses a second node on the same folder, naming the running one', async () => {
    const second = await startAsTheApp({ dataDir, port: 0 });
    expect(second.message).toMatchObject({ type: 'failed', message: expect.stringContaining(`already served by a Liaison node at ${ready.url} (process ${child.pid})`) });
  });

  it('removes node.json when it stops cleanly, and starts again without a set-up code', async () => {
    await stop(child);
    expect(existsSync(join(dataDir, 'node.json'))).toBe(false);
    const again = await startAsTheApp({ dataDir, port: 0 });
    expect(again.message.type).toBe('ready');
    expect((again.message as Ready).setupCode).toBeUndefined();
    expect((await passwordLogin((again.message as Ready).url, 'admin', ADMIN_PASSWORD)).tokens).toBeDefined();
    await stop(again.child);
  });
});

describe('the desktop node when its port is taken', () => {
  it('takes another and says so in its ready message and in node.json; a restart after a crash keeps that address', async () => {
    const dataDir = tempDir('liaison-port-taken-');
    folders.push(dataDir);
    const taken = await takenPort();
    try {
      const { child, message } = await startAsTheApp({ dataDir, port: taken.port });
      const ready = message as Ready;
      expect(ready.type).toBe('ready');
      expect(ready.preferredPort).toBe(taken.port);
      const port = Number(new URL(ready.url).port);
      expect(port).not.toBe(taken.port);
      expect(ready.portNote).toContain(`Port ${taken.port} is taken`);
      expect(readNodeFile(dataDir)).toMatchObject({ port, preferredPort: taken.port, portNote: ready.portNote });

      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const restarted = await startAsTheApp({ dataDir, port: taken.port, previousPort: port });
      expect((restarted.message as Ready).url).toBe(ready.url);
      await stop(restarted.child);
    } finally {
      await taken.release();
    }
  });
});
