import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIRECTORY_SAMPLE_DIR } from '../../src-server/directory/sample';
import { AnsServer, publicationZip } from '../helpers/ans-server';
import type { ServingNode } from '../helpers/child-node';
import { logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';

/**
 * Réglages → Mise à jour de l’annuaire (issue 29), in Debian's Chromium on the built app served by `liaison serve --demo`: the
 * admin turns the daily refresh on towards a local stand-in of the ANS service (plain HTTP: a child node cannot be
 * given the tests' CA), sees the publication imported in French, a publication that would archive half the directory
 * waiting for her confirmation, and a failure with its reason and "Réessayer". Screenshots in
 * test-results/directory-refresh/.
 */

const SHOTS = 'test-results/directory-refresh';
const sample = (prefix: string) => readFileSync(join(DIRECTORY_SAMPLE_DIR, readdirSync(DIRECTORY_SAMPLE_DIR).find((name) => name.startsWith(prefix))!), 'utf8');
const activity = sample('PS_LibreAcces_Personne_activite');
const mssante = sample('Extraction_Correspondance_MSSante');

let ui: DemoUi;
let ans: AnsServer;
let node: ServingNode;
let page: Page;
let section: Locator;

beforeAll(async () => {
  ans = await AnsServer.start();
  // The publication the demo imported already (its bundled sample): importing it again changes nothing.
  ans.publish('activity', '202612061410', publicationZip('PS_LibreAcces_Personne_activite', '202612061410', activity));
  ans.publish('mssante', '202612061410', publicationZip('Extraction_Correspondance_MSSante', '202612061410', mssante));
  ui = await openDemoUi('directory-refresh', { width: 1280, height: 900 }, { timezoneId: 'Europe/Paris' });
  ({ node, page } = ui);
  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
  await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
  await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Réglages' }).click();
  section = page.locator('[data-directory-refresh]');
  await section.waitFor();
}, 240_000);

afterAll(async () => {
  await ui?.close();
  await ans?.close();
});

describe('Réglages → Mise à jour de l’annuaire', () => {
  it('turned on towards the service, says which publication is imported, in French', async () => {
    await section.getByText('La mise à jour quotidienne est désactivée.').first().waitFor();
    await section.getByLabel('Mise à jour quotidienne').check();
    await section.getByLabel('Adresse du service (ou d’un miroir)').fill(ans.url);
    await section.getByRole('button', { name: 'Enregistrer' }).click();
    await section.getByText(/^Annuaire du 6 décembre 2026, 14:10 — 300 activités$/).waitFor({ timeout: 120_000 });
    await section.getByText(/^Messageries MSSanté du 6 décembre 2026, 14:10 — \d+ adresses$/).waitFor({ timeout: 60_000 });
    await section.getByText(/^Prochaine vérification : /).waitFor();
    expect(ui.problems).toEqual([]);
    await section.screenshot({ path: `${SHOTS}/1-annuaire-a-jour.png` });
  }, 300_000);

  it('holds a publication that would archive half the directory until the admin confirms it', async () => {
    const lines = activity.split('\n');
    ans.publish('activity', '202612071410', publicationZip('PS_LibreAcces_Personne_activite', '202612071410', lines.slice(0, 150).join('\n')));
    await section.getByRole('button', { name: 'Vérifier maintenant' }).click();
    const waiting = section.locator('[data-directory-waiting]');
    await waiting.getByText(/^La publication du 7 décembre 2026, 14:10 archiverait \d+ fiches sur \d+ : elle semble incomplète/).waitFor({ timeout: 120_000 });
    await section.screenshot({ path: `${SHOTS}/2-publication-a-confirmer.png` });
    page.once('dialog', (dialog) => void dialog.accept());
    await waiting.getByRole('button', { name: 'Confirmer : c’est l’annuaire complet' }).click();
    await section.getByText(/^Annuaire du 7 décembre 2026, 14:10 — 149 activités$/).waitFor({ timeout: 120_000 });
  }, 300_000);

  it('says a failure with its reason, and "Réessayer" checks again', async () => {
    await section.getByLabel('Adresse du service (ou d’un miroir)').fill('http://127.0.0.1:1');
    await section.getByRole('button', { name: 'Enregistrer' }).click();
    const failure = section.locator('[data-directory-failure]');
    await failure.getByText(/^Échec : le serveur de l’ANS ne répond pas/).waitFor({ timeout: 60_000 });
    // The last publication imported stays said, and searchable.
    await section.getByText(/^Annuaire du 7 décembre 2026, 14:10/).waitFor();
    await section.screenshot({ path: `${SHOTS}/3-echec-reessayer.png` });
    await failure.getByRole('button', { name: 'Réessayer' }).click();
    await failure.getByText(/^Échec : le serveur de l’ANS ne répond pas/).waitFor({ timeout: 60_000 });
    expect(ui.problems).toEqual([]);
  }, 300_000);
});
