import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, type TestNode } from '../../helpers/node';
import { connect, eventually, peerClient, startSyncNodes, tokenFor, winnersOf } from '../../helpers/sync-nodes';
import { storeUnchecked } from '../../helpers/unchecked-write';

/**
 * The input limits and sync (docs/sync.md): a replicated version over a limit is kept aside and reported, never
 * dropped, and the peer that sent it goes on; versions within the limits travel whatever their size, in pages that
 * no receiver refuses for theirs.
 */

type Json = Record<string, any>;
const MiB = 1024 * 1024;

let nodes: TestNode[] = [];
beforeAll(async () => {
  nodes = await startSyncNodes(5);
});
afterAll(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
});

const lastSeq = (node: TestNode) => node.db.prepare('SELECT max(seq) FROM change_log').pluck().get() as number;

async function keptAside(node: TestNode): Promise<Json> {
  const response = await fetch(`${node.url}/admin/peers/kept-aside`, { headers: { authorization: `Bearer ${node.token}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
}

describe('a replicated version over a limit', () => {
  it('is kept aside and reported by the node that cannot store it, pushed or pulled, and the sender goes on', async () => {
    const [source, pushedTo, pulling] = nodes;
    // Stored by a node before the limits: a string of 2 MiB.
    const over = storeUnchecked(source.repository, { resourceType: 'Patient', id: 'over-limit', extension: [{ url: 'urn:liaison:note', valueString: 'x'.repeat(2 * MiB) }] });
    const after = source.repository.create('Patient', { resourceType: 'Patient', gender: 'other' });
    const pushPeer = connect(source, pushedTo);
    connect(pulling, source);
    await eventually(() => winnersOf(pushedTo).has(`Patient/${after.id}`) && winnersOf(pulling).has(`Patient/${after.id}`), 'both nodes have the Patient written after the one over the limit');

    for (const node of [pushedTo, pulling]) {
      expect(winnersOf(node).has('Patient/over-limit')).toBe(false);
      expect((await node.request('Patient/over-limit')).status).toBe(404);
      expect(await keptAside(node)).toEqual({
        total: 1,
        versions: [
          {
            versionId: over.versionId,
            resourceType: 'Patient',
            id: 'over-limit',
            origin: source.repository.nodeId,
            receivedFrom: source.repository.nodeId,
            reason: expect.stringMatching(/^Patient\.extension\[0\]\.valueString: a string may hold at most 1 MiB/),
            receivedAt: expect.any(String),
          },
        ],
      });
      const health = (await (await fetch(`${node.url}/health`)).json()) as Json;
      expect(health.sync).toEqual({ keptAside: 1 });
      expect(health.status).toBe('degraded');
      expect(health.problems).toContainEqual({ part: 'sync', reason: expect.stringMatching(/^1 replicated version is kept aside: this node cannot store them/) });
      // Kept, not dropped: tried again, it stays aside, since the time it came.
      const { receivedAt } = (await keptAside(node)).versions[0];
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(node.repository.retryDeferred()).toBe(0);
      expect(await keptAside(node)).toMatchObject({ total: 1, versions: [{ versionId: over.versionId, receivedAt }] });
    }
    // The sender is not stuck on it: its push went past, and nothing failed.
    const status = source.sync.peers.get(pushPeer);
    expect(status.pushCursor).toBe(lastSeq(source));
    expect(status.lastError).toBeUndefined();
    expect(source.repository.read('Patient', 'over-limit')?.versionId).toBe(over.versionId);
  });
});

describe('versions within the limits, however large', () => {
  /** A Patient of `strings` extensions of about 1 MiB each, as JSON text of exactly `bytes`. */
  function largePatient(strings: number, bytes: number): string {
    const head = '{"resourceType":"Patient","extension":[';
    const wrap = (value: string) => `{"url":"urn:liaison:test","valueString":"${value}"}`;
    const each = Math.floor((bytes - head.length - 2 - (strings - 1)) / strings) - wrap('').length;
    const values = Array.from({ length: strings }, () => 'x'.repeat(each));
    const short = bytes - (head.length + 2 + (strings - 1) + strings * wrap(values[0]).length);
    values[0] += 'x'.repeat(short);
    const text = `${head}${values.map(wrap).join(',')}]}`;
    expect(text.length).toBe(bytes);
    return text;
  }

  it('travel in pages of at most 32 MiB, or alone: a push is never refused for its size', { timeout: 90_000 }, async () => {
    const [source, receiver] = nodes.slice(3);
    const cursor = String(lastSeq(source) ?? 0);
    const ids: string[] = [];
    // Three of 12 MiB, more than one page holds, and one as large as a client may send: its stored JSON, with its
    // meta, makes a $replicate body over 32 MiB on its own.
    for (const text of [largePatient(12, 12 * MiB), largePatient(12, 12 * MiB), largePatient(12, 12 * MiB), largePatient(32, 32 * MiB)]) {
      const response = await source.request('Patient', { method: 'POST', body: text, headers: { 'content-type': 'application/fhir+json' } });
      expect(response.status).toBe(201);
      ids.push(((await response.json()) as Json).id);
    }

    // $changes cuts its pages by size too.
    let url: string | undefined = `$changes?cursor=${cursor}&_count=100`;
    const pages: string[][] = [];
    while (url) {
      const page = (await (await source.request(url)).json()) as Json;
      pages.push((page.entry ?? []).map((entry: Json) => entry.resource.id));
      url = page.link.find((link: Json) => link.relation === 'next')?.url;
    }
    expect(pages.filter((page) => page.length > 0)).toEqual([[ids[0], ids[1]], [ids[2]], [ids[3]]]);

    const peer = connect(source, receiver);
    await eventually(() => ids.every((id) => winnersOf(receiver).has(`Patient/${id}`)), 'the receiver has the four large Patients', 45_000);
    expect(source.sync.peers.get(peer).lastError).toBeUndefined();
    for (const id of ids) expect(receiver.repository.read('Patient', id)?.json).toBe(source.repository.read('Patient', id)?.json);
  });

  it('come in $replicate bodies of up to 64 MiB from peers only: another client is refused before its body is read', async () => {
    const [node] = nodes.slice(4);
    const body = `{"resourceType":"Bundle","type":"batch"${' '.repeat(40 * MiB)}}`;
    const app = await tokenFor(node, await peerClient(node, { scopes: ['PATIENT_CREATE', 'PATIENT_UPDATE'] }));
    // Not even JSON: read, it would be a 400.
    const refused = await fhirFetch(node.fhir, app, '$replicate', { method: 'POST', body: 'x'.repeat(40 * MiB), headers: { 'content-type': 'application/fhir+json' } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as Json).issue[0].diagnostics).toMatch(/SYNC/);
    const peer = await tokenFor(node, await peerClient(node, { scopes: ['SYNC', 'PATIENT_CREATE', 'PATIENT_UPDATE'] }));
    expect((await fhirFetch(node.fhir, peer, '$replicate', { method: 'POST', body, headers: { 'content-type': 'application/fhir+json' } })).status).toBe(200);
    const tooLarge = await fhirFetch(node.fhir, peer, '$replicate', { method: 'POST', body: `${body}${' '.repeat(24 * MiB + 1)}`, headers: { 'content-type': 'application/fhir+json' } });
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as Json).issue[0].diagnostics).toMatch(/larger than the 64 MiB/);
  });
});
