import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type RunningProvider } from '../../src-server/auth/demo-provider';
import { collectProblems, launchChromium } from '../helpers/chromium';
import { killAllChildren, serve, type ServingNode } from '../helpers/child-node';
import { buildDesktop, projectRoot } from '../helpers/desktop-build';
import { tempDir } from '../helpers/node';

/**
 * The login screen's two ways and Réglages' provider and accounts sections, in Chromium, on the built app served by a
 * real `liaison serve` set up as a practice would be: the admin logs in with their local account, points the node at
 * another OpenID provider (a local oidc-provider) and tests it, a practitioner then logs in there and sets an offline
 * password, the next provider login after a logout asks for the account again, and a colleague added by the admin
 * logs in with the temporary password and chooses their own. Screenshots in test-results/login-and-accounts/.
 */

type Json = Record<string, any>;

const SCREENSHOTS = join(projectRoot, 'test-results/login-and-accounts');
const dataDir = tempDir('liaison-login-ui-');
const ADMIN = { login: 'c.martin', name: 'Dr Claire Martin', password: 'la mer est calme ce matin' };
const PAUL = { login: 'paul.bernard', password: 'provider-pass', claims: { name: 'Dr Paul Bernard', given_name: 'Paul', family_name: 'Bernard', email: 'paul.bernard@example.org' } };
let outDir: string;
let node: ServingNode;
let provider: RunningProvider;
let browser: Browser;
let page: Page;
const problems: string[] = [];

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
const localForm = () => page.locator('[data-login-local]');

async function logInLocally(login: string, password: string): Promise<void> {
  await localForm().getByLabel('Identifiant').fill(login);
  await localForm().getByLabel('Mot de passe').fill(password);
  await localForm().getByRole('button', { name: 'Se connecter' }).click();
}

async function logOut(): Promise<void> {
  await page.getByRole('navigation', { name: 'Session' }).getByRole('button', { name: 'Se déconnecter' }).click();
  await page.getByRole('heading', { name: /Compte local/ }).waitFor();
}

async function openSettings(): Promise<void> {
  await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Réglages' }).click();
  await page.getByRole('heading', { name: 'Réglages', level: 1 }).waitFor();
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  outDir = buildDesktop('login-ui-');
  provider = await startOidcProvider([{ login: PAUL.login, password: PAUL.password, claims: PAUL.claims }]);
  node = await serve(dataDir, 60_000, ['--ui-dir', join(outDir, 'renderer')]);
  // The first run, done through the set-up API (the set-up screen has its own test): the admin, local accounts only.
  const { setupCode } = JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8')) as Json;
  const setup = await fetch(`${node.url}/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-liaison-setup-code': setupCode },
    body: JSON.stringify({ practice: { name: 'Cabinet médical des Lilas' }, admin: { login: ADMIN.login, password: ADMIN.password, displayName: ADMIN.name }, identity: { provider: 'none' } }),
  });
  expect(setup.status, await setup.clone().text()).toBe(201);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.setDefaultTimeout(15_000);
  collectProblems(page, problems);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await killAllChildren();
  await provider?.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('logging in, and the practice’s accounts', () => {
  it('offers only the local account while no provider is set, says a wrong password in French, then lets the admin in', async () => {
    await page.goto(`${node.url}/`);
    await page.getByRole('heading', { name: 'Compte local', exact: true }).waitFor();
    expect(await page.locator('[data-login-provider]').count()).toBe(0);
    await logInLocally(ADMIN.login, 'pas le bon mot de passe');
    await localForm().getByText('Identifiant ou mot de passe incorrect.').waitFor();
    await shot('1-login-refused');
    await logInLocally(ADMIN.login, ADMIN.password);
    await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
  });

  it('Réglages: the admin sets another OpenID provider, whose test says what is wrong, then that it answers', async () => {
    await openSettings();
    const section = page.locator('[data-identity]');
    await section.getByLabel(/Un autre fournisseur OpenID Connect/).check();
    await section.getByLabel('Adresse du fournisseur (issuer)').fill('http://127.0.0.1:9/realms/nowhere');
    await section.getByLabel('Identifiant client').fill(provider.clientId);
    await section.getByRole('button', { name: 'Tester' }).click();
    await section.getByText('Le fournisseur ne répond pas à cette adresse.', { exact: false }).waitFor();
    await section.getByLabel('Adresse du fournisseur (issuer)').fill(provider.issuer);
    await section.getByRole('button', { name: 'Tester' }).click();
    await section.getByText('Le fournisseur répond et présente une configuration OpenID Connect correcte.').waitFor();
    await section.getByRole('button', { name: 'Enregistrer' }).click();
    await section.getByText('Réglages enregistrés : les prochaines connexions les utilisent.').waitFor();
    await section.screenshot({ path: join(SCREENSHOTS, '2-settings-provider.png') });
    const config = (await (await fetch(`${node.url}/auth/config`)).json()) as Json;
    expect(config.provider).toMatchObject({ kind: 'oidc', issuer: provider.issuer });
  });

  it('the login screen then offers both ways; a practitioner logs in at the provider and sets an offline password', async () => {
    await logOut();
    await page.locator('[data-login-provider]').waitFor();
    expect(await page.locator('[data-login-local] h2').textContent()).toBe('Compte local (hors connexion)');
    await shot('3-login-two-ways');
    await page.locator('[data-login-provider]').getByRole('button').click();
    await page.getByLabel('Identifiant').fill(PAUL.login);
    await page.getByLabel('Mot de passe').fill(PAUL.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.getByRole('button', { name: 'Autoriser' }).click();
    await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Session' }).textContent()).toContain('Dr Paul Bernard');

    await openSettings();
    const mine = page.locator('[data-my-account]');
    await mine.getByRole('heading', { name: 'Mot de passe hors connexion' }).waitFor();
    await mine.getByLabel('Identifiant').fill('p.bernard');
    await mine.getByLabel('Nouveau mot de passe', { exact: true }).fill('le train de 7 h 42 part');
    await mine.getByLabel('Nouveau mot de passe, une seconde fois').fill('le train de 7 h 42 part');
    await mine.getByRole('button', { name: 'Enregistrer le mot de passe hors connexion' }).click();
    await mine.getByText('Mot de passe hors connexion enregistré pour « p.bernard ».').waitFor();
    await mine.screenshot({ path: join(SCREENSHOTS, '4-offline-password.png') });
  });

  it('after a logout the provider asks for the account again (shared reception computer), and the offline password works', async () => {
    await logOut();
    await page.locator('[data-login-provider]').getByRole('button').click();
    // The provider still has Paul's session; prompt=login makes it ask who is there rather than let him in again.
    await page.getByLabel('Mot de passe').waitFor();
    expect(new URL(page.url()).origin).toBe(provider.issuer);
    await page.goto(`${node.url}/`);
    await logInLocally('p.bernard', 'le train de 7 h 42 part');
    await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Session' }).textContent()).toContain('Dr Paul Bernard');
    await logOut();
  });

  it('Réglages: the admin adds a colleague, who logs in with the temporary password and chooses their own', async () => {
    await logInLocally(ADMIN.login, ADMIN.password);
    await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
    await openSettings();
    const accounts = page.locator('[data-accounts]');
    await accounts.locator('input[name="account-login"]').fill('s.leroy');
    await accounts.getByLabel('Nom affiché').fill('Sophie Leroy');
    await accounts.getByLabel('Secrétariat').check();
    await accounts.getByRole('button', { name: 'Créer le compte' }).click();
    const temporary = (await accounts.locator('[data-temporary-password]').textContent())!.trim();
    expect(temporary.length).toBeGreaterThanOrEqual(12);
    await accounts.locator('[data-account="s.leroy"]').getByText('Nouveau mot de passe à choisir').waitFor();
    await accounts.screenshot({ path: join(SCREENSHOTS, '5-settings-accounts.png') });
    await shot('5-settings-page');
    await accounts.getByRole('button', { name: 'C’est noté' }).click();
    expect(await page.content()).not.toContain(temporary);
    await logOut();

    await logInLocally('s.leroy', temporary);
    await localForm().getByRole('heading', { name: 'Choisissez un nouveau mot de passe' }).waitFor();
    await localForm().getByLabel('Nouveau mot de passe', { exact: true }).fill('court');
    await localForm().getByLabel('Nouveau mot de passe, une seconde fois').fill('court');
    await localForm().getByRole('button', { name: 'Enregistrer et se connecter' }).click();
    await localForm().getByText('Le nouveau mot de passe doit compter au moins 12 caractères.').waitFor();
    await shot('6-forced-change');
    await localForm().getByLabel('Nouveau mot de passe', { exact: true }).fill('les lilas fleurissent en mai');
    await localForm().getByLabel('Nouveau mot de passe, une seconde fois').fill('les lilas fleurissent en mai');
    await localForm().getByRole('button', { name: 'Enregistrer et se connecter' }).click();
    // Back where the last person left the app (Réglages), as Sophie: she sees neither the accounts nor the provider.
    await expect.poll(() => page.getByRole('navigation', { name: 'Session' }).textContent()).toContain('Sophie Leroy');
    await page.locator('[data-my-account]').waitFor();
    await shot('7-colleague-settings');
    expect(await page.locator('[data-accounts]').count()).toBe(0);
    expect(await page.locator('[data-identity]').count()).toBe(0);
    await logOut();
    expect(problems).toEqual([]);
  });
});
