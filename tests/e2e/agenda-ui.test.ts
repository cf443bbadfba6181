import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { projectRoot } from '../helpers/desktop-build';
import { addLilasPractitioners, asOwner, LILAS, logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';

/**
 * The secretary's day (issue 28): the built app on `liaison serve --demo`, Chromium set to Europe/Paris, the Cabinet
 * des Lilas with six practitioners, logged in as its secretary. The day side by side, the week readable, the day
 * printed, the patient's file from an appointment, booking from the keyboard with its warnings, and the 409 in French.
 * Screenshots in test-results/agenda/.
 */

type Json = Record<string, any>;

let ui: DemoUi;
let node: ServingNode;
let page: Page;

const owner = (path: string) => asOwner(node).owner(path);
const created = (path: string, json: Json) => asOwner(node).created(path, json);

const MORE = [
  { id: 'lilas-anne-roux', given: 'Anne', family: 'Roux' },
  { id: 'lilas-marc-petit', given: 'Marc', family: 'Petit' },
  { id: 'lilas-julie-faure', given: 'Julie', family: 'Faure' },
  { id: 'lilas-karim-haddad', given: 'Karim', family: 'Haddad' },
];
const MARTIN = 'Practitioner/demo-claire-martin';
const DURAND = 'Practitioner/demo-paul-durand';
const ROUX = 'Practitioner/lilas-anne-roux';

/** A wall-clock time in Paris as an instant (whatever the season). */
function paris(day: string, time: string): string {
  const guess = new Date(`${day}T${time}:00Z`);
  const wall = new Date(guess.toLocaleString('sv-SE', { timeZone: 'Europe/Paris' }).replace(' ', 'T') + 'Z');
  return new Date(guess.getTime() - (wall.getTime() - guess.getTime())).toISOString();
}
/** A day in Paris, `days` from today, as YYYY-MM-DD. */
const parisDay = (days: number) => new Date(Date.now() + days * 86_400_000).toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' });
const DAY = parisDay(1);

const patients: Record<string, Json> = {};
async function appointment(practitioner: string, patient: Json, from: string, to: string, description: string): Promise<Json> {
  return created('Appointment', {
    resourceType: 'Appointment',
    status: 'booked',
    description,
    start: paris(DAY, from),
    end: paris(DAY, to),
    participant: [
      { actor: { reference: practitioner }, status: 'accepted' },
      { actor: { reference: `Patient/${patient.id}` }, status: 'accepted' },
    ],
  });
}

const column = (practitioner: string) => page.locator(`.column[data-practitioner="${practitioner}"]`);
const event = (practitioner: string, patient: string) => column(practitioner).locator('.fc-event', { hasText: patient });
async function toTheDay(): Promise<void> {
  await page.getByRole('link', { name: 'Agenda' }).click();
  await page.getByRole('heading', { name: 'Agenda', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Jour', exact: true }).click();
  await page.getByRole('button', { name: 'Aujourd’hui' }).click();
  await page.getByRole('button', { name: 'Suivant' }).click();
  await page.locator('[data-agenda-loaded]').waitFor();
}

beforeAll(async () => {
  ui = await openDemoUi('agenda', { width: 1400, height: 900 }, { timezoneId: 'Europe/Paris', seed: (repository) => addLilasPractitioners(repository, MORE) });
  ({ node, page } = ui);
  for (const [key, family, given, birthDate, gender] of [
    ['lefevre', 'Lefèvre', 'Margaux', '1984-03-12', 'female'],
    ['bernard', 'Bernard', 'Louis', '1950-07-01', 'male'],
    ['moreau', 'Moreau', 'Chloé', '2019-05-20', 'female'],
  ]) {
    patients[key] = await created('Patient', { resourceType: 'Patient', active: true, name: [{ use: 'official', family, given: [given] }], birthDate, gender, generalPractitioner: [{ reference: LILAS }] });
  }
  await appointment(MARTIN, patients.lefevre, '09:00', '09:15', 'Renouvellement');
  await appointment(MARTIN, patients.bernard, '09:15', '09:25', 'Vaccin grippe');
  await appointment(DURAND, patients.moreau, '09:00', '09:30', 'Certificat de sport');
  await appointment(ROUX, patients.bernard, '10:00', '10:15', 'Pansement');
  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'sophie.leroy');
  await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
}, 300_000);

afterAll(() => ui?.close());

describe('the secretary’s day in the agenda', () => {
  it('shows the six practitioners side by side in one day: one date, one time axis, rows in line', async () => {
    await toTheDay();
    const names = await page.locator('.column-name').allInnerTexts();
    expect(names).toHaveLength(6);
    expect(names).toEqual(expect.arrayContaining(['Dr Claire MARTIN', 'Dr Paul DURAND', 'Dr Anne ROUX', 'Dr Marc PETIT', 'Dr Julie FAURE', 'Dr Karim HADDAD']));
    // Each appointment in its practitioner's column only.
    await event(MARTIN, 'LEFÈVRE Margaux').waitFor();
    await event(DURAND, 'MOREAU Chloé').waitFor();
    await event(ROUX, 'BERNARD Louis').waitFor();
    expect(await column(DURAND).locator('.fc-event', { hasText: 'LEFÈVRE' }).count()).toBe(0);
    // Same time, same height on screen: 09:00 at Dr Martin's and at Dr Durand's.
    const [martinNine, durandNine] = [await event(MARTIN, 'LEFÈVRE Margaux').boundingBox(), await event(DURAND, 'MOREAU Chloé').boundingBox()];
    expect(Math.abs(martinNine!.y - durandNine!.y)).toBeLessThan(2);
    // The hours on the first column only.
    await ui.shot('1-day-side-by-side');
    const labels = page.locator('.column').first().locator('.fc-timegrid-slot-label', { hasText: '09:00' });
    expect(await labels.count()).toBe(1);
    expect((await page.locator('.column').nth(1).locator('.fc-timegrid-slot-label').allInnerTexts()).join('').trim()).toBe('');
    expect(await page.locator('[data-agenda-title]').innerText()).toMatch(/^\p{L}+ \d{1,2} \p{L}+ \d{4}$/u);
  });

  it('remembers which practitioners the secretary chose to see', async () => {
    await page.getByText('Praticiens (6)').click();
    await page.getByRole('checkbox', { name: 'Dr Julie FAURE' }).uncheck();
    await page.getByRole('checkbox', { name: 'Dr Karim HADDAD' }).uncheck();
    await expect.poll(() => page.locator('.column').count()).toBe(4);
    await page.reload();
    await toTheDay();
    expect(await page.locator('.column-name').allInnerTexts()).toEqual(expect.not.arrayContaining(['Dr Julie FAURE', 'Dr Karim HADDAD']));
    expect(await page.locator('.column').count()).toBe(4);
  });

  it('the week shows a 10-minute appointment as its patient and its reason, the times in its label', async () => {
    await page.getByRole('button', { name: 'Semaine' }).click();
    const short = event(MARTIN, 'BERNARD L.');
    await short.waitFor();
    // One practitioner's week per width, the others beside it: Dr Martin's brought into view by his name.
    await page.getByRole('navigation', { name: 'Semaine de' }).getByRole('button', { name: 'Dr Claire MARTIN' }).click();
    await expect.poll(async () => Math.abs((await column(MARTIN).boundingBox())!.x - (await page.locator('.columns').boundingBox())!.x)).toBeLessThan(1);
    await short.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(projectRoot, 'test-results', 'agenda', '2-week-readable.png') });
    expect(await short.getAttribute('aria-label')).toBe('09:15–09:25, BERNARD Louis, Vaccin grippe, Dr Claire MARTIN');
    expect(await short.getAttribute('title')).toBe(await short.getAttribute('aria-label'));
    // Readable: the name and the reason whole and inside the event's box, not "9:15 - 9:25 - BERN…".
    const box = (await short.boundingBox())!;
    for (const [part, text] of [
      ['.agenda-event-patient', 'BERNARD L.'],
      ['.agenda-event-what', 'Vaccin grippe'],
    ]) {
      const element = short.locator(part);
      expect(await element.innerText()).toBe(text);
      expect(await element.evaluate((shown) => shown.scrollWidth <= shown.clientWidth)).toBe(true);
      const inner = (await element.boundingBox())!;
      expect(inner.y + inner.height).toBeLessThanOrEqual(box.y + box.height + 1);
    }
    expect(await event(MARTIN, 'LEFÈVRE M.').innerText()).toMatch(/^LEFÈVRE M\.\s+Renouvellement$/);
    // Each week scrolls into view with its own hours.
    expect(await column(MARTIN).locator('.fc-timegrid-slot-label', { hasText: '09:00' }).isVisible()).toBe(true);
  });

  it('prints the day as a list: time, patient, birth date, type or reason, practitioner', async () => {
    await page.getByRole('button', { name: 'Jour', exact: true }).click();
    await event(MARTIN, 'LEFÈVRE Margaux').waitFor();
    // Headless Chromium has no print dialog: window.print is recorded.
    await page.evaluate(`window.__printed = 0; window.print = () => { window.__printed += 1; }`);
    await page.getByRole('button', { name: 'Imprimer la journée' }).click();
    const list = page.locator('[data-agenda-print]');
    await list.locator('tbody tr').first().waitFor({ state: 'attached' });
    expect(await page.evaluate('window.__printed')).toBe(1);
    const rows = await list.locator('tbody tr').evaluateAll((lines) => lines.map((line) => [...line.querySelectorAll('td')].map((cell) => cell.textContent)));
    expect(rows).toEqual([
      ['09:00–09:15', 'LEFÈVRE Margaux', '12/03/1984', 'Renouvellement', 'Dr Claire MARTIN'],
      ['09:00–09:30', 'MOREAU Chloé', '20/05/2019', 'Certificat de sport', 'Dr Paul DURAND'],
      ['09:15–09:25', 'BERNARD Louis', '01/07/1950', 'Vaccin grippe', 'Dr Claire MARTIN'],
      ['10:00–10:15', 'BERNARD Louis', '01/07/1950', 'Pansement', 'Dr Anne ROUX'],
    ]);
    await page.emulateMedia({ media: 'print' });
    expect(await list.isVisible()).toBe(true);
    expect(await page.locator('.columns').isVisible()).toBe(false);
    await ui.shot('3-day-printed');
    await page.emulateMedia({ media: 'screen' });
    expect(await list.isVisible()).toBe(false);
    await page.evaluate(`window.dispatchEvent(new Event('afterprint'))`);
    await list.waitFor({ state: 'detached' });
  });

  it('opens the patient’s file in one click on their name in the appointment', async () => {
    await event(MARTIN, 'LEFÈVRE Margaux').locator('[data-patient-link]').click();
    await page.waitForURL(new RegExp(`#/patients/${patients.lefevre.id}$`));
    await expect.poll(() => page.locator('main').innerText()).toMatch(/LEFÈVRE Margaux/);
    await page.getByText('Chargement…').waitFor({ state: 'detached' });
    await ui.shot('4-patient-file');
  });

  it('books from the keyboard: N opens the form with the focus in it, Escape closes, Annuler forgets', async () => {
    await toTheDay();
    await page.locator('.column-name').first().click();
    await page.keyboard.press('n');
    const form = page.getByRole('form', { name: 'Nouveau rendez-vous' });
    await form.waitFor();
    expect(await page.evaluate('document.activeElement?.id')).toBe('appointment-patient');
    await page.keyboard.press('Escape');
    await form.waitFor({ state: 'detached' });

    // "Annuler" forgets the patient and the reason: the next form starts empty.
    await page.getByRole('button', { name: 'Nouveau rendez-vous' }).click();
    await form.getByRole('combobox', { name: 'Patient' }).fill('lefe');
    await page.getByRole('option', { name: /LEFÈVRE Margaux/ }).click();
    await form.getByLabel('Motif').fill('Renouvellement');
    await form.getByRole('button', { name: 'Annuler' }).click();
    await page.getByRole('button', { name: 'Nouveau rendez-vous' }).click();
    expect(await form.getByRole('combobox', { name: 'Patient' }).isVisible()).toBe(true);
    expect(await form.getByLabel('Motif').inputValue()).toBe('');
    await page.keyboard.press('Escape');

    // The whole booking from the keyboard.
    await page.locator('.column-name').first().click();
    await page.keyboard.press('n');
    await page.keyboard.type('more');
    await page.getByRole('option', { name: /MOREAU Chloé/ }).waitFor();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await form.getByText('MOREAU Chloé').waitFor();
    await form.getByLabel('Praticien').selectOption({ label: 'Dr Anne ROUX' });
    await form.getByLabel('Début').fill(`${DAY}T11:00`);
    await form.getByLabel('Début').press('Enter');
    await page.getByRole('status').filter({ hasText: 'Rendez-vous réservé.' }).waitFor();
    await event(ROUX, 'MOREAU Chloé').waitFor();
    const booked = (await (await owner(`Appointment?patient=Patient/${patients.moreau.id}&actor=${ROUX}`)).json()) as Json;
    expect(booked.entry.map((entry: Json) => entry.resource.start)).toEqual([expect.stringMatching(new RegExp(`^${paris(DAY, '11:00').slice(0, 16)}`))]);
  });

  it('warns of a patient booked elsewhere at the same time and of a time past, and books all the same', async () => {
    await page.getByRole('button', { name: 'Nouveau rendez-vous' }).click();
    const form = page.getByRole('form', { name: 'Nouveau rendez-vous' });
    await form.getByRole('combobox', { name: 'Patient' }).fill('bern');
    await page.getByRole('option', { name: /BERNARD Louis/ }).click();
    await form.getByLabel('Praticien').selectOption({ label: 'Dr Paul DURAND' });
    await form.getByLabel('Début').fill(`${DAY}T10:05`);
    const warnings = form.locator('[data-booking-warnings]');
    await expect.poll(() => warnings.innerText().catch(() => '')).toBe('Attention : BERNARD Louis a déjà un rendez-vous de 10:00 à 10:15 avec Dr Anne ROUX.');
    await ui.shot('5-warning-booked-elsewhere');

    await form.getByLabel('Début').fill(`${parisDay(-1)}T10:00`);
    await expect.poll(() => warnings.innerText().catch(() => '')).toBe('Attention : ce rendez-vous est dans le passé.');
    await form.getByRole('button', { name: 'Réserver' }).click();
    await page.getByRole('status').filter({ hasText: 'Rendez-vous réservé.' }).waitFor();
    const past = (await (await owner(`Appointment?patient=Patient/${patients.bernard.id}&actor=${DURAND}`)).json()) as Json;
    expect(past.entry).toHaveLength(1);
  });

  it('refuses a time already taken in French, in Paris time, under the start', async () => {
    await page.getByRole('button', { name: 'Nouveau rendez-vous' }).click();
    const form = page.getByRole('form', { name: 'Nouveau rendez-vous' });
    await form.getByRole('combobox', { name: 'Patient' }).fill('lefe');
    await page.getByRole('option', { name: /LEFÈVRE Margaux/ }).click();
    await form.getByLabel('Praticien').selectOption({ label: 'Dr Paul DURAND' });
    await form.getByLabel('Début').fill(`${DAY}T09:10`);
    await form.getByRole('button', { name: 'Réserver' }).click();
    const refusal = form.locator('label', { has: page.getByLabel('Début') }).getByRole('alert');
    await expect.poll(() => refusal.textContent()).toMatch(/^Ce créneau est déjà pris : MOREAU Chloé, née le 20\/05\/2019, de 09:00 à 09:30 \(\w+\. \d+ \S+ \d{4}\)\.$/);
    await ui.shot('6-slot-taken');
    expect(ui.problems).toEqual([]);
  });
});
