import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateExtraction } from '../src-server/directory/generate';
import { importDirectoryFile, type ImportReport } from '../src-server/directory/import';
import { openDatabase } from '../src-server/store/database';
import { openFolderDatabase } from '../src-server/folder-access';
import { DEFAULT_TOTAL } from '../src-server/rest/interactions';
import { openRepository } from '../src-server/store/store';
import { SearchEngine } from '../src-server/store/search/search';
import { MSSANTE_EXTENSION } from '../src-server/directory/codes';
import { percentiles, TARGETS } from './lib/search-shapes';
import { backgroundLoad, cpuSnapshot } from './lib/machine';
import { positiveNumber } from './lib/settings';

/**
 * Directory import at the national scale, end to end: a generated PS_LibreAcces_Personne_activite file of
 * BENCH_LINES activity lines (default 1,860,000, the national count) parsed, mapped and written through the
 * repository (validation, versions, change log, search index rows), so that it is searchable by exact parameters
 * when the import returns; then its MSSanté file; then the same activity file again (the daily re-import, where
 * nearly everything is unchanged). Target: ≥ 20,000 lines/s for the first import. Then the directory searches
 * vendors make on Practitioner (where they work, mailbox, qualification, national identifiers: first page of 20 with
 * the total the API answers by default, BENCH_REPEATS queries each over values drawn from the directory; target: TARGETS.simpleMs at p95), and the
 * search index rebuilt from scratch, as a start does after an extraction change (store/reindex.ts).
 *
 * Figures (one JSON line each): lines/s of each import, resources written, database size, peak heap, and how busy
 * the machine was with other work meanwhile. Env: BENCH_LINES, BENCH_SEED (default 1), BENCH_KEEP (1: keep the files),
 * BENCH_DATA (a data folder already holding a directory, e.g. the national one from `liaison directory import`: only
 * the searches are measured, on it).
 */

const lines = Math.floor(positiveNumber('BENCH_LINES', 1_860_000));
const seed = Math.floor(positiveNumber('BENCH_SEED', 1));
const log = (message: string) => process.stderr.write(`[directory] ${message}\n`);
/** What the figures are of: the lines generated, or the folder given (BENCH_DATA) and its practitioners. */
let scale: Record<string, unknown> = { lines };
const figure = (name: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ bench: 'directory-import', figure: name, value, unit, ...scale, ...extra }));

const givenData = process.env.BENCH_DATA;
if (givenData) {
  // Only the searches, on a folder that already holds a directory (the national one from `liaison directory import`),
  // opened with its key as a command finds it.
  const db = await openFolderDatabase(givenData);
  try {
    scale = { data: givenData, practitioners: db.prepare("SELECT count(*) FROM resources WHERE resource_type = 'Practitioner'").pluck().get() };
    measureSearches(db, openRepository(db));
  } finally {
    db.close();
  }
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'liaison-bench-directory-'));
try {
  log(`generating ${lines.toLocaleString('en-US')} activity lines in ${dir}`);
  const generated = generateExtraction(dir, { lines, seed });
  log(`${generated.persons.toLocaleString('en-US')} persons, ${generated.mailboxes.toLocaleString('en-US')} mailboxes, ${(statSync(generated.activityFile).size / 1e6).toFixed(0)} MB`);
  const db = openDatabase(join(dir, 'liaison.db'));
  const repository = openRepository(db);
  let peakHeap = 0;
  const run = async (name: string, file: string, count: number): Promise<ImportReport> => {
    const before = cpuSnapshot([process.pid]);
    const started = performance.now();
    let lastLog = 0;
    const report = await importDirectoryFile(db, repository, file, {
      onProgress: ({ bytes, totalBytes, lines: done }) => {
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
        if (performance.now() - lastLog < 5000) return;
        lastLog = performance.now();
        log(`${name}: ${Math.floor((bytes / totalBytes) * 100)}% ${done.toLocaleString('en-US')} lines, ${Math.round(done / ((lastLog - started) / 1000)).toLocaleString('en-US')} lines/s`);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    const background = backgroundLoad(before, cpuSnapshot([process.pid]), availableParallelism());
    figure(`${name} lines/s`, Math.round(count / seconds), 'lines/s', { seconds: Math.round(seconds * 10) / 10, resources: report.resources, background });
    return report;
  };
  await run('first import', generated.activityFile, lines);
  await run('mssante import', generated.mssanteFile, generated.mailboxes);
  await run('re-import unchanged', generated.activityFile, lines);
  measureSearches(db, repository);
  const reindexStarted = performance.now();
  db.prepare("DELETE FROM node_meta WHERE key = 'search_index_fingerprint'").run();
  openRepository(db);
  figure('start reindex', Math.round((performance.now() - reindexStarted) / 100) / 10, 's');
  db.pragma('wal_checkpoint(TRUNCATE)');
  figure('database size', Math.round(statSync(join(dir, 'liaison.db')).size / 1e6), 'MB');
  figure('peak heap', Math.round(peakHeap / 1e6), 'MB');
  db.close();
} finally {
  if (process.env.BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
}

/** The directory searches vendors make on Practitioner, each over values drawn from the imported directory. */
function measureSearches(db: ReturnType<typeof openDatabase>, repository: ReturnType<typeof openRepository>): void {
  type Json = Record<string, any>;
  const repeats = Math.floor(positiveNumber('BENCH_REPEATS', 200));
  const bodies = (type: string, filter = '1') =>
    (db.prepare(`SELECT v.body FROM resources r JOIN resource_versions v ON v.vseq = r.vseq WHERE r.resource_type = ? AND ${filter} ORDER BY random() LIMIT 500`).pluck().all(type) as string[]).map(
      (body) => JSON.parse(body) as Json,
    );
  const sites = bodies('Organization').flatMap((site) => (site.address ?? []) as Json[]);
  const mailboxes = bodies('PractitionerRole', `instr(v.body, '${MSSANTE_EXTENSION}') > 0`).flatMap((role) =>
    (role.telecom as Json[]).filter((point) => point.extension?.[0]?.url === MSSANTE_EXTENSION).map((point) => point.value as string),
  );
  const people = bodies('Practitioner');
  const shapes: Array<[string, string[]]> = [
    ['practitioner-address-city', sites.map((address) => `address-city=${encodeURIComponent(address.city)}`)],
    ['practitioner-address-postalcode', sites.map((address) => `address-postalcode=${address.postalCode}`)],
    ['practitioner-address', sites.map((address) => `address=${encodeURIComponent(String(address.line?.[1] ?? address.city).split(' ').pop()!)}`)],
    ['practitioner-telecom-mssante', mailboxes.map((mailbox) => `telecom=${encodeURIComponent(mailbox)}`)],
    ['practitioner-qualification', people.flatMap((person) => (person.qualification as Json[]).map((q) => `qualification=${encodeURIComponent(`${q.code.coding[0].system}|${q.code.coding[0].code}`)}`))],
    ['practitioner-identifier', people.map((person) => `identifier=${encodeURIComponent(`${person.identifier[0].system}|${person.identifier[0].value}`)}`)],
  ];
  const engine = new SearchEngine(db, repository.searchIndex);
  for (const [name, queries] of shapes) {
    if (queries.length === 0) continue;
    const samples: number[] = [];
    let found = 0;
    for (let i = 0; i < repeats; i++) {
      const params = new URLSearchParams(`${queries[i % queries.length]}&_count=20`);
      const started = performance.now();
      const result = engine.search({ resourceType: 'Practitioner', params, lenient: false, base: 'http://localhost/fhir', defaultTotal: DEFAULT_TOTAL });
      samples.push(performance.now() - started);
      found += result.matches.length;
    }
    const { p50, p95, max } = percentiles(samples);
    figure(`search.${name}`, p95, 'ms p95', { p50, max, target: TARGETS.simpleMs, meetsTarget: p95 <= TARGETS.simpleMs, meanFound: Math.round(found / repeats) });
  }
}
