import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { fhirFetch } from '../helpers/node';
import { logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';

/**
 * Identity vigilance in the practice UI (issue 27), in Debian's Chromium on the built app served by `liaison serve
 * --demo`: Dr Claire Martin types a NIR that contradicts the sex and reads why next to it before sending anything;
 * sees the identity's status, birthplace and used name on the banner and validates an identity with the document she
 * checked; is offered the patient born the same day under a close name before creating a second one, and told that an
 * INS already belongs to a patient. Screenshots in test-results/identity/.
 */

type Json = Record<string, any>;

let ui: DemoUi;
let node: ServingNode;
let page: Page;

const CLAIRE = 'Practitioner/demo-claire-martin';
const NIR = 'urn:oid:1.2.250.1.213.1.4.8';
const owner = (path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(node.fhir, node.token, path, init);
async function created(json: Json): Promise<Json> {
  const response = await owner('Patient', { method: 'POST', json: { resourceType: 'Patient', active: true, generalPractitioner: [{ reference: CLAIRE }], ...json } });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as Json;
}
/** The 13 characters and their key. */
const nir = (first13: string) => `${first13}${String(97n - (BigInt(first13) % 97n)).padStart(2, '0')}`;
const field = (label: string) => page.locator('label', { has: page.getByLabel(label) });

async function newPatient(family: string, given: string, birthDate: string): Promise<void> {
  await page.getByRole('link', { name: 'Patients' }).click();
  // A fresh form: one a failed test left open would keep its fields.
  const open = page.locator('form.patient-form').getByRole('button', { name: 'Annuler' });
  if ((await open.count()) > 0) await open.click();
  await page.getByRole('button', { name: 'Nouveau patient' }).click();
  await page.getByLabel('Nom de naissance').fill(family);
  await page.getByLabel('Prénom(s) de naissance').fill(given);
  await page.locator('input[name="birthDate"]').fill(birthDate);
}

beforeAll(async () => {
  ui = await openDemoUi('identity', { width: 1280, height: 900 }, { timezoneId: 'Europe/Paris' });
  ({ node, page } = ui);
  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
  await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
}, 240_000);

afterAll(() => ui?.close());

describe('identity vigilance in the patient screens', () => {
  it('a NIR that contradicts the sex: the reason next to it as it is typed, and nothing is sent', async () => {
    await newPatient('Vigilance', 'Jeanne', '1950-03-03');
    await page.locator('select[name="gender"]').selectOption({ label: 'Homme' });
    const ins = field('Matricule INS (NIR)');
    await page.getByLabel('Matricule INS (NIR)').fill(nir('2500375056123'));
    await expect.poll(() => ins.getByRole('alert').textContent()).toBe(
      'Ce NIR ne correspond pas au sexe indiqué : il commence par 2, or 1 est le chiffre d’un homme et 2 celui d’une femme. Vérifiez le numéro ou le sexe.',
    );
    expect(await page.getByLabel('Matricule INS (NIR)').getAttribute('aria-invalid')).toBe('true');
    await ui.shot('1-nir-contradicts-sex');
    // The birth month too; then, with the right sex and date, the reason goes.
    await page.locator('select[name="gender"]').selectOption({ label: 'Femme' });
    await page.locator('input[name="birthDate"]').fill('1950-04-03');
    await expect.poll(() => ins.getByRole('alert').textContent()).toContain('ses 4e et 5e chiffres (03) devraient être 04');
    await page.locator('input[name="birthDate"]').fill('1950-03-03');
    await expect.poll(() => ins.getByRole('alert').count()).toBe(0);
    await page.locator('select[name="gender"]').selectOption({ label: 'Homme' });
    await page.getByRole('button', { name: 'Créer' }).click();
    expect(((await (await owner(`Patient?identifier=${NIR}|${nir('2500375056123')}`)).json()) as Json).total ?? 0).toBe(0);
    await page.getByRole('button', { name: 'Annuler' }).click();
    expect(ui.problems).toEqual([]);
  });

  it('the identity status in words on the banner, with the birthplace and the used name; a user validates with the document checked', async () => {
    const qualified = await created({
      extension: [
        { url: 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability', extension: [{ url: 'identityStatus', valueCoding: { system: 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status', code: 'QUAL' } }] },
        { url: 'http://hl7.org/fhir/StructureDefinition/birthPlace', valueAddress: { city: 'Lyon', extension: [{ url: 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code', valueCoding: { code: '69123' } }] } },
      ],
      identifier: [{ system: NIR, value: nir('2680569123045') }],
      name: [{ use: 'official', family: 'Qualifiée', given: ['Rose', 'Marie'] }, { use: 'usual', family: 'Berger' }],
      gender: 'female',
      birthDate: '1968-05-21',
    });
    await page.goto(`${node.url}/#/patients/${qualified.id}`);
    const banner = page.locator('[data-patient-banner]');
    await expect.poll(() => banner.textContent()).toContain('Identité qualifiée');
    const text = (await banner.innerText()).replace(/\s+/g, ' ');
    expect(text).toContain('QUALIFIÉE Rose Marie');
    expect(text).toContain('nom utilisé BERGER');
    expect(text).toContain('Né(e) à Lyon (69123)');
    await page.getByRole('button', { name: 'Modifier' }).click();
    const status = page.getByLabel('Statut de l’identité');
    expect(await status.isDisabled()).toBe(true);
    expect(await status.inputValue()).toBe('Identité qualifiée');
    await ui.shot('2-qualified-banner-and-form');
    await page.getByRole('button', { name: 'Annuler' }).click();

    await newPatient('Validée', 'Anne', '1972-08-30');
    await page.getByLabel('Commune de naissance').fill('Ajaccio');
    await page.getByLabel('Code INSEE du lieu de naissance').fill('2A004');
    await page.getByLabel('Statut de l’identité').selectOption({ label: 'Identité validée' });
    await page.getByRole('button', { name: 'Créer' }).click();
    await expect.poll(() => field('Pièce d’identité vérifiée').getByRole('alert').textContent()).toBe('Indiquez la pièce d’identité vérifiée pour valider l’identité.');
    await page.getByLabel('Pièce d’identité vérifiée').selectOption({ label: 'Passeport' });
    await page.getByRole('button', { name: 'Créer' }).click();
    await expect.poll(() => banner.textContent()).toContain('Identité validée');
    expect((await banner.innerText()).replace(/\s+/g, ' ')).toContain('Né(e) à Ajaccio (2A004)');
    const stored = ((await (await owner('Patient?family=Validée')).json()) as Json).entry[0].resource;
    expect(JSON.stringify(stored.extension)).toContain('"code":"PA"');
    await ui.shot('3-validated-with-passport');
    expect(ui.problems).toEqual([]);
  });

  it('before creating, a patient born the same day under a close name is offered to open; or created anyway', async () => {
    const existing = await created({ name: [{ use: 'official', family: 'Dupont-Moreau', given: ['Jeanne'] }], gender: 'female', birthDate: '1950-03-03' });
    await newPatient('DUPONT MOREAU', 'jeanne', '1950-03-03');
    await page.getByRole('button', { name: 'Créer' }).click();
    const offer = page.locator('[data-duplicates]');
    await expect.poll(() => offer.textContent()).toContain('Un patient semblable existe déjà : Jeanne DUPONT-MOREAU, née le 3 mars 1950.');
    await ui.shot('4-similar-patient-offered');
    await offer.getByRole('button', { name: 'Ouvrir ce dossier' }).click();
    await page.waitForURL(new RegExp(`/patients/${existing.id}$`));

    await newPatient('Dupont-Moreau', 'Jeanne', '1950-03-03');
    await page.getByRole('button', { name: 'Créer' }).click();
    await offer.getByRole('button', { name: 'Créer quand même un nouveau patient' }).click();
    await page.locator('[data-patient-banner]').waitFor();
    expect(page.url()).not.toContain(existing.id);
    expect(((await (await owner('Patient?birthdate=1950-03-03&family=moreau&_total=accurate')).json()) as Json).total).toBe(2);
    expect(ui.problems).toEqual([]);
  });

  it('an INS that already exists is said as such, with whose it is, rather than opened silently', async () => {
    const value = nir('1450875115007');
    const existing = await created({ identifier: [{ system: NIR, value }], name: [{ use: 'official', family: 'Porteur', given: ['Paul'] }], gender: 'male', birthDate: '1945-08-01' });
    await newPatient('Autre', 'Pierre', '1945-08-12');
    await page.locator('select[name="gender"]').selectOption({ label: 'Homme' });
    await page.getByLabel('Matricule INS (NIR)').fill(value);
    await page.getByRole('button', { name: 'Créer' }).click();
    const offer = page.locator('[data-duplicates]');
    await expect.poll(() => offer.textContent()).toContain('Un patient porte déjà cet INS : Paul PORTEUR, né le 1er août 1945.');
    expect(await offer.getByRole('button', { name: /Créer quand même/ }).count()).toBe(0);
    expect(new URL(page.url()).hash).toBe('#/patients');
    await ui.shot('5-ins-already-exists');
    await offer.getByRole('button', { name: 'Ouvrir ce dossier' }).click();
    await page.waitForURL(new RegExp(`/patients/${existing.id}$`));
    expect(ui.problems).toEqual([]);
  });
});
