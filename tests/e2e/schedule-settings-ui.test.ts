import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { projectRoot } from '../helpers/desktop-build';
import { fhirFetch } from '../helpers/node';
import { logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';

/**
 * Réglages → "Agenda du cabinet" (issue 28), in Debian's Chromium set to Paris time on the built app served by
 * `liaison serve --demo`: Dr Claire Martin, admin of the Cabinet des Lilas, lengthens the consultation, adds a type
 * with its colour, and sets her colleague Dr Paul Durand's week and a holiday; the node then offers his free slots
 * from those hours, in Paris time. Screenshots in test-results/schedule-settings/.
 */

type Json = Record<string, any>;

const PRACTICE = 'demo-cabinet-des-lilas';
let ui: DemoUi;
let node: ServingNode;
let page: Page;

const owner = async (path: string) => (await (await fhirFetch(node.fhir, node.token, path)).json()) as Json;
const panel = () => page.locator('[data-schedule]');
/** The panel alone, where the full page is too tall to read. */
const shotPanel = (name: string) => panel().screenshot({ path: join(projectRoot, 'test-results/schedule-settings', `${name}.png`) });

beforeAll(async () => {
  ui = await openDemoUi('schedule-settings', { width: 1280, height: 900 }, { timezoneId: 'Europe/Paris' });
  ({ node, page } = ui);
  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
  await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
  await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Réglages' }).click();
  await panel().getByRole('heading', { name: 'Agenda du cabinet' }).waitFor();
}, 240_000);

afterAll(() => ui?.close());

describe("the practice's agenda in Réglages", () => {
  it('shows the default types, and saves a longer consultation and a new type with its colour', async () => {
    const names = panel().locator('[data-type-row] input[name="type-name"]');
    await expect.poll(() => names.evaluateAll((inputs) => inputs.map((input) => (input as unknown as { value: string }).value))).toEqual(['Consultation', 'Première consultation', 'Visite à domicile', 'Téléconsultation', 'Vaccination']);
    await panel().getByLabel('Durée de « Consultation » en minutes').fill('20');
    await panel().getByRole('button', { name: 'Ajouter un type' }).click();
    await names.last().fill('Suivi de grossesse');
    await panel().getByLabel('Durée de « Suivi de grossesse » en minutes').fill('45');
    await panel().getByLabel('Couleur de « Suivi de grossesse »').fill('#e91e63');
    await panel().getByRole('button', { name: 'Enregistrer les types' }).click();
    await panel().locator('form.types').getByRole('status').filter({ hasText: 'Enregistré' }).waitFor();
    const saved = await owner(`CodeSystem/appointment-type-${PRACTICE}`);
    const concepts = saved.concept.map((concept: Json) => [concept.code, concept.display, concept.extension[0].valueDuration.value, concept.extension[1].valueString]);
    expect(concepts[0]).toEqual(['consultation', 'Consultation', 20, '#2f6fb3']);
    expect(concepts[5]).toEqual(['suivi-de-grossesse', 'Suivi de grossesse', 45, '#e91e63']);
    await ui.shot('types');
    await shotPanel('panel-types');
  });

  it("sets a colleague's week and a holiday, from which the node derives his free slots in Paris time", async () => {
    await panel().getByLabel('Praticien').selectOption({ label: 'Dr Paul Durand' });
    const monday = panel().locator('[data-day="mon"]');
    await monday.getByRole('button', { name: '+ une plage' }).click();
    await monday.getByRole('button', { name: '+ une plage' }).click();
    const wednesday = panel().locator('[data-day="wed"]');
    await wednesday.getByRole('button', { name: '+ une plage' }).click();
    await wednesday.getByLabel('Fin de la plage du Mercredi').fill('11:00');
    await panel().getByRole('button', { name: 'Ajouter une absence' }).click();
    const absence = panel().locator('[data-absence]');
    await absence.getByLabel('Motif (congés, formation…)').fill('Congés de printemps');
    await absence.getByLabel('Premier jour d’absence').fill('2027-04-19');
    await absence.getByLabel('Dernier jour d’absence').fill('2027-04-23');
    await panel().getByRole('button', { name: 'Enregistrer les horaires de Dr Paul Durand' }).click();
    await panel().locator('form.hours').getByRole('status').filter({ hasText: 'Enregistré' }).waitFor();
    await ui.shot('hours');
    await shotPanel('panel-hours');

    const schedules = await owner('Schedule?actor=Practitioner/demo-paul-durand');
    expect(schedules.entry).toHaveLength(1);
    // Monday 12 April 2027, 08:30 in Paris (summer time) is 06:30Z; slots of the practice's consultation, 20 minutes.
    const week = await owner('Slot?status=free&schedule.actor=Practitioner/demo-paul-durand&start=ge2027-04-12&start=lt2027-04-13&_count=3');
    expect(week.entry.map((entry: Json) => [entry.resource.start, entry.resource.end])).toEqual([
      ['2027-04-12T06:30:00Z', '2027-04-12T06:50:00Z'],
      ['2027-04-12T06:50:00Z', '2027-04-12T07:10:00Z'],
      ['2027-04-12T07:10:00Z', '2027-04-12T07:30:00Z'],
    ]);
    const afternoon = await owner('Slot?status=free&schedule.actor=Practitioner/demo-paul-durand&start=ge2027-04-12T11:00:00Z&start=lt2027-04-13&_count=1');
    expect(afternoon.entry[0].resource.start).toBe('2027-04-12T12:00:00Z');
    const holiday = await owner('Slot?status=free&schedule.actor=Practitioner/demo-paul-durand&start=ge2027-04-19&start=lt2027-04-24');
    expect(holiday.total).toBe(0);

    // Read back as saved: his week and holiday, in the form again.
    await page.reload();
    await panel().getByLabel('Praticien').selectOption({ label: 'Dr Paul Durand' });
    await expect.poll(() => panel().locator('[data-day="mon"] input[type="time"]').evaluateAll((inputs) => inputs.map((input) => (input as unknown as { value: string }).value))).toEqual(['08:30', '12:00', '14:00', '18:00']);
    await expect.poll(() => panel().locator('[data-absence] input').first().inputValue()).toBe('Congés de printemps');
    expect(ui.problems).toEqual([]);
  });
});
