import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../tests/helpers/chromium';
import { serve, type ServingNode } from '../tests/helpers/child-node';
import { buildDesktop } from '../tests/helpers/desktop-build';
import { generateExtraction } from '../src-server/directory/generate';
import { importDirectoryFile } from '../src-server/directory/import';
import { openDatabase } from '../src-server/store/database';
import { defaultKeyFile } from '../src-server/data-key';
import { testDatabaseKey } from '../tests/helpers/data-key';
import { openRepository } from '../src-server/store/store';
import { stopServedUi } from './lib/served-ui';
import { positiveNumber } from './lib/settings';

/**
 * The practice UI's directory search as a person feels it, in Chromium against `liaison serve --demo` holding a
 * generated national directory of BENCH_LINES activity lines (default 100,000; the national file is 1,860,000):
 * - keystroke → results painted: a real key press in the search box, until the frame after the answer for that
 *   exact text is in the page (its `data-results-for`); each keystroke waits for its own results, as a reader does.
 *   Target p95 ≤ 100 ms. Then the same until every line has its roles and places (`data-roles-for`: the roles come
 *   in a second request after the list is on screen).
 * - first screen usable: from navigation to the login button on screen, once the node is up (its /health answers
 *   and the text index has caught up), in a fresh browser context each time. Target ≤ 1.5 s.
 * Env: BENCH_LINES, BENCH_QUERIES (default 30 typed searches), BENCH_SEED (default 1), BENCH_DATA (a data folder
 * that already holds a directory, e.g. the national one from `liaison directory import`: used as it is, instead
 * of generating and importing BENCH_LINES lines, which then only labels the figures; the demo adds its accounts).
 */

const lines = Math.floor(positiveNumber('BENCH_LINES', 100_000));
const queries = Math.floor(positiveNumber('BENCH_QUERIES', 30));
const seed = Math.floor(positiveNumber('BENCH_SEED', 1));
const log = (message: string) => process.stderr.write(`[ui-search] ${message}\n`);
const figure = (name: string, value: number, unit: string, extra: Record<string, unknown> = {}) => console.log(JSON.stringify({ bench: 'ui-search', figure: name, value, unit, lines, ...extra }));
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)];
type Json = Record<string, any>;

const work = mkdtempSync(join(tmpdir(), 'liaison-bench-ui-'));
const givenData = process.env.BENCH_DATA;
const dataDir = givenData ?? join(work, 'data');
let node: ServingNode | undefined;
let outDir: string | undefined;
try {
  if (!givenData) {
    mkdirSync(dataDir);
    mkdirSync(join(work, 'files'));
    log(`generating and importing ${lines.toLocaleString('en-US')} activity lines`);
    const generated = generateExtraction(join(work, 'files'), { lines, seed });
    // Encrypted under the key the node started below is given (the folder's test key).
    const db = openDatabase(join(dataDir, 'liaison.db'), { key: testDatabaseKey(dataDir) });
    const repository = openRepository(db);
    await importDirectoryFile(db, repository, generated.activityFile);
    await importDirectoryFile(db, repository, generated.mssanteFile);
    db.close();
  }

  log('building the UI');
  outDir = buildDesktop('liaison-bench-ui-');
  // A given folder opens with its own key, found as `liaison serve` finds it.
  const keyFile = givenData ? (process.env.LIAISON_KEY_FILE ?? defaultKeyFile(dataDir)) : undefined;
  node = await serve(dataDir, 120_000, ['--demo', '--ui-dir', join(outDir, 'renderer')], { keyFile });
  const { url, token } = node;
  // Up: /health answers and the text index has every write.
  for (;;) {
    const health = (await (await fetch(`${url}/health`)).json()) as Json;
    if (health.textIndex?.ready && health.textIndex.lagMs === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  log(`node up at ${url}`);

  // What to type: "<family prefix> <city prefix>" of practitioners picked across the directory.
  const roles = (await (await fetch(`${url}/fhir/PractitionerRole?_count=100&_include=PractitionerRole:practitioner&_include=PractitionerRole:organization`, { headers: { authorization: `Bearer ${token}` } })).json()) as Json;
  const byRef = new Map<string, Json>(roles.entry.map((entry: Json) => [`${entry.resource.resourceType}/${entry.resource.id}`, entry.resource]));
  const typed: string[] = [];
  for (const entry of roles.entry as Json[]) {
    const role = entry.resource;
    if (role.resourceType !== 'PractitionerRole') continue;
    const family = byRef.get(role.practitioner?.reference)?.name?.[0]?.family as string | undefined;
    const city = byRef.get(role.organization?.reference)?.address?.[0]?.city as string | undefined;
    // Typed as people type: no accents (the index folds them), letters and digits only.
    const plain = (text: string, length: number) => text.normalize('NFD').replace(/[^A-Za-z0-9]/g, '').slice(0, length).toLowerCase();
    if (family && city) typed.push(`${plain(family, 5)} ${plain(city, 4)}`);
    if (typed.length === queries) break;
  }

  const browser = await launchChromium();
  try {
    const firstScreen: number[] = [];
    for (let run = 0; run < 5; run++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(`${url}/`);
      await page.getByRole('button', { name: 'Se connecter (fournisseur de démonstration)' }).waitFor();
      firstScreen.push(performance.now() - started);
      await context.close();
    }
    figure('first screen usable median', Math.round(percentile(firstScreen, 50)), 'ms', { runs: firstScreen.length, max: Math.round(Math.max(...firstScreen)) });

    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${url}/`);
    await page.getByRole('button', { name: 'Se connecter (fournisseur de démonstration)' }).click();
    await page.getByLabel('Identifiant').fill('claire.martin');
    await page.getByLabel('Mot de passe').fill('demo');
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.getByRole('button', { name: 'Autoriser' }).click();
    const box = page.getByRole('combobox', { name: 'Rechercher un professionnel ou une structure' });
    await box.waitFor();
    // In the page: the time of each key press, and the frame after the answer for the box's text is in the DOM.
    // A string, not a function: the bench runs through tsx, whose helpers (`__name`) do not exist in the page.
    await page.evaluate(`(() => {
      document.addEventListener('keydown', (event) => (window.__keyAt = event.timeStamp), true);
      const paintedWhen = (list, attribute, text) =>
        new Promise((resolve) => {
          const done = () => requestAnimationFrame(() => resolve(performance.now() - window.__keyAt));
          if (list.getAttribute(attribute) === text) return done();
          const observer = new MutationObserver(() => {
            if (list.getAttribute(attribute) === text) {
              observer.disconnect();
              done();
            }
          });
          observer.observe(list, { attributes: true, childList: true, subtree: true });
        });
      window.__expect = (text) => {
        const list = document.getElementById('directory-results');
        window.__painted = paintedWhen(list, 'data-results-for', text);
        window.__rolesPainted = paintedWhen(list, 'data-roles-for', text);
      };
    })()`);
    const latencies: number[] = [];
    const complete: number[] = [];
    /** The slowest keystroke: what had been typed, and how many keystrokes into the run (the first ones meet cold caches). */
    let slowest = { prefix: '', position: 0 };
    for (const text of typed) {
      await box.fill('');
      for (let length = 1; length <= text.length; length++) {
        const prefix = text.slice(0, length);
        const counted = prefix.replace(/[^a-z0-9]/g, '').length >= 2 && !prefix.endsWith(' ');
        if (counted) await page.evaluate(`window.__expect(${JSON.stringify(prefix)})`);
        await box.press(text[length - 1] === ' ' ? 'Space' : text[length - 1]);
        if (counted) {
          latencies.push((await page.evaluate('window.__painted')) as number);
          complete.push((await page.evaluate('window.__rolesPainted')) as number);
          if (latencies[latencies.length - 1] === Math.max(...latencies)) slowest = { prefix, position: latencies.length };
        }
      }
    }
    figure('keystroke to results painted p95', Math.round(percentile(latencies, 95)), 'ms', { p50: Math.round(percentile(latencies, 50)), max: Math.round(Math.max(...latencies)), slowest, keystrokes: latencies.length, searches: typed.length });
    figure('keystroke to roles painted p95', Math.round(percentile(complete, 95)), 'ms', { p50: Math.round(percentile(complete, 50)), max: Math.round(Math.max(...complete)), keystrokes: complete.length, searches: typed.length });
  } finally {
    await browser.close();
  }
} finally {
  await stopServedUi(node, work, outDir);
}
