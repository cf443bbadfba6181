import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { fhirFetch } from '../helpers/node';
import { samplePdf } from '../helpers/pdf';
import { dropPdfOnPatient, logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';

/**
 * How the practice UI looks in a 1280×800 window, in Debian's Chromium, on the built app served by `liaison serve
 * --demo`: Réglages fits the window and names rights in French, the PDF viewer fits its frame and prints and
 * downloads the document, and icons are SVGs (a desktop without an emoji font shows them too). Screenshots in
 * test-results/practice-look/.
 */

type Json = Record<string, any>;
type Box = { x: number; y: number; width: number; height: number };

const WIDTH = 1280;
let ui: DemoUi;
let node: ServingNode;
let page: Page;

const owner = (path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(node.fhir, node.token, path, init);
const shot = (name: string) => ui.shot(name);
async function box(locator: Locator): Promise<Box> {
  const found = await locator.boundingBox();
  expect(found, String(locator)).not.toBeNull();
  return found!;
}
const right = (found: Box) => found.x + found.width;
/** The buttons, boxes and table cells of Réglages that stick out of their card (their text, for the failure message). */
const outOfTheirCard = () =>
  page.evaluate(() => {
    type Element = { textContent: string | null; getAttribute(name: string): string | null; closest(selector: string): Element | null; getBoundingClientRect(): { left: number; right: number } };
    const dom = globalThis as unknown as { document: { querySelectorAll(selector: string): Element[] } };
    return [...dom.document.querySelectorAll('section.panel button, section.panel input, section.panel td, section.panel th')]
      .filter((element) => {
        const card = element.closest('section.panel')!.getBoundingClientRect();
        const own = element.getBoundingClientRect();
        return own.right > card.right + 0.5 || own.left < card.left - 0.5;
      })
      .map((element) => element.textContent?.trim() || element.getAttribute('aria-label') || element.getAttribute('name') || '?');
  });
const pageWidth = () => page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);

beforeAll(async () => {
  ui = await openDemoUi('practice-look', { width: WIDTH, height: 800 });
  ({ node, page } = ui);

  // A sync peer with a long address (a practice's node behind a long host name), added as the admin would.
  const peer = await fetch(`${node.url}/admin/peers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Cabinet du Port', url: 'https://cabinet-medical-du-port-de-plaisance-de-la-rochelle.sante.example.fr:8347/liaison', kind: 'office', clientId: 'liaison-lilas-vers-le-cabinet-du-port', clientSecret: 's3cret-du-port' }),
  });
  expect(peer.status, await peer.clone().text()).toBe(201);

  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
  await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
}, 240_000);

afterAll(() => ui?.close());

describe('the practice UI in a 1280 px wide window', () => {
  it('Réglages fits the window: the rights grid keeps its last column inside its card, “Retirer” stays on screen, rights read in French', async () => {
    await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Réglages' }).click();
    await page.getByRole('heading', { name: 'Réglages', level: 1 }).waitFor();
    const rights = page.locator('fieldset table');
    await rights.waitFor();
    const remove = page.locator('[data-peer]').getByRole('button', { name: 'Retirer' });
    await remove.waitFor();

    // Geometry first: what a 1280 px window shows, whatever the words.
    const card = await box(page.locator('section.panel', { has: rights }));
    const lastColumn = rights.locator('tbody tr td:last-child');
    expect(await lastColumn.count()).toBe(9);
    for (const cell of await lastColumn.all()) expect(right(await box(cell))).toBeLessThanOrEqual(right(card));
    expect(right(card)).toBeLessThanOrEqual(WIDTH);
    expect(right(await box(remove))).toBeLessThanOrEqual(WIDTH);
    expect(await pageWidth()).toBeLessThanOrEqual(WIDTH);
    expect(await outOfTheirCard()).toEqual([]);

    // The grid in words: a row per kind of data, a column per action, each box named as a sentence.
    expect(await rights.locator('thead th').allTextContents()).toEqual(['Lire', 'Rechercher', 'Créer', 'Modifier']);
    expect(await rights.locator('tbody th').first().textContent()).toBe('Dossiers des patients');
    const form = page.locator('form.new-client');
    await form.getByLabel('Nom du logiciel').fill('Logiciel de numérisation');
    for (const action of ['Lire', 'Rechercher', 'Créer', 'Modifier']) await form.getByRole('checkbox', { name: `${action} les dossiers des patients` }).check();
    await form.getByRole('checkbox', { name: 'Lire les documents', exact: true }).check();
    await form.getByRole('button', { name: 'Créer le client' }).click();

    // The secret shown once, with copy buttons drawn as SVG icons and named in French.
    const secret = page.locator('[data-client-secret]');
    await secret.waitFor();
    const copy = page.getByRole('button', { name: 'Copier Secret' });
    expect(await copy.locator('svg').count()).toBe(1);
    const client = page.locator('.clients li', { hasText: 'Logiciel de numérisation' });
    expect(await client.locator('.scopes li').allTextContents()).toEqual(['Dossiers des patients : lire, rechercher, créer, modifier', 'Documents : lire']);
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).not.toMatch(/[A-Z]+_(READ|SEARCH|CREATE|UPDATE)/);
    expect(text).not.toMatch(/DocumentReference|CommunicationRequest/);
    expect(await pageWidth()).toBeLessThanOrEqual(WIDTH);
    expect(await outOfTheirCard()).toEqual([]);
    await shot('1-settings');
    await page.getByRole('button', { name: 'J’ai copié le secret' }).click();
  });

  let patientId: string;

  it('shows the care timeline’s symbols as SVG icons, not characters that need an emoji font', async () => {
    const patient = (await (
      await owner('Patient', {
        method: 'POST',
        json: { resourceType: 'Patient', active: true, name: [{ use: 'official', family: 'Lefèvre', given: ['Margaux'] }], birthDate: '1984-03-12', gender: 'female', generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }] },
      })
    ).json()) as Json;
    patientId = patient.id;
    const subject = { reference: `Patient/${patientId}` };
    for (const resource of [
      { resourceType: 'EpisodeOfCare', status: 'active', patient: subject, type: [{ text: 'Suivi du diabète' }], period: { start: '2024-01-10' } },
      { resourceType: 'Encounter', status: 'finished', subject, type: [{ text: 'Consultation de suivi' }], period: { start: '2025-06-02T09:00:00+02:00' } },
    ]) {
      const response = await owner(resource.resourceType, { method: 'POST', json: resource });
      expect(response.status, await response.clone().text()).toBe(201);
    }
    await page.getByRole('link', { name: 'Patients' }).click();
    await page.getByRole('combobox', { name: 'Rechercher un patient' }).fill('lefe');
    await page.getByRole('option', { name: /LEFÈVRE Margaux/ }).click();
    const items = page.locator('[data-timeline] > li');
    await expect.poll(() => items.count()).toBe(2);
    for (const item of await items.all()) {
      const icon = item.locator('.icon');
      expect(await icon.locator('svg').count()).toBe(1);
      expect((await icon.textContent())?.trim()).toBe('');
      // Drawn, not an empty box: the SVG has its size.
      expect((await box(icon.locator('svg'))).width).toBeGreaterThan(10);
    }
    await shot('2-timeline-icons');
  });

  it('opens a PDF fitted to its frame, prints the document itself and downloads it under its title and date', async () => {
    const pdf = samplePdf('Compte rendu de consultation - Liaison');
    expect(await page.locator('[data-drop-zone] svg').count()).toBe(1);
    await dropPdfOnPatient(page, pdf, 'Compte rendu du 2 juin');
    await page.getByRole('status').filter({ hasText: 'Document ajouté au dossier de LEFÈVRE Margaux' }).waitFor();

    const canvas = page.locator('canvas[data-rendered="true"]');
    await canvas.waitFor({ timeout: 15_000 });
    // Fitted on opening: the page is as wide as the frame allows, not wider (no sideways scrolling), nor a thumbnail.
    const frame = page.locator('.pdf-viewer .page');
    const frameBox = await box(frame);
    const canvasBox = await box(canvas);
    expect(canvasBox.width).toBeLessThanOrEqual(frameBox.width);
    expect(canvasBox.width).toBeGreaterThan(frameBox.width * 0.8);
    expect(await frame.evaluate((element) => (element as unknown as { scrollWidth: number; clientWidth: number }).scrollWidth <= (element as unknown as { clientWidth: number }).clientWidth)).toBe(true);
    expect(await pageWidth()).toBeLessThanOrEqual(WIDTH);
    for (const name of ['Page précédente', 'Page suivante', 'Réduire', 'Agrandir']) expect(await page.getByRole('button', { name, exact: true }).locator('svg').count()).toBe(1);
    await shot('3-pdf-viewer');

    // Download: the PDF's own bytes, named after the document's title and day.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Télécharger' }).click()]);
    const today = new Date();
    const day = [today.getDate(), today.getMonth() + 1].map((part) => String(part).padStart(2, '0')).join('-') + `-${today.getFullYear()}`;
    expect(download.suggestedFilename()).toBe(`Compte rendu du 2 juin - ${day}.pdf`);
    const saved = join(ui.dataDir, 'downloaded.pdf');
    await download.saveAs(saved);
    expect(Buffer.compare(readFileSync(saved), pdf)).toBe(0);

    // Print: the browser's print is asked for with every page of the PDF, drawn at print resolution, as the only
    // thing on the printed sheet (headless Chromium has no print dialog: window.print is recorded instead).
    await page.evaluate(() => {
      const window = globalThis as unknown as { print: () => void; printed: number };
      window.printed = 0;
      window.print = () => void window.printed++;
    });
    await page.getByRole('button', { name: 'Imprimer' }).click();
    await expect.poll(() => page.evaluate(() => (globalThis as unknown as { printed: number }).printed)).toBe(1);
    await page.emulateMedia({ media: 'print' });
    const sheets = page.locator('.pdf-print img');
    expect(await sheets.count()).toBe(1);
    expect(await sheets.first().evaluate((image) => (image as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(1500);
    expect(await sheets.first().isVisible()).toBe(true);
    expect(await page.locator('#app').isVisible()).toBe(false);
    await shot('4-pdf-print');
    await page.emulateMedia({ media: 'screen' });
    expect(ui.problems).toEqual([]);
  });
});
