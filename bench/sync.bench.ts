import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNode, DATABASE_FILE } from '../src-server/node';
import { openDatabase } from '../src-server/store/database';
import { MAX_RATE_LIMIT, setClientRateLimit } from '../src-server/auth/clients';
import { openRepository } from '../src-server/store/store';
import { killAllChildren, serve } from '../tests/helpers/child-node';
import { testDataKey, testDatabaseKey } from '../tests/helpers/data-key';
import { seedPatients } from './lib/patients';
import { positiveNumber } from './lib/settings';
import { sourceSettled, startSyncTiming } from './lib/sync-nodes';

/**
 * Sync between two real nodes on 127.0.0.1 (docs/sync.md), the source in a child process (`liaison serve`), the
 * receiving node in this one:
 * - initial sync: BENCH_SYNC_RESOURCES Patients (default 100,000) pulled by an empty node, resources per second
 *   from adding the peer to the last version stored (target ≥ 5,000/s), with the CPU seconds both nodes spent
 *   and the share of the machine other processes took meanwhile (a shared machine moves the wall-clock figure);
 * - push on write: BENCH_SYNC_EDITS single edits (default 100) made on the receiving node, each timed until the
 *   source serves it (target p95 ≤ 2 s).
 */

const resources = Math.floor(positiveNumber('BENCH_SYNC_RESOURCES', 100_000));
const edits = Math.floor(positiveNumber('BENCH_SYNC_EDITS', 100));
const log = (message: string) => process.stderr.write(`[sync] ${message}\n`);
const percentile = (values: number[], share: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * share))];
const round1 = (value: number) => Math.round(value * 10) / 10;

const sourceDir = mkdtempSync(join(tmpdir(), 'liaison-bench-sync-source-'));
const targetDir = mkdtempSync(join(tmpdir(), 'liaison-bench-sync-target-'));
try {
  log(`seeding ${resources} Patients on the source`);
  const patients = seedPatients(resources);
  // Encrypted under the key the source node is started with below (the folder's test key).
  const db = openDatabase(join(sourceDir, DATABASE_FILE), { key: testDatabaseKey(sourceDir) });
  // As a node opens it: the search index is marked current, so the source does not rebuild it as it starts.
  const repository = openRepository(db);
  for (let start = 0; start < patients.length; start += 5000) {
    repository.transaction(() => {
      for (const patient of patients.slice(start, start + 5000)) repository.create('Patient', patient, patient.id);
    });
  }
  db.close();

  const source = await serve(sourceDir, 120_000);
  // A source that has been running: its text index has caught up with its 100,000 Patients before anyone pulls.
  await sourceSettled(source.url, resources);
  const target = await startNode({ dataDir: targetDir, dataKey: testDataKey(targetDir), port: 0 });
  const owner = JSON.parse(readFileSync(join(sourceDir, 'owner-client.json'), 'utf8')) as { client_id: string; client_secret: string };
  // The bench measures sync, not the target's rate limit: its admin raises the owner's 10 calls a second, which the
  // edits below go past (each refused edit would have had no version to wait for).
  setClientRateLimit(target.db, (JSON.parse(readFileSync(target.ownerClientFile, 'utf8')) as { client_id: string }).client_id, MAX_RATE_LIMIT);
  const count = target.db.prepare<[], number>("SELECT count(*) FROM resource_versions WHERE resource_type = 'Patient'").pluck();

  log('initial sync');
  const stop = startSyncTiming(source.child.pid!);
  target.sync.peers.add({ name: 'source', url: source.url, clientId: owner.client_id, clientSecret: owner.client_secret });
  while ((count.get() as number) < resources) await new Promise((resolve) => setTimeout(resolve, 50));
  const timing = stop();
  const { seconds, cpuSecondsBothNodes } = timing;
  console.log(
    JSON.stringify({
      bench: 'sync',
      figure: 'initial sync',
      resources,
      resourcesPerSecond: Math.round(resources / seconds),
      target: 5000,
      ...timing,
      resourcesPerCpuSecond: cpuSecondsBothNodes ? Math.round(resources / cpuSecondsBothNodes) : undefined,
    }),
  );

  log(`${edits} single edits pushed on write`);
  const tokenResponse = await fetch(`${target.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(JSON.parse(readFileSync(target.ownerClientFile, 'utf8')) as Record<string, string>) }),
  });
  const targetToken = ((await tokenResponse.json()) as { access_token: string }).access_token;
  const latencies: number[] = [];
  for (let index = 0; index < edits; index++) {
    const patient = patients[(index * 7919) % patients.length];
    const edit = await fetch(`${target.url}/fhir/Patient/${patient.id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${targetToken}`, 'content-type': 'application/fhir+json' },
      // A new phone number: an everyday edit (a birth date would now contradict the patient's NIR, which the node refuses).
      body: JSON.stringify({ ...patient, telecom: [{ system: 'phone', value: `06 12 34 ${String(index % 100).padStart(2, '0')} ${String(index % 97).padStart(2, '0')}` }] }),
    });
    const edited = performance.now();
    if (!edit.ok) throw new Error(`the edit of Patient/${patient.id} answered ${edit.status}: ${await edit.text()}`);
    const etag = edit.headers.get('etag')!;
    for (;;) {
      const read = await fetch(`${source.fhir}/Patient/${patient.id}`, { headers: { authorization: `Bearer ${source.token}` } });
      await read.arrayBuffer();
      if (read.headers.get('etag') === etag) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    latencies.push(performance.now() - edited);
  }
  console.log(
    JSON.stringify({ bench: 'sync', figure: 'edit visible on the peer (push on write)', edits, p50Ms: round1(percentile(latencies, 0.5)), p95Ms: round1(percentile(latencies, 0.95)), maxMs: round1(Math.max(...latencies)), target: { p95Ms: 2000 } }),
  );
  await target.close();
} finally {
  await killAllChildren();
  rmSync(sourceDir, { recursive: true, force: true });
  rmSync(targetDir, { recursive: true, force: true });
}
