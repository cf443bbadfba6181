import type { Page } from 'playwright-core';
import { v7 as uuidv7, v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { ServingNode } from '../helpers/child-node';
import { projectRoot } from '../helpers/desktop-build';
import { fhirFetch } from '../helpers/node';
import { logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';

/**
 * A booking conflict as Dr Claire Martin reads it (issue 28), in Debian's Chromium set to Paris time on the built app
 * served by `liaison serve --demo`: she is booked 17:00–17:30 here, and another desktop that was offline pushes its
 * own booking of her at 17:10–17:40 through sync ($replicate). Réglages says "Conflit de réservation", her name, both
 * patients and their times in Paris time, with a link to each appointment; nothing of the node's ids or UTC times.
 * Screenshots in test-results/booking-conflicts/.
 */

type Json = Record<string, any>;

let ui: DemoUi;
let node: ServingNode;
let page: Page;

const owner = (path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(node.fhir, node.token, path, init);
const day = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);

async function created(path: string, resource: Json): Promise<Json> {
  const response = await owner(path, { method: 'POST', json: resource });
  const body = (await response.json()) as Json;
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body;
}

function appointment(patient: string, start: string, end: string): Json {
  return {
    resourceType: 'Appointment',
    status: 'booked',
    start,
    end,
    participant: [
      { actor: { reference: `Patient/${patient}` }, status: 'accepted' },
      { actor: { reference: 'Practitioner/demo-claire-martin' }, status: 'accepted' },
    ],
  };
}

let here: Json;
let pushedId: string;

beforeAll(async () => {
  ui = await openDemoUi('booking-conflicts', { width: 1280, height: 900 }, { timezoneId: 'Europe/Paris' });
  ({ node, page } = ui);
  const lefevre = await created('Patient', { resourceType: 'Patient', name: [{ use: 'official', family: 'Lefèvre', given: ['Margaux'] }], birthDate: '1984-03-12', gender: 'female', generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }] });
  const garnier = await created('Patient', { resourceType: 'Patient', name: [{ use: 'official', family: 'Garnier', given: ['Louis'] }], birthDate: '1950-07-01', gender: 'male', generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }] });
  // 17:00 in Paris (winter) is 16:00Z.
  here = await created('Appointment', appointment(lefevre.id, `${day}T16:00:00Z`, `${day}T16:30:00Z`));
  // The other desktop's booking, made while it was offline, as sync pushes it.
  pushedId = uuidv7();
  const version = { ...appointment(garnier.id, `${day}T16:10:00Z`, `${day}T16:40:00Z`), id: pushedId, meta: { versionId: uuidv7(), lastUpdated: new Date().toISOString() } };
  const pushed = await owner(`$replicate?sender=${uuidv4()}`, {
    method: 'POST',
    json: {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ fullUrl: `urn:uuid:${pushedId}`, extension: [{ url: 'http://liaison.health/fhir/StructureDefinition/sync-origin', valueString: uuidv4() }], resource: version, request: { method: 'POST', url: 'Appointment' } }],
    },
  });
  expect(pushed.status, await pushed.clone().text()).toBe(200);
  expect(((await pushed.json()) as Json).entry[0].response.status).toMatch(/^201/);
  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
  await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
}, 300_000);

afterAll(() => ui?.close());

describe('a booking conflict in Réglages', () => {
  it('is the practice software’s to see on a plain read: both appointments carry the booking tag', async () => {
    for (const id of [here.id, pushedId]) {
      const read = (await (await owner(`Appointment/${id}`)).json()) as Json;
      expect(read.meta.tag).toEqual([{ system: 'http://liaison.health/fhir/CodeSystem/conflict', code: 'booking', display: 'Conflit de réservation / Booking conflict' }]);
    }
  });

  it('says who and when in French and Paris time, with a link to each appointment', async () => {
    await page.getByRole('link', { name: 'Réglages' }).click();
    const conflict = page.locator('[data-booking-conflict]');
    await conflict.waitFor();
    await conflict.scrollIntoViewIfNeeded();
    const heading = (await conflict.locator('h3').innerText()).replace(/\s+/g, ' ');
    expect(heading).toMatch(/^Conflit de réservation Dr Claire MARTIN depuis le /);
    const lines = (await conflict.locator('li').allInnerTexts()).map((line) => line.replace(/\s+/g, ' ').trim());
    const when = `\\w+\\. \\d+ \\S+ \\d{4}`;
    expect(lines.sort()).toEqual([expect.stringMatching(new RegExp(`^GARNIER Louis — ${when}, 17:10 – 17:40 · Réservé$`)), expect.stringMatching(new RegExp(`^LEFÈVRE Margaux — ${when}, 17:00 – 17:30 · Réservé$`))]);
    const text = await conflict.innerText();
    expect(text).not.toMatch(/Appointment\/|Patient\/|Practitioner\/|demo-|\d\d:\d\dZ|T\d\d:\d\d|booked/);
    await page.locator('[data-conflicts]').screenshot({ path: join(projectRoot, 'test-results', 'booking-conflicts', '1-booking-conflict.png') });

    await conflict.getByRole('link', { name: /^LEFÈVRE Margaux/ }).click();
    await page.getByRole('heading', { name: 'Agenda' }).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/appointments?appointment=${here.id}&date=${day}`);
    expect(ui.problems).toEqual([]);
  });
});
