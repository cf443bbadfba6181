import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DesktopLogin, type DesktopLoginOptions } from '../../src-main/desktop-login';
import { SecretStore } from '../../src-main/secret-store';
import { startOidcProvider } from '../../src-server/auth/demo-provider';
import { ScriptedBrowser } from '../helpers/browser';
import { TEST_CIPHER } from '../helpers/desktop-window';
import { startTestNode, tempDir, type TestNode } from '../helpers/node';

/**
 * The desktop login of the main process against a real node and its real demo OpenID provider. Instead of a system
 * browser, `openExternal` walks the provider's login and consent pages with fetch (as a person would, while the app
 * polls), or refuses there, or never comes back.
 */

type Json = Record<string, any>;

let node: TestNode;
const dir = tempDir('liaison-desktop-login-');
let stores = 0;
const newStore = () => new SecretStore(join(dir, `login-${++stores}.bin`), TEST_CIPHER);

beforeAll(async () => {
  node = await startTestNode({ demo: true });
});
afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The system browser, scripted: what it was asked to open, and the walks through the provider's pages. */
class FakeSystemBrowser {
  readonly opened: string[] = [];
  private readonly walks: Promise<unknown>[] = [];
  private readonly failures: unknown[] = [];
  constructor(private readonly person?: { login: string; refuse?: boolean }) {}

  readonly openExternal = async (url: string): Promise<void> => {
    this.opened.push(url);
    // shell.openExternal resolves once the browser has the URL; the person logs in afterwards, while the app polls.
    if (this.person && new URL(url).searchParams.has('redirect_uri')) this.walks.push(this.walk(url, this.person).catch((error) => this.failures.push(error)));
  };

  /** Throws what went wrong at the provider's pages. */
  async done(): Promise<void> {
    await Promise.all(this.walks);
    if (this.failures.length) throw this.failures[0];
  }

  private async walk(url: string, { login, refuse }: { login: string; refuse?: boolean }): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 150));
    const browser = new ScriptedBrowser();
    const loginPage = await browser.open(url);
    expect(loginPage.html).toContain('Mot de passe');
    if (refuse) {
      const refused = await browser.submit(loginPage, 'abort');
      expect(refused.html).toContain('Connexion refusée');
      return;
    }
    const consentPage = await browser.submit(loginPage, 'login', { login, password: 'demo' });
    const done = await browser.submit(consentPage, 'consent');
    expect(done.html).toContain('Connexion réussie');
  }
}

/** fetch that remembers the node's answers on /oauth/token (the error codes while polling, or "tokens"). */
function recordingFetch(): { fetch: typeof fetch; tokenAnswers: string[] } {
  const tokenAnswers: string[] = [];
  const recording: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (String(input).endsWith('/oauth/token')) {
      const body = (await response.clone().json()) as Json;
      tokenAnswers.push(body.error ?? 'tokens');
    }
    return response;
  };
  return { fetch: recording, tokenAnswers };
}

function desktopLogin(options: Partial<DesktopLoginOptions> & Pick<DesktopLoginOptions, 'store' | 'openExternal'>): DesktopLogin {
  return new DesktopLogin({ nodeUrl: async () => node.url, poll: { firstMs: 50, factor: 1.5, maxMs: 200 }, ...options });
}

const me = async (accessToken: string) => fetch(`${node.url}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });

const refreshWith = async (refreshToken: string) =>
  (await fetch(`${node.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', client_id: 'liaison-ui', refresh_token: refreshToken }) })).json() as Promise<Json>;

/** A finished login; its store holds the refresh token. */
async function loggedIn(login = 'claire.martin', now?: () => number): Promise<{ flow: DesktopLogin; store: SecretStore; browser: FakeSystemBrowser }> {
  const store = newStore();
  const browser = new FakeSystemBrowser({ login });
  const flow = desktopLogin({ store, openExternal: browser.openExternal, ...(now ? { now } : {}) });
  const result = await flow.start();
  await browser.done();
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
  return { flow, store, browser };
}

describe('desktop login through the system browser', () => {
  it("opens the provider's page of this login only, polls until the user is done, and keeps the refresh token encrypted", async () => {
    const store = newStore();
    const browser = new FakeSystemBrowser({ login: 'claire.martin' });
    const { fetch: recording, tokenAnswers } = recordingFetch();
    const flow = desktopLogin({ store, openExternal: browser.openExternal, fetch: recording });
    const changes: unknown[] = [];
    flow.onChange((user) => changes.push(user?.id ?? null));

    const result = await flow.start();
    await browser.done();
    expect(result).toEqual({ ok: true, user: expect.objectContaining({ id: 'demo-claire.martin', displayName: 'Dr Claire Martin', roles: ['practitioner', 'admin'], organizations: ['demo-cabinet-des-lilas'] }) });
    expect(changes).toEqual(['demo-claire.martin']);
    // One URL, the provider's (not the node's), with this login's PKCE challenge and its loopback redirect.
    expect(browser.opened).toHaveLength(1);
    const opened = new URL(browser.opened[0]);
    expect(opened.origin).toBe(node.demo!.issuer);
    expect(opened.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    // The app waited for the person at the provider, then got the tokens.
    expect(tokenAnswers[0]).toBe('authorization_pending');
    expect(tokenAnswers.at(-1)).toBe('tokens');

    const session = (await flow.session())!;
    expect(session.user.id).toBe('demo-claire.martin');
    expect(session.expiresAt).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(session).not.toHaveProperty('refreshToken');
    // The user's token reaches the FHIR API as this user.
    const practitioner = await node.request('Practitioner/demo-claire-martin', { headers: { authorization: `Bearer ${session.accessToken}` } });
    expect(practitioner.status).toBe(200);
    // The refresh token is stored (encrypted by the system cipher), and it is a live one.
    const stored = store.load()!;
    expect(stored).toMatch(/^[\x21-\x7e]{20,}$/);
    expect((await refreshWith(stored)).access_token).toBeTruthy();
  });

  it('resumes the session at the next launch from the stored refresh token, storing every rotated one', async () => {
    const { store } = await loggedIn();
    const firstToken = store.load()!;

    // Next launch: no browser is opened, the stored token is exchanged (and used up).
    let clock = Date.now();
    const browser = new FakeSystemBrowser();
    const relaunched = desktopLogin({ store, openExternal: browser.openExternal, now: () => clock });
    const resumed = (await relaunched.session())!;
    expect(resumed.user.id).toBe('demo-claire.martin');
    expect(browser.opened).toEqual([]);
    const secondToken = store.load()!;
    expect(secondToken).not.toBe(firstToken);
    expect((await me(resumed.accessToken)).status).toBe(200);

    // Within the refresh margin the same token is handed out; near its expiry it is refreshed, once for concurrent asks.
    expect((await relaunched.session())!.accessToken).toBe(resumed.accessToken);
    clock += 56 * 60_000;
    const [a, b] = await Promise.all([relaunched.session(), relaunched.session()]);
    expect(a!.accessToken).toBe(b!.accessToken);
    expect(a!.accessToken).not.toBe(resumed.accessToken);
    const thirdToken = store.load()!;
    expect(thirdToken).not.toBe(secondToken);
    expect((await me(a!.accessToken)).status).toBe(200);
    // The rotated-out token is spent (presenting it again would end the session: the node's rule, not tried here).
    expect([firstToken, secondToken]).not.toContain(thirdToken);
  });

  it('forgets a refresh token the node refuses, and asks for the login again', async () => {
    const { store } = await loggedIn('paul.durand');
    const spent = store.load()!;
    expect((await refreshWith(spent)).access_token).toBeTruthy(); // used elsewhere: now spent
    const relaunched = desktopLogin({ store, openExternal: new FakeSystemBrowser().openExternal });
    expect(await relaunched.session()).toBeNull();
    expect(store.load()).toBeNull();

    // The same in a running app whose session the node ended (an admin disabled the user, a copied token came back…).
    let clock = Date.now();
    const running = await loggedIn('amina.benali', () => clock);
    const changes: unknown[] = [];
    running.flow.onChange((user) => changes.push(user));
    const before = (await running.flow.session())!;
    expect((await fetch(`${node.url}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${before.accessToken}` } })).status).toBe(200);
    clock += 59 * 60_000;
    expect(await running.flow.session()).toBeNull();
    expect(running.store.load()).toBeNull();
    expect(changes).toEqual([null]);
  });

  it('logs out at the node, forgets the session here, and opens the provider logout page', async () => {
    const { flow, store, browser } = await loggedIn('sophie.leroy');
    const session = (await flow.session())!;
    const changes: unknown[] = [];
    flow.onChange((user) => changes.push(user));
    await flow.logout();
    expect(store.load()).toBeNull();
    expect(await flow.session()).toBeNull();
    expect(changes).toEqual([null]);
    expect((await me(session.accessToken)).status).toBe(401);
    // The provider's own session would log the next person at this computer in as this one: its logout page opens.
    expect(browser.opened).toHaveLength(2);
    const logoutPage = new URL(browser.opened[1]);
    expect(logoutPage.origin).toBe(node.demo!.issuer);
    expect(logoutPage.searchParams.has('redirect_uri')).toBe(false);
    // Logging out again, with nobody logged in, is harmless.
    await flow.logout();
    expect(browser.opened).toHaveLength(2);
  });

  it('stops polling when cancelled', async () => {
    const store = newStore();
    const browser = new FakeSystemBrowser(); // the person never comes back from the provider
    const { fetch: recording, tokenAnswers } = recordingFetch();
    const flow = desktopLogin({ store, openExternal: browser.openExternal, fetch: recording });
    const pending = flow.start();
    await expect.poll(() => tokenAnswers.length).toBeGreaterThanOrEqual(2);
    expect(flow.loginRunning).toBe(true);
    expect(flow.cancel()).toBe(true);
    expect(await pending).toEqual({ ok: false, error: 'cancelled', message: expect.any(String) });
    const polls = tokenAnswers.length;
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(tokenAnswers.length).toBe(polls);
    expect(tokenAnswers.every((answer) => answer === 'authorization_pending')).toBe(true);
    expect(flow.cancel()).toBe(false);
    expect(store.load()).toBeNull();
  });

  it('lets a new login replace one still waiting', async () => {
    const store = newStore();
    const browser = new FakeSystemBrowser();
    const flow = desktopLogin({ store, openExternal: browser.openExternal });
    const first = flow.start();
    await expect.poll(() => browser.opened.length).toBe(1);
    const second = flow.start();
    expect(await first).toMatchObject({ ok: false, error: 'cancelled' });
    await expect.poll(() => browser.opened.length).toBe(2);
    flow.cancel();
    expect(await second).toMatchObject({ ok: false, error: 'cancelled' });
  });

  it("surfaces the provider's refusal as access_denied, and keeps nothing", async () => {
    const store = newStore();
    const browser = new FakeSystemBrowser({ login: 'claire.martin', refuse: true });
    const flow = desktopLogin({ store, openExternal: browser.openExternal });
    const result = await flow.start();
    await browser.done();
    expect(result).toEqual({ ok: false, error: 'access_denied', message: expect.any(String) });
    expect(store.load()).toBeNull();
    expect(await flow.session()).toBeNull();
  });

  it('with Pro Santé Connect, asks the node to be the redirect (its /auth/callback, the one exact URI PSC registers)', async () => {
    const psc = await startTestNode();
    try {
      const setup = await fetch(`${psc.url}/setup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-liaison-setup-code': psc.firstRun.setupCode! },
        body: JSON.stringify({ practice: { name: 'Cabinet des Lilas' }, admin: { login: 'c.martin', password: 'la mer est calme ce matin', displayName: 'Dr Claire Martin' }, identity: { provider: 'psc-sandbox', clientId: 'liaison-editeur' } }),
      });
      expect(setup.status, await setup.clone().text()).toBe(201);
      const asked: Json[] = [];
      const browser = new FakeSystemBrowser();
      const flow = new DesktopLogin({
        nodeUrl: async () => psc.url,
        openExternal: browser.openExternal,
        store: newStore(),
        fetch: (input, init) => (String(input).endsWith('/auth/login') && asked.push(JSON.parse(String(init?.body))), fetch(input, init)),
      });
      // This machine is offline: PSC's sandbox cannot be reached, which the node says once it has tried.
      expect(await flow.start()).toMatchObject({ ok: false, error: 'provider_unreachable' });
      expect(asked).toEqual([expect.objectContaining({ redirect: 'node' })]);
      // The demo provider (any other provider) keeps the loopback listener on a port the system picks.
      const { browser: demo } = await loggedIn('paul.durand');
      expect(new URL(demo.opened[0]).searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    } finally {
      await psc.stop();
    }
  });

  it('says when the node has no provider, when the provider cannot be reached, and when the node is not running', async () => {
    const closed = await startOidcProvider([]);
    await closed.close();
    const unreachable = await startTestNode({ oidc: { issuer: closed.issuer, clientId: 'liaison' } });
    const bare = await startTestNode();
    try {
      const browser = new FakeSystemBrowser();
      const at = (url: string) => new DesktopLogin({ nodeUrl: async () => url, openExternal: browser.openExternal, store: newStore() });
      expect(await at(unreachable.url).start()).toMatchObject({ ok: false, error: 'provider_unreachable' });
      expect(await at(bare.url).start()).toMatchObject({ ok: false, error: 'no_provider' });
      const stopped = new DesktopLogin({ nodeUrl: () => Promise.reject(new Error('the node is stopped')), openExternal: browser.openExternal, store: newStore() });
      expect(await stopped.start()).toMatchObject({ ok: false, error: 'node_unreachable' });
      expect(browser.opened).toEqual([]);
    } finally {
      await unreachable.stop();
      await bare.stop();
    }
  });
});

describe('desktop login with a local account', () => {
  /** A colleague's local account made by an admin (the owner client here): its login and temporary password. */
  async function newColleague(login: string): Promise<string> {
    const response = await fetch(`${node.url}/admin/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ login, displayName: 'Sophie Leroy', roles: ['staff'], organizations: ['demo-cabinet-des-lilas'] }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    return ((await response.json()) as Json).temporaryPassword;
  }

  it('asks for a new password after the temporary one, then keeps the session as a provider login’s: refresh token here only', async () => {
    const temporary = await newColleague('s.leroy');
    const store = newStore();
    const browser = new FakeSystemBrowser();
    const { fetch: recording } = recordingFetch();
    const sent: Json[] = [];
    const flow = desktopLogin({ store, openExternal: browser.openExternal, fetch: async (input, init) => (String(input).includes('/auth/password') && sent.push(JSON.parse(String(init?.body))), recording(input, init)) });

    expect(await flow.loginWithPassword('s.leroy', 'not the password')).toMatchObject({ ok: false, error: 'bad-credentials' });
    expect(await flow.loginWithPassword('s.leroy', temporary)).toMatchObject({ ok: false, error: 'password-change-required' });
    expect(await flow.changePassword('s.leroy', temporary, 'court')).toMatchObject({ ok: false, error: 'password-too-short' });
    expect(await flow.session()).toBeNull();
    const result = await flow.changePassword('s.leroy', temporary, 'les lilas fleurissent en mai');
    expect(result).toEqual({ ok: true, user: expect.objectContaining({ displayName: 'Sophie Leroy', roles: ['staff'], localLogin: 's.leroy', canSetLocalPassword: false }) });
    // Each attempt carried its own PKCE challenge; no system browser was opened.
    expect(new Set(sent.map((body) => body.code_challenge)).size).toBe(sent.length);
    expect(sent.every((body) => /^[\w-]{43}$/.test(body.code_challenge))).toBe(true);
    expect(browser.opened).toEqual([]);

    const session = (await flow.session())!;
    expect(session).not.toHaveProperty('refreshToken');
    expect((await me(session.accessToken)).status).toBe(200);
    const stored = store.load()!;
    expect(stored).toMatch(/^[\x21-\x7e]{20,}$/);
    // The next launch resumes it from the secret store, as a provider login's.
    const relaunched = desktopLogin({ store, openExternal: browser.openExternal });
    expect((await relaunched.session())!.user.displayName).toBe('Sophie Leroy');

    // A wrong password later leaves the running session alone.
    expect(await relaunched.loginWithPassword('s.leroy', 'plus le bon')).toMatchObject({ ok: false, error: 'bad-credentials' });
    expect((await relaunched.session())!.user.displayName).toBe('Sophie Leroy');
    await relaunched.logout();
    expect(store.load()).toBeNull();
    expect((await flow.loginWithPassword('s.leroy', 'les lilas fleurissent en mai')).ok).toBe(true);
  });

  it('after a logout, the next provider login asks the provider for the account (a shared reception computer)', async () => {
    const { flow } = await loggedIn('claire.martin');
    const openedBy = async (): Promise<URL> => {
      const next = new FakeSystemBrowser();
      const attempt = desktopLogin({ store: newStore(), openExternal: next.openExternal });
      const pending = attempt.start();
      await expect.poll(() => next.opened.length).toBe(1);
      attempt.cancel();
      await pending;
      return new URL(next.opened[0]);
    };
    // Nobody logged out since the last login: the provider may reuse its session.
    expect((await openedBy()).searchParams.get('prompt')).toBeNull();
    await flow.logout();
    // The app opens the node's authorization URL as it is: the provider asks who logs in.
    expect((await openedBy()).searchParams.get('prompt')).toBe('login');
  });
});
