import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type ProviderAccount, type RunningProvider } from '../../../src-server/auth/demo-provider';
import { importDirectorySample } from '../../../src-server/directory/sample';
import { saveIdentitySettings } from '../../../src-server/node-settings';
import { useDataKey } from '../../../src-server/sealing';
import { testDataKey } from '../../helpers/data-key';
import { pkcePair, ScriptedBrowser, type Page } from '../../helpers/browser';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';
import { call, exchange, passwordLogin } from '../../helpers/setup';

/**
 * A node whose identity provider is Pro Santé Connect, saved in its data folder's settings.json and nowhere else (no
 * flag): a real oidc-provider on 127.0.0.1 plays PSC (discovery at `.well-known/wallet-openid-configuration` only, a
 * confidential client, `scope_all`, `acr_values=eidas1`, userinfo as a signed JWT, then as an encrypted one), and a
 * practitioner of the bundled directory sample logs in and is linked to their Practitioner by `SubjectNameID`.
 */

type Json = Record<string, any>;

const PASSWORD = 'psc';
/** Léa Thomas, in resources/directory-sample: RPPS 10100000003, so IDNPS 810100000003. */
const RPPS = '10100000003';
const ACCOUNTS: ProviderAccount[] = [
  { login: 'lea.thomas', password: PASSWORD, claims: { given_name: 'Léa', family_name: 'Thomas', SubjectNameID: `8${RPPS}` } },
  { login: 'next.person', password: PASSWORD, claims: { given_name: 'Hugo', family_name: 'Martin', SubjectNameID: '899999999999' } },
];
const SIGNED_SECRET = 'psc-client-secret-signed-6f1d2c';
const ENCRYPTED_SECRET = 'psc-client-secret-encrypted-93ab7e';

const dataDir = tempDir('liaison-psc-');
const lines: string[] = [];
let signed: RunningProvider;
let encrypted: RunningProvider | undefined;
let node: TestNode;

beforeAll(async () => {
  signed = await startOidcProvider(ACCOUNTS, { clientSecret: SIGNED_SECRET, userinfo: 'signed' });
  // As an admin's set-up or `liaison auth set` leaves it: settings.json, the secret sealed under the folder's data key.
  useDataKey(dataDir, testDataKey(dataDir));
  saveIdentitySettings(dataDir, { provider: 'psc', issuer: signed.issuer, clientId: signed.clientId, clientSecret: SIGNED_SECRET, localAccounts: true });
  node = await startTestNode({ dataDir, logger: { level: 'trace', stream: { write: (line: string) => void lines.push(line) } } });
  await importDirectorySample(node.db, node.repository);
});

afterAll(async () => {
  await node?.stop();
  await signed?.close();
  await encrypted?.close();
});

const atNode = (url: URL) => url.origin === node.url;

/** A browser login through the provider: the provider's pages it was shown, and the session's tokens. */
async function loginAs(browser: ScriptedBrowser, login: string): Promise<{ askedPassword: boolean; tokens: Json }> {
  const { verifier, challenge } = pkcePair();
  let page: Page = await browser.open(`${node.url}/auth/login?code_challenge=${challenge}&code_challenge_method=S256`, atNode);
  expect(page.status, page.html).toBe(200);
  const askedPassword = page.html.includes('Mot de passe');
  if (askedPassword) page = await browser.submit(page, 'login', { login, password: PASSWORD }, atNode);
  // Another person than the one logged in at the provider: it ends its session first (a form the page submits itself).
  if (page.html.includes('Submitting Callback')) page = await browser.submit(page, 'confirm', Object.fromEntries([...page.html.matchAll(/name="(\w+)" value="([^"]*)"/g)].map((match) => [match[1], match[2]])), atNode);
  if (page.html.includes('Autoriser')) page = await browser.submit(page, 'consent', {}, atNode);
  expect(page.url.pathname, page.html).toBe('/auth/callback');
  const landed = await browser.open(page.url, (url) => atNode(url) && url.pathname === '/');
  const code = landed.url.searchParams.get('login');
  expect(code, landed.url.href).toBeTruthy();
  return { askedPassword, tokens: await exchange(node.url, code!, verifier) };
}

const me = async (token: string) => (await call(node.url, 'GET', '/auth/me', { token })).body;

describe('Pro Santé Connect, saved in the data folder', () => {
  let browser: ScriptedBrowser;
  let token: string;

  it('is offered by the login screen, with no flag given', async () => {
    expect(await (await fetch(`${node.url}/auth/config`)).json()).toMatchObject({ provider: { kind: 'psc', issuer: signed.issuer, label: 'Pro Santé Connect' }, localAccounts: true });
  });

  it('logs a practitioner in (discovery at its own path, scope_all, eidas1, JWT userinfo) and links them to their directory Practitioner', async () => {
    browser = new ScriptedBrowser();
    const { tokens } = await loginAs(browser, 'lea.thomas');
    token = tokens.access_token;
    const asked = signed.authorizations.at(-1)!;
    expect(asked.get('scope')).toBe('openid scope_all');
    expect(asked.get('acr_values')).toBe('eidas1');
    expect(asked.get('prompt')).toBeNull();
    expect(await me(token)).toMatchObject({ issuer: signed.issuer, idnps: `8${RPPS}`, practitionerId: `pp-8${RPPS}`, displayName: 'Léa Thomas', roles: ['practitioner'], canSetLocalPassword: true });
  });

  it('asks who logs in at the next login after a logout, even in the same browser, and not after that', async () => {
    // Still logged in at the provider: the next login goes through without a password.
    expect((await loginAs(browser, 'lea.thomas')).askedPassword).toBe(false);
    const logout = await call(node.url, 'POST', '/auth/logout', { token });
    expect(logout.status).toBe(200);

    const next = await loginAs(browser, 'next.person');
    expect(signed.authorizations.at(-1)!.get('prompt')).toBe('login');
    expect(next.askedPassword).toBe(true);
    expect((await me(next.tokens.access_token)).displayName).toBe('Hugo Martin');
    await loginAs(browser, 'next.person');
    expect(signed.authorizations.at(-1)!.get('prompt')).toBeNull();
  });

  it('lets the practitioner set a local password for the days the provider cannot be reached', async () => {
    const { tokens } = await loginAs(new ScriptedBrowser(), 'lea.thomas');
    const set = (json: Json) => call(node.url, 'POST', '/auth/me/local-password', { token: tokens.access_token, json });
    expect((await set({ login: 'lea.thomas', newPassword: 'short' })).status).toBe(400);
    const done = await set({ login: 'lea.thomas', newPassword: 'offline password of lea' });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const offline = await passwordLogin(node.url, 'lea.thomas', 'offline password of lea');
    const user = await me(offline.tokens!.access_token);
    expect(user).toMatchObject({ practitionerId: `pp-8${RPPS}`, localLogin: 'lea.thomas', localAccount: true, canSetLocalPassword: true });
    expect(user.id).toBe((await me(tokens.access_token)).id);
  });
});

describe("a desktop login through the node's own callback (the one redirect URI Pro Santé Connect registers)", () => {
  it('completes in the system browser at /auth/callback, and the app collects its tokens by the login id', async () => {
    const { verifier, challenge } = pkcePair();
    const started = await call(node.url, 'POST', '/auth/login', { json: { redirect: 'node', code_challenge: challenge } });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const { authorization_url: authorizationUrl, login_id: loginId } = started.body;
    expect(new URL(authorizationUrl).searchParams.get('redirect_uri')).toBe(`${node.url}/auth/callback`);
    const token = () => fetch(`${node.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'liaison-ui', code: loginId, code_verifier: verifier }) }).then(async (response) => (await response.json()) as Json);
    expect((await token()).error).toBe('authorization_pending');

    // The system browser: no cookie of the node's.
    const browser = new ScriptedBrowser();
    let page = await browser.open(authorizationUrl, atNode);
    if (page.html.includes('Mot de passe')) page = await browser.submit(page, 'login', { login: 'lea.thomas', password: PASSWORD }, atNode);
    if (page.html.includes('Autoriser')) page = await browser.submit(page, 'consent', {}, atNode);
    expect(page.url.pathname).toBe('/auth/callback');
    const done = await browser.open(page.url);
    expect(done.status).toBe(200);
    expect(done.html).toContain('Connexion réussie');

    const tokens = await token();
    expect(tokens.access_token, JSON.stringify(tokens)).toBeTruthy();
    expect(await me(tokens.access_token)).toMatchObject({ practitionerId: `pp-8${RPPS}` });
    expect((await token()).error).toBe('invalid_grant');
    // Replayed: no login waits for that answer any more.
    const replayed = await fetch(page.url, { redirect: 'manual' });
    expect(replayed.headers.get('location')).toBe('/?login_error=invalid_state');
  });
});

describe('the provider changed by an admin, applied without a restart', () => {
  it('logs in through the new one at once, its userinfo encrypted to the node', async () => {
    const jwks = await call(node.url, 'GET', '/auth/jwks');
    expect(jwks.body.keys).toEqual([expect.objectContaining({ kty: 'RSA', use: 'enc', alg: 'RSA-OAEP-256', kid: expect.any(String) })]);
    expect(jwks.body.keys[0].d).toBeUndefined();
    encrypted = await startOidcProvider(ACCOUNTS, { clientSecret: ENCRYPTED_SECRET, userinfo: 'encrypted', jwks: jwks.body as { keys: object[] } });

    const saved = await call(node.url, 'PUT', '/admin/identity', { token: node.token, json: { provider: 'psc', issuer: encrypted.issuer, clientId: encrypted.clientId, clientSecret: ENCRYPTED_SECRET } });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body).toEqual({ provider: 'psc', issuer: encrypted.issuer, clientId: encrypted.clientId, localAccounts: true, hasClientSecret: true, overriddenByFlags: false });
    expect((await call(node.url, 'GET', '/auth/config')).body.provider.issuer).toBe(encrypted.issuer);

    const { tokens } = await loginAs(new ScriptedBrowser(), 'lea.thomas');
    expect(encrypted.authorizations).toHaveLength(1);
    expect(await me(tokens.access_token)).toMatchObject({ issuer: encrypted.issuer, practitionerId: `pp-8${RPPS}` });

    // Saved again without the secret: the saved one is kept.
    const kept = await call(node.url, 'PUT', '/admin/identity', { token: node.token, json: { provider: 'psc', issuer: encrypted.issuer, clientId: encrypted.clientId } });
    expect(kept.body.hasClientSecret).toBe(true);
    expect((await loginAs(new ScriptedBrowser(), 'lea.thomas')).tokens.access_token).toBeTruthy();
  });

  it('refuses settings that could not log anyone in, and non-admins', async () => {
    const bad = await call(node.url, 'PUT', '/admin/identity', { token: node.token, json: { provider: 'oidc', clientId: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0].details.coding[0].code).toBe('identity-invalid');
    expect(bad.body.issue[0].expression).toEqual(['issuer']);
    const user = (await loginAs(new ScriptedBrowser(), 'lea.thomas')).tokens.access_token;
    expect((await call(node.url, 'GET', '/admin/identity', { token: user })).status).toBe(403);
    // Without a provider, local accounts are the only way in: they cannot be turned off too.
    const noWayIn = await call(node.url, 'PUT', '/admin/identity', { token: node.token, json: { provider: 'none', localAccounts: false } });
    expect(noWayIn.body.issue[0]).toMatchObject({ details: { coding: [{ code: 'identity-invalid' }] }, expression: ['localAccounts'] });
  });

  it('turns local accounts off and on again, at once', async () => {
    const provider = { provider: 'psc', issuer: encrypted!.issuer, clientId: encrypted!.clientId };
    expect((await call(node.url, 'PUT', '/admin/identity', { token: node.token, json: { ...provider, localAccounts: false } })).body.localAccounts).toBe(false);
    expect((await call(node.url, 'GET', '/auth/config')).body.localAccounts).toBe(false);
    const refused = await passwordLogin(node.url, 'lea.thomas', 'offline password of lea');
    expect(refused.refused?.status).toBe(403);
    expect(refused.refused?.body.issue[0].details.coding[0].code).toBe('local-accounts-off');
    await call(node.url, 'PUT', '/admin/identity', { token: node.token, json: { ...provider, localAccounts: true } });
    expect((await passwordLogin(node.url, 'lea.thomas', 'offline password of lea')).tokens).toBeDefined();
  });
});

describe('"test the provider"', () => {
  const test = (json: Json) => call(node.url, 'POST', '/admin/identity/test', { token: node.token, json });

  it('finds Pro Santé Connect at its own discovery path, and says what is wrong otherwise', async () => {
    expect((await test({ provider: 'psc', issuer: signed.issuer })).body).toEqual({ ok: true, issuer: signed.issuer });
    // A plain OpenID Connect provider looks at the standard path only, which PSC does not serve.
    expect((await test({ provider: 'oidc', issuer: signed.issuer })).body).toMatchObject({ ok: false, code: 'discovery-invalid' });
    // The document names another issuer than the one given.
    const other = signed.issuer.replace('127.0.0.1', 'localhost');
    expect((await test({ provider: 'psc', issuer: other })).body).toMatchObject({ ok: false, code: 'issuer-mismatch' });
    const gone = await startOidcProvider([]);
    await gone.close();
    expect((await test({ provider: 'oidc', issuer: gone.issuer })).body).toMatchObject({ ok: false, code: 'provider-unreachable' });
  });

  it('says when the provider is served with a certificate the node does not trust', async () => {
    const folder = tempDir('liaison-tls-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(folder, 'key.pem'), '-out', join(folder, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const server = createServer({ key: readFileSync(join(folder, 'key.pem')), cert: readFileSync(join(folder, 'cert.pem')) }, (_request, response) => response.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const answer = await test({ provider: 'oidc', issuer: `https://127.0.0.1:${(server.address() as AddressInfo).port}` });
      expect(answer.body).toMatchObject({ ok: false, code: 'tls-error' });
    } finally {
      server.close();
    }
  });
});

describe('the client secret', () => {
  it('is in no answer, no log line and no file of the data folder in clear', async () => {
    // Something was logged (the requests, at trace level): the secrets were not.
    const log = lines.join('');
    expect(log).toContain('/admin/identity');
    for (const secret of [SIGNED_SECRET, ENCRYPTED_SECRET, 'offline password of lea']) {
      expect(log).not.toContain(secret);
      for (const file of readdirSync(dataDir, { recursive: true }) as string[]) {
        const path = join(dataDir, file);
        if (statSync(path).isFile()) expect(readFileSync(path).includes(secret), path).toBe(false);
      }
    }
    const settings = JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')) as Json;
    expect(settings.identity.clientSecret).toMatch(/^[\w-]+:[\w-]+:[\w-]+$/);
    expect(statSync(join(dataDir, 'settings.json')).mode & 0o777).toBe(0o600);
    for (const path of ['/auth/config', '/auth/jwks']) expect(JSON.stringify((await call(node.url, 'GET', path)).body)).not.toContain(ENCRYPTED_SECRET);
    expect(JSON.stringify((await call(node.url, 'GET', '/admin/identity', { token: node.token })).body)).not.toContain(ENCRYPTED_SECRET);
  });
});
