import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { fhirFetch } from '../helpers/node';
import { samplePdf } from '../helpers/pdf';
import { dropPdfOnPatient, logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';

/**
 * The practice's words and times (issue 25), in Debian's Chromium set to Europe/Paris, on the built app served by
 * `liaison serve --demo`, as Dr Claire Martin: the timeline, the inbox and outbox, the agenda and Réglages show
 * statuses and channels as French words, people by name, every time in Paris time — an appointment at 11:00 Paris
 * reads 11:00, a message sent at 08:15 UTC reads 09:15 in winter — and never a FHIR code, a `Type/id`, an ISO or UTC
 * time. Screenshots in test-results/ui-words/.
 */

type Json = Record<string, any>;
const ZONE = 'Europe/Paris';
let ui: DemoUi;
let node: ServingNode;
let page: Page;
let patientId: string;

const owner = (path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(node.fhir, node.token, path, init);
async function created(type: string, json: Json): Promise<Json> {
  const response = await owner(type, { method: 'POST', json: { resourceType: type, ...json } });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as Json;
}
const admin = (path: string, init: RequestInit = {}) => fetch(`${node.url}${path}`, { ...init, headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' } });

/** Today in Paris (yyyy-mm-dd), and the instant of hh:mm Paris time that day. */
const parisDay = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
function parisInstant(time: string): string {
  const guess = new Date(`${parisDay}T${time}:00Z`);
  const offset = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, timeZoneName: 'longOffset' }).formatToParts(guess).find((part) => part.type === 'timeZoneName')!.value.replace('GMT', '') || '+00:00';
  return new Date(`${parisDay}T${time}:00${offset}`).toISOString();
}
const parisTime = (instant: string) => new Intl.DateTimeFormat('fr-FR', { timeZone: ZONE, hour: '2-digit', minute: '2-digit' }).format(new Date(instant));
const utcTime = (instant: string) => instant.slice(11, 16);

const main = async () => (await page.locator('main').innerText()).replace(/\s+/g, ' ');
/** A code as the node stores it; not a part of an address (`cabinet@votre-cabinet.mssante.fr`, a hint of Réglages). */
const RAW_CODE = /(?<![.@])\b(current|superseded|entered-in-error|finished|in-progress|planned|active|booked|fulfilled|noshow|cancelled|completed|internal|mssante|HH|AMB)\b(?![.@])/;
const ISO_OR_UTC = /\d{4}-\d{2}-\d{2}T\d{2}|\b\d{2}:\d{2}(:\d{2})?Z\b|\bUTC\b|GMT/;
const REFERENCE = /\b(Patient|Practitioner|Organization|DocumentReference|Appointment|Encounter|EpisodeOfCare|Communication|CommunicationRequest|Binary)\/[A-Za-z0-9]/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
/** What a French GP may read: no FHIR code, no internal reference or id, no ISO or UTC time. */
function expectReadable(text: string, { ids = true } = {}): void {
  const code = RAW_CODE.exec(text);
  expect(code?.[0], code ? text.slice(Math.max(0, code.index - 80), code.index + 40) : '').toBeUndefined();
  expect(text).not.toMatch(ISO_OR_UTC);
  expect(text).not.toMatch(REFERENCE);
  expect(text).not.toMatch(/demo-/);
  if (ids) expect(text).not.toMatch(UUID);
}
const nav = (name: string) => page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name }).click();
const tab = (name: string) => page.getByRole('tab', { name });
const rows = () => page.locator('[role="tabpanel"] .items > li');

const APPOINTMENT_AT = parisInstant('11:00');
const SENT_AT = parisInstant('09:15');

beforeAll(async () => {
  ui = await openDemoUi('ui-words', { width: 1280, height: 800 }, { timezoneId: ZONE });
  ({ node, page } = ui);
  const patient = await created('Patient', {
    active: true,
    name: [{ use: 'official', family: 'Lefèvre', given: ['Margaux'] }],
    birthDate: '1984-03-12',
    gender: 'female',
    generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }, { reference: 'Organization/demo-cabinet-des-lilas' }],
  });
  patientId = patient.id;
  const subject = { reference: `Patient/${patientId}` };
  await created('EpisodeOfCare', { status: 'active', patient: subject, type: [{ text: 'Suivi du diabète' }], period: { start: '2024-01-10' } });
  await created('Encounter', { status: 'finished', class: { system: 'http://hl7.org/fhir/v3/ActCode', code: 'HH' }, subject, type: [{ text: 'Visite de suivi' }], period: { start: '2025-06-02T07:00:00Z' }, participant: [{ individual: { reference: 'Practitioner/demo-claire-martin' } }] });
  // A letter another software filed for Dr Durand, naming him by reference only.
  const letter = await created('DocumentReference', { status: 'current', subject, type: { text: 'Courrier' }, indexed: '2025-05-01T08:00:00Z', description: 'Courrier du Dr Durand', author: [{ reference: 'Practitioner/demo-paul-durand' }], content: [{ attachment: { contentType: 'application/pdf', title: 'courrier.pdf' } }] });
  await created('Appointment', {
    status: 'booked',
    start: APPOINTMENT_AT,
    end: new Date(Date.parse(APPOINTMENT_AT) + 20 * 60_000).toISOString(),
    description: 'Renouvellement',
    participant: [
      { actor: { reference: 'Practitioner/demo-claire-martin' }, status: 'accepted' },
      { actor: subject, status: 'accepted' },
    ],
  });
  // A message Dr Durand sent Dr Martin at a known instant: 09:15 Paris.
  await created('Communication', {
    status: 'completed',
    subject,
    sender: { reference: 'Practitioner/demo-paul-durand' },
    recipient: [{ reference: 'Practitioner/demo-claire-martin' }],
    sent: SENT_AT,
    payload: [{ contentReference: { reference: `DocumentReference/${letter.id}` } }],
  });
  // A daily backup into a folder that cannot exist: its failure is the last result Réglages shows.
  writeFileSync(join(ui.dataDir, 'a-file'), '');
  expect((await admin('/admin/backup/daily', { method: 'PUT', body: JSON.stringify({ folder: join(ui.dataDir, 'a-file', 'sauvegardes') }) })).status).toBe(200);
  expect(((await (await admin('/admin/backup/daily/now', { method: 'POST', body: '{}' })).json()) as Json).last).toMatchObject({ ok: false, problem: 'folderMissing' });

  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
  await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
}, 240_000);

afterAll(() => ui?.close());

describe('a French GP’s day in words and Paris time', () => {
  it('the timeline says statuses and classes in words, names authors and participants, in Paris time', async () => {
    await nav('Patients');
    await page.getByRole('combobox', { name: 'Rechercher un patient' }).fill('lefe');
    await page.getByRole('option', { name: /LEFÈVRE Margaux/ }).click();
    await page.getByRole('region', { name: 'Patient sélectionné' }).waitFor();
    await dropPdfOnPatient(page, samplePdf('Compte rendu de consultation - Liaison'), 'Compte rendu du jour');
    await page.getByRole('status').filter({ hasText: 'Document ajouté au dossier de LEFÈVRE Margaux' }).waitFor();

    const item = (text: string) => page.locator('[data-timeline] > li', { hasText: text });
    await item('Compte rendu du jour').waitFor();
    await expect.poll(() => item('Courrier du Dr Durand').locator('[data-who]').innerText()).toMatch(/^Dr Paul DURAND\b/);
    expect(await item('Compte rendu du jour').locator('[data-who]').innerText()).toMatch(/^Dr Claire MARTIN\b/);
    expect(await item('Compte rendu du jour').locator('[data-status]').innerText()).toBe('Actif');
    expect(await item('Visite de suivi').locator('[data-status]').innerText()).toBe('Terminée');
    expect(await item('Visite de suivi').locator('[data-class]').innerText()).toBe('Visite à domicile');
    // 07:00 UTC on 2 June 2025 is 09:00 in Paris (summer time).
    expect(await item('Visite de suivi').locator('time').innerText()).toBe('lun. 2 juin 2025, 09:00');
    expect(await item('Suivi du diabète').locator('[data-status]').innerText()).toBe('En cours');
    expect(await item('Renouvellement').locator('[data-status]').innerText()).toBe('Réservé');
    expect(await item('Renouvellement').locator('time').innerText()).toMatch(/, 11:00$/);
    expectReadable(await main());
    await ui.shot('1-timeline');
  });

  it('the inbox shows a message sent at a known instant in Paris time, the outbox its channels in words', async () => {
    await nav('Documents');
    await tab('Reçus').click();
    const received = rows().filter({ hasText: 'Courrier du Dr Durand' });
    await received.waitFor();
    const line = await received.innerText();
    expect(line).toContain(`De : Dr Paul DURAND`);
    expect(line).toContain(parisTime(SENT_AT));
    expect(parisTime(SENT_AT)).toBe('09:15');
    expect(line).not.toContain(utcTime(SENT_AT));
    expectReadable(await main());
    await ui.shot('2-inbox');

    await tab('Tous les documents').click();
    const document = rows().filter({ hasText: 'Compte rendu du jour' });
    await document.getByRole('button', { name: 'Envoyer…' }).click();
    await page.getByRole('combobox', { name: 'Chercher un destinataire dans l’annuaire' }).fill('durand');
    await page.getByRole('option').filter({ hasText: 'Dr Paul DURAND' }).first().click();
    await page.getByRole('button', { name: 'Envoyer', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Envoi demandé à 1 destinataire(s).' }).waitFor();
    // Read again as the outbox lists it, until the node's delivery has its channel.
    const channel = rows().filter({ hasText: 'Compte rendu du jour' }).locator('[data-channel]');
    await expect
      .poll(
        async () => {
          await tab('Reçus').click();
          await tab('Envoyés').click();
          await page.waitForTimeout(300);
          return (await channel.count()) ? channel.innerText() : '';
        },
        { timeout: 20_000 },
      )
      .toBe('Messagerie du cabinet');
    expectReadable(await main());
    await ui.shot('3-outbox');
  });

  it('the agenda shows an appointment at 11:00 Paris as 11:00, with its status in words', async () => {
    await nav('Agenda');
    const event = page.locator('.fc-event', { hasText: 'Renouvellement' }).first();
    await event.waitFor();
    // Its times in its label (and tooltip), in Paris time; its face has the patient and the reason.
    expect(await event.getAttribute('aria-label')).toMatch(/^11:00–11:20, LEFÈVRE Margaux, Renouvellement, /);
    await event.click();
    const panel = page.getByRole('region', { name: 'Rendez-vous' });
    await panel.locator('[data-appointment-status]').waitFor();
    expect(await panel.locator('[data-appointment-status]').innerText()).toBe('Réservé');
    expect(await panel.innerText()).toMatch(/, 11:00/);
    expect(await panel.innerText()).toContain('LEFÈVRE Margaux');
    expectReadable(await main());
    await ui.shot('4-agenda');
  });

  it('Réglages says the failed backup in French and shows no code, reference or UTC time', async () => {
    await nav('Réglages');
    const problem = page.locator('[data-backup-problem]');
    await problem.waitFor();
    expect(await problem.innerText()).toMatch(/^Le dossier « .*sauvegardes » est introuvable : vérifiez que le disque ou la clé est branché/);
    await page.locator('[data-conflicts]').waitFor();
    // The node's own id is shown for support; the backup's English detail is folded under its French sentence.
    expectReadable(await main(), { ids: false });
    expect(await main()).not.toMatch(/ENOTDIR|not a directory/);
    const technical = page.locator('[data-backup-last] [data-technical-detail]');
    expect(await technical.locator('summary').innerText()).toBe('Détail technique (en anglais, pour le support)');
    await technical.locator('summary').click();
    expect(await technical.locator('code').innerText()).toMatch(/ENOTDIR/);
    await technical.locator('summary').click();
    await ui.shot('5-settings');
    expect(ui.problems).toEqual([]);
  });
});
