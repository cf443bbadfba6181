import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEncryptedDatabase } from './lib/encrypted-database';
import { DEFAULT_TOTAL } from '../src-server/rest/interactions';
import { SearchEngine } from '../src-server/store/search/search';
import type { Db } from '../src-server/store/database';
import { Repository } from '../src-server/store/repository';
import { INDEX_TABLES } from '../src-server/store/search-index';
import { generateStore } from './lib/clinical';
import { backgroundLoad, cpuSnapshot } from './lib/machine';
import { capturingDb, inlineValues, queryPlan, type CapturedQuery } from './lib/query-capture';
import { percentiles, querySequence, searchShapes, TARGETS, type Shape } from './lib/search-shapes';
import { positiveNumber } from './lib/settings';

/**
 * Search on a large store, in-process: a realistically linked practice of BENCH_RESOURCES resources (Patients,
 * Encounters, Observations, Appointments, DocumentReferences, a few hundred Practitioners and Organizations; see
 * lib/clinical.ts) written through Repository.create (validation, versions, change log and search index rows),
 * then token, reference, date and chained searches through SearchEngine.search, first page of 20 with the total the
 * API answers by default (rest/interactions.ts DEFAULT_TOTAL: counted up to TOTAL_CAP).
 *
 * The store is encrypted as the node's is. Figures: ingest rate, database size and index rows per resource, and
 * p50/p95/max latency per query shape, each shape run BENCH_REPEATS times over varied values, before and after ANALYZE
 * (reported after, the state a node would be in if it ran ANALYZE), and after ANALYZE again with `_total=none` (what
 * the default count costs: `withoutTotal`). Shapes missing their target get their query plan printed (stderr, and in their
 * JSON line).
 *
 * Env: BENCH_RESOURCES (default 1000000; 100000 for a quick run), BENCH_REPEATS (queries per shape, default 200),
 * BENCH_SHAPE_SECONDS (time budget per shape and pass, default 60: a shape slower than that reports fewer samples),
 * BENCH_BATCH (resources per write transaction, default 1000), BENCH_SEED (default 11), BENCH_PLANS (1: print every
 * shape's SQL and plan, not only those of the shapes that miss), BENCH_SHAPES (only the shapes whose name contains it).
 */

const PAGE = 20;
const BASE = 'http://localhost/fhir';

const total = Math.floor(positiveNumber('BENCH_RESOURCES', 1_000_000));
const repeats = Math.floor(positiveNumber('BENCH_REPEATS', 200));
const shapeSeconds = positiveNumber('BENCH_SHAPE_SECONDS', 60);
const batchSize = Math.floor(positiveNumber('BENCH_BATCH', 1000));
const seed = Math.floor(positiveNumber('BENCH_SEED', 11));
const showPlans = process.env.BENCH_PLANS === '1';
const shapeFilter = process.env.BENCH_SHAPES;


const log = (message: string) => process.stderr.write(`[search] ${message}\n`);
const round2 = (value: number) => Math.round(value * 100) / 100;
const thousands = (value: number) => Math.round(value).toLocaleString('en-US');

interface Measured {
  samples: number[];
  /** Resources on the first pages, summed, and queries that found none. */
  matches: number;
  empty: number;
  /** The SQL of one more query of the shape, and its plan when the shape missed its target. */
  sample?: CapturedQuery;
  plan?: string[];
}

/** Lets signal handlers run between synchronous stretches of work (a Ctrl-C then cleans up without waiting). */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

async function measure(
  engine: SearchEngine,
  capture: { engine: SearchEngine; captured: CapturedQuery[] },
  shape: Shape,
  shapeIndex: number,
  defaultTotal: typeof DEFAULT_TOTAL | undefined = DEFAULT_TOTAL,
): Promise<Measured> {
  const next = querySequence(shape, shapeIndex, seed);
  const request = (engineToUse: SearchEngine) => {
    const params = new URLSearchParams({ ...next(), _count: String(PAGE) });
    return engineToUse.search({ resourceType: shape.resourceType, params, lenient: false, base: BASE, defaultTotal });
  };
  // Warm-up: statement compilation paths, the shape's index pages.
  for (let n = 0; n < 3; n++) request(engine);
  const measured: Measured = { samples: [], matches: 0, empty: 0 };
  const deadline = performance.now() + shapeSeconds * 1000;
  for (let n = 0; n < repeats && performance.now() < deadline; n++) {
    const started = performance.now();
    const result = request(engine);
    measured.samples.push(performance.now() - started);
    measured.matches += result.matches.length;
    if (result.matches.length === 0) measured.empty++;
    await breathe();
  }
  capture.captured.length = 0;
  request(capture.engine);
  measured.sample = capture.captured.find((query) => query.sql.includes('ORDER BY'));
  return measured;
}

// ---------------------------------------------------------------------------------------------------------------
// Run

const dir = mkdtempSync(join(tmpdir(), 'liaison-bench-search-'));
let db: Db | undefined;
const cleanUp = () => {
  try {
    db?.close();
  } catch {
    // closing is best effort on the way out
  }
  rmSync(dir, { recursive: true, force: true });
};
// Every way out (crashes included) removes the store; Ctrl-C and kill leave through 'exit' too.
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(130));
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});

const file = join(dir, 'liaison.db');
db = openEncryptedDatabase(file);
const repository = new Repository(db);
const engine = new SearchEngine(db, repository.searchIndex);
const capture = capturingDb(db);
const captureEngine = { engine: new SearchEngine(capture.db, repository.searchIndex), captured: capture.captured };
const store = generateStore(total, seed);
const { plan } = store.index;
log(
  `${thousands(total)} resources: ${thousands(plan.patients)} Patients, ${thousands(plan.encounters)} Encounters, ${thousands(plan.observations)} Observations, ` +
    `${thousands(plan.appointments)} Appointments, ${thousands(plan.documents)} DocumentReferences, ${plan.practitioners} Practitioners, ` +
    `${plan.organizations} Organizations; load average ${loadavg().map(round2).join(' ')}`,
);

// Ingest: Repository.create, the write path every REST create takes, in transactions of batchSize.
{
  const pids = [process.pid];
  const before = cpuSnapshot(pids);
  const started = performance.now();
  let written = 0;
  let lapStarted = started;
  let batch: Array<{ resourceType: string; id: string } & Record<string, unknown>> = [];
  const flush = () => {
    repository.transaction(() => {
      for (const resource of batch) repository.create(resource.resourceType, resource, resource.id);
    });
    written += batch.length;
    batch = [];
  };
  const progressEvery = Math.max(10_000, Math.min(100_000, Math.round(total / 10)));
  for (const resource of store.resources()) {
    batch.push(resource);
    if (batch.length === batchSize) {
      flush();
      await breathe();
    }
    if (written > 0 && written % progressEvery === 0 && batch.length === 0) {
      const now = performance.now();
      log(`ingested ${thousands(written)} (${thousands((progressEvery * 1000) / (now - lapStarted))} resources/s over the last ${thousands(progressEvery)})`);
      lapStarted = now;
    }
  }
  if (batch.length > 0) flush();
  const seconds = (performance.now() - started) / 1000;
  const background = backgroundLoad(before, cpuSnapshot(pids), availableParallelism());
  const value = Math.round(written / seconds);
  log(`ingested ${thousands(written)} resources in ${round2(seconds)} s: ${thousands(value)} resources/s`);
  console.log(
    JSON.stringify({
      benchmark: 'search.ingest',
      unit: 'resources/s',
      value,
      target: TARGETS.ingestPerSecond,
      meetsTarget: value >= TARGETS.ingestPerSecond,
      resources: written,
      seconds: round2(seconds),
      batch: batchSize,
      ...(background !== undefined ? { backgroundCpu: round2(background) } : {}),
    }),
  );
}

// Size: the main file once the WAL is folded in, and what takes the room.
{
  db.pragma('wal_checkpoint(TRUNCATE)');
  const bytes = statSync(file).size;
  const indexRows = Object.fromEntries(INDEX_TABLES.map((table) => [table, (db!.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n]));
  const rows = Object.values(indexRows).reduce((sum, count) => sum + count, 0);
  const objects = db
    .prepare<[], { name: string; bytes: number }>("SELECT name, sum(pgsize) AS bytes FROM dbstat WHERE aggregate = FALSE GROUP BY name ORDER BY bytes DESC")
    .all();
  const bytesByObject = Object.fromEntries(objects.map((object) => [object.name, round2(object.bytes / total)]));
  log(`database ${round2(bytes / 2 ** 20)} MiB, ${round2(bytes / total)} bytes and ${round2(rows / total)} index rows per resource`);
  console.log(
    JSON.stringify({
      benchmark: 'search.size',
      unit: 'bytes/resource',
      value: Math.round(bytes / total),
      databaseBytes: bytes,
      resources: total,
      indexRowsPerResource: round2(rows / total),
      indexRows,
      bytesPerResourceByTableOrIndex: bytesByObject,
    }),
  );
}

// Searches, before and after ANALYZE.
// Each shape keeps its index in the full list: its query sequence (and so its figures) does not depend on the filter.
const all = searchShapes(store.index)
  .map((shape, index) => ({ shape, index }))
  .filter(({ shape }) => !shapeFilter || shape.name.includes(shapeFilter));
const runShapes = async (label: string, defaultTotal?: typeof DEFAULT_TOTAL) => {
  const results = new Map<string, Measured>();
  for (const { shape, index } of all) {
    const measured = await measure(engine, captureEngine, shape, index, defaultTotal);
    results.set(shape.name, measured);
    const figures = percentiles(measured.samples);
    log(
      `${label} ${shape.name}: p50 ${figures.p50} ms, p95 ${figures.p95} ms, max ${figures.max} ms over ${measured.samples.length} queries ` +
        `(${round2(measured.matches / measured.samples.length)} on the first page, ${measured.empty} found nothing)`,
    );
    if ((figures.p95 > shape.targetMs || showPlans) && measured.sample) {
      measured.plan = queryPlan(db!, measured.sample);
      log(`  ${figures.p95 > shape.targetMs ? `misses ${shape.targetMs} ms` : 'meets its target'}; SQL:\n    ${inlineValues(measured.sample)}\n  plan:\n    ${measured.plan.join('\n    ')}`);
    }
  }
  return results;
};

const before = await runShapes('before ANALYZE', DEFAULT_TOTAL);
{
  const started = performance.now();
  db.exec('ANALYZE');
  log(`ANALYZE took ${round2((performance.now() - started) / 1000)} s`);
}
const after = await runShapes('after ANALYZE', DEFAULT_TOTAL);
// The same queries with `_total=none` (as the UI asks): what the default count costs each shape.
const withoutTotal = await runShapes('after ANALYZE, _total=none', undefined);

for (const { shape } of all) {
  const measured = after.get(shape.name)!;
  const figures = percentiles(measured.samples);
  const beforeFigures = percentiles(before.get(shape.name)!.samples);
  const meetsTarget = figures.p95 <= shape.targetMs;
  console.log(
    JSON.stringify({
      benchmark: shape.name,
      unit: 'ms',
      ...figures,
      target: shape.targetMs,
      meetsTarget,
      samples: measured.samples.length,
      meanFirstPage: round2(measured.matches / measured.samples.length),
      emptyResults: measured.empty,
      beforeAnalyze: beforeFigures,
      withoutTotal: percentiles(withoutTotal.get(shape.name)!.samples),
      resources: total,
      ...(measured.plan && !meetsTarget ? { plan: measured.plan } : {}),
      ...(before.get(shape.name)!.plan && !meetsTarget ? { planBeforeAnalyze: before.get(shape.name)!.plan } : {}),
    }),
  );
}
