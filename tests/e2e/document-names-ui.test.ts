import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { fhirFetch } from '../helpers/node';
import { samplePdf } from '../helpers/pdf';
import { dropPdfOnPatient, logInThroughDemoProvider, logOut, openDemoUi, type DemoUi } from '../helpers/practice-ui';

/**
 * Names everywhere (issue 25), in Debian's Chromium on the built app served by `liaison serve --demo`: a document
 * Dr Claire Martin adds to a patient's record and sends to two colleagues reads, in her "Tous les documents" and
 * "Envoyés" and in her colleagues' "Reçus", with the patient's name and birth date and the sender's or recipients'
 * names — a colleague of another practice, who may not see the patient, reads the identity the letter gives of her
 * ("Identité transmise", issue 26) — and never an
 * internal reference (`Patient/…`, `Practitioner/…`, an id). Screenshots in test-results/document-names/.
 */

let ui: DemoUi;
let node: ServingNode;
let page: Page;

const owner = (path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(node.fhir, node.token, path, init);
const shot = (name: string) => ui.shot(name);
/** The text of the screen's main part, where the documents are listed. */
const screenText = async () => (await page.locator('main').innerText()).replace(/\s+/g, ' ');
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
function expectNoReference(text: string): void {
  expect(text).not.toMatch(/Patient\/|Practitioner\/|Organization\/|DocumentReference\/|demo-/);
  expect(text).not.toMatch(UUID);
}
const tab = (name: string) => page.getByRole('tab', { name });
const rows = () => page.locator('[role="tabpanel"] .items > li');
/** A row's lines as they read (title, patient, sender and time…). */
const lines = async (row: Locator) => (await row.locator('div').first().innerText()).split('\n').map((line) => line.trim()).filter(Boolean);

/** The inbox, read again until the node's delivery (in the background) has reached it. */
async function openInbox(): Promise<void> {
  await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Documents' }).click();
  await expect
    .poll(
      async () => {
        await tab('Envoyés').click();
        await tab('Reçus').click();
        await page.waitForTimeout(300);
        return rows().filter({ hasText: 'Compte rendu du 2 juin' }).count();
      },
      { timeout: 20_000 },
    )
    .toBe(1);
}

beforeAll(async () => {
  ui = await openDemoUi('document-names', { width: 1280, height: 800 });
  ({ node, page } = ui);
  // A patient of the Cabinet des Lilas, followed by Dr Martin and her practice (so Dr Durand sees her too).
  const patient = await owner('Patient', {
    method: 'POST',
    json: {
      resourceType: 'Patient',
      active: true,
      name: [{ use: 'official', family: 'Lefèvre', given: ['Margaux'] }],
      birthDate: '1984-03-12',
      gender: 'female',
      generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }, { reference: 'Organization/demo-cabinet-des-lilas' }],
    },
  });
  expect(patient.status, await patient.clone().text()).toBe(201);
  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
}, 240_000);

afterAll(() => ui?.close());

describe('documents read with names', () => {
  it('“Tous les documents” and “Envoyés” name the patient with her birth date and each recipient', async () => {
    await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Patients' }).click();
    await page.getByRole('combobox', { name: 'Rechercher un patient' }).fill('lefe');
    await page.getByRole('option', { name: /LEFÈVRE Margaux/ }).click();
    await page.getByRole('region', { name: 'Patient sélectionné' }).waitFor();
    await dropPdfOnPatient(page, samplePdf('Compte rendu de consultation - Liaison'), 'Compte rendu du 2 juin');
    await page.getByRole('status').filter({ hasText: 'Document ajouté au dossier de LEFÈVRE Margaux' }).waitFor();

    await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Documents' }).click();
    await tab('Tous les documents').click();
    const document = rows().filter({ hasText: 'Compte rendu du 2 juin' });
    await document.waitFor();
    // Soft: the sending below is what the next tests read, whatever this screen shows.
    expect.soft(await lines(document)).toContain('Patient : LEFÈVRE Margaux, née le 12/03/1984');
    expect.soft(await screenText()).not.toMatch(/Patient\/|[0-9a-f]{8}-[0-9a-f]{4}-/);
    await shot('1-all-documents');

    // Sent to a colleague of the practice and to one of another practice, found in the directory.
    await document.getByRole('button', { name: 'Envoyer…' }).click();
    const search = page.getByRole('combobox', { name: 'Chercher un destinataire dans l’annuaire' });
    for (const [typed, name] of [
      ['durand', 'Dr Paul DURAND'],
      ['benali', 'Dr Amina BENALI'],
    ]) {
      await search.fill(typed);
      await page.getByRole('option').filter({ hasText: name }).first().click();
    }
    await page.getByRole('button', { name: 'Envoyer', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Envoi demandé à 2 destinataire(s).' }).waitFor();

    const sent = rows().filter({ hasText: 'Compte rendu du 2 juin' });
    await sent.waitFor();
    // Read again as the outbox lists it, not as just sent.
    await tab('Reçus').click();
    await tab('Envoyés').click();
    await sent.locator('.deliveries li').nth(1).waitFor();
    expect(await lines(sent)).toContain('Patient : LEFÈVRE Margaux, née le 12/03/1984');
    await expect.poll(() => sent.locator('.deliveries li').allInnerTexts()).toEqual([expect.stringMatching(/^Dr Paul DURAND \(Cabinet des Lilas\)\s/), expect.stringMatching(/^Dr Amina BENALI \(Maison de santé du Port\)\s/)]);
    expectNoReference(await screenText());
    await shot('2-outbox');
  });

  it.each([
    { who: 'a colleague of the practice', login: 'paul.durand', patient: 'Patient : LEFÈVRE Margaux, née le 12/03/1984', screenshot: '3-inbox-same-practice' },
    // Another practice's doctor does not follow the patient: the node leaves her record out, and the row gives the
    // identity the delivery carries, for the letter to be filed with her own patient (issue 26).
    { who: 'a colleague of another practice, who may not see the patient,', login: 'amina.benali', patient: 'Identité transmise : LEFÈVRE Margaux, née le 12/03/1984', screenshot: '4-inbox-other-practice' },
  ])('in “Reçus” of $who the row names the patient and the sender', async ({ login, patient, screenshot }) => {
    await logOut(page);
    await logInThroughDemoProvider(page, login);
    await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
    await openInbox();
    const received = rows().filter({ hasText: 'Compte rendu du 2 juin' });
    await received.waitFor();
    const [title, patientLine, sender] = await lines(received);
    expect(title).toMatch(/^Compte rendu du 2 juin/);
    expect(patientLine).toBe(patient);
    expect(sender).toMatch(/^De : Dr Claire MARTIN \(Cabinet des Lilas\) · \S/);
    expectNoReference(await screenText());
    await shot(screenshot);
    expect(ui.problems).toEqual([]);
  });
});
