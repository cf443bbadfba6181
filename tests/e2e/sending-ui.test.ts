import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { fhirFetch, tempDir } from '../helpers/node';
import { samplePdf } from '../helpers/pdf';
import { dropPdfOnPatient, logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';
import { SmtpRelay } from '../helpers/smtp-relay';
import { activityLine, DOCTOR, HEADER_52, MSSANTE_HEADER, mssanteLine, writeExtraction } from '../src-server/directory/helpers';

/**
 * A send never fails silently (issue 26), in Debian's Chromium on the built app served by `liaison serve --demo`, with
 * MSSanté set up against a local SMTP relay: Dr Claire Martin chooses a doctor no channel reaches and is told why next
 * to his name, before anything is sent, and "Envoyer" sends nothing; she sends to a doctor whose mailbox the relay
 * refuses, with a cover message, and the outbox says why it failed with a "Réessayer" that delivers it once the relay
 * takes it. Screenshots in test-results/sending/.
 */

const relay = new SmtpRelay();
const REFUSED = 'jean.ferme@ferme.mssante.fr';
let ui: DemoUi;
let node: ServingNode;
let page: Page;

const owner = (path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(node.fhir, node.token, path, init);
const tab = (name: string) => page.getByRole('tab', { name });
const rows = () => page.locator('[role="tabpanel"] .items > li');

/** Two doctors in the national directory, as its import writes them: Dr Ferme with an MSSanté mailbox, Dr Injoignable without. */
async function importDirectory(): Promise<void> {
  const files = tempDir('liaison-sending-directory-');
  const doctor = (ppId: string, familyName: string, givenName: string) => activityLine({ ...DOCTOR, ppId, idnps: `8${ppId}`, familyName, givenName, phone: '' });
  const activity = writeExtraction(files, 'PS_LibreAcces_Personne_activite_202612010000.txt', [HEADER_52, doctor('10000000101', 'FERME', 'JEAN'), doctor('10000000102', 'INJOIGNABLE', 'ROSE')]);
  const mailboxes = writeExtraction(files, 'Extraction_Correspondance_MSSante_202612010000.txt', [MSSANTE_HEADER, mssanteLine({ mailboxType: 'PER', mailbox: REFUSED, ppIdType: '8', ppId: '10000000101', idnps: '810000000101' })]);
  for (const path of [activity, mailboxes]) {
    const admin = (suffix: string, init: RequestInit = {}) => fetch(`${node.url}/admin/directory/imports${suffix}`, { ...init, headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' } });
    // Two doctors added to the demo's directory: an update, which archives nothing the file lacks.
    const { id } = (await (await admin('', { method: 'POST', body: JSON.stringify({ path: join(path), archive: 'never' }) })).json()) as { id: string };
    const deadline = Date.now() + 30_000;
    let status = 'running';
    while (status === 'running' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ({ status } = (await (await admin(`/${id}`)).json()) as { status: string });
    }
    expect(status, path).toBe('done');
  }
}

/** The outbox's row of the letter, read again (tab by tab) until `read` of it gives `expected`. */
async function outboxUntil(read: () => Promise<unknown>, expected: unknown): Promise<void> {
  await expect
    .poll(
      async () => {
        await tab('Reçus').click();
        await tab('Envoyés').click();
        await rows().filter({ hasText: 'Courrier au Dr Ferme' }).waitFor();
        return read();
      },
      { timeout: 20_000 },
    )
    .toBe(expected);
}

async function chooseRecipient(typed: string, name: RegExp): Promise<void> {
  await page.getByRole('combobox', { name: 'Chercher un destinataire dans l’annuaire' }).fill(typed);
  await page.getByRole('option').filter({ hasText: name }).first().click();
}

beforeAll(async () => {
  await relay.start();
  relay.refused.add(REFUSED);
  ui = await openDemoUi('sending', { width: 1280, height: 860 }, { channels: { mssante: { host: '127.0.0.1', port: relay.port, from: 'cabinet.lilas@cabinet.mssante.fr' }, outbox: { firstRetryMs: 200, maxDelayMs: 1000, maxAttempts: 5 } } });
  ({ node, page } = ui);
  await importDirectory();
  const patient = await owner('Patient', {
    method: 'POST',
    json: { resourceType: 'Patient', active: true, name: [{ use: 'official', family: 'Lefèvre', given: ['Margaux'] }], birthDate: '1984-03-12', gender: 'female', generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }] },
  });
  expect(patient.status, await patient.clone().text()).toBe(201);
  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
  await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Patients' }).click();
  await page.getByRole('combobox', { name: 'Rechercher un patient' }).fill('lefe');
  await page.getByRole('option', { name: /LEFÈVRE Margaux/ }).click();
  await page.getByRole('region', { name: 'Patient sélectionné' }).waitFor();
  await dropPdfOnPatient(page, samplePdf('Courrier - Liaison'), 'Courrier au Dr Ferme');
  await page.getByRole('status').filter({ hasText: 'Document ajouté au dossier de LEFÈVRE Margaux' }).waitFor();
  await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Documents' }).click();
  await tab('Tous les documents').click();
  await rows().filter({ hasText: 'Courrier au Dr Ferme' }).getByRole('button', { name: 'Envoyer…' }).click();
}, 300_000);

afterAll(async () => {
  await ui?.close();
  await relay.stop();
});

describe('sending a letter', () => {
  it('says before sending that no channel reaches a recipient, and sends nothing', async () => {
    await chooseRecipient('injoignable', /INJOIGNABLE/i);
    const recipient = page.locator('[data-recipient]').filter({ hasText: /INJOIGNABLE/i });
    await expect.poll(() => recipient.locator('[data-reach-refused]').textContent(), { timeout: 10_000 }).toBe(
      'Ce destinataire n’est joignable par aucun moyen d’envoi : il n’est pas sur ce nœud, n’a pas de messagerie sécurisée de santé (MSSanté) ni de logiciel d’établissement relié. Choisissez une autre fiche de l’annuaire.',
    );
    await page.getByRole('button', { name: 'Envoyer', exact: true }).click();
    await expect.poll(() => page.locator('[data-unreachable]').textContent()).toMatch(/^Envoi impossible : .*INJOIGNABLE.* ne peut être joint par aucun moyen d’envoi/i);
    await ui.shot('1-unreachable-recipient');
    const requests = (await (await owner('CommunicationRequest?_summary=count')).json()) as { total: number };
    expect(requests.total).toBe(0);
    expect(await page.getByText('Envoi demandé').count()).toBe(0);
  });

  it('sends to a mailbox, with a cover message; the failure says why, and Réessayer delivers it', async () => {
    await page.locator('[data-recipient]').filter({ hasText: /INJOIGNABLE/i }).getByRole('button', { name: /^Retirer/ }).click();
    await chooseRecipient('ferme', /FERME/i);
    const recipient = page.locator('[data-recipient]').filter({ hasText: /FERME/i });
    await expect.poll(() => recipient.locator('[data-reach]').textContent(), { timeout: 10_000 }).toBe(`Envoi par messagerie sécurisée de santé (MSSanté), à ${REFUSED}`);
    await page.getByLabel('Message d’accompagnement (facultatif)').fill('Cher confrère, je vous adresse Mme Lefèvre pour avis.');
    await ui.shot('2-reachable-recipient');
    await page.getByRole('button', { name: 'Envoyer', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Envoi demandé à 1 destinataire(s).' }).waitFor();

    const sent = rows().filter({ hasText: 'Courrier au Dr Ferme' });
    const failure = sent.locator('[data-failure]');
    await outboxUntil(() => failure.count(), 1);
    expect(await failure.locator('.problem').textContent()).toBe('Refusé par le destinataire : son adresse n’existe pas ou n’accepte pas ce document.');
    expect(await sent.locator('.deliveries .badge').first().textContent()).toBe('Échec');
    await ui.shot('3-failed-with-reason');

    relay.refused.delete(REFUSED);
    await failure.getByRole('button', { name: 'Réessayer' }).click();
    await outboxUntil(() => sent.locator('.deliveries .badge').first().textContent(), 'Remis');
    await ui.shot('4-delivered-after-retry');
    expect(relay.to(REFUSED)).toHaveLength(1);
    expect(relay.to(REFUSED)[0].raw.toString()).toContain('je vous adresse Mme Lef');
    expect(ui.problems).toEqual([]);
  });
});
