import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateExtraction } from '../src-server/directory/generate';
import { importDirectoryFile, type ImportReport } from '../src-server/directory/import';
import { openDatabase } from '../src-server/store/database';
import { openRepository } from '../src-server/store/store';
import { backgroundLoad, cpuSnapshot } from './lib/machine';
import { positiveNumber } from './lib/settings';

/**
 * Directory import at the national scale, end to end: a generated PS_LibreAcces_Personne_activite file of
 * BENCH_LINES activity lines (default 1,860,000, the national count) parsed, mapped and written through the
 * repository (validation, versions, change log, search index rows), so that it is searchable by exact parameters
 * when the import returns; then its MSSanté file; then the same activity file again (the daily re-import, where
 * nearly everything is unchanged). Target: ≥ 20,000 lines/s for the first import.
 *
 * Figures (one JSON line each): lines/s of each import, resources written, database size, peak heap, and how busy
 * the machine was with other work meanwhile. Env: BENCH_LINES, BENCH_SEED (default 1), BENCH_KEEP (1: keep the files).
 */

const lines = Math.floor(positiveNumber('BENCH_LINES', 1_860_000));
const seed = Math.floor(positiveNumber('BENCH_SEED', 1));
const log = (message: string) => process.stderr.write(`[directory] ${message}\n`);
const figure = (name: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ bench: 'directory-import', figure: name, value, unit, lines, ...extra }));

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
  db.pragma('wal_checkpoint(TRUNCATE)');
  figure('database size', Math.round(statSync(join(dir, 'liaison.db')).size / 1e6), 'MB');
  figure('peak heap', Math.round(peakHeap / 1e6), 'MB');
  db.close();
} finally {
  if (process.env.BENCH_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
}
