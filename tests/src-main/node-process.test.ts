import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NodeSupervisor } from '../../src-main/node-supervisor';
import type { NodeStatus } from '../../src-main/preload/bridge';
import { RestartPolicy } from '../../src-main/restart-policy';
import { buildDesktop, projectRoot } from '../helpers/desktop-build';
import { forkBuiltNode } from '../helpers/desktop-window';
import { fhirFetch, tempDir } from '../helpers/node';
import { desktopDataKey } from '../../src-main/desktop-data-key';
import { noPassphrase, standInKeychain } from '../helpers/data-key';

/**
 * The built node process (out/main/node-process.js, from src-server/node-process.ts) run as the desktop app runs it, with Node's
 * child_process.fork standing in for Electron's utilityProcess.fork (an IPC channel instead of process.parentPort),
 * under the real NodeSupervisor: per-launch token, crash and restart, graceful stop.
 */

let outDir: string;
const dataDir = tempDir('liaison-desktop-node-');
let children: ChildProcess[] = [];

let supervisor: NodeSupervisor;
const states: NodeStatus['state'][] = [];

beforeAll(() => {
  outDir = buildDesktop('node-process-');
  const forked = forkBuiltNode(outDir);
  children = forked.children;
  supervisor = new NodeSupervisor({
    spawn: forked.spawn,
    dataDir,
    // The desktop's key path, with a stand-in for the keychain (Electron's safeStorage cannot run here).
    dataKey: desktopDataKey(dataDir, standInKeychain(), noPassphrase),
    appRoot: projectRoot,
    corsOrigins: ['app://liaison'],
    // Any free port, not 8347: another node on this machine may take 8347 between the crash and the restart.
    port: 0,
    policy: new RestartPolicy({ initialDelayMs: 100, maxDelayMs: 1000, stableAfterMs: 60_000, maxFastCrashes: 3 }),
  });
  supervisor.onStatus((status) => states.push(status.state));
}, 120_000);

afterAll(async () => {
  await supervisor?.stop();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(outDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the node in its own process', () => {
  let patientId: string;
  let firstUrl: string;

  it('starts on 127.0.0.1 and answers the FHIR API with the per-launch token', async () => {
    supervisor.start();
    const { url, token, expiresAt } = await supervisor.access();
    firstUrl = url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(expiresAt).toBeGreaterThan(Date.now() + 30 * 60_000);
    const created = await fhirFetch(`${url}/fhir`, token, 'Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Lefèvre' }] } });
    expect(created.status).toBe(201);
    patientId = ((await created.json()) as { id: string }).id;
    expect((await fhirFetch(`${url}/fhir`, 'not-the-token', 'Patient')).status).toBe(401);
  });

  it('lets the window (app://liaison) call it cross-origin', async () => {
    const { url } = await supervisor.access();
    const preflight = await fetch(`${url}/fhir/Patient`, {
      method: 'OPTIONS',
      headers: { origin: 'app://liaison', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe('app://liaison');
    const other = await fetch(`${url}/health`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('is restarted on the same address after being killed, with its data and token intact', async () => {
    const { token } = await supervisor.access();
    const victim = children.at(-1)!;
    victim.kill('SIGKILL');
    await vi.waitFor(() => expect(supervisor.status.state).toBe('restarting'), { timeout: 15_000 });
    expect(supervisor.status).toMatchObject({ restarts: 1, message: 'the node process was killed' });
    const after = await supervisor.access();
    expect(children).toHaveLength(2);
    expect(after.url).toBe(firstUrl);
    const read = await fhirFetch(`${after.url}/fhir`, token, `Patient/${patientId}`);
    expect(read.status).toBe(200);
    expect(states).toEqual(['starting', 'running', 'restarting', 'restarting', 'running']);
  });

  it('stops gracefully: the process exits by itself and the database is checkpointed', async () => {
    const child = children.at(-1)!;
    await supervisor.stop();
    expect(child.exitCode).toBe(0);
    expect(supervisor.status.state).toBe('stopped');
    const wal = join(dataDir, 'liaison.db-wal');
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
  });
});
