import { afterAll, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { fhirFetch, startTestNode, tempDir } from '../../helpers/node';
import { killAllChildren, runCli, serve } from '../../helpers/child-node';

/**
 * The text index follows the change log through a durable cursor: a node killed with `kill -9` while writes pour
 * in restarts from its last snapshot, replays what came after it, and ends with every current resource indexed
 * once and nothing stale — renamed patients are found under their new names only.
 */

type Json = Record<string, any>;
const dataDir = tempDir();

afterAll(async () => {
  await killAllChildren();
  rmSync(dataDir, { recursive: true, force: true });
});

const patient = (id: string, family: string) => ({ resourceType: 'Patient', id, name: [{ family, given: ['Curseur'] }] });

it('replays after a kill -9 from the snapshot cursor: each current resource indexed once, nothing stale', async () => {
  // 1. A clean run: 50 patients, then a clean stop, which writes the snapshot.
  const first = await startTestNode({ dataDir });
  for (let i = 0; i < 50; i++) expect((await first.request(`Patient/a${i}`, { method: 'PUT', json: patient(`a${i}`, `Avant${i}`) })).status).toBe(201);
  const latest = (first.db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq;
  await first.textIndex.caughtUp(latest);
  await first.close();

  // 2. A child node: renames of the snapshot's patients and new ones, killed while writes are still coming.
  const child = await serve(dataDir);
  const acknowledged = { renamed: new Set<number>(), created: new Set<number>() };
  let stop = false;
  const load = (async () => {
    for (let i = 0; !stop && i < 2000; i++) {
      const renaming = i < 50;
      const id = renaming ? `a${i}` : `b${i}`;
      const response = await fhirFetch(child.fhir, child.token, `Patient/${id}`, { method: 'PUT', json: patient(id, renaming ? `Apres${i}` : `Nouveau${i}`) }).catch(() => undefined);
      if (response?.ok) (renaming ? acknowledged.renamed : acknowledged.created).add(i);
    }
  })();
  while (acknowledged.created.size < 100) await new Promise((resolve) => setTimeout(resolve, 5));
  child.child.kill('SIGKILL');
  await child.exited;
  stop = true;
  await load;

  // 3. Restart: the snapshot loads, then the change log after its cursor replays.
  const node = await startTestNode({ dataDir });
  try {
    const total = (node.db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq;
    await node.textIndex.caughtUp(total);
    expect((await node.textIndex.status()).startedFrom).toBe('snapshot');
    const search = async (query: string) => ((await (await node.request(`Patient?${query}&_count=100&_total=accurate`)).json()) as Json);
    const stored = (node.db.prepare("SELECT count(*) AS n FROM resources WHERE resource_type = 'Patient'").get() as { n: number }).n;
    // Every current patient once: the word they all share finds each of them, no more.
    expect((await search('name=curseur')).total).toBe(stored);
    for (const i of acknowledged.renamed) {
      expect((await search(`name=apres${i}&_id=a${i}`)).total, `a${i} under its new name`).toBe(1);
      expect((await search(`name=avant${i}&_id=a${i}`)).total, `a${i} no longer under its old name`).toBe(0);
    }
    for (const i of acknowledged.created) expect((await search(`name=nouveau${i}&_id=b${i}`)).total, `b${i}`).toBe(1);
  } finally {
    await node.close();
  }
}, 120_000);

it('`liaison reindex --text` rebuilds the index with progress, and the next start loads it', async () => {
  const result = await runCli(['reindex', '--text', '--data', dataDir], 60_000);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toContain('Rebuilding the text index');
  expect(result.stdout).toMatch(/Text index rebuilt: \d+ changes\./);
  const node = await startTestNode({ dataDir });
  try {
    await node.textIndex.caughtUp(0);
    expect((await node.textIndex.status()).startedFrom).toBe('snapshot');
    const body = (await (await node.request('Patient?name=curseur&_summary=count')).json()) as Json;
    expect(body.total).toBe((node.db.prepare("SELECT count(*) AS n FROM resources WHERE resource_type = 'Patient'").get() as { n: number }).n);
  } finally {
    await node.close();
  }
}, 120_000);
