import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { projectRoot } from '../helpers/desktop-build';
import { fhirFetch, startTestNode, type TestNode } from '../helpers/node';
import { logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';
import { FAST_SYNC } from '../helpers/sync-nodes';

/**
 * A booking conflict in the agenda (issue 28), end to end: the practice's two desktops — the served demo node the
 * secretary's Chromium (Paris time) uses, and a second node synced with it — go offline from each other; the first
 * books Dr Claire Martin 17:00–17:30 for Margaux Lefèvre, the second 17:10–17:40 for Louis Garnier. Once they sync
 * again, both appointments are kept, and the agenda draws both in red with "Conflit de réservation"; opening one
 * says in French which other booking it collides with: its patient and its times in Paris time, no id, no UTC.
 * Screenshots in test-results/booking-conflict-agenda/.
 */

type Json = Record<string, any>;

const SHOTS = join(projectRoot, 'test-results', 'booking-conflict-agenda');
const CONFLICT_SYSTEM = 'http://liaison.health/fhir/CodeSystem/conflict';

let ui: DemoUi;
let node: ServingNode;
let page: Page;
let other: TestNode;
let lefevre: Json;
let garnier: Json;
let here: Json;
let there: Json;

/** Three days ahead (a day of the agenda to come), as `yyyy-mm-dd` in Paris. */
const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date(Date.now() + 3 * 86_400_000));

/** The instant of a wall-clock time of `day` in Paris, summer time or not. */
function paris(time: string): string {
  const noon = new Date(`${day}T12:00:00Z`);
  const offset = new Intl.DateTimeFormat('en', { timeZone: 'Europe/Paris', timeZoneName: 'longOffset' }).formatToParts(noon).find((part) => part.type === 'timeZoneName')!.value;
  return new Date(`${day}T${time}:00${offset.replace('GMT', '') || 'Z'}`).toISOString();
}

async function written(request: Promise<Response>): Promise<Json> {
  const response = await request;
  const body = (await response.json()) as Json;
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body;
}

const onServed = (path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(node.fhir, node.token, path, init);

function booking(patient: Json, from: string, to: string): Json {
  return {
    resourceType: 'Appointment',
    status: 'booked',
    start: paris(from),
    end: paris(to),
    participant: [
      { actor: { reference: `Patient/${patient.id}` }, status: 'accepted' },
      { actor: { reference: 'Practitioner/demo-claire-martin' }, status: 'accepted' },
    ],
  };
}

/** The second desktop pulls from and pushes to the served one, with the served node's owner client (one practice). */
function link(): string {
  const { client_id: clientId, client_secret: clientSecret } = JSON.parse(readFileSync(join(ui.dataDir, 'owner-client.json'), 'utf8')) as Json;
  return other.sync.peers.add({ name: 'poste de l’accueil', url: node.url, clientId, clientSecret }).peerId;
}

async function readOn(request: (path: string) => Promise<Response>, path: string): Promise<Json | undefined> {
  const response = await request(path);
  return response.status === 200 ? ((await response.json()) as Json) : undefined;
}

/** Asks again every 200 ms until `check` holds (sync runs on its own loop), or fails naming what it waited for. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const bookingTagged = (appointment: Json | undefined) => !!appointment?.meta?.tag?.some((tag: Json) => tag.system === CONFLICT_SYSTEM && tag.code === 'booking');

beforeAll(async () => {
  ui = await openDemoUi('booking-conflict-agenda', { width: 1280, height: 900 }, { timezoneId: 'Europe/Paris' });
  ({ node, page } = ui);
  lefevre = await written(onServed('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ use: 'official', family: 'Lefèvre', given: ['Margaux'] }], birthDate: '1984-03-12', gender: 'female', generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }] } }));
  garnier = await written(onServed('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ use: 'official', family: 'Garnier', given: ['Louis'] }], birthDate: '1950-07-01', gender: 'male', generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }] } }));

  // The second desktop, in sync with the first: it holds the practice's patients.
  other = await startTestNode({ sync: FAST_SYNC });
  const peer = link();
  await until(async () => (await Promise.all([lefevre, garnier].map((patient) => readOn(other.request, `Patient/${patient.id}`)))).every(Boolean), 'the second desktop holds both patients');

  // Apart: each books Dr Martin at overlapping times, each accepted (neither sees the other's).
  other.sync.peers.remove(peer);
  await new Promise((resolve) => setTimeout(resolve, 300));
  here = await written(onServed('Appointment', { method: 'POST', json: booking(lefevre, '17:00', '17:30') }));
  there = await written(other.request('Appointment', { method: 'POST', json: booking(garnier, '17:10', '17:40') }));

  // Together again: both appointments on both desktops, each tagged as a booking conflict.
  link();
  await until(
    async () => (await Promise.all([onServed, other.request].flatMap((request) => [here, there].map((appointment) => readOn(request, `Appointment/${appointment.id}`))))).every(bookingTagged),
    'both appointments carry the booking conflict on both desktops',
  );

  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
  await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
}, 300_000);

afterAll(async () => {
  await other?.stop();
  await ui?.close();
});

/** The agenda's appointment of that patient. */
const eventOf = (patient: RegExp): Locator => page.locator('.column .fc-event').filter({ hasText: patient });

describe('a booking conflict in the agenda', () => {
  it('draws both appointments in red with “Conflit de réservation”', async () => {
    await page.getByRole('link', { name: 'Agenda' }).click();
    await page.locator('[data-agenda-loaded]').waitFor();
    await page.getByRole('button', { name: 'Jour', exact: true }).click();
    const title = new Intl.DateTimeFormat('fr-FR', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${day}T12:00:00Z`));
    while ((await page.locator('[data-agenda-title]').innerText()) !== title) await page.getByRole('button', { name: 'Suivant' }).click();
    await eventOf(/GARNIER Louis/).waitFor();
    await page.locator('[data-agenda-loaded]').waitFor();

    for (const [patient, times, id] of [
      [/LEFÈVRE Margaux/, '17:00–17:30', here.id as string],
      [/GARNIER Louis/, '17:10–17:40', there.id as string],
    ] as const) {
      const event = eventOf(patient);
      await expect.poll(() => event.count()).toBe(1);
      expect(await event.getAttribute('class')).toContain('agenda-conflict');
      expect((await event.innerText()).replace(/\s+/g, ' ')).toMatch(/^CONFLIT DE RÉSERVATION /);
      expect(await event.getAttribute('aria-label')).toBe(`${times}, ${patient.source}, Dr Claire Martin, Conflit de réservation`);
      expect(await event.getAttribute('data-appointment')).toBe(id);
      // A string: this file is type-checked without the DOM lib.
      const look = await page.evaluate(`(() => {
        const style = getComputedStyle(document.querySelector('.columns [data-appointment="${id}"]'));
        return { background: style.backgroundColor, outline: style.outlineStyle };
      })()`);
      expect(look).toEqual({ background: 'rgb(179, 38, 30)', outline: 'dashed' });
    }
    await eventOf(/GARNIER Louis/).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, '1-agenda-day.png') });
  });

  it('says which booking each collides with, in French and Paris time', async () => {
    await eventOf(/GARNIER Louis/).locator('.agenda-event-conflict').click();
    const warning = page.locator('[data-booking-conflict]');
    await warning.waitFor();
    expect((await warning.innerText()).replace(/\s+/g, ' ').trim()).toBe(
      'Conflit de réservation : ce rendez-vous chevauche celui de LEFÈVRE Margaux de 17:00 à 17:30, avec Dr Claire Martin, réservé sur un autre poste pendant qu’ils étaient déconnectés. Déplacez l’un des deux ou annulez-en un.',
    );
    await page.screenshot({ path: join(SHOTS, '2-conflict-panel.png') });

    await eventOf(/LEFÈVRE Margaux/).locator('.agenda-event-conflict').click();
    await expect.poll(async () => (await warning.innerText()).replace(/\s+/g, ' ')).toContain('chevauche celui de GARNIER Louis de 17:10 à 17:40, avec Dr Claire Martin');
    expect(await page.locator('aside').innerText()).not.toMatch(/Appointment\/|Patient\/|Practitioner\/|demo-|\d\d:\d\dZ|T\d\d:\d\d|booked/);
  });

  it('opens from Réglages on the conflict’s day with its warning', async () => {
    await page.getByRole('link', { name: 'Réglages' }).click();
    const conflict = page.locator('[data-booking-conflict]').filter({ has: page.getByRole('link', { name: /^GARNIER Louis/ }) });
    await conflict.getByRole('link', { name: /^GARNIER Louis/ }).click();
    await page.getByRole('heading', { name: 'Agenda' }).waitFor();
    await page.locator('[data-agenda-loaded]').waitFor();
    await expect.poll(async () => (await page.locator('aside [data-booking-conflict]').innerText()).replace(/\s+/g, ' ')).toContain('chevauche celui de LEFÈVRE Margaux de 17:00 à 17:30');
    await eventOf(/GARNIER Louis/).waitFor();
    await page.screenshot({ path: join(SHOTS, '3-from-settings.png') });
    expect(ui.problems).toEqual([]);
  });

  it('a link naming an appointment Claire may not see opens the day and nothing of it', async () => {
    // A doctor of the national directory outside the practice, a patient of theirs and their appointment that day: a
    // curious link, or a forged one.
    const directory = (await (await onServed('Practitioner?_count=50&_elements=id')).json()) as Json;
    const elsewhere = (directory.entry as Json[]).map((entry) => entry.resource.id as string).find((id) => !id.startsWith('demo-'));
    expect(elsewhere).toBeDefined();
    const hidden = await written(onServed('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Zélote', given: ['Irène'] }], generalPractitioner: [{ reference: `Practitioner/${elsewhere}` }] } }));
    const theirs = await written(
      onServed('Appointment', {
        method: 'POST',
        json: { ...booking(hidden, '09:00', '09:20'), participant: [{ actor: { reference: `Patient/${hidden.id}` }, status: 'accepted' }, { actor: { reference: `Practitioner/${elsewhere}` }, status: 'accepted' }] },
      }),
    );
    // The agenda reads the linked appointment as Claire, and the node refuses it as it would any read of hers.
    // From another screen, as a link is followed (Réglages, a message).
    await page.getByRole('link', { name: 'Annuaire' }).click();
    await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
    const read = page.waitForResponse((response) => response.url().endsWith(`/fhir/Appointment/${theirs.id}`));
    await page.goto(`${node.url}/#/appointments?appointment=${encodeURIComponent(theirs.id)}&date=${day}`);
    expect((await read).status()).toBe(404);
    await page.locator('[data-agenda-loaded]').waitFor();
    await eventOf(/GARNIER Louis/).waitFor();
    expect(await page.locator('main').innerText()).not.toMatch(/ZÉLOTE|Zélote|09:00–09:20/);
    expect(await page.locator('aside [data-booking-conflict], aside section.panel').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, '4-link-not-hers.png') });
    expect(ui.problems).toEqual([]);
  });
});
