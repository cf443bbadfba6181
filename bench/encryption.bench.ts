import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Scopes } from '../src-server/auth/scopes';
import { newDataKey, subkey } from '../src-server/data-key';
import { generateExtraction } from '../src-server/directory/generate';
import { importDirectoryFile } from '../src-server/directory/import';
import { Interactions } from '../src-server/rest/interactions';
import { openDatabase, type Db } from '../src-server/store/database';
import { openStore, type Store } from '../src-server/store/store';
import { newPatients, seedPatients, shuffled } from './lib/patients';
import { positiveNumber } from './lib/settings';

/**
 * The cost of encryption at rest (issue 21): the same work on an encrypted store (AEGIS-256, the node's) and on one in
 * clear, side by side in one run, in alternating rounds so the machine's noise hits both alike. The FHIR interactions
 * without HTTP (rest/), so the figures are the store's and not diluted by the HTTP stack: read by id (shuffled ids),
 * create (each in a transaction of its own, and 16 at once through the group commit as the node runs concurrent
 * requests), `family` word-prefix search, and the directory import of a generated extraction. Target: the encrypted
 * store keeps ≥ 0.85 of each figure in clear.
 *
 * Env: BENCH_PATIENTS (seeded, default 20,000), BENCH_SECONDS (per workload, store and round, default 2),
 * BENCH_ROUNDS (default 3), BENCH_LINES (directory lines, default 20,000), BENCH_CPU_TIME=1 (time the synchronous
 * workloads by CPU time).
 */

const patients = Math.floor(positiveNumber('BENCH_PATIENTS', 20_000));
const seconds = positiveNumber('BENCH_SECONDS', 2);
const rounds = Math.floor(positiveNumber('BENCH_ROUNDS', 3));
const lines = Math.floor(positiveNumber('BENCH_LINES', 20_000));
const TARGET = 0.85;
/** Requests writing at once in the group-commit workload (the HTTP benchmark's 16 connections). */
const IN_FLIGHT = 16;
const log = (message: string) => process.stderr.write(`[encryption] ${message}\n`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

type Mode = 'clear' | 'encrypted';
const MODES: readonly Mode[] = ['clear', 'encrypted'];
const key = subkey(newDataKey(), 'database');
const dir = mkdtempSync(join(tmpdir(), 'liaison-bench-encryption-'));
const open = (mode: Mode, name: string): Db => openDatabase(join(dir, `${mode}-${name}.db`), mode === 'encrypted' ? { key } : {});

/**
 * Milliseconds of the clock the synchronous workloads are timed by: the process's CPU time with BENCH_CPU_TIME=1 (a
 * machine busy with other work then skews both stores less), else the wall clock.
 */
const clock = process.env.BENCH_CPU_TIME === '1' ? () => { const used = process.cpuUsage(); return (used.user + used.system) / 1000; } : () => performance.now();

/** Operations per second of `work` for `seconds`. */
function rate(work: (n: number) => void): number {
  const until = clock() + seconds * 1000;
  let n = 0;
  const started = clock();
  while (clock() < until) for (let batch = 0; batch < 50; batch++) work(n++);
  return n / ((clock() - started) / 1000);
}

/**
 * Operations per second of `work` for `seconds`, `inFlight` at a time: the way the node writes under concurrent
 * requests, where the group commit shares one transaction among the writes that arrive together.
 */
async function concurrentRate(work: (n: number) => Promise<unknown>, inFlight: number): Promise<number> {
  const started = performance.now();
  const until = started + seconds * 1000;
  let n = 0;
  const worker = async () => {
    while (performance.now() < until) await work(n++);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return n / ((performance.now() - started) / 1000);
}

try {
  const scopes = new Scopes(['*']);
  const base = 'http://127.0.0.1/fhir';
  const seeded = seedPatients(patients);
  const stores = {} as Record<Mode, { db: Db; store: Store; interactions: Interactions }>;
  for (const mode of MODES) {
    const db = open(mode, 'rest');
    const store = openStore(db, { binaryFolder: join(dir, `${mode}-binaries`), contentKey: newDataKey() });
    store.repository.transaction(() => {
      for (const patient of seeded) store.repository.create('Patient', patient, patient.id);
    });
    db.pragma('wal_checkpoint(TRUNCATE)');
    stores[mode] = { db, store, interactions: new Interactions(store.repository, store.search, {}) };
    log(`${mode}: ${patients} patients seeded`);
  }
  const ids = shuffled(seeded.map((patient) => patient.id as string));
  const bodies = newPatients(512);
  const families = seeded.map((patient) => ((patient.name as Array<{ family?: string }>)[0]?.family ?? '').toLowerCase()).filter((family) => family.length >= 3);
  const workloads: Record<string, (interactions: Interactions, n: number) => void> = {
    'read by id': (interactions, n) => void interactions.handle({ scopes, method: 'GET', path: `Patient/${ids[n % ids.length]}`, query: new URLSearchParams() }, base),
    create: (interactions, n) => void interactions.handle({ scopes, method: 'POST', path: 'Patient', query: new URLSearchParams(), body: bodies[n % bodies.length] }, base),
    'family search': (interactions, n) =>
      void interactions.handle({ scopes, method: 'GET', path: 'Patient', query: new URLSearchParams({ family: families[(n * 7919) % families.length].slice(0, 3) }) }, base),
  };
  const results: Array<{ figure: string; clear: number; encrypted: number; unit: string }> = [];
  for (const [name, work] of Object.entries(workloads)) {
    const measured: Record<Mode, number[]> = { clear: [], encrypted: [] };
    for (let round = 0; round < rounds; round++) {
      for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) measured[mode].push(rate((n) => work(stores[mode].interactions, n)));
    }
    results.push({ figure: `${name}/s`, clear: median(measured.clear), encrypted: median(measured.encrypted), unit: 'ops/s' });
    log(`${name}: clear ${measured.clear.map(Math.round).join(', ')}; encrypted ${measured.encrypted.map(Math.round).join(', ')}`);
  }
  // Creates as the node runs them when requests arrive together (fhir-api.ts: each write through the group commit).
  const grouped: Record<Mode, number[]> = { clear: [], encrypted: [] };
  for (let round = 0; round < rounds; round++) {
    for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
      const { store, interactions } = stores[mode];
      grouped[mode].push(await concurrentRate((n) => store.groupCommit.run(() => workloads.create(interactions, n)), IN_FLIGHT));
    }
  }
  results.push({ figure: `create, ${IN_FLIGHT} at once (group commit)/s`, clear: median(grouped.clear), encrypted: median(grouped.encrypted), unit: 'ops/s' });
  log(`create, ${IN_FLIGHT} at once: clear ${grouped.clear.map(Math.round).join(', ')}; encrypted ${grouped.encrypted.map(Math.round).join(', ')}`);
  for (const mode of MODES) stores[mode].db.close();

  const generated = generateExtraction(dir, { lines, seed: 1 });
  const imports: Record<Mode, number[]> = { clear: [], encrypted: [] };
  for (let round = 0; round < Math.min(rounds, 2); round++) {
    for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
      const db = open(mode, `directory-${round}`);
      const started = performance.now();
      await importDirectoryFile(db, openStore(db, { binaryFolder: join(dir, 'none'), contentKey: newDataKey() }).repository, generated.activityFile);
      imports[mode].push(lines / ((performance.now() - started) / 1000));
      db.close();
    }
  }
  log(`directory import: clear ${imports.clear.map(Math.round).join(', ')}; encrypted ${imports.encrypted.map(Math.round).join(', ')} lines/s`);
  results.push({ figure: 'directory import lines/s', clear: Math.max(...imports.clear), encrypted: Math.max(...imports.encrypted), unit: 'lines/s' });

  let missed = 0;
  for (const { figure, clear, encrypted, unit } of results) {
    const ratio = Math.round((encrypted / clear) * 100) / 100;
    if (ratio < TARGET) missed++;
    console.log(JSON.stringify({ bench: 'encryption', figure, clear: Math.round(clear), encrypted: Math.round(encrypted), unit, ratio, target: TARGET, patients }));
  }
  if (missed) log(`${missed} figure(s) below ${TARGET} of the store in clear`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
