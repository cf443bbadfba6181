import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateExtraction } from '../../../src-server/directory/generate';
import { ANS_BASE_URL, effectiveRefreshSettings, IGC_SANTE_ROOT } from '../../../src-server/directory/refresh';
import { proxyFor } from '../../../src-server/directory/source-client';
import { AnsServer, ConnectProxy, publicationZip, testCa } from '../../helpers/ans-server';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';
import { call, setupBody } from '../../helpers/setup';

/**
 * The daily refresh against a local HTTPS stand-in of the ANS service (its own test CA given as the extra anchor),
 * through a real node and its admin API (docs/directory.md, "Daily refresh").
 */

type Json = Record<string, any>;
const ACTIVITY = 'PS_LibreAcces_Personne_activite';
const MSSANTE = 'Extraction_Correspondance_MSSante';

const folder = tempDir('liaison-refresh-');
const certificate = testCa(folder);
const generated = generateExtraction(folder, { lines: 1200, seed: 5 });
const activityText = readFileSync(generated.activityFile, 'utf8');
const mssanteText = readFileSync(generated.mssanteFile, 'utf8');
let ans: AnsServer;
let proxy: ConnectProxy;
let node: TestNode;

beforeAll(async () => {
  ans = await AnsServer.start(certificate);
  proxy = await ConnectProxy.start();
  // No automatic check during the tests: each asks for one, as Réglages' "Réessayer" does.
  node = await startTestNode({ directoryRefresh: { source: ans.url, extraCa: [certificate.ca], env: {}, firstCheckMs: 3600_000, retryMs: 3600_000 } });
});
afterAll(async () => {
  await node?.stop();
  await ans?.close();
  await proxy?.close();
  rmSync(folder, { recursive: true, force: true });
});

async function admin(path: string, method = 'GET', json?: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${node.url}/admin/directory${path}`, {
    method,
    headers: { authorization: `Bearer ${node.token}`, ...(json ? { 'content-type': 'application/json' } : {}) },
    ...(json ? { body: JSON.stringify(json) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

/** Asks for a check (as the retry button does) and waits for it to end: the refresh's state then. */
async function refreshNow(path = '/refresh'): Promise<Json> {
  // A check the settings' change started runs to its end first.
  while ((await admin('/refresh')).body.running) await new Promise((resolve) => setTimeout(resolve, 100));
  const before = (await admin('/refresh')).body.lastCheck;
  expect((await admin(path, 'POST')).status).toBe(202);
  for (;;) {
    const { body } = await admin('/refresh');
    if (body.lastCheck !== before && !body.running) return body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The activity file with every `every`th line's family name changed: a later publication. */
function variant(text: string, every: number, keep = 1): string {
  const lines = text.split('\n');
  const kept = lines.slice(0, 1 + Math.floor((lines.length - 1) * keep));
  return kept.map((line, index) => (index > 0 && index % every === 0 ? line.replace(/^([^|]*\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|)([^|]*)/, '$1$2-NOUVEAU') : line)).join('\n');
}

const versions = () => node.db.prepare('SELECT count(*) FROM resource_versions').pluck().get() as number;
const activePractitioners = () =>
  node.db.prepare(`SELECT count(*) FROM resources r JOIN resource_versions v ON v.vseq = r.vseq WHERE r.resource_type = 'Practitioner' AND json_extract(v.body, '$.active') = 1`).pluck().get() as number;

describe('the daily refresh of the directory', () => {
  it('finds a new publication by its headers, imports it from the ZIP, and never downloads the same one twice', async () => {
    ans.publish('activity', '202612061410', publicationZip(ACTIVITY, '202612061410', activityText));
    ans.publish('mssante', '202612061410', publicationZip(MSSANTE, '202612061410', mssanteText));
    const state = await refreshNow();
    expect(state.failure).toBeUndefined();
    expect(state.imported.activity).toMatchObject({ name: 'PS_LibreAcces_202612061410.zip', publishedAt: '2026-12-06T14:10:00', lines: 1200 });
    expect(state.imported.mssante).toMatchObject({ name: 'Extraction_Correspondance_MSSante_202612061410.zip', lines: generated.mailboxes });
    expect(ans.downloads).toEqual({ activity: 1, mssante: 1 });
    const found = (await (await node.request('Practitioner?_summary=count')).json()) as Json;
    expect(found.total).toBe(generated.persons);
    // Downloads go to a private folder of the data folder, and go once imported.
    const downloads = join(node.dataDir, 'directory-downloads');
    expect(statSync(downloads).mode & 0o777).toBe(0o700);
    expect(readdirSync(downloads)).toEqual([]);

    const written = versions();
    const again = await refreshNow();
    expect(ans.downloads).toEqual({ activity: 1, mssante: 1 });
    expect(versions()).toBe(written);
    expect(again.nextCheck).toBeDefined();
    const health = (await (await fetch(`${node.url}/health`)).json()) as Json;
    expect(health.directory.imported.activity).toMatchObject({ name: 'PS_LibreAcces_202612061410.zip', lines: 1200 });
    expect(JSON.stringify(health.directory)).not.toContain(ans.url);
  });

  it('resumes a download cut in the middle (Range + If-Range) and imports the publication', async () => {
    const zip = publicationZip(ACTIVITY, '202612071410', variant(activityText, 100));
    ans.publish('activity', '202612071410', zip);
    ans.cutNext('activity', Math.floor(zip.length / 2));
    const state = await refreshNow();
    expect(state.failure).toBeUndefined();
    expect(state.imported.activity.name).toBe('PS_LibreAcces_202612071410.zip');
    // Resumed where the cut left it (what reached the disk), not started again.
    expect(ans.ranges.at(-1)).toMatch(/^bytes=[1-9]\d*-$/);
    expect(ans.downloads.activity).toBe(3);
    const changed = (await (await node.request('Practitioner?family:contains=NOUVEAU&_summary=count')).json()) as Json;
    expect(changed.total).toBeGreaterThan(0);
  });

  it('refuses a damaged or truncated ZIP and says so, the directory unchanged', async () => {
    const written = versions();
    const zip = publicationZip(ACTIVITY, '202612081410', variant(activityText, 50));
    const damaged = Buffer.from(zip);
    for (let at = 200; at < 260; at++) damaged[at] ^= 0xff;
    ans.publish('activity', '202612081410', damaged);
    const state = await refreshNow();
    expect(state.failure).toMatchObject({ code: 'directory-zip-corrupt' });
    expect(state.imported.activity.name).toBe('PS_LibreAcces_202612071410.zip');
    expect(versions()).toBe(written);

    ans.publish('activity', '202612081411', zip.subarray(0, zip.length - 100));
    expect((await refreshNow()).failure).toMatchObject({ code: 'directory-zip-corrupt', message: expect.stringContaining('not a complete ZIP') });
    expect(versions()).toBe(written);
    expect(readdirSync(join(node.dataDir, 'directory-downloads'))).toEqual([]);
  });

  it('holds a publication that would archive half the directory until the admin confirms it', async () => {
    const active = activePractitioners();
    const written = versions();
    ans.publish('activity', '202612091410', publicationZip(ACTIVITY, '202612091410', variant(activityText, 100, 0.5)));
    const state = await refreshNow();
    expect(state.waiting).toMatchObject({ kind: 'activity', refusal: { code: 'directory-archive-unconfirmed' } });
    expect(state.waiting.refusal.archiving).toBeGreaterThan(active / 3);
    expect(versions()).toBe(written);
    // Asked again, it still waits, without a new download.
    const downloads = ans.downloads.activity;
    expect((await refreshNow()).waiting).toBeDefined();
    expect(ans.downloads.activity).toBe(downloads);

    const confirmed = await refreshNow('/refresh/confirm');
    expect(confirmed.waiting).toBeUndefined();
    expect(confirmed.imported.activity.name).toBe('PS_LibreAcces_202612091410.zip');
    expect(activePractitioners()).toBeLessThan(active * 0.6);
    expect((await admin('/refresh/confirm', 'POST')).body.issue[0].details.coding[0].code).toBe('directory-refresh-nothing-waiting');
  });

  it('goes through the proxy of the settings, by a CONNECT tunnel, and says when the proxy refuses', async () => {
    expect((await admin('/source', 'PUT', { proxy: proxy.url })).status).toBe(200);
    ans.publish('activity', '202612101410', publicationZip(ACTIVITY, '202612101410', variant(activityText, 100, 0.5).replace(/-NOUVEAU/g, '-ENCORE')));
    const state = await refreshNow();
    expect(state.failure).toBeUndefined();
    expect(state.imported.activity.name).toBe('PS_LibreAcces_202612101410.zip');
    expect(proxy.tunnels).toContain(new URL(ans.url).host);

    proxy.refusing = true;
    ans.publish('activity', '202612111410', publicationZip(ACTIVITY, '202612111410', activityText));
    expect((await refreshNow()).failure).toMatchObject({ code: 'directory-proxy-refused' });
    proxy.refusing = false;
    expect((await admin('/source', 'PUT', { proxy: 'none' })).body.proxy).toBe('none');
    expect((await admin('/source', 'PUT', { proxy: 'ftp://proxy' })).body.issue[0].details.coding[0].code).toBe('directory-source-invalid');
  });

  it('refuses a server whose certificate does not chain to its anchors, and says when the server does not answer', async () => {
    const stranger = await AnsServer.start(testCa(folder, 'Stranger CA'));
    try {
      stranger.publish('activity', '202612121410', publicationZip(ACTIVITY, '202612121410', activityText));
      await admin('/source', 'PUT', { source: stranger.url });
      const state = await refreshNow();
        expect(state.failure).toMatchObject({ code: 'directory-source-certificate' });
      expect(stranger.downloads.activity).toBe(0);
      await admin('/source', 'PUT', { source: 'https://127.0.0.1:1' });
      expect((await refreshNow()).failure).toMatchObject({ code: 'directory-source-unreachable' });
    } finally {
      await stranger.close();
    }
    const saved = JSON.parse(readFileSync(join(node.dataDir, 'settings.json'), 'utf8')) as Json;
    expect(saved.directory).toEqual({ source: 'https://127.0.0.1:1', proxy: 'none' });
    expect((await admin('/source', 'PUT', { source: 'off' })).body.enabled).toBe(false);
  });
});

describe('a fresh node', () => {
  it('waits for its set-up before fetching from the default source (it may be about to join an office), then checks at once', async () => {
    // The default source, where the tests' environment would say off: one that does not answer, so a fetch shows as a failure.
    const before = process.env.LIAISON_DIRECTORY_SOURCE;
    process.env.LIAISON_DIRECTORY_SOURCE = 'https://127.0.0.1:1';
    const fresh = await startTestNode({ directoryRefresh: { firstCheckMs: 3_600_000, retryMs: 3_600_000 } });
    try {
      const state = async () => (await call(fresh.url, 'GET', '/admin/directory/refresh', { token: fresh.token })).body;
      expect((await call(fresh.url, 'POST', '/admin/directory/refresh', { token: fresh.token })).status).toBe(202);
      expect(await state()).toMatchObject({ enabled: true, heldBack: 'setup' });
      expect((await state()).failure).toBeUndefined();
      expect((await call(fresh.url, 'POST', '/setup', { json: setupBody(), setupCode: fresh.firstRun.setupCode })).status).toBe(201);
      // Set up: the check follows at once, and meets the source that does not answer.
      for (let waited = 0; !(await state()).failure && waited < 30_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await state()).toMatchObject({ failure: { code: 'directory-source-unreachable' } });
      expect((await state()).heldBack).toBeUndefined();
    } finally {
      if (before === undefined) delete process.env.LIAISON_DIRECTORY_SOURCE;
      else process.env.LIAISON_DIRECTORY_SOURCE = before;
      await fresh.stop();
    }
  });
});

describe('the refresh settings', () => {
  it('trusts the IGC-Santé root shipped in resources/, whose fingerprint is the one ANS publishes', () => {
    const root = new X509Certificate(readFileSync(IGC_SANTE_ROOT));
    expect(root.fingerprint256).toBe('2D:9E:22:CA:19:F7:77:C6:B7:45:25:7C:72:3E:CB:8D:F3:C3:5F:A6:F1:F6:EC:36:B8:36:00:C9:73:46:96:7F');
    expect(root.subject).toContain('AC RACINE IGC-SANTE ELEMENTAIRE');
  });

  it('honours HTTPS_PROXY and NO_PROXY, the proxy setting winning', () => {
    const url = new URL('https://service.annuaire.sante.fr/x');
    expect(proxyFor(url, { extraCa: [], env: { HTTPS_PROXY: 'http://proxy:3128' } })).toBe('http://proxy:3128');
    expect(proxyFor(url, { extraCa: [], env: { https_proxy: 'http://proxy:3128', NO_PROXY: 'localhost,.sante.fr' } })).toBeUndefined();
    expect(proxyFor(url, { extraCa: [], env: { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '*' } })).toBeUndefined();
    expect(proxyFor(url, { extraCa: [], env: { HTTP_PROXY: 'http://other:80' }, proxy: 'http://office:8080' })).toBe('http://office:8080');
    expect(proxyFor(url, { extraCa: [], env: { HTTPS_PROXY: 'http://proxy:3128' }, proxy: 'none' })).toBeUndefined();
  });

  it('refreshes from the ANS by default, not for the demo, not where the environment says off, and as the data folder says', () => {
    expect(effectiveRefreshSettings({}, { demo: false, env: {} })).toEqual({ source: ANS_BASE_URL });
    expect(effectiveRefreshSettings({}, { demo: true, env: {} })).toEqual({});
    expect(effectiveRefreshSettings({}, { demo: false, env: { LIAISON_DIRECTORY_SOURCE: 'off' } })).toEqual({});
    expect(effectiveRefreshSettings({ source: 'off' }, { demo: false, env: {}, override: { source: 'https://test' } })).toEqual({});
    expect(effectiveRefreshSettings({ source: 'https://mirror.example', proxy: 'http://p:1' }, { demo: true, env: {} })).toEqual({ source: 'https://mirror.example', proxy: 'http://p:1' });
  });
});
