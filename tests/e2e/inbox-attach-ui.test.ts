import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { fhirFetch } from '../helpers/node';
import { samplePdf } from '../helpers/pdf';
import { logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';

/**
 * Letters whose patient Dr Claire Martin does not follow, filed from her inbox (issue 26), in Debian's Chromium on the
 * built app served by `liaison serve --demo`. A lab's results come through the practice's mail client with the
 * patient's identity only (a contained Patient with her INS); a letter from Dr Amina Benali (another practice of the
 * node, by the internal channel) is about Dr Benali's own record of the patient. Each reads "Patient à identifier"
 * with the identity sent; "Rattacher à un patient" proposes Mme Lefèvre by her INS first, then by birth date and a
 * close name; once filed, the letter names the patient and links to her record, where it is. Screenshots in
 * test-results/inbox/.
 */

let ui: DemoUi;
let node: ServingNode;
let page: Page;

type Json = Record<string, any>;
const INS = '284037512345640';
const INS_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';
const owner = (path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(node.fhir, node.token, path, init);
const rows = () => page.locator('[role="tabpanel"] .items > li');

async function created(path: string, json: Json): Promise<string> {
  const response = await owner(path, { method: 'POST', json });
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as Json).id as string;
}

async function pdf(title: string): Promise<string> {
  const response = await owner('Binary', { method: 'POST', body: samplePdf(title), headers: { 'content-type': 'application/pdf' } });
  expect(response.status).toBe(201);
  return ((await response.json()) as Json).id as string;
}

const patient = (family: string, given: string, birthDate: string, practitioner: string, ins?: string) => ({
  resourceType: 'Patient',
  active: true,
  ...(ins ? { identifier: [{ system: INS_SYSTEM, value: ins }] } : {}),
  name: [{ use: 'official', family, given: [given] }],
  birthDate,
  gender: 'female',
  generalPractitioner: [{ reference: `Practitioner/${practitioner}` }],
});

beforeAll(async () => {
  ui = await openDemoUi('inbox', { width: 1280, height: 860 });
  ({ node, page } = ui);
  // Dr Martin's patients: Mme Lefèvre (with her INS), a namesake born the same day, and someone else.
  await created('Patient', patient('Lefèvre', 'Margaux', '1984-03-12', 'demo-claire-martin', INS));
  await created('Patient', patient('Lefebvre', 'Marie', '1984-03-12', 'demo-claire-martin'));
  await created('Patient', patient('Durand', 'Paul', '1950-01-01', 'demo-claire-martin'));

  // The lab's results, as the practice's mail client files them: the identity only, and a message to Dr Martin.
  const results = await created('DocumentReference', {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11502-2', display: 'Compte rendu de biologie' }] },
    contained: [{ resourceType: 'Patient', id: 'patient', identifier: [{ system: INS_SYSTEM, value: INS }], name: [{ family: 'LEFEVRE', given: ['MARGAUX'] }], birthDate: '1984-03-12', gender: 'female' }],
    subject: { reference: '#patient' },
    indexed: '2026-12-07T08:00:00Z',
    description: 'Résultats de biologie du 7 décembre',
    content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${await pdf('Résultats de biologie')}` } }],
  });
  await created('Communication', {
    resourceType: 'Communication',
    status: 'completed',
    sender: { display: 'Laboratoire BioRhône' },
    recipient: [{ reference: 'Practitioner/demo-claire-martin' }],
    sent: '2026-12-07T08:00:05Z',
    payload: [{ contentReference: { reference: `DocumentReference/${results}` } }],
  });

  // Dr Benali's letter about her own record of the patient (no INS there: the node holds it on Dr Martin's).
  const hers = await created('Patient', patient('Lefèvre', 'Margaux', '1984-03-12', 'demo-amina-benali'));
  const letter = await created('DocumentReference', {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11488-4', display: 'Compte rendu de consultation' }] },
    subject: { reference: `Patient/${hers}` },
    author: [{ reference: 'Practitioner/demo-amina-benali' }],
    indexed: '2026-12-07T09:00:00Z',
    description: 'Avis de la Maison de santé du Port',
    content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${await pdf('Avis du Dr Benali')}` } }],
  });
  await created('CommunicationRequest', {
    resourceType: 'CommunicationRequest',
    status: 'active',
    subject: { reference: `Patient/${hers}` },
    sender: { reference: 'Practitioner/demo-amina-benali' },
    recipient: [{ reference: 'Practitioner/demo-claire-martin' }],
    payload: [{ contentReference: { reference: `DocumentReference/${letter}` } }],
    authoredOn: '2026-12-07T09:01:00Z',
  });

  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
  await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Documents' }).click();
}, 300_000);

afterAll(async () => {
  await ui?.close();
});

describe('letters without a known patient', () => {
  it('are marked "Patient à identifier" with the identity as sent', async () => {
    await expect.poll(() => rows().count(), { timeout: 20_000 }).toBe(2);
    const results = rows().filter({ hasText: 'Résultats de biologie du 7 décembre' });
    expect(await results.locator('[data-to-identify]').textContent()).toBe('Patient à identifier');
    expect(await results.locator('[data-sent-identity]').textContent()).toBe('Identité transmise : LEFEVRE Margaux, née le 12/03/1984 · INS 2 84 03 75 123 456 40');
    expect(await results.textContent()).toContain('De : Laboratoire BioRhône');
    const letter = rows().filter({ hasText: 'Avis de la Maison de santé du Port' });
    expect(await letter.locator('[data-to-identify]').textContent()).toBe('Patient à identifier');
    expect(await letter.locator('[data-sent-identity]').textContent()).toBe('Identité transmise : LEFÈVRE Margaux, née le 12/03/1984');
    await ui.shot('1-inbox-patient-to-identify');
  });

  it('proposes the patient by INS first, then by birth date and a close name, and files the letter', async () => {
    const results = rows().filter({ hasText: 'Résultats de biologie du 7 décembre' });
    await results.getByRole('button', { name: 'Rattacher à un patient' }).click();
    const panel = page.locator('[data-attach-letter]');
    await expect.poll(() => panel.locator('[data-candidate]').count(), { timeout: 10_000 }).toBe(2);
    const candidates = await panel.locator('[data-candidate]').allTextContents();
    expect(candidates[0]).toContain('LEFÈVRE Margaux, née le 12/03/1984');
    expect(candidates[0]).toContain('INS 2 84 03 75 123 456 40');
    expect(candidates[0]).toContain('Même INS');
    expect(candidates[1]).toContain('LEFEBVRE Marie, née le 12/03/1984');
    expect(candidates[1]).toContain('Même date de naissance, nom proche');
    expect(candidates.join(' ')).not.toContain('DURAND');
    await ui.shot('2-attach-candidates');

    await panel.locator('[data-candidate]').first().getByRole('button', { name: 'Rattacher' }).click();
    await page.getByRole('status').filter({ hasText: 'Courrier rattaché au dossier de LEFÈVRE Margaux, née le 12/03/1984.' }).waitFor();
    expect(await results.locator('[data-to-identify]').count()).toBe(0);
    expect(await results.locator('[data-patient]').textContent()).toBe('Patient : LEFÈVRE Margaux, née le 12/03/1984');
    await ui.shot('3-letter-filed');
  });

  it("files another practice's letter by searching the patient, and it stays filed after a reload", async () => {
    const letter = rows().filter({ hasText: 'Avis de la Maison de santé du Port' });
    await letter.getByRole('button', { name: 'Rattacher à un patient' }).click();
    const panel = page.locator('[data-attach-letter]');
    await expect.poll(() => panel.locator('[data-candidate]').count(), { timeout: 10_000 }).toBe(2);
    await panel.getByRole('combobox', { name: 'Chercher parmi vos patients' }).fill('lefèvre');
    await page.getByRole('option', { name: /LEFÈVRE Margaux/ }).click();
    await panel.locator('[data-attach-searched]').click();
    await page.getByRole('status').filter({ hasText: 'Courrier rattaché au dossier de LEFÈVRE Margaux' }).waitFor();
    await page.reload();
    await expect.poll(() => rows().locator('[data-to-identify]').count(), { timeout: 20_000 }).toBe(0);
    await expect.poll(() => rows().locator('[data-patient]').allTextContents()).toEqual(['Patient : LEFÈVRE Margaux, née le 12/03/1984', 'Patient : LEFÈVRE Margaux, née le 12/03/1984']);
    await ui.shot('4-both-filed');

    // The link opens her record, which now holds both letters.
    await rows().filter({ hasText: 'Avis de la Maison de santé du Port' }).getByRole('link', { name: /LEFÈVRE Margaux/ }).click();
    await page.getByRole('region', { name: 'Patient sélectionné' }).waitFor();
    await expect.poll(() => page.getByText('Avis de la Maison de santé du Port').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByText('Résultats de biologie du 7 décembre').count()).toBeGreaterThan(0);
    await ui.shot('5-patient-record');
    expect(ui.problems).toEqual([]);
  });
});
