import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DesktopLogin } from '../../src-main/desktop-login';
import { NodeSupervisor } from '../../src-main/node-supervisor';
import { describeNode } from '../../src-main/node-status-text';
import { SecretStore } from '../../src-main/secret-store';
import { DEFAULT_PORT } from '../../src-server/node-arguments';
import { collectProblems, launchChromium } from '../helpers/chromium';
import { buildDesktop, projectRoot } from '../helpers/desktop-build';
import { forkBuiltNode, openDesktopWindow, serveRendererFiles, TEST_CIPHER } from '../helpers/desktop-window';
import { tempDir } from '../helpers/node';
import { desktopDataKey } from '../../src-main/desktop-data-key';
import { noPassphrase, standInKeychain } from '../helpers/data-key';

/**
 * Issue 18's test: a new data folder started exactly as the desktop app starts it — the real NodeSupervisor forking the
 * built `out/main/node-process.js` with the arguments of `src-server/node-arguments.ts`, on 127.0.0.1:8347 — leads a
 * person through the first-run set-up in Chromium, with no flag and no file edited by hand; they log in with the new
 * local account (through the real DesktopLogin of the main process), import the bundled directory sample, find a
 * practitioner of it on the directory screen, log out; `<data>/node.json` names the node the page talked to. Then a
 * second person's node on the same computer finds the port taken, and the window says so. Screenshots in
 * test-results/first-run/.
 */

type Json = Record<string, any>;

const SCREENSHOTS = join(projectRoot, 'test-results/first-run');
const SAMPLE_DIR = join(projectRoot, 'resources/directory-sample');
const dataDir = tempDir('liaison-first-run-');
const otherDataDir = tempDir('liaison-first-run-other-');
const storeDir = tempDir('liaison-first-run-secrets-');
let outDir: string;
let ui: Awaited<ReturnType<typeof serveRendererFiles>>;
let browser: Browser;
let supervisor: NodeSupervisor;
let login: DesktopLogin;
let page: Page;
const problems: string[] = [];
/** Every address the set-up's window called besides its own files: the node it talked to. */
const calledOrigins = new Set<string>();
const ADMIN = { login: 'c.martin', name: 'Dr Claire Martin', password: 'la mer est calme ce matin' };

const shot = (target: Page, name: string) => target.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
function watch(target: Page): void {
  target.setDefaultTimeout(15_000);
  collectProblems(target, problems);
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  outDir = buildDesktop('first-run-');
  ui = await serveRendererFiles(join(outDir, 'renderer'));
  // As src-main/index.ts builds them, but for the window's origin: the test serves it over http rather than app://.
  supervisor = new NodeSupervisor({ spawn: forkBuiltNode(outDir).spawn, dataDir, dataKey: desktopDataKey(dataDir, standInKeychain(), noPassphrase), appRoot: projectRoot, corsOrigins: [ui.origin] });
  login = new DesktopLogin({ nodeUrl: () => supervisor.address(), openExternal: async () => undefined, store: new SecretStore(join(storeDir, 'login.bin'), TEST_CIPHER) });
  supervisor.start();
  browser = await launchChromium();
  page = await openDesktopWindow(browser, { supervisor, login });
  watch(page);
  page.on('request', (request) => new URL(request.url()).origin !== ui.origin && calledOrigins.add(new URL(request.url()).origin));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await supervisor?.stop();
  await ui?.close();
  for (const dir of [dataDir, otherDataDir, storeDir]) rmSync(dir, { recursive: true, force: true });
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** A call to the node's admin API as the logged-in user (their access token comes from the main process). */
async function asUser(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const session = await login.session();
  const { json, ...rest } = init;
  return fetch(`${await supervisor.address()}${path}`, {
    ...rest,
    headers: { authorization: `Bearer ${session?.accessToken}`, accept: 'application/json', ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
}

describe('the installed app on its first run', () => {
  it('starts the node on 127.0.0.1:8347 (or says which port it took) and opens the set-up screen, in French', async () => {
    const url = await supervisor.address();
    const port = Number(new URL(url).port);
    if (port !== DEFAULT_PORT) expect(supervisor.status.preferredPort).toBe(DEFAULT_PORT);
    else expect(supervisor.status.preferredPort).toBeUndefined();
    expect(supervisor.setupCode).toEqual(expect.any(String));

    await page.goto(`${ui.origin}/`);
    await page.getByRole('heading', { name: 'Installation de Liaison' }).waitFor();
    expect(page.url()).toContain('#/setup');
    // The code came from the main process: nobody has to type it.
    expect(await page.locator('input[name="setup-code"]').count()).toBe(0);
    await page.getByLabel('Nom du cabinet').fill('Cabinet médical des Lilas');
    await page.getByLabel('Adresse').fill('12 rue des Lilas');
    await page.getByLabel('Code postal').fill('75019');
    await page.getByLabel('Ville').fill('Paris');
    await shot(page, '1-setup-practice');
    await page.getByRole('button', { name: 'Suivant' }).click();

    await page.getByLabel('Identifiant').fill(ADMIN.login);
    await page.getByLabel('Nom affiché').fill(ADMIN.name);
    await page.getByLabel('Mot de passe', { exact: true }).fill('trop court');
    await page.getByRole('button', { name: 'Suivant' }).click();
    await page.getByText('Le mot de passe doit compter au moins 12 caractères.').waitFor();
    await shot(page, '2-setup-admin-refused');
    await page.getByLabel('Mot de passe', { exact: true }).fill(ADMIN.password);
    await page.getByLabel('Mot de passe, une seconde fois').fill(ADMIN.password);
    expect(await page.getByText('Le mot de passe doit compter au moins 12 caractères.').count()).toBe(0);
    await shot(page, '2-setup-admin');
    await page.getByRole('button', { name: 'Suivant' }).click();

    await page.getByRole('heading', { name: /La connexion des utilisateurs/ }).waitFor();
    await page.getByLabel(/Comptes locaux uniquement/).check();
    await shot(page, '3-setup-provider');
    await page.getByRole('button', { name: 'Terminer l’installation' }).click();

    await page.getByText('Installation terminée. Connectez-vous avec le compte administrateur que vous venez de créer.').waitFor();
    expect(await page.getByLabel('Identifiant').inputValue()).toBe(ADMIN.login);
    await shot(page, '4-login-after-setup');
  });

  it('logs in with the new local account through the main process, which keeps the refresh token to itself', async () => {
    await page.getByLabel('Mot de passe').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Se connecter', exact: true }).click();
    await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Session' }).textContent()).toContain(ADMIN.name);
    const session = await login.session();
    expect(session?.user).toMatchObject({ displayName: ADMIN.name, roles: expect.arrayContaining(['admin']) });
    expect(readFileSync(join(storeDir, 'login.bin'), 'utf8')).not.toContain(session!.accessToken);
    // The window's storage holds no token of this session.
    expect(await page.evaluate('JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage })')).not.toContain(session!.accessToken.slice(0, 16));
  });

  it('imports the bundled directory sample and finds one of its practitioners on the directory screen', async () => {
    const files = readdirSync(SAMPLE_DIR)
      .filter((name) => name.endsWith('.txt'))
      .sort((a, b) => Number(b.startsWith('PS_')) - Number(a.startsWith('PS_')));
    for (const name of files) {
      const started = await asUser('/admin/directory/imports', { method: 'POST', json: { path: join(SAMPLE_DIR, name) } });
      expect(started.status, await started.clone().text()).toBe(202);
      const { id } = (await started.json()) as Json;
      await vi.waitFor(
        async () => {
          const job = (await (await asUser(`/admin/directory/imports/${id}`)).json()) as Json;
          expect(job.status, job.error).toBe('done');
        },
        { timeout: 60_000, interval: 250 },
      );
    }
    const found = (await (await asUser('/fhir/Practitioner?_count=20')).json()) as Json;
    const family: string = found.entry.map((entry: Json) => entry.resource.name?.[0]?.family).find((name: string | undefined) => name && name.length >= 5);

    const box = page.getByRole('combobox', { name: 'Rechercher un professionnel ou une structure' });
    await box.pressSequentially(family.slice(0, 5).toLowerCase(), { delay: 30 });
    const wanted = page.locator(`[data-results-for="${family.slice(0, 5).toLowerCase()}"]`).getByRole('option').filter({ hasText: family });
    await wanted.first().waitFor();
    await wanted.first().click();
    await expect.poll(() => page.getByRole('article').getByRole('heading', { level: 2 }).textContent()).toContain(family);
    await shot(page, '5-directory');
  });

  it('logs out, and node.json names the node the page talked to', async () => {
    await page.getByRole('navigation', { name: 'Session' }).getByRole('button', { name: 'Se déconnecter' }).click();
    await page.getByRole('heading', { name: 'Compte local' }).waitFor();
    expect(await login.session()).toBeNull();
    expect(existsSync(join(storeDir, 'login.bin'))).toBe(false);
    await shot(page, '6-logged-out');

    const nodeFile = JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8')) as Json;
    const url = await supervisor.address();
    expect(nodeFile.fhirBaseUrl).toBe(`${url}/fhir`);
    expect([...calledOrigins]).toEqual([url]);
    expect(nodeFile.port).toBe(Number(new URL(url).port));
    expect(nodeFile.preferredPort).toBe(DEFAULT_PORT);
    expect(nodeFile.setupCode).toBeUndefined();
    expect(problems).toEqual([]);
  });

  it('a second person’s node on the same computer takes another port, and their window and tray say so', async () => {
    // Hold the first node's port whatever it is, so the second one cannot have it even if 8347 freed meanwhile.
    const firstPort = Number(new URL(await supervisor.address()).port);
    const other = new NodeSupervisor({ spawn: forkBuiltNode(outDir).spawn, dataDir: otherDataDir, dataKey: desktopDataKey(otherDataDir, standInKeychain(), noPassphrase), appRoot: projectRoot, corsOrigins: [ui.origin], port: firstPort });
    const otherLogin = new DesktopLogin({ nodeUrl: () => other.address(), openExternal: async () => undefined, store: new SecretStore(join(storeDir, 'other.bin'), TEST_CIPHER) });
    other.start();
    try {
      const url = await other.address();
      expect(Number(new URL(url).port)).not.toBe(firstPort);
      expect(other.status.preferredPort).toBe(firstPort);
      expect(describeNode(other.status)).toContain(`Port ${firstPort} déjà pris : nœud sur le port ${new URL(url).port}`);
      const window = await openDesktopWindow(browser, { supervisor: other, login: otherLogin });
      watch(window);
      await window.goto(`${ui.origin}/`);
      const banner = window.locator('[data-port-taken]');
      await banner.waitFor();
      expect(await banner.textContent()).toContain(`Le port ${firstPort} est déjà pris sur cet ordinateur`);
      expect(await banner.textContent()).toContain(`Liaison fonctionne aujourd’hui sur le port ${new URL(url).port}.`);
      await window.getByRole('heading', { name: 'Installation de Liaison' }).waitFor();
      await shot(window, '7-port-taken');
      const nodeFile = JSON.parse(readFileSync(join(otherDataDir, 'node.json'), 'utf8')) as Json;
      expect(nodeFile.fhirBaseUrl).toBe(`${url}/fhir`);
      await window.close();
    } finally {
      await other.stop();
    }
    // A clean stop takes node.json away.
    expect(existsSync(join(otherDataDir, 'node.json'))).toBe(false);
  });
});
