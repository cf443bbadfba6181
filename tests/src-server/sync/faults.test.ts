import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestNode } from '../../helpers/node';
import { PARENT_URL } from '../../../src-server/sync/protocol';
import { FaultyProxy } from '../../helpers/faulty-proxy';
import { converged, eventually, openConflictsOf, ownerCredentials, startSyncNodes, versionsOf, winnersOf } from '../../helpers/sync-nodes';

/**
 * Sync under the faults of a real network and real peers: replies lost after the peer committed, deliveries
 * duplicated and reordered, pages cut short, a peer down for a while, a skewed clock, an incompatible peer.
 * Each test links node a to node b through a real HTTP hop it breaks on purpose.
 */

type Json = Record<string, any>;

let started: Array<{ stop(): Promise<unknown> } | FaultyProxy> = [];
afterEach(async () => {
  await Promise.all(started.map((item) => (item instanceof FaultyProxy ? item.close() : item.stop())));
  started = [];
});

async function linked(): Promise<{ a: TestNode; b: TestNode; proxy: FaultyProxy; peerId: string }> {
  const [a, b] = await startSyncNodes(2);
  const proxy = await FaultyProxy.start(b.url);
  started.push(a, b, proxy);
  const peerId = a.sync.peers.add({ name: 'b', url: proxy.url, ...ownerCredentials(b) }).peerId;
  return { a, b, proxy, peerId };
}

async function createPatient(node: TestNode, family: string): Promise<Json> {
  const response = await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family }] } });
  expect(response.status).toBe(201);
  return (await response.json()) as Json;
}

/** Change-log entries of a version on a node: 1 when it was stored once. */
function timesStored(node: TestNode, versionId: string): number {
  return (node.db.prepare('SELECT count(*) AS n FROM change_log c JOIN resource_versions v ON v.vseq = c.vseq WHERE v.version_id = ?').get(versionId) as { n: number }).n;
}

async function changesOf(node: TestNode): Promise<Json[]> {
  return ((await (await node.request('$changes?_count=1000')).json()) as Json).entry ?? [];
}

async function replicate(node: TestNode, entries: Json[]): Promise<string[]> {
  const response = await node.request('$replicate', { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: entries } });
  expect(response.status).toBe(200);
  return ((await response.json()) as Json).entry.map((entry: Json) => entry.extension[0].valueCode);
}

describe('sync faults', () => {
  it('re-sends a push whose reply was lost after the peer committed, and the peer stores it once', async () => {
    const { a, b, proxy, peerId } = await linked();
    proxy.failNext('lose-reply', /\$replicate/);
    const patient = await createPatient(a, 'Perdu');
    await eventually(() => a.sync.peers.get(peerId).pushCursor >= (a.db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq, 'a has pushed everything');
    expect(proxy.unfired).toBe(0);
    expect(timesStored(b, patient.meta.versionId)).toBe(1);
    expect(versionsOf(b).get(patient.meta.versionId)).toBe(versionsOf(a).get(patient.meta.versionId));
  });

  it('stores duplicated and reordered deliveries once, with the same winners and conflicts as in order', async () => {
    const [source, target] = await startSyncNodes(2);
    started.push(source, target);
    // A history with a conflict: two concurrent children of one version, one archived, then an edit of one branch.
    const patient = await createPatient(source, 'Ordre');
    const child = (family: string, extra: Json = {}) => ({ ...patient, name: [{ family }], ...extra });
    const entries = await changesOf(source);
    const root = entries[0];
    const versions = [root];
    for (const [family, extra] of [['Branche', {}], ['Archive', { active: false }]] as const) {
      const resource = { ...child(family, extra), meta: { versionId: `${family.toLowerCase()}-1`, lastUpdated: new Date().toISOString() } };
      versions.push({ ...root, resource, extension: [{ url: PARENT_URL, valueString: patient.meta.versionId }, ...root.extension] });
    }
    const inOrder = await replicate(source, versions.slice(1));
    // The first child fast-forwards; the second, concurrent with it, opens the conflict.
    expect(inOrder).toEqual(['created', 'conflict']);

    const all = await changesOf(source);
    expect(await replicate(target, [...all].reverse())).toEqual(['created', 'conflict', 'created']);
    expect(await replicate(target, all)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(versionsOf(target)).toEqual(versionsOf(source));
    expect(winnersOf(target)).toEqual(winnersOf(source));
    expect(openConflictsOf(target)).toEqual([`Patient/${patient.id}`]);
    expect(openConflictsOf(source)).toEqual(openConflictsOf(target));
    // The live branch wins over the archived one on both.
    expect(winnersOf(target).get(`Patient/${patient.id}`)).toBe('branche-1');
  });

  it('stores a request delivered twice once', async () => {
    const { a, b, proxy } = await linked();
    proxy.failNext('duplicate', /\$replicate/);
    const patient = await createPatient(a, 'Double');
    await eventually(() => versionsOf(b).has(patient.meta.versionId), 'b has the patient');
    expect(proxy.unfired).toBe(0);
    expect(timesStored(b, patient.meta.versionId)).toBe(1);
  });

  it('fetches a page again when it was cut short, and loses nothing', async () => {
    const { a, b, proxy } = await linked();
    for (let index = 0; index < 250; index++) b.repository.create('Patient', { resourceType: 'Patient', name: [{ family: `Page${index}` }] });
    proxy.failNext('truncate', /\$changes\?cursor=(?!0&)/);
    await converged([a, b]);
    expect(proxy.unfired).toBe(0);
    for (const versionId of versionsOf(b).keys()) expect(timesStored(a, versionId)).toBe(1);
  });

  it('keeps working on both sides while the peer is down, says so, and catches up when it is back', async () => {
    const { a, b, proxy, peerId } = await linked();
    proxy.down = true;
    const onA = await createPatient(a, 'Hors-ligne');
    const onB = await createPatient(b, 'Isolé');
    await eventually(() => a.sync.peers.get(peerId).lastError?.includes('unreachable') ?? false, 'the peer is reported unreachable');
    expect(a.sync.peers.get(peerId).lastProblem).toBe('unreachable');
    expect(versionsOf(b).has(onA.meta.versionId)).toBe(false);
    proxy.down = false;
    await converged([a, b]);
    expect(versionsOf(a).has(onB.meta.versionId)).toBe(true);
    await eventually(() => a.sync.peers.get(peerId).lastError === undefined, 'the error is cleared');
    expect(a.sync.peers.get(peerId).lastProblem).toBeUndefined();
  });

  it('goes on syncing when the status of its peer cannot be saved (a full disk), and catches up once it can', async () => {
    const { a, b, proxy, peerId } = await linked();
    a.db.exec("CREATE TRIGGER full_disk BEFORE UPDATE ON sync_peers BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    proxy.down = true;
    const onA = await createPatient(a, 'Disque-plein');
    // The failures cannot be recorded: the loop must survive them, not end with an unhandled rejection.
    await eventually(() => proxy.cut >= 2, 'a has tried the peer twice');
    // Sync keeps its cursors in the same table, so it cannot advance until the disk has room again.
    proxy.down = false;
    a.db.exec('DROP TRIGGER full_disk');
    await eventually(() => versionsOf(b).has(onA.meta.versionId), 'b has what a wrote');
    await eventually(() => a.sync.peers.get(peerId).lastSyncAt !== undefined, 'a records its sync');
  });

  it('reports a peer whose clock is more than 5 minutes off, and still syncs', async () => {
    const { a, b, proxy, peerId } = await linked();
    proxy.rewrite = (path, body) => (path.includes('$handshake') ? body.replace(/"valueInstant":"([^"]+)"/, (_match, time: string) => `"valueInstant":"${new Date(Date.parse(time) + 10 * 60_000).toISOString()}"`) : body);
    const patient = await createPatient(b, 'Horloge');
    await eventually(() => versionsOf(a).has(patient.meta.versionId), 'a has the patient');
    const skew = a.sync.peers.get(peerId).clockSkewMs!;
    expect(skew).toBeGreaterThan(9 * 60_000);
    expect(skew).toBeLessThan(11 * 60_000);
  });

  it('closes at once while a call to a peer hangs', async () => {
    const [a] = await startSyncNodes(1);
    let calls = 0;
    const silent = createServer(() => calls++);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const peerId = a.sync.peers.add({ name: 'silent', url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, clientId: 'x', clientSecret: 'y' }).peerId;
      // Closed while its call is under way at the peer, never answered.
      await eventually(() => calls > 0, 'the node calls the silent peer');
      expect(a.sync.peers.get(peerId).lastSyncAt).toBeUndefined();
      const closing = performance.now();
      await a.stop();
      // The call would wait 30 s for its answer (peer-link.ts): closing must not, even on a loaded machine.
      expect(performance.now() - closing).toBeLessThan(15_000);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('says which kind of problem a peer has: wrong credentials are not an unreachable peer', async () => {
    const [a, b] = await startSyncNodes(2);
    started.push(a, b);
    const peerId = a.sync.peers.add({ name: 'b', url: b.url, clientId: ownerCredentials(b).clientId, clientSecret: 'not-the-secret' }).peerId;
    await eventually(() => a.sync.peers.get(peerId).lastError !== undefined, 'the refusal is reported');
    expect(a.sync.peers.get(peerId)).toMatchObject({ lastProblem: 'credentials', lastError: expect.stringMatching(/refused the token request/) });
  });

  it('says a peer served with a certificate this node does not trust is a certificate problem, not an unreachable peer', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'liaison-peer-cert-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(folder, 'key.pem'), '-out', join(folder, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const server = createHttpsServer({ key: readFileSync(join(folder, 'key.pem')), cert: readFileSync(join(folder, 'cert.pem')) }, (_request, response) => response.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const [a] = await startSyncNodes(1);
      started.push(a);
      const peerId = a.sync.peers.add({ name: 'self-signed', url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, clientId: 'liaison-a', clientSecret: 'secret' }).peerId;
      await eventually(() => a.sync.peers.get(peerId).lastError !== undefined, 'the refusal is reported');
      expect(a.sync.peers.get(peerId)).toMatchObject({ lastProblem: 'certificate', lastError: expect.stringMatching(/certificate this node does not trust.*SELF_SIGNED/) });
    } finally {
      server.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('refuses to sync with a peer of another protocol major version, with a clear error', async () => {
    const { a, b, proxy, peerId } = await linked();
    proxy.rewrite = (path, body) => (path.includes('$handshake') ? body.replace(/"name":"protocol","valueString":"[^"]+"/, '"name":"protocol","valueString":"2.0"') : body);
    const patient = await createPatient(b, 'Incompatible');
    await eventually(() => a.sync.peers.get(peerId).lastError?.includes('protocol 2.0') ?? false, 'the mismatch is reported');
    expect(a.sync.peers.get(peerId).lastError).toMatch(/upgrade the older node/);
    expect(a.sync.peers.get(peerId).lastProblem).toBe('protocol');
    expect(versionsOf(a).has(patient.meta.versionId)).toBe(false);
    expect(a.sync.peers.get(peerId).pullCursor).toBe('0');
  });
});
