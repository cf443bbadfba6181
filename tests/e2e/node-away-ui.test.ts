import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { practicePage } from '../helpers/chromium';
import { logInThroughDemoProvider } from '../helpers/practice-ui';
import { killAllChildren, serve, type ServingNode } from '../helpers/child-node';
import { buildDesktop, projectRoot } from '../helpers/desktop-build';
import { fhirFetch, tempDir } from '../helpers/node';
import { samplePdf } from '../helpers/pdf';

/**
 * The node going away while the practice UI is open in Chromium (issue 25): the built app served by a real
 * `liaison serve --demo`, stopped while a practitioner works, then started again on the same folder and port. A screen
 * not opened before the node stopped still opens; the documents screen shows the error and not “Aucun document”; once
 * the node is back, the screen says so and shows its documents without the page being reloaded. Screenshots in
 * test-results/node-away/.
 */

type Json = Record<string, any>;

const SCREENSHOTS = join(projectRoot, 'test-results/node-away');
const DESCRIPTION = 'Compte rendu de consultation du 2 juin';
const dataDir = tempDir('liaison-ui-away-');
let outDir: string;
let node: ServingNode;
let browser: Browser;
let page: Page;
const problems: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
const serveUi = (extra: string[] = []) => serve(dataDir, 60_000, ['--demo', '--ui-dir', join(outDir, 'renderer'), ...extra]);

async function created(path: string, json: Json): Promise<Json> {
  const response = await fhirFetch(node.fhir, node.token, path, { method: 'POST', json });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as Json;
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  outDir = buildDesktop('node-away-ui-');
  node = await serveUi();
  // A document of one of Dr Martin's patients, for the documents screen to show once the node is back.
  const patient = await created('Patient', {
    resourceType: 'Patient',
    active: true,
    name: [{ use: 'official', family: 'Lefèvre', given: ['Margaux'] }],
    birthDate: '1984-03-12',
    generalPractitioner: [{ reference: 'Practitioner/demo-claire-martin' }],
  });
  const binary = await fhirFetch(node.fhir, node.token, 'Binary', { method: 'POST', body: samplePdf('Compte rendu'), headers: { 'content-type': 'application/pdf' } });
  expect(binary.status).toBe(201);
  const { id: binaryId } = (await binary.json()) as Json;
  await created('DocumentReference', {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11488-4', display: 'Compte rendu de consultation' }], text: 'Compte rendu de consultation' },
    subject: { reference: `Patient/${patient.id}` },
    indexed: '2026-06-02T09:30:00+02:00',
    description: DESCRIPTION,
    content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${binaryId}`, title: 'cr.pdf' } }],
  });

  ({ browser, page } = await practicePage(problems));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await killAllChildren();
  rmSync(dataDir, { recursive: true, force: true });
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('the practice UI while its node goes away and comes back', () => {
  it('opens a screen not yet opened, shows the error without the empty state, and recovers by itself with its data', async () => {
    await page.goto(`${node.url}/`);
    await logInThroughDemoProvider(page, 'claire.martin');
    await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
    // Started as it is: the app fetches every screen's code right after start. A loaded machine takes seconds to do
    // it, and a node gone before then leaves those screens to their Réessayer (tested in node-away.test.ts).
    await page.waitForLoadState('networkidle');
    await shot('1-before');

    // The node stops while the directory is on screen: no other screen has been opened yet.
    const port = new URL(node.url).port;
    node.child.kill('SIGTERM');
    await node.exited;

    await page.getByRole('link', { name: 'Documents' }).click();
    await page.getByRole('heading', { name: 'Documents', level: 1 }).waitFor();
    await page.getByRole('tab', { name: 'Tous les documents' }).click();
    await expect.poll(() => page.locator('.error-message').first().textContent()).toContain('Le nœud local ne répond pas');
    await page.locator('[data-node-away]').waitFor();
    expect(await page.getByRole('main').textContent()).not.toContain('Aucun document');
    await shot('2-node-away-documents');

    // Every screen opens while the node is away, each saying what it could not load.
    for (const [link, heading] of [
      ['Patients', 'Patients'],
      ['Agenda', 'Agenda'],
      ['Réglages', 'Réglages'],
    ]) {
      await page.getByRole('link', { name: link }).click();
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    }
    await page.locator('.error-message').first().waitFor();
    await shot('3-node-away-settings');
    await page.getByRole('link', { name: 'Documents' }).click();
    await page.getByRole('tab', { name: 'Tous les documents' }).click();
    await page.locator('.error-message').first().waitFor();

    // The same folder and port again: the screen finds its documents by itself, the page is not reloaded.
    await page.evaluate(() => ((globalThis as unknown as { stillThisPage: boolean }).stillThisPage = true));
    node = await serveUi(['--port', port]);
    expect(new URL(node.url).port).toBe(port);
    await page.getByText(DESCRIPTION).waitFor({ timeout: 20_000 });
    expect(await page.locator('.error-message').count()).toBe(0);
    expect(await page.locator('[data-node-away]').count()).toBe(0);
    expect(await page.locator('[data-node-back]').textContent()).toContain('répond de nouveau');
    expect(await page.evaluate(() => (globalThis as unknown as { stillThisPage?: boolean }).stillThisPage)).toBe(true);
    await shot('4-node-back-documents');
    expect(problems).toEqual([]);
  }, 90_000);
});
