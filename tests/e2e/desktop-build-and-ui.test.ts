import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { collectProblems, launchChromium } from '../helpers/chromium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIAISON_VERSION } from '../../src-server/version';
import { startTestNode, tempDir, type TestNode } from '../helpers/node';

/**
 * The desktop build (`electron-vite build`: main, preload, renderer) succeeds, and the renderer it produced works
 * in a real Chromium when the headless node serves it at `/`, as `npm start` does without Electron.
 */

const outDir = tempDir('liaison-build-');
let node: TestNode;
let browser: Browser;

beforeAll(async () => {
  execFileSync('npx', ['electron-vite', 'build', '--outDir', outDir, '--logLevel', 'warn'], { stdio: 'pipe' });
  node = await startTestNode({ uiDir: join(outDir, 'renderer') });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await node?.stop();
  rmSync(outDir, { recursive: true, force: true });
});

describe('electron-vite build', () => {
  it('produces the main process, a CommonJS preload and the renderer', () => {
    expect(existsSync(join(outDir, 'main/index.js'))).toBe(true);
    expect(existsSync(join(outDir, 'preload/index.cjs'))).toBe(true);
    const html = readFileSync(join(outDir, 'renderer/index.html'), 'utf8');
    expect(html).toContain('Content-Security-Policy');
    expect(html).toContain("object-src 'none'");
  });

  it('keeps the main process secure by default', () => {
    const main = readFileSync(join(outDir, 'main/index.js'), 'utf8');
    expect(main).toMatch(/contextIsolation:\s*true/);
    expect(main).toMatch(/sandbox:\s*true/);
    expect(main).toMatch(/nodeIntegration:\s*false/);
    expect(main).toContain('setWindowOpenHandler');
  });
});

describe('the web UI served by the headless node', () => {
  it('opens on the set-up screen while the node has no user, then on the login screen with the node’s version from /health, with no console error', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    collectProblems(page, errors);
    // Without the code in the address, the set-up screen asks for it.
    await page.goto(`${node.url}/`);
    await page.getByRole('heading', { name: 'Installation de Liaison' }).waitFor();
    await page.getByLabel('Code d’installation').waitFor();
    // With it (the address `liaison serve` prints), nobody has to type it.
    await page.goto(`${node.url}/#/setup?code=${encodeURIComponent(node.firstRun.setupCode!)}`);
    await page.reload();
    await page.getByRole('heading', { name: 'Installation de Liaison' }).waitFor();
    await page.getByLabel('Nom du cabinet').waitFor();
    expect(await page.getByLabel('Code d’installation').count()).toBe(0);

    const setup = await fetch(`${node.url}/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-liaison-setup-code': node.firstRun.setupCode! },
      body: JSON.stringify({ practice: { name: 'Cabinet des Lilas' }, admin: { login: 'c.martin', password: 'la mer est calme ce matin', displayName: 'Dr Claire Martin' }, identity: { provider: 'none' } }),
    });
    expect(setup.status).toBe(201);
    await page.reload();
    await page.getByRole('heading', { name: 'Liaison — Connexion' }).waitFor();
    await page.getByRole('heading', { name: 'Compte local', exact: true }).waitFor();
    await expect.poll(() => page.locator('[data-node-version]').textContent()).toBe(`Liaison ${LIAISON_VERSION} · FHIR 3.0.1`);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows an error the user can retry when the node does not answer', async () => {
    const page = await browser.newPage();
    await page.route('**/auth/config', (route) => route.abort('connectionrefused'));
    await page.goto(`${node.url}/`);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Le nœud local ne répond pas.');
    await page.unroute('**/auth/config');
    await page.getByRole('button', { name: 'Réessayer' }).click();
    await page.getByRole('heading', { name: 'Compte local', exact: true }).waitFor();
    await page.close();
  });
});
