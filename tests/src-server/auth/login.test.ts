import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type ProviderAccount, type RunningProvider } from '../../../src-server/auth/demo-provider';
import { IDNPS_SYSTEM, RPPS_SYSTEM } from '../../../src-server/auth/practitioner-link';
import { pkcePair, ScriptedBrowser, type Page } from '../../helpers/browser';
import { fhirFetch, startTestNode, type TestNode } from '../../helpers/node';

/**
 * Users' login end to end: a real oidc-provider on 127.0.0.1 as the upstream issuer, scripted through its login and
 * consent pages; a real node as the relying party; the UI's side (hand-off exchange, refresh, logout) over HTTP.
 */

type Json = Record<string, any>;

const PASSWORD = 'secret';
const RPPS = '10003456789';
const RPPS_ONLY = '10009876543';
const ACCOUNTS: ProviderAccount[] = [
  // Pro Santé Connect style: the national id in SubjectNameID.
  { login: 'psc-doctor', password: PASSWORD, claims: { given_name: 'Jeanne', family_name: 'Dupont', SubjectNameID: `8${RPPS}`, email: 'jeanne.dupont@example.org' } },
  // A plain issuer's identity: sub, email and name only.
  { login: 'plain-person', password: PASSWORD, claims: { name: 'Marc Petit', email: 'marc.petit@example.org' } },
  { login: 'to-disable', password: PASSWORD, claims: { name: 'Léa Blanc' } },
  { login: 'refusing', password: PASSWORD, claims: { name: 'Hugo Noir' } },
  // Known to the directory by its RPPS number only.
  { login: 'rpps-doctor', password: PASSWORD, claims: { name: 'Ali Haddad', SubjectNameID: `8${RPPS_ONLY}` } },
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
  node.repository.update('Practitioner', 'ali-haddad', {
    resourceType: 'Practitioner',
    id: 'ali-haddad',
    identifier: [{ system: RPPS_SYSTEM, value: RPPS_ONLY }],
    name: [{ family: 'Haddad', given: ['Ali'] }],
  });
});

afterAll(async () => {
  await node?.stop();
  await provider?.close();
});

const atNode = (url: URL) => url.origin === node.url;

/**
 * Walks a browser through the provider's pages: `GET /auth/login` → login (unless the provider's session is still
 * open in this browser) → consent → back at the node.
 */
async function browserLogin(browser: ScriptedBrowser, login: string, query = ''): Promise<Page> {
  let page = await browser.open(`${node.url}/auth/login${query}`, atNode);
  expect(page.status, page.html).toBe(200);
  expect(page.url.origin).toBe(provider.issuer);
  if (page.html.includes('Mot de passe')) page = await browser.submit(page, 'login', { login, password: PASSWORD }, atNode);
  expect(page.html).toContain('Autoriser');
  return browser.submit(page, 'consent', {}, atNode);
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

/** The user an access token stands for. */
async function me(accessToken: string): Promise<Json> {
  const response = await fetch(`${node.url}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
}

describe('identity mapping', () => {
  it('links a Pro Santé Connect identity to the directory Practitioner with its IDNPS, or with the RPPS it contains', async () => {
    expect(await me((await loggedIn('psc-doctor')).access_token)).toMatchObject({ practitionerId: 'jeanne-dupont', roles: ['practitioner'], organizations: [] });
    expect(await me((await loggedIn('rpps-doctor')).access_token)).toMatchObject({
      idnps: `8${RPPS_ONLY}`,
      practitionerId: 'ali-haddad',
      displayName: 'Ali Haddad',
      roles: ['practitioner'],
    });
  });

  it("makes a plain issuer's identity (sub, email, name) a staff user without practice, once, keeping what an admin set", async () => {
    const user = await me((await loggedIn('plain-person')).access_token);
    expect(user).toMatchObject({ issuer: provider.issuer, subject: 'plain-person', email: 'marc.petit@example.org', displayName: 'Marc Petit', roles: ['staff'], organizations: [] });
    expect(user.practitionerId).toBeUndefined();
    expect(user.idnps).toBeUndefined();
    expect((await admin(`users/${user.id}`, { method: 'PATCH', json: { roles: ['staff', 'admin'] } })).status).toBe(200);
    const users = userCount();
    const again = await me((await loggedIn('plain-person')).access_token);
    expect(again.id).toBe(user.id);
    expect(again.roles).toEqual(['staff', 'admin']);
    expect(userCount()).toBe(users);
  });
});

describe('refused logins create nothing and are audited', () => {
  /** Refusals are counted per source and second: the sum of the rows' counts. */
  const refusals = async () => (await auditEvents('login.refused')).reduce((sum, event) => sum + event.count, 0);

  it('refuses a tampered state, a replayed callback, and a callback opened in another browser', async () => {
    const before = { sessions: sessionCount(), refusals: await refusals() };
    const browser = new ScriptedBrowser();
    const callback = await browserLogin(browser, 'psc-doctor');

    const tampered = new URL(callback.url);
    tampered.searchParams.set('state', `${tampered.searchParams.get('state')}x`);
    expect((await landing(browser, { ...callback, url: tampered })).get('login_error')).toBe('invalid_state');
    expect((await landing(new ScriptedBrowser(), callback)).get('login_error')).toBe('invalid_state');

    // Neither used the login up: its own browser completes it, once.
    expect((await landing(browser, callback)).get('login')).toBeTruthy();
    expect((await landing(browser, callback)).get('login_error')).toBe('invalid_state');

    expect(sessionCount()).toBe(before.sessions);
    expect(await refusals()).toBe(before.refusals + 3);
  });

  it('refuses the hand-off to a wrong code_verifier (and uses it up), and one started without a challenge to another browser', async () => {
    const before = sessionCount();
    const browser = new ScriptedBrowser();
    const { verifier, challenge } = pkcePair();
    const code = (await landing(browser, await browserLogin(browser, 'psc-doctor', `?code_challenge=${challenge}`))).get('login')!;
    const wrong = await token({ grant_type: 'authorization_code', code, code_verifier: pkcePair().verifier });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ error: 'invalid_grant' });
    expect(wrong.body.error_description).toContain('code_verifier');
    expect((await token({ grant_type: 'authorization_code', code, code_verifier: verifier })).body.error).toBe('invalid_grant');

    // Without a challenge, the login cookie of the browser that started it is the proof.
    const cookieBrowser = new ScriptedBrowser();
    const cookieCode = (await landing(cookieBrowser, await browserLogin(cookieBrowser, 'psc-doctor'))).get('login')!;
    expect((await token({ grant_type: 'authorization_code', code: cookieCode }, new ScriptedBrowser().cookieHeader())).body.error).toBe('invalid_grant');
    expect(sessionCount()).toBe(before);

    const otherCode = (await landing(cookieBrowser, await browserLogin(cookieBrowser, 'psc-doctor'))).get('login')!;
    const exchanged = await token({ grant_type: 'authorization_code', code: otherCode }, cookieBrowser.cookieHeader());
    expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
    expect(sessionCount()).toBe(before + 1);
  });

  it("answers the provider's access_denied on the UI's page, and knows nothing of the person", async () => {
    const before = { sessions: sessionCount(), users: userCount() };
    const browser = new ScriptedBrowser();
    const loginPage = await browser.open(`${node.url}/auth/login`, atNode);
    const refused = await browser.submit(loginPage, 'abort', {}, atNode);
    expect(refused.url.searchParams.get('error')).toBe('access_denied');
    expect((await landing(browser, refused)).get('login_error')).toBe('access_denied');
    expect({ sessions: sessionCount(), users: userCount() }).toEqual(before);
    expect((await auditEvents('login.refused'))[0]).toMatchObject({ action: 'GET /auth/callback', status: 403 });
  });

  it('refuses a disabled user, whose sessions end at once', async () => {
    const tokens = await loggedIn('to-disable');
    const user = await me(tokens.access_token);
    const disabled = await admin(`users/${user.id}`, { method: 'PATCH', json: { disabled: true } });
    expect(disabled.status).toBe(200);
    expect(disabled.body.disabledAt).toBeTruthy();
    expect((await fhirFetch(node.fhir, tokens.access_token, 'Patient')).status).toBe(401);
    expect((await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).status).toBe(400);

    const before = sessionCount();
    const browser = new ScriptedBrowser();
    expect((await landing(browser, await browserLogin(browser, 'to-disable'))).get('login_error')).toBe('user_disabled');
    expect(sessionCount()).toBe(before);
    expect((await auditEvents('login.refused'))[0]).toMatchObject({ clientId: `user:${user.id}`, status: 403 });

    expect((await admin(`users/${user.id}`, { method: 'PATCH', json: { disabled: false } })).body.disabledAt).toBeUndefined();
    expect((await loggedIn('to-disable')).access_token).toBeTruthy();
  });

  it('answers an unreachable identity provider clearly, and a node without one with 404 (its login screen offers none)', async () => {
    const closed = await startOidcProvider([]);
    await closed.close();
    const unreachable = await startTestNode({ oidc: { issuer: closed.issuer, clientId: 'liaison' } });
    const bare = await startTestNode();
    try {
      const browser = await fetch(`${unreachable.url}/auth/login`, { redirect: 'manual' });
      expect(browser.status).toBe(302);
      expect(browser.headers.get('location')).toBe('/?login_error=issuer_unreachable');
      const desktop = await fetch(`${unreachable.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect: 'loopback', code_challenge: pkcePair().challenge }) });
      expect(desktop.status).toBe(502);
      expect(((await desktop.json()) as Json).issue[0].diagnostics).toContain('cannot be reached');
      const audit = await fetch(`${unreachable.url}/admin/audit?event=login.refused`, { headers: { authorization: `Bearer ${unreachable.token}` } });
      expect(((await audit.json()) as Json).events).toHaveLength(2);

      // The login screen learns the issuer to name (no demo accounts outside --demo), or that there is none.
      expect(await (await fetch(`${unreachable.url}/auth/config`)).json()).toEqual({
        provider: { kind: 'oidc', issuer: closed.issuer, label: new URL(closed.issuer).host },
        localAccounts: true,
        setup: true,
      });
      expect(await (await fetch(`${bare.url}/auth/config`)).json()).toEqual({ provider: null, localAccounts: true, setup: true });
      const none = await fetch(`${bare.url}/auth/login`, { redirect: 'manual' });
      expect(none.status).toBe(404);
      expect(((await none.json()) as Json).issue[0].diagnostics).toContain('liaison auth set');
    } finally {
      await unreachable.stop();
      await bare.stop();
    }
  });
});

describe('desktop login through a loopback redirect (RFC 8252)', () => {
  it('listens on an ephemeral 127.0.0.1 port for that one login, then closes it; the app collects its tokens with its verifier', async () => {
    const { verifier, challenge } = pkcePair();
    const started = await fetch(`${node.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect: 'loopback', code_challenge: challenge, code_challenge_method: 'S256' }) });
    expect(started.status).toBe(200);
    const { authorization_url: authorizationUrl, login_id: loginId } = (await started.json()) as Json;
    const redirectUri = new URL(new URL(authorizationUrl).searchParams.get('redirect_uri')!);
    expect(redirectUri.hostname).toBe('127.0.0.1');
    expect(redirectUri.pathname).toBe('/callback');
    expect(Number(redirectUri.port)).not.toBe(Number(new URL(node.url).port));
    expect((await fetch(new URL('/other', redirectUri))).status).toBe(404);

    // The user is still at the provider.
    expect((await token({ grant_type: 'authorization_code', code: loginId, code_verifier: verifier })).body.error).toBe('authorization_pending');

    const browser = new ScriptedBrowser();
    const loginPage = await browser.open(authorizationUrl);
    const consentPage = await browser.submit(loginPage, 'login', { login: 'psc-doctor', password: PASSWORD });
    const done = await browser.submit(consentPage, 'consent');
    expect(done.url.origin).toBe(redirectUri.origin);
    expect(done.status).toBe(200);
    expect(done.html).toContain('Connexion réussie');
    await expect(fetch(redirectUri)).rejects.toThrow();

    const exchanged = await token({ grant_type: 'authorization_code', code: loginId, code_verifier: verifier });
    expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
    expect((await me(exchanged.body.access_token)).practitionerId).toBe('jeanne-dupont');
    expect((await token({ grant_type: 'authorization_code', code: loginId, code_verifier: verifier })).body.error).toBe('invalid_grant');
  });

  it('tells the app a refused desktop login, and requires its PKCE challenge', async () => {
    const { verifier, challenge } = pkcePair();
    const started = (await (await fetch(`${node.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect: 'loopback', code_challenge: challenge }) })).json()) as Json;
    const browser = new ScriptedBrowser();
    const refused = await browser.submit(await browser.open(started.authorization_url), 'abort');
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('Connexion refusée');
    const answer = await token({ grant_type: 'authorization_code', code: started.login_id, code_verifier: verifier });
    expect(answer.body.error).toBe('access_denied');

    const noChallenge = await fetch(`${node.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect: 'loopback' }) });
    expect(noChallenge.status).toBe(400);
  });

  it('keeps a desktop login waiting when something else calls its port, and completes it with the right answer', async () => {
    const { verifier, challenge } = pkcePair();
    const started = (await (await fetch(`${node.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect: 'loopback', code_challenge: challenge }) })).json()) as Json;
    const redirectUri = new URL(new URL(started.authorization_url).searchParams.get('redirect_uri')!);
    for (const stray of ['', '?state=guess&code=x', '?error=access_denied&state=guess']) {
      const answer = await fetch(`${redirectUri.href}${stray}`);
      expect(answer.status).toBe(400);
      expect(await answer.text()).toContain('Connexion refusée');
    }
    expect((await token({ grant_type: 'authorization_code', code: started.login_id, code_verifier: verifier })).body.error).toBe('authorization_pending');

    const browser = new ScriptedBrowser();
    const consent = await browser.submit(await browser.open(started.authorization_url), 'login', { login: 'psc-doctor', password: PASSWORD });
    expect((await browser.submit(consent, 'consent')).html).toContain('Connexion réussie');
    expect((await token({ grant_type: 'authorization_code', code: started.login_id, code_verifier: verifier })).status).toBe(200);
  });

  it('keeps a few desktop logins waiting at once, closing the oldest listener beyond them', async () => {
    const redirectUris: URL[] = [];
    const oldest = pkcePair();
    let oldestId = '';
    for (let i = 0; i < 9; i++) {
      const challenge = i === 0 ? oldest.challenge : pkcePair().challenge;
      const started = (await (await fetch(`${node.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect: 'loopback', code_challenge: challenge }) })).json()) as Json;
      redirectUris.push(new URL(new URL(started.authorization_url).searchParams.get('redirect_uri')!));
      if (i === 0) oldestId = started.login_id;
    }
    await expect(fetch(redirectUris[0])).rejects.toThrow();
    // Its app stops waiting.
    const answer = await token({ grant_type: 'authorization_code', code: oldestId, code_verifier: oldest.verifier });
    expect(answer.body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringContaining('replaced by newer') });
    for (const uri of redirectUris.slice(1)) expect((await fetch(new URL('/other', uri))).status).toBe(404);
  });
});

describe('pending logins under a flood of other logins', () => {
  /** Sends `count` requests, 32 at a time; their statuses. */
  async function flood(count: number, send: () => Promise<Response>): Promise<number[]> {
    const statuses: number[] = [];
    let sent = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (sent++ < count) {
          const response = await send();
          await response.body?.cancel();
          statuses.push(response.status);
        }
      }),
    );
    return statuses;
  }

  it('completes a browser login and a desktop login started before 10,050 logins of strangers', { timeout: 120_000 }, async () => {
    const browser = new ScriptedBrowser();
    const ui = pkcePair();
    const atProvider = await browser.open(`${node.url}/auth/login?code_challenge=${ui.challenge}&code_challenge_method=S256`, atNode);
    expect(atProvider.html).toContain('Mot de passe');
    const app = pkcePair();
    const desktop = (await (await fetch(`${node.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect: 'loopback', code_challenge: app.challenge }) })).json()) as Json;

    const statuses = await flood(10_050, () => fetch(`${node.url}/auth/login`, { redirect: 'manual' }));
    expect(statuses.every((status) => status === 302)).toBe(true);

    const consent = await browser.submit(atProvider, 'login', { login: 'psc-doctor', password: PASSWORD }, atNode);
    const params = await landing(browser, await browser.submit(consent, 'consent', {}, atNode));
    expect(params.get('login_error')).toBeNull();
    const exchanged = await token({ grant_type: 'authorization_code', code: params.get('login') ?? '', code_verifier: ui.verifier });
    expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);

    const desktopBrowser = new ScriptedBrowser();
    const desktopConsent = await desktopBrowser.submit(await desktopBrowser.open(desktop.authorization_url), 'login', { login: 'plain-person', password: PASSWORD });
    expect((await desktopBrowser.submit(desktopConsent, 'consent')).html).toContain('Connexion réussie');
    const collected = await token({ grant_type: 'authorization_code', code: desktop.login_id, code_verifier: app.verifier });
    expect(collected.status, JSON.stringify(collected.body)).toBe(200);
  });
});

describe('logs', () => {
  it("never show a login's codes, state or tokens, even at the info level", async () => {
    const lines: string[] = [];
    const logged = await startTestNode({ oidc: { issuer: provider.issuer, clientId: provider.clientId }, logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } } });
    try {
      const browser = new ScriptedBrowser();
      let page = await browser.open(`${logged.url}/auth/login`, (url) => url.origin === logged.url);
      page = await browser.submit(page, 'login', { login: 'plain-person', password: PASSWORD }, (url) => url.origin === logged.url);
      const callback = await browser.submit(page, 'consent', {}, (url) => url.origin === logged.url);
      const landed = await browser.open(callback.url, (url) => url.origin === logged.url && url.pathname === '/');
      await browser.open(landed.url);
      const handoff = landed.url.searchParams.get('login')!;
      const exchanged = await fetch(`${logged.url}/oauth/token`, { method: 'POST', headers: { cookie: browser.cookieHeader() }, body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'liaison-ui', code: handoff }) });
      const tokens = (await exchanged.json()) as Json;
      expect(tokens.access_token).toBeTruthy();

      const log = lines.join('');
      expect(log).toContain('/auth/callback?code=redacted&state=redacted');
      expect(log).toContain('/?login=redacted');
      for (const secret of [handoff, callback.url.searchParams.get('code')!, callback.url.searchParams.get('state')!, tokens.access_token, tokens.refresh_token]) {
        expect(log).not.toContain(secret);
      }
    } finally {
      await logged.stop();
    }
  });
});
