import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { generateExtraction } from '../src-server/directory/generate';
import { importDirectoryFile } from '../src-server/directory/import';
import { SearchEngine } from '../src-server/store/search/search';
import { textMatchKey } from '../src-server/store/search/conditions';
import type { Db } from '../src-server/store/database';
import { openRepository } from '../src-server/store/store';
import { atRestKeysOf } from '../src-server/node';
import { defaultKeyFile } from '../src-server/data-key';
import { openFolderDatabase } from '../src-server/folder-access';
import { SNAPSHOT_FOLDER } from '../src-server/text/text-index';
import { loadSnapshot, saveSnapshot } from '../src-server/text/snapshot';
import { FlexIndexes } from '../src-server/text/flex-indexes';
import { queryTerms } from '../src-server/fhir/search/text-fields';
import { rebuildTextIndex } from '../src-server/text/rebuild';
import { TextIndexer } from '../src-server/text/text-indexer';
import { PublicApiIndexes } from './lib/flexsearch-public';
import { LatencyHistogram, runLoad } from './lib/load';
import { backgroundLoad, cpuSnapshot } from './lib/machine';
import { positiveNumber } from './lib/settings';
import { startServer } from './lib/server-process';

/**
 * The background text index at the national scale (issue 5): a generated directory of BENCH_LINES activity lines
 * (default 1,860,000) imported, then
 * - memory of the text index per entry (documents: Practitioners, Organizations, Patients), target ≤ 600 bytes: the
 *   growth of the V8 heap and of the memory kept outside it (typed arrays, buffers) while it is built, after a full GC;
 * - directory name search in-process (text index + SQL page), p95 target ≤ 5 ms;
 * - the same over HTTP with 16 connections, target ≥ 2,000 req/s with p99 ≤ 15 ms: with the default total, then
 *   with `_total=none`;
 * - cold start of a node holding the directory to its first search answered, target ≤ 5 s;
 * - index lag p95 while 100 writes/s arrive, target ≤ 250 ms.
 * Env: BENCH_LINES, BENCH_SECONDS (HTTP and lag runs, default 10), BENCH_QUERIES (in-process, default 2000),
 * BENCH_DATA (a data folder that already holds a directory and its text index snapshot, e.g. the national one from
 * `liaison directory import` then `liaison reindex --text`: used instead of generating and importing BENCH_LINES
 * lines, which then only labels the figures; memory is then that of the snapshot loaded as a node loads it, and the
 * lag run leaves its Patients in the folder), BENCH_PROFILE_DIR (a CPU profile of the node during the HTTP run, its
 * figure then slowed), BENCH_PUBLIC_API=1 (FlexSearch's public API weighed against it, below).
 */

const lines = Math.floor(positiveNumber('BENCH_LINES', 1_860_000));
const seconds = positiveNumber('BENCH_SECONDS', 10);
const queries = Math.floor(positiveNumber('BENCH_QUERIES', 2000));
const profileDir = process.env.BENCH_PROFILE_DIR ? resolve(process.env.BENCH_PROFILE_DIR) : undefined;
const log = (message: string) => process.stderr.write(`[text-index] ${message}\n`);
const figure = (name: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ bench: 'text-index', figure: name, value, unit, lines, ...extra }));
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/**
 * What the process's JavaScript holds once collected: the V8 heap (`heapUsed`) and, outside it, the memory of typed
 * arrays and buffers (`external`, which includes `arrayBuffers`: the index's key tables). SQLite's page cache is in
 * neither (it is not the index's).
 */
const memory = () => {
  gc();
  gc();
  const { heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed, outside: external, arrayBuffers };
};
const grown = (before: ReturnType<typeof memory>) => {
  const after = memory();
  const heap = after.heap - before.heap;
  const outside = after.outside - before.outside;
  return { bytes: heap + outside, heapMB: Math.round(heap / 1e6), outsideHeapMB: Math.round(outside / 1e6), arrayBuffersMB: Math.round((after.arrayBuffers - before.arrayBuffers) / 1e6) };
};

/** What people type: the start of a family name, of a given name, a city, or two of them. */
function queryMix(names: string[], cities: string[], count: number): string[] {
  let state = 7;
  const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
  const prefix = (word: string) => word.slice(0, 2 + Math.floor(random() * Math.max(1, word.length - 1)));
  const queries: string[] = [];
  while (queries.length < count) {
    const roll = random();
    const query = roll < 0.5 ? prefix(pick(names)) : roll < 0.8 ? `${pick(names)} ${prefix(pick(cities))}` : `${prefix(pick(names))} ${prefix(pick(names))}`;
    // As the UI does: nothing is searched before two letters are typed ("d'" of d'Almeida is one).
    if (queryTerms(query).join('').length >= 2) queries.push(query);
  }
  return queries;
}

/**
 * BENCH_PUBLIC_API=1: the same documents held by FlexSearch's public API alone (bench/lib/flexsearch-public.ts), to
 * weigh it against FlexIndexes: memory per entry counted the same way, the text index's share of a name search (no
 * SQL) for both, FlexSearch's export and import, and one removal after an import (which cannot restore the register,
 * so a removal walks every posting list).
 */
async function publicApiFigures(db: Db, ours: TextIndexer, mix: readonly string[], documents: number, folder: string): Promise<void> {
  const before = memory();
  const indexer = new TextIndexer(db);
  const indexes = new PublicApiIndexes();
  (indexer as unknown as { indexes: PublicApiIndexes }).indexes = indexes;
  while (indexer.applyNext().count > 0);
  const { bytes, ...parts } = grown(before);
  figure('public API: memory per entry', Math.round(bytes / documents), 'bytes', { documents, ...parts, target: 600 });
  for (const [name, search] of [
    ['FlexIndexes', (terms: string[]) => ours.indexes.search('Practitioner', 'name', terms, 10_000)],
    ['public API', (terms: string[]) => indexes.search('Practitioner', 'name', terms, 10_000)],
  ] as const) {
    const latencies = new LatencyHistogram();
    for (const query of mix) {
      const started = performance.now();
      search(queryTerms(query));
      latencies.record(performance.now() - started);
    }
    figure(`${name}: text part of a name search p95`, latencies.percentile(95), 'ms', { p50: latencies.percentile(50) });
  }
  let started = performance.now();
  const key = randomBytes(32);
  await saveSnapshot(folder, ours.indexes, { nodeId: 'bench', cursor: 0 }, key);
  const savedMs = performance.now() - started;
  started = performance.now();
  loadSnapshot(folder, new FlexIndexes(), 'bench', 0, key);
  const loadedMs = performance.now() - started;
  rmSync(folder, { recursive: true });
  figure('FlexIndexes: snapshot saved then loaded', Math.round(savedMs + loadedMs), 'ms', { savedMs: Math.round(savedMs), loadedMs: Math.round(loadedMs) });
  started = performance.now();
  const chunks = indexes.export();
  const exportMs = performance.now() - started;
  let exportedMB = 0;
  for (const own of chunks.values()) for (const [, data] of own) exportedMB += data.length / 1e6;
  const loaded = new PublicApiIndexes(false);
  started = performance.now();
  loaded.import(chunks);
  const importMs = performance.now() - started;
  figure('public API: exported then imported (in memory)', Math.round(exportMs + importMs), 'ms', { exportMs: Math.round(exportMs), importMs: Math.round(importMs), exportedMB: Math.round(exportedMB) });
  const vseq = db.prepare("SELECT vseq FROM resources WHERE resource_type = 'Practitioner' LIMIT 1").pluck().get() as number;
  started = performance.now();
  loaded.remove(vseq);
  figure('public API: one removal after import', Math.round((performance.now() - started) * 100) / 100, 'ms');
}

const givenData = process.env.BENCH_DATA;
const dir = givenData ?? mkdtempSync(join(tmpdir(), 'liaison-bench-text-'));
try {
  // Encrypted, as the node keeps it: the folder's key found as `liaison serve` finds it (for a generated folder, a key
  // file made in ~/.liaison/keys and removed at the end), and the node started below opens it with the same key.
  const db = await openFolderDatabase(dir);
  const repository = openRepository(db);
  if (!givenData) {
    log(`generating and importing ${lines.toLocaleString('en-US')} activity lines in ${dir}`);
    const generated = generateExtraction(dir, { lines, seed: 1 });
    await importDirectoryFile(db, repository, generated.activityFile);
    await importDirectoryFile(db, repository, generated.mssanteFile);
  }
  const documents = (db.prepare("SELECT count(*) AS n FROM resources WHERE resource_type IN ('Practitioner', 'Organization', 'Patient')").get() as { n: number }).n;

  // Memory: the indexes built in this process (or loaded from the given folder's snapshot), measured around it.
  const before = memory();
  const indexer = new TextIndexer(db);
  const built = performance.now();
  const snapshotCursor = givenData ? loadSnapshot(join(dir, SNAPSHOT_FOLDER), indexer.indexes, repository.nodeId, indexer.latestSeq(), atRestKeysOf(dir).textIndex) : undefined;
  if (snapshotCursor !== undefined) indexer.cursor = snapshotCursor;
  while (indexer.applyNext().count > 0);
  const buildSeconds = (performance.now() - built) / 1000;
  const { bytes, ...parts } = grown(before);
  figure('text index memory per entry', Math.round(bytes / documents), 'bytes', { documents, ...parts, buildSeconds: Math.round(buildSeconds * 10) / 10, fromSnapshot: snapshotCursor !== undefined, target: 600 });

  // In-process search: the text index answers, SQL filters and pages (as a request does, without HTTP).
  // Directory words only: a folder given with BENCH_DATA may hold the Patients of an earlier lag run.
  const wordsOf = (resourceType: string, part: string, limit: number) =>
    (db.prepare(`SELECT DISTINCT value FROM idx_string WHERE part = ? AND pid IN (SELECT pid FROM search_params WHERE resource_type = ?) LIMIT ${limit}`).pluck().all(part, resourceType) as string[]).filter((word) => word.length >= 2);
  const names = wordsOf('Practitioner', 'family', 500);
  const cities = wordsOf('Organization', 'city', 200);
  const mix = queryMix(names, cities, queries);
  const engine = new SearchEngine(db, repository.searchIndex);
  const inProcess = new LatencyHistogram();
  for (const query of mix) {
    const started = performance.now();
    const vseqs = indexer.indexes.search('Practitioner', 'name', queryTerms(query), 10_000);
    engine.search({ resourceType: 'Practitioner', params: new URLSearchParams({ name: query, _count: '20' }), lenient: false, base: 'http://localhost/fhir', textMatches: new Map([[textMatchKey('Practitioner', 'name', query), { vseqs, partial: false, indexedSeq: indexer.cursor }]]) });
    inProcess.record(performance.now() - started);
  }
  figure('name search in-process p95', inProcess.percentile(95), 'ms', { p50: inProcess.percentile(50), queries, target: 5 });
  if (process.env.BENCH_PUBLIC_API === '1') await publicApiFigures(db, indexer, mix, documents, join(dir, 'public-api-comparison'));

  // The snapshot a node starts from, then the node itself, cold.
  if (!givenData) await rebuildTextIndex(db, join(dir, SNAPSHOT_FOLDER), atRestKeysOf(dir).textIndex, () => undefined);
  db.close();
  const coldStart = performance.now();
  const server = await startServer(here('./lib/liaison-server.ts'), { dataDir: dir, patients: 0, headlessKey: true });
  try {
    // A search answers 503 until the index has loaded its snapshot: asked again, as a client would.
    const firstSearch = () => fetch(`${server.info.base}/Practitioner?name=${encodeURIComponent(mix[0])}`, { headers: server.info.headers });
    let first = await firstSearch();
    while (first.status === 503) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      first = await firstSearch();
    }
    if (!first.ok) throw new Error(`first search answered ${first.status}`);
    figure('cold start to first search', Math.round(performance.now() - coldStart), 'ms', { target: 5000 });

    // As a Lifen client asks (the default total: the text thread counts up to 1,001 matches), then as the UI asks.
    for (const [name, total] of [['name search over HTTP', ''], ['name search over HTTP, _total=none', '&_total=none']] as const) {
      if (profileDir) await server.startProfile();
      const [nodeBefore, bothBefore] = [cpuSnapshot([server.pid]), cpuSnapshot([server.pid, process.pid])];
      const http = await runLoad(server.info, { method: 'GET', paths: mix.map((query) => `/Practitioner?name=${encodeURIComponent(query)}&_count=20${total}`) }, seconds);
      const [nodeAfter, bothAfter] = [cpuSnapshot([server.pid]), cpuSnapshot([server.pid, process.pid])];
      const nodeCpuMs = nodeBefore && nodeAfter ? (nodeAfter.ours - nodeBefore.ours) * 1000 : undefined;
      if (profileDir) await server.stopProfile(join(profileDir, `text-index-http${total ? '-total-none' : ''}.cpuprofile`));
      figure(name, Math.round(http.requestsPerSecond), 'req/s', {
        p99: http.latencies.percentile(99),
        connections: 16,
        clientCpu: Number(http.clientCpu.toFixed(2)),
        // What a request costs the node in CPU (both its threads), which a shared machine moves less than the rate.
        ...(nodeCpuMs !== undefined ? { nodeCpuMsPerRequest: Number((nodeCpuMs / (http.requestsPerSecond * seconds)).toFixed(3)) } : {}),
        otherProcessesShareOfMachine: backgroundLoad(bothBefore, bothAfter, availableParallelism())?.toFixed(2),
        targetRequestsPerSecond: 2000,
        targetP99: 15,
      });
    }

    // 100 writes/s (patients: the directory is read-only through the API) for `seconds`, then the lag reported.
    const write = (index: number) =>
      fetch(`${server.info.base}/Patient`, {
        method: 'POST',
        headers: { ...server.info.headers, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: `Lag${index}`, given: ['Mesure'] }] }),
      });
    const writes: Promise<Response>[] = [];
    const writeStart = performance.now();
    for (let index = 0; performance.now() - writeStart < seconds * 1000; index++) {
      writes.push(write(index));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, writeStart + (index + 1) * 10 - performance.now())));
    }
    await Promise.all(writes);
    const health = (await (await fetch(`${server.info.base.replace(/\/fhir$/, '')}/health`)).json()) as { textIndex: { lagP95Ms: number } };
    figure('index lag p95 at 100 writes/s', health.textIndex.lagP95Ms, 'ms', { writes: writes.length, target: 250 });
  } finally {
    await server.stop();
  }
} finally {
  if (!givenData) {
    rmSync(dir, { recursive: true, force: true });
    if (!process.env.LIAISON_KEY_FILE && !process.env.LIAISON_PASSPHRASE) rmSync(defaultKeyFile(dir), { force: true });
  }
}
