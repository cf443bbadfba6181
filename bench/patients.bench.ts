import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Scopes } from '../src-server/auth/scopes';
import { Interactions } from '../src-server/rest/interactions';
import { patientsModule } from '../src-server/patients/module';
import { openEncryptedDatabase } from './lib/encrypted-database';
import { openStore } from '../src-server/store/store';
import { seedPatients } from './lib/patients';
import { positiveNumber } from './lib/settings';

/**
 * The Patient API in-process, on BENCH_PATIENTS patients (default 50,000) of which one has a record of BENCH_RECORD
 * resources (default 5,000: encounters with observations, over years):
 * - `family` word-prefix search (SQL, every family and given name tested), p50/p95;
 * - `$everything` first page and a page deep in the record (_count=50), p50/p95: keyset over the compartment; the
 *   first page again for a practitioner, whose every resource passes the access rules;
 * - `$care-pathway` first page (_count=20), p50/p95.
 * Env: BENCH_PATIENTS, BENCH_RECORD, BENCH_QUERIES (default 200).
 */

const patients = Math.floor(positiveNumber('BENCH_PATIENTS', 50_000));
const record = Math.floor(positiveNumber('BENCH_RECORD', 5_000));
const queries = Math.floor(positiveNumber('BENCH_QUERIES', 200));
const log = (message: string) => process.stderr.write(`[patients] ${message}\n`);
const figure = (name: string, milliseconds: number[], extra: Record<string, unknown> = {}) => {
  const sorted = [...milliseconds].sort((a, b) => a - b);
  const at = (share: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))].toFixed(3));
  console.log(JSON.stringify({ bench: 'patients', figure: name, p50: at(0.5), p95: at(0.95), unit: 'ms', patients, record, ...extra }));
};
const timed = (work: () => unknown) => {
  const start = performance.now();
  work();
  return performance.now() - start;
};

const dir = mkdtempSync(join(tmpdir(), 'liaison-bench-patients-'));
const db = openEncryptedDatabase(join(dir, 'liaison.db'));
try {
  const store = openStore(db, { binaryFolder: join(dir, 'binaries'), contentKey: randomBytes(32) });
  const { repository } = store;
  const seeded = seedPatients(patients);
  log(`writing ${patients} patients and a record of ${record} resources`);
  repository.transaction(() => {
    for (const patient of seeded) repository.update('Patient', patient.id, { ...patient, generalPractitioner: [{ reference: 'Practitioner/gp' }] });
    const subject = { reference: `Patient/${seeded[0].id}` };
    for (let n = 0; n < record; n += 2) {
      const start = new Date(Date.UTC(2010, 0, 1) + n * 86_400_000).toISOString();
      repository.create('Encounter', { resourceType: 'Encounter', status: 'finished', subject, period: { start } });
      repository.create('Observation', { resourceType: 'Observation', status: 'final', code: { text: 'TA' }, subject, effectiveDateTime: start });
    }
  });
  const interactions = new Interactions(repository, store.search, { operations: patientsModule(store).operations });
  const base = 'http://127.0.0.1/fhir';
  const scopes = new Scopes(['*']);
  const get = (path: string, query: string, reach?: Array<[string, string]>) => interactions.handle({ scopes, reach, method: 'GET', path, query: new URLSearchParams(query) }, base);

  const families = seeded.map((patient) => ((patient.name as Array<{ family: string }>)[0].family ?? '').toLowerCase()).filter((family) => family.length >= 3);
  const prefixes = Array.from({ length: queries }, (_, index) => families[(index * 7919) % families.length].slice(0, 3));
  figure('family word-prefix search', prefixes.map((prefix) => timed(() => get('Patient', `family=${encodeURIComponent(prefix)}`))));

  const everything = `Patient/${seeded[0].id}/$everything`;
  figure('$everything first page', Array.from({ length: queries }, () => timed(() => get(everything, '_count=50'))));
  figure('$everything first page, as the GP', Array.from({ length: queries }, () => timed(() => get(everything, '_count=50', [['Practitioner', 'gp']]))));
  let deep = '';
  for (let page = 0; page < 40; page++) {
    const next = (JSON.parse(get(everything, `_count=50${deep}`).body as string) as { link: Array<{ relation: string; url: string }> }).link.find((link) => link.relation === 'next');
    deep = `&_cursor=${new URL(next!.url).searchParams.get('_cursor')}`;
  }
  figure('$everything page 41', Array.from({ length: queries }, () => timed(() => get(everything, `_count=50${deep}`))));
  figure('$care-pathway first page', Array.from({ length: queries }, () => timed(() => get(`Patient/${seeded[0].id}/$care-pathway`, '_count=20'))));
} finally {
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
