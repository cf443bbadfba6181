import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appointmentsModule } from '../src-server/appointments/module';
import { SCHEDULE_HOURS_URL } from '../src-server/appointments/opening-hours';
import { Scopes } from '../src-server/auth/scopes';
import { Interactions } from '../src-server/rest/interactions';
import { openStore } from '../src-server/store/store';
import { openEncryptedDatabase } from './lib/encrypted-database';
import { positiveNumber, prng } from './lib/settings';

/**
 * Free slots derived from opening hours (appointments/free-slots.ts), as the API answers
 * `Slot?schedule.actor=Practitioner/<id>&status=free&start=ge…&start=lt…` over four weeks: 20 practitioners open
 * Monday to Friday 08:00–12:00 and 14:00–18:00 (Paris) in 15-minute slots, with BENCH_APPOINTMENTS appointments
 * (default 60,000: a year) in those hours. p50/p95 in ms of the search through the interactions (target p95 ≤ 20 ms).
 * Env: BENCH_APPOINTMENTS, BENCH_QUERIES (default 300).
 */

const total = Math.floor(positiveNumber('BENCH_APPOINTMENTS', 60_000));
const queries = Math.floor(positiveNumber('BENCH_QUERIES', 300));
const PRACTITIONERS = 20;
const DAY = 86_400_000;
const QUARTER_HOUR = 15 * 60_000;
const log = (message: string) => process.stderr.write(`[free-slots] ${message}\n`);
const figure = (name: string, value: number, unit: string) => console.log(JSON.stringify({ bench: 'free-slots', figure: name, value, unit, appointments: total }));

const random = prng(28);
const dir = mkdtempSync(join(tmpdir(), 'liaison-bench-free-slots-'));
const db = openEncryptedDatabase(join(dir, 'bench.db'));
const store = openStore(db, { binaryFolder: join(dir, 'binaries'), contentKey: randomBytes(32) });
const { repository, search } = store;
const base = 'http://127.0.0.1:8347/fhir';

/** The year starts on the Monday after today (UTC), so that its slots are all still to come. */
const today = Math.floor(Date.now() / DAY) * DAY;
const YEAR_START = today + (((8 - new Date(today).getUTCDay()) % 7) || 7) * DAY;

const hours = (days: string[], from: string, to: string) => ({
  url: 'availableTime',
  extension: [...days.map((day) => ({ url: 'daysOfWeek', valueCode: day })), { url: 'availableStartTime', valueTime: from }, { url: 'availableEndTime', valueTime: to }],
});
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri'];
repository.transaction(() => {
  for (let practitioner = 0; practitioner < PRACTITIONERS; practitioner++) {
    repository.update('Schedule', `s${practitioner}`, {
      resourceType: 'Schedule',
      id: `s${practitioner}`,
      actor: [{ reference: `Practitioner/p${practitioner}` }],
      extension: [{ url: SCHEDULE_HOURS_URL, extension: [{ url: 'slotMinutes', valuePositiveInt: 15 }, hours(WEEKDAYS, '08:00:00', '12:00:00'), hours(WEEKDAYS, '14:00:00', '18:00:00')] }],
    });
  }
});

/** The nth quarter hour of a working day (32 of them, 08:00–12:00 and 14:00–18:00, taken as UTC+1). */
const quarterOf = (day: number, quarter: number) => YEAR_START + day * DAY + (quarter < 16 ? 7 * 3_600_000 : 9 * 3_600_000) + quarter * QUARTER_HOUR;

log(`writing ${total} appointments`);
const perPractitioner = Math.ceil(total / PRACTITIONERS);
const workingDays = Array.from({ length: 52 * 7 }, (_, day) => day).filter((day) => new Date(YEAR_START + day * DAY).getUTCDay() % 6 !== 0);
const perDay = Math.ceil(perPractitioner / workingDays.length);
for (let written = 0; written < total; ) {
  repository.transaction(() => {
    for (const end = Math.min(total, written + 5000); written < end; written++) {
      const practitioner = written % PRACTITIONERS;
      const index = Math.floor(written / PRACTITIONERS);
      const day = workingDays[Math.floor(index / perDay) % workingDays.length];
      // Spread over the day's quarters, a few apart: 12 or so a day of 32.
      const start = quarterOf(day, ((index % perDay) * 5 + practitioner) % 32);
      const status = random() < 0.8 ? 'booked' : random() < 0.5 ? 'cancelled' : 'fulfilled';
      repository.create('Appointment', {
        resourceType: 'Appointment',
        status,
        start: new Date(start).toISOString(),
        end: new Date(start + QUARTER_HOUR).toISOString(),
        participant: [{ actor: { reference: `Practitioner/p${practitioner}` }, status: 'accepted' }],
      });
    }
  });
}
db.pragma('optimize');

const interactions = new Interactions(repository, search, appointmentsModule(store));
const samples: number[] = [];
/** CPU time of the process per search (ms): what the search costs when the machine is shared, for comparison. */
const cpu: number[] = [];
let found = 0;
for (let index = 0; index < queries; index++) {
  const from = YEAR_START + Math.floor(random() * 48) * 7 * DAY;
  const query = new URLSearchParams({ 'schedule.actor': `Practitioner/p${Math.floor(random() * PRACTITIONERS)}`, status: 'free', _count: '100' });
  query.append('start', `ge${new Date(from).toISOString()}`);
  query.append('start', `lt${new Date(from + 28 * DAY).toISOString()}`);
  const began = performance.now();
  const cpuBefore = process.cpuUsage();
  const response = interactions.handle({ scopes: new Scopes(['*']), method: 'GET', path: 'Slot', query }, base);
  samples.push(performance.now() - began);
  const used = process.cpuUsage(cpuBefore);
  cpu.push((used.user + used.system) / 1000);
  if (response.status !== 200) throw new Error(`the search answered ${response.status}: ${String(response.body)}`);
  found += (JSON.parse(String(response.body)) as { total: number }).total;
}
const at = (values: number[], share: number) => Number([...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(share * values.length))].toFixed(3));
figure('free slots of four weeks p50', at(samples, 0.5), 'ms');
figure('free slots of four weeks p95', at(samples, 0.95), 'ms');
log(`CPU time per search: p50 ${at(cpu, 0.5)} ms, p95 ${at(cpu, 0.95)} ms`);
log(`${Math.round(found / queries)} free slots in four weeks on average (of ${4 * 5 * 32})`);

db.close();
rmSync(dir, { recursive: true, force: true });
