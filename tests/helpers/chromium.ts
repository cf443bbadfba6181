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
 * A fresh Chromium and a page of the given size (1280×720 by default, in the machine's time zone unless `timezoneId`) with its problems collected and downloads
 * accepted; `timeoutMs` well under the test's own timeout, so that a missing element fails with its name.
 */
export async function practicePage(
  problems: string[],
  { viewport = { width: 1280, height: 720 }, timeoutMs = 10_000, timezoneId }: { viewport?: { width: number; height: number }; timeoutMs?: number; timezoneId?: string } = {},
): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchChromium();
  // `timezoneId`: the computer's time zone as the page sees it (Europe/Paris for a French practice), whatever the machine's.
  // A French practice's computer: the browser's own controls (date and time fields) read as in France.
  const page = await browser.newPage({ viewport, acceptDownloads: true, locale: 'fr-FR', ...(timezoneId ? { timezoneId } : {}) });
  page.setDefaultTimeout(timeoutMs);
  collectProblems(page, problems);
  return { browser, page };
}
