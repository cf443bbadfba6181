import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SNAPSHOT_FOLDER } from '../../../src-server/text/text-index';
import { runCli } from '../../helpers/child-node';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';

/**
 * Issue 17: `liaison reindex --text` and the start-up rebuild succeed on a database holding a resource with a
 * one-word field of a megabyte (stored before words were bounded, or at the storage limit), and a search during
 * the rebuild answers 503 rather than some of the matches.
 */

type Json = Record<string, any>;

const dataDir = tempDir();
const PATIENTS = 5000;
const word = 'supercalifragilistic'.repeat(50_000); // 1,000,000 letters
let node: TestNode | undefined;

beforeAll(async () => {
  const writer = await startTestNode({ dataDir });
  writer.repository.transaction(() => {
    for (let at = 0; at < PATIENTS; at++) writer.repository.update('Patient', `p${at}`, { resourceType: 'Patient', name: [{ family: `Reconstruit${at}`, given: ['Rebuild'] }] });
    writer.repository.update('Patient', 'big', { resourceType: 'Patient', name: [{ family: 'Grand', given: ['Rebuild'] }], address: [{ city: word }] });
  });
  await writer.close();
}, 120_000);
afterAll(async () => {
  await node?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const latestSeq = (running: TestNode) => (running.db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq;
const ids = (bundle: Json): string[] => (bundle.entry ?? []).map((entry: Json) => entry.resource.id).sort();
async function search(running: TestNode, path: string): Promise<Json> {
  const response = await running.request(path);
  expect(response.status, path).toBe(200);
  return (await response.json()) as Json;
}

it('liaison reindex --text rebuilds it, and the node starts from that snapshot', async () => {
  const result = await runCli(['reindex', '--text', '--data', dataDir], 120_000);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toContain(`Text index rebuilt: ${PATIENTS + 1} changes.`);

  node = await startTestNode({ dataDir });
  await node.textIndex.caughtUp(latestSeq(node));
  expect((await node.textIndex.status()).startedFrom).toBe('snapshot');
  expect(ids(await search(node, 'Patient?address=supercalifrag'))).toEqual(['big']);
  expect((await search(node, 'Patient?name=rebuild&_total=accurate&_count=1')).total).toBe(PATIENTS + 1);
  await node.stop();
  node = undefined;
}, 150_000);

it('the start-up rebuild answers 503 or every match, never some of them, and ends with all', async () => {
  rmSync(join(dataDir, SNAPSHOT_FOLDER), { recursive: true, force: true });
  node = await startTestNode({ dataDir });
  const started = performance.now();
  const first = await node.request('Patient?name=rebuild&_total=accurate&_count=1');
  const took = performance.now() - started;
  if (first.status === 503) {
    expect(took).toBeLessThan(1000);
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await first.json()) as Json).resourceType).toBe('OperationOutcome');
  } else {
    expect(first.status).toBe(200);
    expect(((await first.json()) as Json).total).toBe(PATIENTS + 1);
  }

  await node.textIndex.caughtUp(latestSeq(node), 60_000);
  const status = await node.textIndex.status();
  expect(status).toMatchObject({ startedFrom: 'rebuild', state: 'ready', notIndexed: 0 });
  expect((await search(node, 'Patient?name=rebuild&_total=accurate&_count=1')).total).toBe(PATIENTS + 1);
  expect(ids(await search(node, 'Patient?address=supercalifrag'))).toEqual(['big']);
  const health = (await (await fetch(`${node.url}/health`)).json()) as Json;
  expect(health.status).toBe('ok');
}, 90_000);
