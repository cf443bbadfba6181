import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDesktop } from '../helpers/desktop-build';
import { startTestNode, type TestNode } from '../helpers/node';

/**
 * The renderer as the desktop app runs it, in Chromium: a stand-in for the preload's `window.liaison` bridge (no
 * Electron here) gives the node's address, and node status events show in the window. The page is served by a node
 * on another port than the one the bridge names, so only the bridge's address can make /health answer.
 */

let outDir: string;
let uiNode: TestNode;
let apiNode: TestNode;
let browser: Browser;

beforeAll(async () => {
  outDir = buildDesktop('bridge-ui-');
  uiNode = await startTestNode({ uiDir: join(outDir, 'renderer') });
  apiNode = await startTestNode({ corsOrigins: [uiNode.url] });
  // Set up, with Pro Santé Connect as its provider: the login screen offers its button (the login itself is scripted).
  const setup = await fetch(`${apiNode.url}/setup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-liaison-setup-code': apiNode.firstRun.setupCode! },
    body: JSON.stringify({ practice: { name: 'Cabinet des Lilas' }, admin: { login: 'c.martin', password: 'la mer est calme ce matin', displayName: 'Dr Claire Martin' }, identity: { provider: 'psc', clientId: 'liaison-test' } }),
  });
  expect(setup.status, await setup.clone().text()).toBe(201);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await uiNode?.stop();
  await apiNode?.stop();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

async function openWithBridge(): Promise<Page> {
  const page = await browser.newPage();
  await page.addInitScript((nodeUrl: string) => {
    const listeners: ((status: unknown) => void)[] = [];
    const user = { id: 'u1', displayName: 'Dr Claire Martin', roles: ['practitioner'], organizations: [] };
    let session: object | null = null;
    let attempts = 0;
    Object.assign(globalThis, {
      liaison: {
        version: '0.0.0-test',
        nodeAccess: async () => ({ url: nodeUrl, token: 'unused', expiresAt: Date.now() + 3_600_000 }),
        nodeStatus: async () => ({ state: 'running', url: nodeUrl, restarts: 0 }),
        onNodeStatus: (listener: (status: unknown) => void) => {
          listeners.push(listener);
          return () => listeners.splice(listeners.indexOf(listener), 1);
        },
        openExternal: async () => false,
        // The main process's login, scripted: the first attempt is refused at the provider, the second succeeds.
        login: async () => {
          attempts++;
          if (attempts === 1) return { ok: false, error: 'access_denied' };
          session = { accessToken: 'user-token', expiresAt: Date.now() + 3_600_000, user };
          return { ok: true, user };
        },
        loginWithPassword: async () => ({ ok: false, error: 'bad-credentials', message: 'scripted' }),
        changePassword: async () => ({ ok: false, error: 'bad-credentials', message: 'scripted' }),
        setupCode: async () => null,
        cancelLogin: async () => false,
        logout: async () => {
          session = null;
        },
        session: async () => session,
        onSessionChange: () => () => undefined,
      },
      emitNodeStatus: (status: unknown) => listeners.forEach((listener) => listener(status)),
    });
  }, apiNode.url);
  return page;
}

describe('the renderer in the desktop app', () => {
  it('reads /health from the node address the bridge gives', async () => {
    const page = await openWithBridge();
    const healthCalls: string[] = [];
    page.on('request', (request) => request.url().endsWith('/health') && healthCalls.push(request.url()));
    await page.goto(`${uiNode.url}/`);
    await page.locator('[data-node-version]').waitFor();
    expect(healthCalls).toEqual([`${apiNode.url}/health`]);
    expect(await page.getByText('Application 0.0.0-test').count()).toBe(1);
    await page.close();
  });

  it('logs in through the bridge, says why a login was refused, and logs out', async () => {
    const page = await openWithBridge();
    await page.goto(`${uiNode.url}/`);
    const login = page.getByRole('button', { name: 'Se connecter avec Pro Santé Connect' });
    await login.click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('La connexion a été refusée');
    await login.click();
    const session = page.getByRole('navigation', { name: 'Session' });
    await expect.poll(() => session.textContent()).toContain('Dr Claire Martin');
    await page.getByRole('heading', { name: 'Annuaire national' }).waitFor();
    await session.getByRole('button', { name: 'Se déconnecter' }).click();
    await login.waitFor();
    expect(await session.count()).toBe(0);
    await page.close();
  });

  it('tells the user when the node restarts, and reloads once it is back', async () => {
    const page = await openWithBridge();
    await page.goto(`${uiNode.url}/`);
    await page.locator('[data-node-version]').waitFor();
    const emit = (status: object) => page.evaluate((value) => (globalThis as unknown as { emitNodeStatus(status: object): void }).emitNodeStatus(value), status);

    await emit({ state: 'restarting', restarts: 1, retryInMs: 500, message: 'the node process was killed' });
    await expect.poll(() => page.getByRole('status').textContent()).toContain('redémarrage en cours');

    const reload = page.waitForRequest((request) => request.url() === `${apiNode.url}/health`);
    await emit({ state: 'running', url: apiNode.url, restarts: 1 });
    await reload;
    await expect.poll(() => page.getByRole('status').textContent()).toContain('a redémarré');

    await emit({ state: 'failed', restarts: 5, message: 'disk full' });
    await expect.poll(() => page.getByRole('status').textContent()).toContain('ne redémarre pas (disk full)');
    await page.close();
  });
});
