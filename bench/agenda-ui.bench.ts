import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../tests/helpers/chromium';
import { serve, type ServingNode } from '../tests/helpers/child-node';
import { buildDesktop } from '../tests/helpers/desktop-build';
import { addLilasPractitioners, LILAS, logInThroughDemoProvider, seedDataFolder } from '../tests/helpers/practice-ui';
import { stopServedUi } from './lib/served-ui';
import { positiveNumber, prng } from './lib/settings';

/**
 * The agenda's week view as the secretary of a big practice opens it, in Chromium against `liaison serve --demo`: the
 * Cabinet des Lilas with 20 more practitioners and BENCH_APPOINTMENTS appointments (default 60,000: a year of 20
 * practitioners' 15-minute appointments, 12 a working day, 80 % booked, centred on this week) and 2,000 patients. The secretary shows
 * six practitioners side by side in the week view (remembered), then:
 * - week view opened: from the click on "Agenda" (from the directory) until the six columns are drawn with their
 *   appointments and the next frame is painted. Target ≤ 300 ms.
 * - next week: from the click on "Suivant" until the next week's appointments are drawn likewise.
 * Env: BENCH_APPOINTMENTS, BENCH_RUNS (default 10).
 */

const total = Math.floor(positiveNumber('BENCH_APPOINTMENTS', 60_000));
const runs = Math.floor(positiveNumber('BENCH_RUNS', 10));
const PRACTITIONERS = 20;
const PATIENTS = 2000;
const QUARTER_HOUR = 15 * 60_000;
const SHOWN = 6;
const log = (message: string) => process.stderr.write(`[agenda-ui] ${message}\n`);
const figure = (name: string, values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (share: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]);
  console.log(JSON.stringify({ bench: 'agenda-ui', figure: name, value: at(0.5), unit: 'ms', p95: at(0.95), max: Math.round(sorted[sorted.length - 1]), runs: values.length, appointments: total, practitioners: SHOWN }));
};

/** Monday 08:00 UTC, 26 weeks before this week's: the year of appointments has this week in its middle. */
const thisMonday = new Date();
thisMonday.setUTCHours(8, 0, 0, 0);
thisMonday.setUTCDate(thisMonday.getUTCDate() - ((thisMonday.getUTCDay() + 6) % 7));
const YEAR_START = thisMonday.getTime() - 26 * 7 * 86_400_000;

/** A practitioner's appointments a working day: 3,000 a year, as 60,000 of 20 practitioners make. */
const A_DAY = 12;
/** The start of a practitioner's nth appointment of the year: 12 a day from 08:00, 40 minutes apart, 5 days a week. */
function startOf(index: number): number {
  const day = Math.floor(index / A_DAY);
  const week = Math.floor(day / 5);
  return YEAR_START + (week * 7 + (day % 5)) * 86_400_000 + (index % A_DAY) * 40 * 60_000;
}

const work = mkdtempSync(join(tmpdir(), 'liaison-bench-agenda-'));
const dataDir = join(work, 'data');
let node: ServingNode | undefined;
let outDir: string | undefined;
try {
  log(`writing ${PRACTITIONERS} practitioners, ${PATIENTS} patients and ${total.toLocaleString('en-US')} appointments`);
  const random = prng(28);
  const people = Array.from({ length: PRACTITIONERS }, (_, index) => ({ id: `bench-p${index}`, given: 'Praticien', family: `Numéro${String(index).padStart(2, '0')}` }));
  // Made with the folder's key, before the node opens it: the node's own tables come with its first open.
  mkdirSync(dataDir);
  seedDataFolder(dataDir, (repository) => {
    addLilasPractitioners(repository, people);
    for (let index = 0; index < PATIENTS; index++) {
      repository.update('Patient', `bench-patient-${index}`, {
        resourceType: 'Patient',
        id: `bench-patient-${index}`,
        active: true,
        name: [{ family: `Patient${index}`, given: ['Prénom'] }],
        birthDate: `19${String(30 + (index % 70)).padStart(2, '0')}-0${1 + (index % 9)}-1${index % 10}`,
        generalPractitioner: [{ reference: LILAS }],
      });
    }
    for (let written = 0; written < total; written++) {
      const practitioner = written % PRACTITIONERS;
      const start = startOf(Math.floor(written / PRACTITIONERS));
      const patient = Math.floor(random() * PATIENTS);
      repository.create('Appointment', {
        resourceType: 'Appointment',
        status: random() < 0.8 ? 'booked' : random() < 0.5 ? 'cancelled' : 'fulfilled',
        description: 'Consultation',
        start: new Date(start).toISOString(),
        end: new Date(start + QUARTER_HOUR).toISOString(),
        participant: [
          { actor: { reference: `Practitioner/${people[practitioner].id}`, display: `Dr Praticien ${people[practitioner].family}` }, status: 'accepted' },
          { actor: { reference: `Patient/bench-patient-${patient}`, display: `PATIENT${patient} Prénom` }, status: 'accepted' },
        ],
      });
    }
  });

  log('building the UI');
  outDir = buildDesktop('liaison-bench-agenda-');
  node = await serve(dataDir, 300_000, ['--demo', '--ui-dir', join(outDir, 'renderer')]);
  const { url } = node;
  for (;;) {
    const health = (await (await fetch(`${url}/health`)).json()) as Record<string, any>;
    if (health.textIndex?.ready && health.textIndex.lagMs === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  log(`node up at ${url}`);

  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 900 }, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
    page.setDefaultTimeout(120_000);
    await page.goto(`${url}/`);
    await logInThroughDemoProvider(page, 'sophie.leroy');
    await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();

    // First visit: six of the benchmark's practitioners chosen (Drs Durand and Martin, first by name, have no
    // appointment), the week view; both remembered.
    await page.getByRole('link', { name: 'Agenda' }).click();
    await page.locator('[data-agenda-loaded]').waitFor({ timeout: 60_000 });
    await page.getByText(/^Praticiens \(\d+\)$/).click();
    const checked = page.getByRole('checkbox', { checked: true });
    while ((await checked.count()) > 0) await checked.first().uncheck();
    for (const person of people.slice(0, SHOWN)) await page.getByRole('checkbox', { name: `Dr ${person.given} ${person.family.toLocaleUpperCase('fr')}` }).check();
    await page.getByText(/^Praticiens \(\d+\)$/).click();
    log('logged in; choosing the practitioners');
    const shown = await page.locator('.column').count();
    if (shown !== SHOWN) throw new Error(`the agenda shows ${shown} practitioners, not ${SHOWN}`);
    await page.getByRole('button', { name: 'Semaine' }).click();
    await page.locator('.column .fc-event').first().waitFor({ timeout: 60_000 });
    log(`week of ${SHOWN} practitioners on screen; measuring`);

    // In the page: the time of the click, and the frame after every column has its appointments drawn. A string, not a
    // function: the bench runs through tsx, whose helpers (`__name`) do not exist in the page.
    await page.evaluate(`(() => {
      document.addEventListener('click', (event) => {
        window.__clickAt = event.timeStamp;
        performance.clearResourceTimings();
      }, true);
      // The node's part: when the last of the page's requests since the click was answered, and how many it made.
      const answered = () => {
        const asked = performance.getEntriesByType('resource').filter((entry) => entry.startTime >= window.__clickAt && (entry.name.includes('/fhir/') || entry.name.includes('/admin/')));
        return { answersMs: Math.max(0, ...asked.map((entry) => entry.responseEnd - window.__clickAt)), requests: asked.length };
      };
      window.__drawn = (previous) =>
        new Promise((resolve) => {
          const drawn = () => {
            const columns = [...document.querySelectorAll('.columns .column')];
            if (columns.length !== ${SHOWN} || !document.querySelector('[data-agenda-loaded]')) return false;
            const title = document.querySelector('[data-agenda-title]')?.textContent;
            return title !== previous && columns.every((column) => column.querySelector('.fc-event'));
          };
          const done = () => requestAnimationFrame(() => resolve({ ms: performance.now() - window.__clickAt, events: document.querySelectorAll('.columns .fc-event').length, ...answered() }));
          // Never waits forever: what the page shows after 60 s says why.
          setTimeout(() => resolve({ stuck: {
            columns: document.querySelectorAll('.columns .column').length,
            loaded: !!document.querySelector('[data-agenda-loaded]'),
            title: document.querySelector('[data-agenda-title]')?.textContent,
            events: [...document.querySelectorAll('.columns .column')].map((column) => column.querySelectorAll('.fc-event').length),
            text: document.querySelector('main')?.innerText.slice(0, 300),
          } }), 60000);
          if (drawn()) return done();
          const observer = new MutationObserver(() => {
            if (drawn()) {
              observer.disconnect();
              done();
            }
          });
          observer.observe(document.body, { childList: true, subtree: true, attributes: true });
        });
    })()`);

    const opened: number[] = [];
    const answers: number[] = [];
    let requests = 0;
    let events = 0;
    for (let run = 0; run < runs; run++) {
      await page.getByRole('link', { name: 'Annuaire' }).click();
      await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
      // `; 0`: the page's answer is not the promise, which evaluate would wait for.
      await page.evaluate(`window.__result = window.__drawn(undefined); 0`);
      await page.getByRole('link', { name: 'Agenda' }).click();
      const result = (await page.evaluate('window.__result')) as { ms: number; events: number; answersMs: number; requests: number; stuck?: unknown };
      if (result.stuck) throw new Error(`the week was not drawn: ${JSON.stringify(result.stuck)}`);
      opened.push(result.ms);
      answers.push(result.answersMs);
      requests = result.requests;
      events = result.events;
    }
    log(`${events} appointments drawn in the week of ${SHOWN} practitioners, ${requests} requests to the node`);
    figure('week view of 6 practitioners opened', opened);
    // Of which: until the node's last answer (the rest is the page drawing).
    figure('week view: the node answered its requests', answers);

    const nextWeek: number[] = [];
    for (let run = 0; run < runs; run++) {
      const title = await page.locator('[data-agenda-title]').innerText();
      await page.evaluate(`window.__result = window.__drawn(${JSON.stringify(title)}); 0`);
      await page.getByRole('button', { name: 'Suivant' }).click();
      const result = (await page.evaluate('window.__result')) as { ms: number; stuck?: unknown };
      if (result.stuck) throw new Error(`the next week was not drawn: ${JSON.stringify(result.stuck)}`);
      nextWeek.push(result.ms);
    }
    figure('next week of 6 practitioners drawn', nextWeek);
  } finally {
    await browser.close();
  }
} finally {
  await stopServedUi(node, work, outDir);
}
