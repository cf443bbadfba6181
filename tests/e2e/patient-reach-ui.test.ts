import type { Locator, Page } from 'playwright-core';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/desktop-build';
import type { ServingNode } from '../helpers/child-node';
import { fhirFetch } from '../helpers/node';
import { logInThroughDemoProvider, logOut, openDemoUi, type DemoUi } from '../helpers/practice-ui';
import { clientToken } from '../helpers/users';

/**
 * Who sees a patient, and namesakes told apart (issue 27), in Debian's Chromium on the built app served by `liaison
 * serve --demo`: the Cabinet des Lilas' software creates its patients as practice software does (no `active`), and
 * they are in "Mes patients"; two "DUPONT Jeanne" born the same day — Dr Martin's and Dr Durand's — read apart in the
 * list, the search and the booking picker (birth date, INS, identity status, whose patient); Dr Durand finds Dr
 * Martin's patient he has an appointment with, never the namesake of another practice; once Dr Martin, the
 * practice's admin, turns sharing off in Réglages, he finds only his own. Screenshots in test-results/reach/.
 */

type Json = Record<string, any>;

let ui: DemoUi;
let node: ServingNode;
let page: Page;

const LILAS = 'demo-cabinet-des-lilas';
const INS_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';
const RELIABILITY = 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability';
const identityStatus = (code: string) => [{ url: RELIABILITY, extension: [{ url: 'identityStatus', valueCoding: { system: 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status', code } }] }];
const jeanne = { name: [{ use: 'official', family: 'Dupont', given: ['Jeanne'] }], birthDate: '1950-04-12', gender: 'female' };
const shot = (name: string) => ui.shot(name);
const nav = (name: string) => page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name });
const rows = () => page.locator('#patient-results > li');
const linesOf = async (row: Locator) => (await row.innerText()).replace(/\s+/g, ' ').trim();

/** "Mes patients" searched for `typed`: the rows' texts once the list has settled. */
async function listed(typed: string): Promise<string[]> {
  await nav('Patients').click();
  const box = page.getByRole('combobox', { name: 'Rechercher un patient' });
  await box.fill('');
  await box.fill(typed);
  await page.waitForTimeout(600);
  await page.locator('#patient-results[aria-busy="false"]').waitFor();
  return Promise.all((await rows().all()).map(linesOf));
}

beforeAll(async () => {
  ui = await openDemoUi('reach', { width: 1280, height: 800 });
  ({ node, page } = ui);
  // The practice's software, as an API client of the practice: it writes its patients without `active`.
  const software = await clientToken(node, { scopes: ['PATIENT_CREATE', 'PATIENT_READ', 'APPOINTMENT_CREATE', 'APPOINTMENT_READ'], organizationId: LILAS });
  const write = async (token: string, json: Json) => {
    const response = await fhirFetch(node.fhir, token, json.resourceType, { method: 'POST', json });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as Json;
  };
  const martins = await write(software, { resourceType: 'Patient', ...jeanne, extension: identityStatus('RECUP'), identifier: [{ system: INS_SYSTEM, value: '250047505612388' }], generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }] });
  await write(software, { resourceType: 'Patient', ...jeanne, extension: identityStatus('PROV'), generalPractitioner: [{ reference: 'Practitioner/demo-paul-durand' }] });
  // The namesake of another practice, whom nobody at the Lilas may see.
  await write(node.token, { resourceType: 'Patient', ...jeanne, identifier: [{ system: INS_SYSTEM, value: '250047505612487' }], generalPractitioner: [{ reference: 'Practitioner/demo-amina-benali' }] });
  // Dr Durand sees Dr Martin's patient while she is away.
  await write(software, {
    resourceType: 'Appointment',
    status: 'booked',
    description: 'Renouvellement',
    start: new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 11) + '09:00:00Z',
    end: new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 11) + '09:20:00Z',
    participant: [
      { actor: { reference: `Patient/${martins.id}` }, status: 'accepted' },
      { actor: { reference: 'Practitioner/demo-paul-durand' }, status: 'accepted' },
    ],
  });
  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
}, 240_000);

afterAll(() => ui?.close());

describe('who sees a patient, and namesakes told apart', () => {
  it('“Mes patients” lists the patients the practice’s software created, each told apart from her namesake', async () => {
    await nav('Patients').click();
    await rows().first().waitFor();
    const all = await Promise.all((await rows().all()).map(linesOf));
    expect(all).toHaveLength(2);
    const [mine, durands] = [all.find((row) => row.includes('INS 2')), all.find((row) => row.includes('Sans INS'))];
    expect(mine).toMatch(/^DUPONT Jeanne 12\/04\/1950 · \d+ ans INS 2 50 04 75 056 123 88 Identité récupérée$/);
    expect(durands).toMatch(/^DUPONT Jeanne 12\/04\/1950 · \d+ ans Sans INS Identité provisoire Suivie par Dr Paul DURAND/);
    await shot('1-mes-patients-namesakes');
  });

  it('a second GP of the practice finds the patient he has an appointment with, in the search and the booking picker, never another practice’s', async () => {
    await logOut(page);
    await logInThroughDemoProvider(page, 'paul.durand');
    const found = await listed('dupont');
    expect(found).toHaveLength(2);
    expect(found.find((row) => row.includes('Identité récupérée'))).toMatch(/INS 2 50 04 75 056 123 88 Identité récupérée Suivie par Dr Claire MARTIN/);
    expect(found.join(' ')).not.toContain('123 87');
    await shot('2-durand-finds-martins-patient');

    await rows().filter({ hasText: 'Identité récupérée' }).click();
    await page.getByRole('region', { name: 'Patient sélectionné' }).waitFor();
    await page.getByText('Renouvellement').first().waitFor();
    await shot('3-durand-opens-her-record');

    await nav('Agenda').click();
    await page.getByRole('heading', { name: 'Agenda' }).waitFor();
    await page.getByRole('button', { name: 'Nouveau rendez-vous' }).click();
    await page.getByRole('form', { name: 'Nouveau rendez-vous' }).getByRole('combobox', { name: 'Patient' }).fill('dupont');
    const options = page.locator('#appointment-patient-options').getByRole('option');
    await expect.poll(() => options.count()).toBe(2);
    const texts = (await options.allInnerTexts()).map((text) => text.replace(/\s+/g, ' ').trim());
    expect(texts).toEqual(
      expect.arrayContaining([expect.stringMatching(/^DUPONT Jeanne 12\/04\/1950 · \d+ ans INS 2 50 04 75 056 123 88 Identité récupérée Suivie par Dr Claire MARTIN/), expect.stringMatching(/^DUPONT Jeanne 12\/04\/1950 · \d+ ans Sans INS Identité provisoire$/)]),
    );
    await shot('4-booking-picker-namesakes');
    await options.filter({ hasText: 'Identité provisoire' }).click();
    expect(await page.locator('.patient-picker .chosen').innerText()).toMatch(/Identité provisoire/);
  });

  it('once the practice’s admin turns sharing off in Réglages, each practitioner finds only his own patients', async () => {
    await logOut(page);
    await logInThroughDemoProvider(page, 'claire.martin');
    await nav('Réglages').click();
    const panel = page.locator('[data-practice-settings]');
    await panel.getByRole('heading', { name: 'Cabinet des Lilas' }).waitFor();
    const sharing = panel.getByRole('checkbox', { name: 'Les praticiens du cabinet partagent leurs patients' });
    expect(await sharing.isChecked()).toBe(true);
    await sharing.uncheck();
    await panel.locator('[data-practice-changed]').waitFor();
    expect(await panel.innerText()).toContain('Chaque praticien ne voit que les patients qu’il suit');
    await panel.screenshot({ path: join(projectRoot, 'test-results', 'reach', '5-reglages-sharing-off.png') });

    await logOut(page);
    await logInThroughDemoProvider(page, 'paul.durand');
    const found = await listed('dupont');
    expect(found).toEqual([expect.stringMatching(/^DUPONT Jeanne 12\/04\/1950 · \d+ ans Sans INS Identité provisoire$/)]);
    await shot('6-durand-own-patients-only');
    expect(ui.problems).toEqual([]);
  });
});
