import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingNode } from '../helpers/child-node';
import { logInThroughDemoProvider, openDemoUi, type DemoUi } from '../helpers/practice-ui';
import { SmtpRelay } from '../helpers/smtp-relay';

/**
 * The channels set up from Réglages (issue 26), in Debian's Chromium on the built app served by `liaison serve --demo`:
 * Dr Claire Martin, the practice's admin, enters her MSSanté operator's relay (the tests' local SMTP relay, which asks
 * for a login and a password). "Tester" says in French that the password is refused, then that the connection works;
 * once saved, the password is only "Enregistré", never shown again, and the node's answers do not carry it.
 * Screenshots in test-results/channels/.
 */

type Json = Record<string, any>;

const PASSWORD = 'relais-du-cabinet-2026';
const relay = new SmtpRelay({ user: 'cabinet.lilas', pass: PASSWORD });
let ui: DemoUi;
let node: ServingNode;
let page: Page;
let section: Locator;

beforeAll(async () => {
  await relay.start();
  ui = await openDemoUi('channels', { width: 1280, height: 900 }, { timezoneId: 'Europe/Paris' });
  ({ node, page } = ui);
  await page.goto(`${node.url}/`);
  await logInThroughDemoProvider(page, 'claire.martin');
  await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
  await page.getByRole('navigation', { name: 'Navigation principale' }).getByRole('link', { name: 'Réglages' }).click();
  await page.getByRole('heading', { name: 'Réglages', level: 1 }).waitFor();
  section = page.locator('[data-channel="mssante"]');
}, 240_000);

afterAll(async () => {
  await ui?.close();
  await relay.stop();
});

describe('Réglages → Envoi des documents', () => {
  it('the admin sets up the MSSanté relay: "Tester" says a refused password, then that it works', async () => {
    await page.getByRole('heading', { name: 'Envoi des documents' }).waitFor();
    await section.getByLabel('Serveur SMTP de l’opérateur').fill('127.0.0.1');
    await section.getByLabel('Port').fill(String(relay.port));
    // The tests' relay offers no STARTTLS (a real operator's does: the default mode requires it).
    await section.getByLabel('Chiffrement').selectOption('opportunistic');
    await section.getByLabel('Boîte MSSanté d’envoi').fill('cabinet.lilas@cabinet.mssante.fr');
    await section.getByLabel('Identifiant').fill('cabinet.lilas');
    await section.getByLabel('Mot de passe').fill('pas-le-bon');
    await section.getByRole('button', { name: 'Tester' }).click();
    await section.getByText('Le serveur a refusé l’identifiant ou le mot de passe.').waitFor();
    await section.screenshot({ path: 'test-results/channels/1-mot-de-passe-refuse.png' });

    await section.getByLabel('Mot de passe').fill(PASSWORD);
    await section.getByRole('button', { name: 'Tester' }).click();
    await section.getByText('Le test a réussi : la connexion fonctionne.').waitFor();
    expect(relay.accepted).toHaveLength(0);
    await section.screenshot({ path: 'test-results/channels/2-test-reussi.png' });
  });

  it('saved, the password is only "Enregistré": never shown again nor in the node\'s answers', async () => {
    const answers: string[] = [];
    page.on('response', (response) => {
      if (response.url().includes('/admin/channels')) void response.text().then((text) => answers.push(text), () => undefined);
    });
    await section.getByRole('button', { name: 'Enregistrer' }).click();
    await section.getByText('Réglages enregistrés : les prochains envois les utilisent.').waitFor();
    await section.getByText('Enregistré', { exact: true }).waitFor();
    expect(await section.getByLabel('Mot de passe').inputValue()).toBe('');
    await page.reload();
    await page.getByRole('heading', { name: 'Envoi des documents' }).waitFor();
    section = page.locator('[data-channel="mssante"]');
    await section.getByText('Enregistré', { exact: true }).waitFor();
    expect(await section.getByLabel('Serveur SMTP de l’opérateur').inputValue()).toBe('127.0.0.1');
    // The saved settings, password kept by the node, still log in.
    await section.getByRole('button', { name: 'Tester' }).click();
    await section.getByText('Le test a réussi : la connexion fonctionne.').waitFor();
    await ui.shot('3-canaux-enregistres');
    await page.locator('[data-channels]').screenshot({ path: 'test-results/channels/4-panneau-envoi.png' });
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.join('\n')).not.toContain(PASSWORD);
    expect(await page.content()).not.toContain(PASSWORD);
    expect(ui.problems).toEqual([]);
  });

  it('the node keeps what Réglages saved, the password sealed apart', async () => {
    const answer = await fetch(`${node.url}/admin/channels`, { headers: { authorization: `Bearer ${node.token}` } });
    const { channels } = (await answer.json()) as Json;
    expect(channels.mssante).toEqual({ settings: { host: '127.0.0.1', port: relay.port, from: 'cabinet.lilas@cabinet.mssante.fr', auth: { user: 'cabinet.lilas' } }, savedSecrets: ['auth.pass'] });
  });
});
