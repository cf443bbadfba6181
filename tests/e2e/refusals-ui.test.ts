import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { fhirFetch } from '../helpers/node';
import { bookInAgenda, logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';

/**
 * Coded refusals in French (issue 25), in Debian's Chromium set to Paris time on the built app served by
 * `liaison serve --demo`: Dr Claire Martin books a slot already taken and enters a NIR with a wrong key. Each refusal
 * reads as a French sentence next to its field, with times in her zone (11:00 for a slot stored as 10:00Z), and
 * nothing of the node's English, no internal reference, no UTC time. Screenshots in test-results/refusals/.
 */

type Json = Record<string, any>;

let ui: DemoUi;
let node: ServingNode;
let page: Page;

const owner = (path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(node.fhir, node.token, path, init);
/** The page's visible text, in one line. */
const pageText = async () => (await page.locator('body').innerText()).replace(/\s+/g, ' ');
/** Words of the node's diagnostics, internal references and UTC times, none of which a French user may read. */
function expectNothingOfTheNode(text: string): void {
  expect(text).not.toMatch(/already booked|overlaps|is not a NIR|control key|should be|Détail/);
  expect(text).not.toMatch(/Patient\/|Practitioner\/|Appointment\/|demo-/);
  expect(text).not.toMatch(/\d\d:\d\d(:\d\d)?(\.\d+)?Z|T\d\d:\d\d/);
}

beforeAll(async () => {
  ui = await openDemoUi('refusals', { width: 1280, height: 800 }, { timezoneId: 'Europe/Paris' });
  ({ node, page } = ui);
  const patient = await owner('Patient', {
    method: 'POST',
    json: { resourceType: 'Patient', active: true, name: [{ use: 'official', family: 'Lefèvre', given: ['Margaux'] }], birthDate: '1984-03-12', gender: 'female', generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }] },
  });
  expect(patient.status, await patient.clone().text()).toBe(201);
  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
  await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
}, 240_000);

afterAll(() => ui?.close());

describe('refusals a French practitioner reads', () => {
  it('a slot already taken: under the start, the patient who has it and its times in Paris time', async () => {
    const day = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    const book = () => bookInAgenda(page, { typed: 'lefe', patient: /LEFÈVRE Margaux/, start: `${day}T11:00` });
    await page.getByRole('link', { name: 'Agenda' }).click();
    await page.getByRole('heading', { name: 'Agenda' }).waitFor();
    await book();
    await page.getByRole('status').filter({ hasText: 'Rendez-vous réservé.' }).waitFor();
    // Stored in UTC: 11:00 in Paris (winter) is 10:00Z.
    const booked = (await (await owner('Appointment?_count=10')).json()) as Json;
    expect(booked.entry.map((entry: Json) => entry.resource.start)).toEqual([expect.stringMatching(new RegExp(`^${day}T10:00:00(\\.000)?(Z|\\+00:00)$`))]);

    await book();
    const start = page.getByRole('form', { name: 'Nouveau rendez-vous' }).locator('label', { has: page.getByLabel('Début') });
    const refusal = start.getByRole('alert');
    await refusal.waitFor();
    await expect.poll(() => refusal.textContent()).toMatch(/^Ce créneau est déjà pris : LEFÈVRE Margaux(, née le 12\/03\/1984)?, de 11:00 à 11:30 \(\w+\. \d+ \S+ \d{4}\)\.$/);
    expect(await page.getByLabel('Début').getAttribute('aria-invalid')).toBe('true');
    expectNothingOfTheNode(await pageText());
    await ui.shot('1-slot-taken');
    expect(((await (await owner('Appointment?_count=10')).json()) as Json).entry).toHaveLength(1);
  });

  it('a NIR with a wrong key: under the INS field, the key it should have', async () => {
    await page.getByRole('link', { name: 'Patients' }).click();
    await page.getByRole('button', { name: 'Nouveau patient' }).click();
    await page.getByLabel('Nom de naissance').fill('Durand');
    await page.getByLabel('Prénom(s)').fill('Léa');
    await page.getByLabel('Date de naissance').fill('1984-12-27');
    await page.getByLabel('Matricule INS (NIR)').fill('284127645108947');
    await page.getByRole('button', { name: 'Créer' }).click();
    const ins = page.locator('label', { has: page.getByLabel('Matricule INS (NIR)') }).getByRole('alert');
    await ins.waitFor();
    expect(await ins.textContent()).toMatch(/^La clé de ce NIR ne correspond pas : avec ces 13 premiers caractères, elle devrait être \d\d, et non 47\./);
    expectNothingOfTheNode(await pageText());
    await ui.shot('2-nir-key');
    expect(ui.problems).toEqual([]);
  });
});
