import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appointmentsModule } from '../src-server/appointments/module';
import { BOOKING_STATUSES, overlapping } from '../src-server/appointments/booking-rules';
import { BookedTimes } from '../src-server/store/booked-times';
import { Scopes } from '../src-server/auth/scopes';
import { Interactions } from '../src-server/rest/interactions';
import { openEncryptedDatabase } from './lib/encrypted-database';
import { openStore } from '../src-server/store/store';
import { positiveNumber, prng } from './lib/settings';

/**
 * The double-booking check with BENCH_APPOINTMENTS appointments (default 100,000) of 20 practitioners over a year:
 * - the overlap query alone (store/booked-times.ts, as booking-rules.ts reads it), p50/p95 in ms;
 * - a booking through the API's write path with the rules, and without them (the rules' cost), p50/p95 in ms.
 * Env: BENCH_APPOINTMENTS, BENCH_QUERIES (default 2000).
 */

const total = Math.floor(positiveNumber('BENCH_APPOINTMENTS', 100_000));
const queries = Math.floor(positiveNumber('BENCH_QUERIES', 2000));
const PRACTITIONERS = 20;
const YEAR_START = Date.UTC(2026, 0, 5, 8);
const QUARTER_HOUR = 15 * 60_000;
const log = (message: string) => process.stderr.write(`[appointments] ${message}\n`);
const figure = (name: string, value: number, unit: string) => console.log(JSON.stringify({ bench: 'appointments', figure: name, value, unit, appointments: total }));

const random = prng(7);
const dir = mkdtempSync(join(tmpdir(), 'liaison-bench-appointments-'));
const db = openEncryptedDatabase(join(dir, 'bench.db'));
const store = openStore(db, { binaryFolder: join(dir, 'binaries'), contentKey: randomBytes(32) });
const { repository, search } = store;
const base = 'http://127.0.0.1:8347/fhir';

/** The nth quarter hour of a practitioner's working year (8 h a day, 5 days a week): no two overlap. */
function quarter(index: number): number {
  const day = Math.floor(index / 32);
  const week = Math.floor(day / 5);
  return YEAR_START + (week * 7 + (day % 5)) * 86_400_000 + (index % 32) * QUARTER_HOUR;
}

const appointment = (practitioner: number, start: number, status: string) => ({
  resourceType: 'Appointment',
  status,
  start: new Date(start).toISOString(),
  end: new Date(start + QUARTER_HOUR).toISOString(),
  participant: [{ actor: { reference: `Practitioner/p${practitioner}` }, status: 'accepted' }],
});

log(`writing ${total} appointments`);
const perPractitioner = Math.ceil(total / PRACTITIONERS);
for (let written = 0; written < total; ) {
  repository.transaction(() => {
    for (const end = Math.min(total, written + 5000); written < end; written++) {
      const status = random() < 0.8 ? 'booked' : random() < 0.5 ? 'cancelled' : 'fulfilled';
      repository.create('Appointment', appointment(written % PRACTITIONERS, quarter(Math.floor(written / PRACTITIONERS)), status));
    }
  });
}
db.pragma('optimize');

function percentiles(samples: number[]): { p50: number; p95: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (share: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))].toFixed(3));
  return { p50: at(0.5), p95: at(0.95) };
}

const booked = new BookedTimes(db, repository.searchIndex, BOOKING_STATUSES);
const overlap: number[] = [];
let collisions = 0;
for (let index = 0; index < queries; index++) {
  const start = quarter(Math.floor(random() * perPractitioner)) + 5 * 60_000;
  const period = { start, end: start + QUARTER_HOUR, startText: '', endText: '' };
  const began = performance.now();
  collisions += overlapping(booked, `p${Math.floor(random() * PRACTITIONERS)}`, period, undefined, base).length > 0 ? 1 : 0;
  overlap.push(performance.now() - began);
}
const query = percentiles(overlap);
figure('overlap query p50', query.p50, 'ms');
figure('overlap query p95', query.p95, 'ms');
log(`${collisions} of ${queries} probes collided`);

/** Bookings of free times (after the year), through Interactions as the API runs them. */
function bookings(interactions: Interactions, from: number): { p50: number; p95: number } {
  const samples: number[] = [];
  const request = { scopes: new Scopes(['*']), method: 'POST', path: 'Appointment', query: new URLSearchParams() };
  for (let index = 0; index < queries; index++) {
    const body = appointment(index % PRACTITIONERS, quarter(from + Math.floor(index / PRACTITIONERS)), 'booked');
    const began = performance.now();
    const response = interactions.handle({ ...request, body }, base);
    samples.push(performance.now() - began);
    if (response.status !== 201) throw new Error(`booking answered ${response.status}`);
  }
  return percentiles(samples);
}
const ruled = bookings(new Interactions(repository, search, appointmentsModule(store)), perPractitioner + 100);
const plain = bookings(new Interactions(repository, search), perPractitioner + 100 + queries);
figure('booking with the rules p50', ruled.p50, 'ms');
figure('booking with the rules p95', ruled.p95, 'ms');
figure('booking without the rules p50', plain.p50, 'ms');
figure('booking without the rules p95', plain.p95, 'ms');

db.close();
rmSync(dir, { recursive: true, force: true });
