import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { practicePage } from './chromium';
import { killAllChildren, serve, type ServingNode } from './child-node';
import { openDatabase } from '../../src-server/store/database';
import type { Repository } from '../../src-server/store/repository';
import { openRepository } from '../../src-server/store/store';
import { testDatabaseKey } from './data-key';
import { buildDesktop, projectRoot } from './desktop-build';
import { fhirFetch, tempDir } from './node';

/**
 * The built practice UI on a real `liaison serve --demo` and Debian's Chromium, as the browser tests of the practice
 * screens use it: one node, one page of the given size, its script errors collected, screenshots in
 * test-results/<folder>/.
 */
export interface DemoUi {
  node: ServingNode;
  browser: Browser;
  page: Page;
  problems: string[];
  dataDir: string;
  shot(name: string): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * `channels`: the node's channel settings (`<data>/channels.json`, docs/documents.md), such as a test SMTP relay.
 * `seed`: writes into the data folder before the node starts, as an import does (directory data the API refuses).
 */
export async function openDemoUi(
  folder: string,
  viewport: { width: number; height: number },
  { timezoneId, channels, seed }: { timezoneId?: string; channels?: object; seed?: (repository: Repository) => void } = {},
): Promise<DemoUi> {
  const screenshots = join(projectRoot, 'test-results', folder);
  mkdirSync(screenshots, { recursive: true });
  const dataDir = tempDir(`liaison-${folder}-`);
  if (channels) writeFileSync(join(dataDir, 'channels.json'), JSON.stringify(channels), { mode: 0o600 });
  if (seed) seedDataFolder(dataDir, seed);
  const outDir = buildDesktop(`${folder}-`);
  const node = await serve(dataDir, 60_000, ['--demo', '--ui-dir', join(outDir, 'renderer')]);
  const problems: string[] = [];
  const { browser, page } = await practicePage(problems, { viewport, timezoneId });
  return {
    node,
    browser,
    page,
    problems,
    dataDir,
    shot: (name) => page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true }),
    close: async () => {
      await browser.close();
      await killAllChildren();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/** Logs in through the demo provider's own pages, from the login screen, as one of its accounts (password "demo"). */
export async function logInThroughDemoProvider(page: Page, login: string): Promise<void> {
  await page.getByRole('button', { name: 'Se connecter (fournisseur de démonstration)' }).click();
  await page.getByLabel('Identifiant').fill(login);
  await page.getByLabel('Mot de passe').fill('demo');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByRole('button', { name: 'Autoriser' }).click();
}

/** Logs out from the header, back to the login screen. */
export async function logOut(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Session' }).getByRole('button', { name: 'Se déconnecter' }).click();
  await page.getByRole('button', { name: 'Se connecter (fournisseur de démonstration)' }).waitFor();
}

/** Drops a PDF on the patient's drop zone as a real drop (a DataTransfer made in the page), titles it and adds it. */
export async function dropPdfOnPatient(page: Page, pdf: Buffer, title: string): Promise<void> {
  // This file is type-checked without the DOM lib.
  const dataTransfer = await page.evaluateHandle((bytes) => {
    const dom = globalThis as unknown as { DataTransfer: new () => { items: { add(file: unknown): void } }; File: new (parts: unknown[], name: string, options: object) => unknown };
    const transfer = new dom.DataTransfer();
    transfer.items.add(new dom.File([new Uint8Array(bytes)], 'compte-rendu.pdf', { type: 'application/pdf' }));
    return transfer;
  }, [...pdf]);
  await page.dispatchEvent('[data-drop-zone]', 'drop', { dataTransfer });
  await page.getByLabel('Titre').fill(title);
  await page.getByRole('button', { name: 'Ajouter au dossier' }).click();
}

/** Books from the agenda's "Nouveau rendez-vous" form: the patient found by `typed` and named `patient`, a start (local `YYYY-MM-DDThh:mm`), 30 minutes. */
export async function bookInAgenda(page: Page, { typed, patient, start, reason }: { typed: string; patient: RegExp; start: string; reason?: string }): Promise<void> {
  await page.getByRole('button', { name: 'Nouveau rendez-vous' }).click();
  const form = page.getByRole('form', { name: 'Nouveau rendez-vous' });
  await form.getByRole('combobox', { name: 'Patient' }).fill(typed);
  await page.getByRole('option', { name: patient }).click();
  await form.getByLabel('Début').fill(start);
  await form.getByLabel('Durée (minutes)').selectOption('30');
  if (reason) await form.getByLabel('Motif').fill(reason);
  await form.getByRole('button', { name: 'Réserver' }).click();
}

/** Writes into a data folder before any node opens it, under the folder's test key (as `serve` opens it). */
export function seedDataFolder(dataDir: string, seed: (repository: Repository) => void): void {
  const db = openDatabase(join(dataDir, 'liaison.db'), { key: testDatabaseKey(dataDir) });
  try {
    const repository = openRepository(db);
    repository.transaction(() => seed(repository));
  } finally {
    db.close();
  }
}

/** The demo's Cabinet des Lilas, where the secretary sophie.leroy works with Dr Claire Martin and Dr Paul Durand. */
export const LILAS = 'Organization/demo-cabinet-des-lilas';

/** More practitioners of the Cabinet des Lilas (directory data: a Practitioner and its PractitionerRole each), by id. */
export function addLilasPractitioners(repository: Repository, people: ReadonlyArray<{ id: string; given: string; family: string }>): void {
  for (const { id, given, family } of people) {
    repository.update('Practitioner', id, { resourceType: 'Practitioner', id, active: true, name: [{ family, given: [given], prefix: ['Dr'] }] });
    repository.update('PractitionerRole', `${id}-role`, { resourceType: 'PractitionerRole', id: `${id}-role`, active: true, practitioner: { reference: `Practitioner/${id}` }, organization: { reference: LILAS } });
  }
}

/** The node's owner client over HTTP: `owner(path, init)`, and `created(path, json)` that expects a 201 and gives the resource. */
export function asOwner(node: ServingNode) {
  const owner = (path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(node.fhir, node.token, path, init);
  async function created(path: string, json: Record<string, unknown>): Promise<Record<string, any>> {
    const response = await owner(path, { method: 'POST', json });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as Record<string, any>;
  }
  return { owner, created };
}
