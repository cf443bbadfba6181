import type { Worker } from 'node:worker_threads';
import { coded } from '../../helpers/refusals';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WORD_CHARS } from '../../../src-server/fhir/search/text-fields';
import type { TextIndex } from '../../../src-server/text/text-index';
import { TextIndexer } from '../../../src-server/text/text-indexer';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';

/**
 * Issue 17: one resource must not take the text index down. A Patient whose city was one 200,000-letter word made
 * the index's thread die of memory, and with it every name, address and `_content` search (a 500 after a 30 s
 * hang) while `/health` said ok. Now a word is indexed on its first MAX_WORD_CHARS letters, a resource whose
 * indexing fails is left out and recorded, and a thread that stops anyway answers 503 until its replacement is ready.
 */

type Json = Record<string, any>;

const ids = (bundle: Json): string[] => (bundle.entry ?? []).map((entry: Json) => entry.resource.id).sort();
const latestSeq = (node: TestNode) => (node.db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq;
const caughtUp = (node: TestNode) => node.textIndex.caughtUp(latestSeq(node));
const health = async (node: TestNode) => (await (await fetch(`${node.url}/health`)).json()) as Json;
const admin = async (node: TestNode, path: string) => {
  const response = await fetch(`${node.url}/admin/${path}`, { headers: { authorization: `Bearer ${node.token}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
};
async function search(node: TestNode, path: string): Promise<Json> {
  const response = await node.request(path);
  expect(response.status, path.slice(0, 200)).toBe(200);
  return (await response.json()) as Json;
}
const patient = (id: string, family: string, extra: Json = {}) => ({ resourceType: 'Patient', id, name: [{ family, given: ['Test'] }], ...extra });
/** The thread itself, to stop it as the OS or V8 would (out of memory): the test reaches into the TextIndex. */
const threadOf = (textIndex: TextIndex) => (textIndex as unknown as { worker: Worker }).worker;

describe('a word too long for the index', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('is indexed on its first letters, and every other search goes on', async () => {
    // A 195 KiB request that only needs PATIENT_CREATE: one word of 200,000 letters as a city.
    const word = 'anticonstitutionnellement'.repeat(8000);
    expect((await node.request('Patient/durand', { method: 'PUT', json: patient('durand', 'Durand', { address: [{ city: 'Lyon' }] }) })).status).toBe(201);
    expect((await node.request('Patient/poison', { method: 'PUT', json: patient('poison', 'Poison', { address: [{ city: word }] }) })).status).toBe(201);
    expect((await node.request('Patient/after', { method: 'PUT', json: patient('after', 'Apres', { address: [{ city: 'Lyon' }] }) })).status).toBe(201);
    await caughtUp(node);

    expect(ids(await search(node, 'Patient?name=durand'))).toEqual(['durand']);
    expect(ids(await search(node, 'Patient?address=lyon'))).toEqual(['after', 'durand']);
    // Found by the beginning of its word, and by the whole word (a query is cut like the words it looks for).
    expect(ids(await search(node, 'Patient?address=anticonstitution'))).toEqual(['poison']);
    expect(ids(await search(node, `Patient?address=${word.slice(0, MAX_WORD_CHARS + 20)}`))).toEqual(['poison']);
    const whole = await node.request('Patient/_search', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ address: word }).toString() });
    expect(whole.status).toBe(200);
    expect(ids((await whole.json()) as Json)).toEqual(['poison']);

    const report = await health(node);
    expect(report.status).toBe('ok');
    expect(report.textIndex).toMatchObject({ ready: true, state: 'ready', restarts: 0, notIndexed: 0 });
  });

  it('refuses a query of more words than it intersects (400), and answers the next', async () => {
    const many = Array.from({ length: 40 }, (_, at) => `mot${at}`).join(' ');
    const response = await node.request(`Patient?name=${encodeURIComponent(many)}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as Json).issue[0].diagnostics).toContain('at most 32 words');
    expect(ids(await search(node, 'Patient?name=durand'))).toEqual(['durand']);
  });
});

describe('a resource whose indexing fails', () => {
  const dataDir = tempDir();
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ dataDir });
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('is left out and recorded, in /health and the admin API, and the index goes on', async () => {
    // A stored version the indexer cannot read (a damaged row: no write path makes one), written with its neighbours.
    node.repository.transaction(() => {
      node.repository.update('Patient', 'before', patient('before', 'Avant'));
      node.repository.update('Patient', 'damaged', patient('damaged', 'Abime'));
      const { vseq } = node.db.prepare("SELECT vseq FROM resources WHERE resource_type = 'Patient' AND resource_id = 'damaged'").get() as { vseq: number };
      node.db.prepare('UPDATE resource_versions SET body = ? WHERE vseq = ?').run('{"resourceType":"Patient","id":"damaged","name":[{"family":"Abi', vseq);
      node.repository.update('Patient', 'after', patient('after', 'Apres'));
    });
    await caughtUp(node);

    expect(ids(await search(node, 'Patient?name=avant'))).toEqual(['before']);
    expect(ids(await search(node, 'Patient?name=apres'))).toEqual(['after']);
    expect(ids(await search(node, 'Patient?name=test'))).toEqual(['after', 'before']);

    const report = await health(node);
    expect(report.textIndex).toMatchObject({ ready: true, notIndexed: 1 });
    const listed = await admin(node, 'text-index');
    expect(listed.notIndexedCount).toBe(1);
    expect(listed.notIndexed).toEqual([expect.objectContaining({ resourceType: 'Patient', id: 'damaged', reason: expect.stringContaining('SyntaxError') })]);
  });

  it('is left out by the next thread when it stopped the last one (the node gives it the version)', () => {
    const vseqOf = (id: string) => (node.db.prepare("SELECT vseq FROM resources WHERE resource_type = 'Patient' AND resource_id = ?").get(id) as { vseq: number }).vseq;
    const indexing = new Uint32Array(1);
    const indexer = new TextIndexer(node.db, 0, { indexing, fatal: new Map([[vseqOf('after'), 'out of memory']]) });
    while (indexer.applyNext().count > 0);
    expect(indexing[0]).toBe(0);
    expect(indexer.indexes.search('Patient', 'name', ['apres'], 10)).toEqual([]);
    expect(indexer.indexes.search('Patient', 'name', ['avant'], 10)).toEqual([vseqOf('before')]);
    expect(indexer.notIndexed.list().map(({ id, reason }) => [id, reason])).toEqual([
      ['damaged', expect.stringContaining('SyntaxError')],
      ['after', 'out of memory'],
    ]);
  });

  it('is still recorded after a restart, and leaves the record once a sound version is indexed', async () => {
    await node.close();
    node = await startTestNode({ dataDir });
    await caughtUp(node);
    expect((await node.textIndex.status()).startedFrom).toBe('snapshot');
    expect((await admin(node, 'text-index')).notIndexed).toEqual([expect.objectContaining({ id: 'damaged' })]);

    expect((await node.request('Patient/damaged', { method: 'PUT', json: patient('damaged', 'Repare') })).status).toBe(200);
    await caughtUp(node);
    expect(ids(await search(node, 'Patient?name=repare'))).toEqual(['damaged']);
    const listed = await admin(node, 'text-index');
    expect(listed.notIndexed).toEqual([]);
    expect(listed.status).toMatchObject({ state: 'ready', notIndexed: 0 });
  });
});

describe('a text index thread that stops', () => {
  const PATIENTS = 5000;
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('answers 503 with Retry-After within a second, says so in /health, and comes back with every change', async () => {
    const before = (await node.textIndex.status()).indexedSeq;
    node.repository.transaction(() => {
      for (let at = 0; at < PATIENTS; at++) node.repository.update('Patient', `p${at}`, patient(`p${at}`, `Famille${at}`));
    });
    // Stopped mid-run, once it has begun to index those changes.
    node.textIndex.changed();
    while ((await node.textIndex.status()).indexedSeq === before) await new Promise((resolve) => setTimeout(resolve, 1));
    await threadOf(node.textIndex).terminate();

    const started = performance.now();
    const refused = await node.request('Patient?name=famille1');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const outcome = (await refused.json()) as Json;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0]).toMatchObject({ severity: 'error', code: 'transient' });
    expect(coded(outcome)).toMatchObject({ code: 'text-index-not-ready', parameters: { seconds: Number(refused.headers.get('retry-after')) } });
    // Searches without text filters are not concerned.
    expect((await node.request('Patient?_id=p1')).status).toBe(200);

    const degraded = await health(node);
    expect(degraded.status).toBe('degraded');
    expect(degraded.reasons[0]).toContain('The text index thread stopped');
    expect(degraded.textIndex).toMatchObject({ ready: false, state: 'restarting' });

    await caughtUp(node);
    const page = await search(node, 'Patient?name=famille&_total=accurate&_count=1');
    expect(page.total).toBe(PATIENTS);
    expect(ids(await search(node, `Patient?name=famille${PATIENTS - 1}`))).toEqual([`p${PATIENTS - 1}`]);
    const recovered = await health(node);
    expect(recovered.status).toBe('ok');
    expect(recovered.reasons).toEqual([]);
    expect(recovered.textIndex).toMatchObject({ ready: true, state: 'ready', restarts: 1, notIndexed: 0 });
  }, 60_000);
});
