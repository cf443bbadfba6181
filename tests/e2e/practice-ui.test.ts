import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { fhirFetch } from '../helpers/node';
import { samplePdf } from '../helpers/pdf';
import { bookInAgenda, dropPdfOnPatient, logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';

/**
 * The practice UI end to end, as a person uses it: the built app served by `liaison serve --demo` (a real process),
 * the real demo OpenID provider, Debian's Chromium. One node and one logged-in page for the whole file; each test
 * leaves a screenshot in test-results/practice-ui/.
 */

type Json = Record<string, any>;

let ui: DemoUi;
let node: ServingNode;
let page: Page;

const owner = (path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(node.fhir, node.token, path, init);
async function created(path: string, json: Json): Promise<Json> {
  const response = await owner(path, { method: 'POST', json });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as Json;
}
const shot = (name: string) => ui.shot(name);

beforeAll(async () => {
  ui = await openDemoUi('practice-ui', { width: 1280, height: 720 });
  ({ node, page } = ui);
}, 240_000);

afterAll(() => ui?.close());

describe('the practice UI against liaison serve --demo', () => {
  it('says why a login refused at the provider failed, then logs in a demo practitioner through the demo provider', async () => {
    await page.goto(`${node.url}/`);
    await page.getByRole('heading', { name: 'Comptes de démonstration' }).waitFor();
    expect(await page.getByRole('cell', { name: /claire\.martin/ }).count()).toBe(1);

    await page.getByRole('button', { name: 'Se connecter (fournisseur de démonstration)' }).click();
    await page.getByRole('button', { name: 'Refuser' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('La connexion a été refusée');

    await logInThroughDemoProvider(page, 'claire.martin');

    await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Session' }).textContent()).toContain('Dr Claire Martin');
    expect(new URL(page.url()).search).toBe('');
    await shot('1-logged-in');
  });

  it('finds a practitioner by typing part of a name and a city, and shows the card with MSSanté addresses', async () => {
    // Someone of the bundled directory sample with a place of work in a city.
    const roles = (await (await owner('PractitionerRole?_include=PractitionerRole:practitioner&_include=PractitionerRole:organization&_count=100')).json()) as Json;
    const byRef = new Map<string, Json>(roles.entry.map((entry: Json) => [`${entry.resource.resourceType}/${entry.resource.id}`, entry.resource]));
    const role = roles.entry
      .map((entry: Json) => entry.resource)
      .find((resource: Json) => resource.resourceType === 'PractitionerRole' && byRef.get(resource.organization?.reference)?.address?.[0]?.city && byRef.get(resource.practitioner?.reference)?.name?.[0]?.family?.length >= 5);
    const practitioner = byRef.get(role.practitioner.reference)!;
    const family: string = practitioner.name[0].family;
    const city: string = byRef.get(role.organization.reference)!.address[0].city;
    const typed = `${family.slice(0, 4).toLowerCase()} ${city.slice(0, 3).toLowerCase()}`;

    const box = page.getByRole('combobox', { name: 'Rechercher un professionnel ou une structure' });
    await page.getByRole('heading', { name: 'Annuaire national' }).click();
    await page.keyboard.press('/');
    expect(await box.evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true);
    await box.pressSequentially(typed, { delay: 30 });
    const results = page.locator(`[data-results-for="${typed}"]`);
    await results.waitFor();
    const wanted = results.getByRole('option').filter({ hasText: family });
    await wanted.first().waitFor();
    expect(await results.getByRole('option').first().textContent()).toMatch(new RegExp(city.slice(0, 3), 'i'));

    // Keyboard: down to the practitioner, Enter opens the card.
    const index = await results.getByRole('option').evaluateAll((options, name) => options.findIndex((option) => option.textContent?.includes(name)), family);
    for (let step = 0; step <= index; step++) await box.press('ArrowDown');
    await box.press('Enter');
    const card = page.getByRole('article');
    await expect.poll(() => card.getByRole('heading', { level: 2 }).textContent()).toContain(family);
    expect(await card.textContent()).toContain(city.charAt(0) + city.slice(1).toLowerCase());
    await card.getByRole('button', { name: 'Envoyer un document à…' }).waitFor();
    // Phone, fax and mailbox symbols and the copy buttons' are bundled SVGs: no emoji font needed to see them.
    expect(await card.locator('.contacts li svg').count()).toBeGreaterThan(0);
    expect(await card.locator('.contacts').first().textContent()).not.toMatch(/[☎📠✉⧉]/u);
    await shot('2-directory');
  });

  let patientId: string;

  it('opens a patient and shows the care pathway as a timeline, newest first', async () => {
    const patient = await created('Patient', {
      resourceType: 'Patient',
      active: true,
      name: [{ use: 'official', family: 'Lefèvre', given: ['Margaux'] }],
      birthDate: '1984-03-12',
      gender: 'female',
      identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '284037512345640' }],
      generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }],
    });
    patientId = patient.id;
    const subject = { reference: `Patient/${patient.id}` };
    await created('EpisodeOfCare', { resourceType: 'EpisodeOfCare', status: 'active', patient: subject, type: [{ text: 'Suivi du diabète' }], period: { start: '2024-01-10' } });
    await created('Encounter', { resourceType: 'Encounter', status: 'finished', subject, type: [{ text: 'Consultation de suivi' }], period: { start: '2025-06-02T09:00:00+02:00', end: '2025-06-02T09:20:00+02:00' } });
    await created('Encounter', { resourceType: 'Encounter', status: 'finished', subject, type: [{ text: 'Première consultation' }], period: { start: '2024-01-10T14:00:00+01:00' } });

    await page.getByRole('link', { name: 'Patients' }).click();
    const search = page.getByRole('combobox', { name: 'Rechercher un patient' });
    await search.fill('lefe');
    await page.getByRole('option', { name: /LEFÈVRE Margaux/ }).click();

    const banner = page.getByRole('region', { name: 'Patient sélectionné' });
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/LEFÈVRE Margaux.*Femme.*Né\(e\) le 12\/03\/1984.*INS 2 84 03 75 123 456 40/);
    const items = page.locator('[data-timeline] > li');
    await expect.poll(() => items.count()).toBe(3);
    expect(await items.locator('.what').allTextContents()).toEqual(['Consultation de suivi', 'Première consultation', 'Suivi du diabète']);
    await shot('3-patient-timeline');
  });

  it('uploads a PDF dropped on the patient, shows it in the built-in viewer and in the timeline', async () => {
    const pdf = samplePdf('Compte rendu de consultation - Liaison');
    await dropPdfOnPatient(page, pdf, 'Compte rendu du 2 juin');
    await page.getByRole('status').filter({ hasText: 'Document ajouté au dossier de LEFÈVRE Margaux' }).waitFor();

    const canvas = page.locator('canvas[data-rendered="true"]');
    await canvas.waitFor({ timeout: 15_000 });
    expect(await page.getByText('Page 1 sur 1').count()).toBe(1);
    // Something was drawn: the rendered page is not blank white.
    const inked = await canvas.evaluate((element) => {
      const drawn = element as unknown as { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, width: number, height: number): { data: Uint8ClampedArray } } };
      const pixels = drawn.getContext('2d').getImageData(0, 0, drawn.width, drawn.height).data;
      let dark = 0;
      for (let index = 0; index < pixels.length; index += 4) if (pixels[index] < 128) dark++;
      return dark;
    });
    expect(inked).toBeGreaterThan(100);
    await expect.poll(() => page.locator('[data-timeline] > li[data-kind="document"] .what').allTextContents()).toEqual(['Compte rendu du 2 juin']);

    const documents = (await (await owner(`DocumentReference?patient=Patient/${patientId}`)).json()) as Json;
    expect(documents.entry).toHaveLength(1);
    expect(documents.entry[0].resource).toMatchObject({ status: 'current', author: [{ reference: 'Practitioner/demo-claire-martin' }], content: [{ attachment: { contentType: 'application/pdf', size: pdf.length } }] });
    await shot('4-pdf-viewer');
  });

  it('books an appointment for the patient, then refuses a double booking of the same slot in words', async () => {
    const tomorrow = new Date(Date.now() + 86_400_000);
    const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
    const book = () => bookInAgenda(page, { typed: 'lefe', patient: /LEFÈVRE Margaux/, start: `${day}T10:00`, reason: 'Renouvellement' });

    await page.getByRole('link', { name: 'Agenda' }).click();
    await page.getByRole('heading', { name: 'Agenda' }).waitFor();
    await book();
    await page.getByRole('status').filter({ hasText: 'Rendez-vous réservé.' }).waitFor();
    await page.locator('.fc-event', { hasText: 'LEFÈVRE Margaux' }).filter({ hasText: 'Renouvellement' }).first().waitFor();

    await book();
    const refusal = page.locator('[data-refusal]');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('Ce créneau est déjà pris');
    const booked = (await (await owner(`Appointment?patient=Patient/${patientId}`)).json()) as Json;
    expect(booked.entry).toHaveLength(1);
    await shot('5-double-booking-refused');
    expect(ui.problems).toEqual([]);
  });
});
