/**
 * The packaged desktop app, launched as a practice would launch it: run by .github/workflows/release.yml on each
 * platform's runner after packaging (Electron cannot run where `npm test` runs). On a fresh data folder
 * (LIAISON_DATA), its first window shows the set-up screen, its node answers /health at the address
 * `<data>/node.json` names, and it quits cleanly (exit code 0, node.json removed by the node's clean stop) in time.
 *
 * Usage: npx tsx scripts/packaged-smoke.ts <the unpacked app's executable, or its .app on macOS>. Playwright's
 * Electron support drives the main process through `--inspect`, which the shipped app's fuses refuse: this script
 * turns EnableNodeCliInspectArguments on in the build it is given (re-signed ad hoc on macOS), so run it on the
 * unpacked build once the installers are made, as the workflow does; the installers keep the fuse off.
 */
import { FuseV1Options, FuseVersion, flipFuses } from '@electron/fuses';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { _electron } from 'playwright-core';

const TIMEOUT_MS = 60_000;
const given = process.argv[2];
if (!given) throw new Error('Usage: packaged-smoke.ts <unpacked executable, or .app>');
const executablePath = resolve(given.endsWith('.app') ? join(given, 'Contents/MacOS', readdirSync(join(given, 'Contents/MacOS'))[0]) : given);
await flipFuses(given, { version: FuseVersion.V1, resetAdHocDarwinSignature: true, [FuseV1Options.EnableNodeCliInspectArguments]: true });
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const dataDir = mkdtempSync(join(tmpdir(), 'liaison-smoke-'));
const nodeFile = join(dataDir, 'node.json');
const log = (message: string) => console.log(`[packaged-smoke] ${message}`);

async function within<T>(what: string, work: () => Promise<T | undefined>): Promise<T> {
  for (const deadline = Date.now() + TIMEOUT_MS; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 250))) {
    const result = await work().catch(() => undefined);
    if (result !== undefined) return result;
  }
  throw new Error(`${what}: not within ${TIMEOUT_MS / 1000} s`);
}

const app = await _electron.launch({ executablePath, env: { ...process.env, LIAISON_DATA: dataDir }, timeout: TIMEOUT_MS });
const exited = new Promise<number | null>((resolve) => app.process().once('exit', (code) => resolve(code)));
try {
  const window = await app.firstWindow({ timeout: TIMEOUT_MS });
  await window.getByRole('heading', { name: 'Installation de Liaison' }).waitFor({ timeout: TIMEOUT_MS });
  await within('the window is visible', () => app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().some((win) => win.isVisible()) || undefined));
  log(`first window shown: ${await window.title()}`);

  const { fhirBaseUrl } = await within('node.json', async () => JSON.parse(readFileSync(nodeFile, 'utf8')) as { fhirBaseUrl: string });
  const health = await within(`/health at ${fhirBaseUrl}`, async () => {
    const body = (await (await fetch(fhirBaseUrl.replace(/\/fhir$/, '/health'))).json()) as { status: string; version: string };
    return body.status === 'ok' ? body : undefined;
  });
  if (health.version !== version) throw new Error(`/health says version ${health.version}, not ${version}`);
  log(`the node answers at ${fhirBaseUrl}: ${JSON.stringify(health).slice(0, 200)}`);

  // As the menu's Quit does (app.quit()): the app stops its node, which removes node.json, then exits.
  await Promise.race([app.close(), new Promise((_, reject) => setTimeout(() => reject(new Error(`the app did not quit within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS))]);
  const code = await exited;
  if (code !== 0) throw new Error(`the app exited with code ${code}`);
  if (existsSync(nodeFile)) throw new Error('node.json is still there: the node did not stop cleanly');
  log('quit cleanly');
} catch (error) {
  app.process().kill();
  throw error;
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
