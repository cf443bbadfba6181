import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type RunningProvider } from '../../../src-server/auth/demo-provider';
import { IDNPS_SYSTEM } from '../../../src-server/auth/practitioner-link';
import { pkcePair, ScriptedBrowser, type Page } from '../../helpers/browser';
import { fhirFetch, startTestNode, type TestNode } from '../../helpers/node';

/**
 * Users' login end to end: a real oidc-provider on 127.0.0.1 as the upstream issuer, scripted through its login and
 * consent pages; a real node as the relying party; the UI's side (hand-off exchange, refresh, logout) over HTTP.
 */

type Json = Record<string, any>;

const PASSWORD = 'secret';
const RPPS = '10003456789';
const ACCOUNTS = [
  // Pro Santé Connect style: the national id in SubjectNameID.
  { login: 'psc-doctor', password: PASSWORD, claims: { given_name: 'Jeanne', family_name: 'Dupont', SubjectNameID: `8${RPPS}`, email: 'jeanne.dupont@example.org' } },
  // A plain issuer's identity: sub, email and name only.
  { login: 'plain-person', password: PASSWORD, claims: { name: 'Marc Petit', email: 'marc.petit@example.org' } },
  { login: 'to-disable', password: PASSWORD, claims: { name: 'Léa Blanc' } },
  { login: 'refusing', password: PASSWORD, claims: { name: 'Hugo Noir' } },
];

let provider: RunningProvider;
let node: TestNode;

beforeAll(async () => {
  provider = await startOidcProvider(ACCOUNTS);
  node = await startTestNode({ oidc: { issuer: provider.issuer, clientId: provider.clientId } });
  node.repository.update('Practitioner', 'jeanne-dupont', {
    resourceType: 'Practitioner',
    id: 'jeanne-dupont',
    identifier: [{ system: IDNPS_SYSTEM, value: `8${RPPS}` }],
    name: [{ family: 'Dupont', given: ['Jeanne'] }],
  });
});

afterAll(async () => {
  await node?.stop();
  await provider?.close();
});

const atNode = (url: URL) => url.origin === node.url;

/** Walks a browser through the provider's pages: `GET /auth/login` → login → consent → back at the node. */
async function browserLogin(browser: ScriptedBrowser, login: string, query = ''): Promise<Page> {
  const loginPage = await browser.open(`${node.url}/auth/login${query}`, atNode);
  expect(loginPage.status, loginPage.html).toBe(200);
  expect(loginPage.url.origin).toBe(provider.issuer);
  const consentPage = await browser.submit(loginPage, 'login', { login, password: PASSWORD }, atNode);
  expect(consentPage.html).toContain('Autoriser');
  return browser.submit(consentPage, 'consent', {}, atNode);
}

/** The node's callback, answered: the hand-off code or the error code in the UI's URL. */
async function landing(browser: ScriptedBrowser, page: Page): Promise<URLSearchParams> {
  expect(page.url.pathname).toBe('/auth/callback');
  const landed = await browser.open(page.url, (url) => atNode(url) && url.pathname === '/');
  expect(landed.url.pathname).toBe('/');
  return landed.url.searchParams;
}

async function token(form: Record<string, string>, cookie?: string): Promise<{ status: number; body: Json; headers: Headers }> {
  const response = await fetch(`${node.url}/oauth/token`, {
    method: 'POST',
    headers: cookie ? { cookie } : {},
    body: new URLSearchParams({ client_id: 'liaison-ui', ...form }),
  });
  return { status: response.status, body: (await response.json()) as Json, headers: response.headers };
}

async function admin(path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const { json, ...rest } = init;
  const response = await fetch(`${node.url}/admin/${path}`, {
    ...rest,
    headers: { authorization: `Bearer ${node.token}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

async function auditEvents(event: string): Promise<Json[]> {
  return (await admin(`audit?event=${event}&_count=1000`)).body.events;
}

const sessionCount = () => (node.db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;
const userCount = () => (node.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;

/** A full browser login by a PKCE-holding UI: the session's tokens. */
async function loggedIn(login: string): Promise<Json> {
  const browser = new ScriptedBrowser();
  const { verifier, challenge } = pkcePair();
  const params = await landing(browser, await browserLogin(browser, login, `?code_challenge=${challenge}&code_challenge_method=S256`));
  const exchanged = await token({ grant_type: 'authorization_code', code: params.get('login') ?? '', code_verifier: verifier });
  expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
  return exchanged.body;
}

describe('browser login against a real OpenID provider', () => {
  it('logs in, hands the tokens over once, refreshes with rotation, ends the session on refresh reuse, and logs out at once', async () => {
    const browser = new ScriptedBrowser();
    const { verifier, challenge } = pkcePair();
    const params = await landing(browser, await browserLogin(browser, 'psc-doctor', `?code_challenge=${challenge}&code_challenge_method=S256`));
    const code = params.get('login');
    expect(code).toMatch(/^[\w-]{43}$/);
    expect(params.get('login_error')).toBeNull();

    const exchanged = await token({ grant_type: 'authorization_code', code: code!, code_verifier: verifier });
    expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
    expect(exchanged.headers.get('cache-control')).toBe('no-store');
    expect(exchanged.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const first = exchanged.body;
    expect(first.refresh_token).toMatch(/^[\w-]{43}$/);
    // The hand-off is single use.
    expect((await token({ grant_type: 'authorization_code', code: code!, code_verifier: verifier })).body.error).toBe('invalid_grant');

    expect((await fhirFetch(node.fhir, first.access_token, 'Patient')).status).toBe(200);
    const me = (await (await fetch(`${node.url}/auth/me`, { headers: { authorization: `Bearer ${first.access_token}` } })).json()) as Json;
    expect(me).toMatchObject({ displayName: 'Jeanne Dupont', idnps: `8${RPPS}`, practitionerId: 'jeanne-dupont', roles: ['practitioner'] });

    // Refresh rotates: new tokens, and the old refresh token is used up.
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.get('cache-control')).toBe('no-store');
    expect(refreshed.body.refresh_token).not.toBe(first.refresh_token);
    expect(refreshed.body.access_token).not.toBe(first.access_token);
    expect((await fhirFetch(node.fhir, refreshed.body.access_token, 'Patient')).status).toBe(200);

    // The old one coming back means it was copied: the whole session ends.
    const reused = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');
    expect(reused.body.error_description).toContain('already used');
    expect((await fhirFetch(node.fhir, refreshed.body.access_token, 'Patient')).status).toBe(401);
    expect((await fhirFetch(node.fhir, first.access_token, 'Patient')).status).toBe(401);
    expect((await token({ grant_type: 'refresh_token', refresh_token: refreshed.body.refresh_token })).status).toBe(400);

    // A new login, then logout: its access token is refused on the very next call, and so is its refresh token.
    const second = await loggedIn('psc-doctor');
    expect((await fhirFetch(node.fhir, second.access_token, 'Patient')).status).toBe(200);
    const logout = await fetch(`${node.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${second.access_token}` } });
    expect(logout.status).toBe(200);
    expect(((await logout.json()) as Json).end_session_url).toMatch(new RegExp(`^${provider.issuer}/session/end`));
    expect((await fhirFetch(node.fhir, second.access_token, 'Patient')).status).toBe(401);
    expect((await token({ grant_type: 'refresh_token', refresh_token: second.refresh_token })).status).toBe(400);

    const user = `user:${me.id}`;
    expect((await auditEvents('login')).filter((event) => event.clientId === user)).toHaveLength(2);
    expect(await auditEvents('logout')).toMatchObject([{ clientId: user, action: 'POST /auth/logout' }]);
  });
});
