import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`), or CHROMIUM_PATH; the flags DESIGN §7 measured to work here. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Collects a page's script errors and CSP violations; a refused request (409…) is the app's business, not a problem. */
export function collectProblems(page: Page, problems: string[]): void {
  page.on('console', (message) => message.type() === 'error' && !message.text().startsWith('Failed to load resource') && problems.push(message.text()));
  page.on('pageerror', (error) => problems.push(error.message));
}

/**
 * A fresh Chromium and a 1280×720 page with its problems collected; `timeoutMs` well under the test's own timeout, so
 * that a missing element fails with its name.
 */
export async function practicePage(problems: string[], timeoutMs = 10_000): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.setDefaultTimeout(timeoutMs);
  collectProblems(page, problems);
  return { browser, page };
}

/** From the login screen of `liaison serve --demo`: logs a demo account in through the demo provider (password `demo`). */
export async function logInAtDemoProvider(page: Page, login: string): Promise<void> {
  await page.getByRole('button', { name: 'Se connecter (fournisseur de démonstration)' }).click();
  await page.getByLabel('Identifiant').fill(login);
  await page.getByLabel('Mot de passe').fill('demo');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByRole('button', { name: 'Autoriser' }).click();
}
