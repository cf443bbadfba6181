import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log';
import type { Db } from '../store/database';
import { escapeHtml, htmlPage } from './html-page';
import { listenOnLoopback, type LoopbackPage } from './loopback';
import { LoginRefused, PENDING_LOGIN_MS, type OidcLogin, type PendingLogin, type UpstreamIdentity } from './oidc-login';
import { OneTimeStore } from './one-time-store';
import type { SessionTokens, Sessions } from './sessions';
import type { Users } from './users';

/**
 * A login from start to tokens, in the ways the node offers (docs/login.md):
 * - browser: `GET /auth/login` → provider → `GET /auth/callback` → `/?login=<hand-off code>`;
 * - desktop (RFC 8252): `POST /auth/login` → system browser → provider → this login's loopback listener;
 * - a local account's password (`POST /auth/password`, password-login.ts) → the hand-off code in the answer.
 * Either way the tokens never travel in a URL: the app exchanges a single-use hand-off code on `POST /oauth/token`,
 * proving it is the one that started the login (its PKCE `code_verifier`, or the browser's login cookie).
 *
 * The provider can change while the node runs (an admin saves other settings): new logins go to the new one, a desktop
 * login already waiting finishes with the one it started with, a browser's is refused. After a logout the next login
 * at the provider asks who logs in (`prompt=login`), so that the next person at a shared computer never inherits the
 * previous one's session at the provider; remembered in the database, so a restart in between changes nothing.
 *
 * A login waiting for the provider is kept where no other request can push it out: a browser's in that browser's
 * sealed login cookie (http/login-cookie.ts), a desktop one with its loopback listener. Only finished logins wait
 * here, in memory, for their app to collect them: none is made without logging in at the provider.
 */

/** How long a completed login waits for the app to collect its tokens. */
export const HANDOFF_MS = 60_000;
/** Desktop logins waiting at once: each holds a port, so a loop of starts must not hold hundreds. */
const MAX_LOOPBACK_LOGINS = 8;

/** How the hand-off is bound to whoever started the login. */
interface Binding {
  /** S256 challenge of the app's code_verifier. */
  codeChallenge?: string;
  /** The login cookie's browser id (when the app sent no challenge). */
  browser?: string;
}

/** A browser login waiting for the provider's answer, kept in the browser's login cookie. */
export interface BrowserLogin extends PendingLogin {
  /** S256 challenge of the app's code_verifier, when it sent one. */
  codeChallenge?: string;
  /** The login of an app's authorization request (app-login.ts): its callback goes back there, not to the UI. */
  forApp?: true;
  /** Epoch milliseconds; its cookie no longer yields it after that. */
  expiresAt: number;
}

/**
 * A desktop login waiting for the provider's answer: at its loopback listener, or at the node's own `/auth/callback`
 * (for providers that want one exact redirect URI: http://127.0.0.1:8347/auth/callback), collected by its id either way.
 */
interface DesktopLogin {
  codeChallenge: string;
  /** The provider it started with. */
  provider: OidcLogin;
  /** Stops waiting: closes the loopback listener, or the timer of a login coming back to the node. */
  close(): void;
  /** Once the provider's URL is made. */
  pending?: PendingLogin;
  /** Its answer arrived and is being checked: another one is refused. */
  answered: boolean;
}

type Handoff = Binding & ({ status: 'pending' } | { status: 'ready'; userId: string } | { status: 'failed'; refusal: LoginRefused });

/** Why a finished login's code yields nothing (yet). */
export type ExchangeRefusal = { error: 'authorization_pending' | 'invalid_grant' | 'access_denied'; description: string };

export type ExchangeResult = { tokens: SessionTokens } | ExchangeRefusal;

/** The HTTP status a refusal is answered (and audited) with. */
export const REFUSAL_STATUS: Record<LoginRefused['code'], number> = {
  issuer_unreachable: 502,
  access_denied: 403,
  invalid_state: 400,
  login_failed: 401,
  user_disabled: 403,
  invalid_request: 400,
};

const CALLBACK_ACTION = '/auth/callback';
const TOKEN_ACTION = '/oauth/token';
/** node_meta: the next login at the provider asks for the account (a user logged out since the last one). */
const ASK_ACCOUNT_KEY = 'login_ask_account';

export class LoginFlow {
  private oidc: OidcLogin | undefined;
  private readonly askAccount;
  /** Finished logins, by hand-off code (or desktop login id), until their app collects the tokens. */
  private readonly finished = new OneTimeStore<Handoff & { status: 'ready' }>();
  /**
   * Desktop logins that ended without tokens, until their app hears why. A loop of desktop logins can push these out
   * (each replaced login adds one): the app is then told its login is unknown rather than why it failed.
   */
  private readonly refusedDesktop = new OneTimeStore<Handoff & { status: 'failed' }>();
  /** Desktop logins waiting for the provider, oldest first. */
  private readonly desktopLogins = new Map<string, DesktopLogin>();
  /** Those coming back to the node's own callback: their state → their id. */
  private readonly atNode = new Map<string, string>();

  constructor(
    db: Db,
    private readonly users: Users,
    private readonly sessions: Sessions,
    private readonly audit: AuditLog,
  ) {
    const read = db.prepare<[string], string>('SELECT value FROM node_meta WHERE key = ?').pluck();
    const write = db.prepare<[string, string]>('INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.askAccount = { get: () => read.get(ASK_ACCOUNT_KEY) === '1', set: (ask: boolean) => write.run(ASK_ACCOUNT_KEY, ask ? '1' : '0') };
  }

  /** The upstream provider new logins go to; none: only local accounts log in. */
  get provider(): OidcLogin | undefined {
    return this.oidc;
  }

  useProvider(oidc: OidcLogin | undefined): void {
    this.oidc = oidc;
  }

  /** A user logged out: the next login at the provider asks who logs in. */
  loggedOut(): void {
    this.askAccount.set(true);
  }

  /** The provider's URL for a browser login that comes back to `callbackUrl`, and the login for the browser to keep. */
  async beginBrowser(callbackUrl: string, codeChallenge: string | undefined, address: string, forApp = false): Promise<{ url: string; login: BrowserLogin }> {
    const { url, pending } = await this.refusalsAudited('GET', '/auth/login', address, () => this.requireProvider().begin(callbackUrl, this.askAccount.get()));
    return { url, login: { ...pending, ...(codeChallenge ? { codeChallenge } : {}), ...(forApp ? { forApp: true as const } : {}), expiresAt: Date.now() + PENDING_LOGIN_MS } };
  }

  /**
   * A local account's login (password-login.ts checked the password): its hand-off code, bound to the app's PKCE
   * challenge, exchanged on `POST /oauth/token` like a provider's.
   */
  handOff(userId: string, codeChallenge: string, action: string): string {
    this.audit.record('login', `user:${userId}`, 'POST', action, 200);
    const code = randomToken();
    this.finished.put(code, { status: 'ready', userId, codeChallenge }, HANDOFF_MS);
    return code;
  }

  /** A desktop login: its own loopback listener, the URL to open in the system browser, the id to collect it by. */
  async beginLoopback(codeChallenge: string, address: string): Promise<{ authorization_url: string; login_id: string; expires_in: number }> {
    const provider = this.requireProvider();
    const loginId = randomToken();
    const listener = await listenOnLoopback((query, from) => this.completeDesktop(loginId, query, from), PENDING_LOGIN_MS);
    const login = this.waitFor(loginId, { codeChallenge, provider, close: () => listener.close(), answered: false });
    // Timed out without an answer. (`closed` only resolves, and giveUp does not throw.)
    void listener.closed.then(() => this.giveUp(loginId, login));
    return this.startDesktop(loginId, login, listener.redirectUri, address);
  }

  /**
   * A desktop login whose provider answers at the node's own `/auth/callback` (`callbackUrl`), as a browser login does,
   * for providers that accept one exact redirect URI (Pro Santé Connect): the app opens the URL in the system browser
   * and collects the login by its id, as with a loopback one.
   */
  async beginAtNode(codeChallenge: string, callbackUrl: string, address: string): Promise<{ authorization_url: string; login_id: string; expires_in: number }> {
    const provider = this.requireProvider();
    const loginId = randomToken();
    const timer = setTimeout(() => this.giveUp(loginId, login), PENDING_LOGIN_MS).unref();
    const login = this.waitFor(loginId, {
      codeChallenge,
      provider,
      close: () => {
        clearTimeout(timer);
        if (login.pending) this.atNode.delete(login.pending.state);
      },
      answered: false,
    });
    const started = await this.startDesktop(loginId, login, callbackUrl, address);
    this.atNode.set(login.pending!.state, loginId);
    return started;
  }

  /**
   * The provider's answer at `/auth/callback` when it belongs to a desktop login started with `beginAtNode`: the page
   * to show in the system browser. Undefined for any other answer (a browser login's).
   */
  completeAtNode(query: URLSearchParams, address: string): Promise<LoopbackPage> | undefined {
    const loginId = this.atNode.get(query.get('state') ?? '');
    return loginId === undefined ? undefined : this.completeDesktop(loginId, query, address);
  }

  /** Keeps a desktop login waiting, ending the oldest beyond MAX_LOOPBACK_LOGINS (one being completed is left to finish). */
  private waitFor(loginId: string, login: DesktopLogin): DesktopLogin {
    // Ended here, not when their ports are released, so that starts arriving together cannot open more.
    for (const [oldestId, oldest] of this.desktopLogins) {
      if (this.desktopLogins.size < MAX_LOOPBACK_LOGINS) break;
      if (!oldest.answered) this.giveUp(oldestId, oldest);
    }
    this.desktopLogins.set(loginId, login);
    return login;
  }

  private async startDesktop(loginId: string, login: DesktopLogin, redirectUri: string, address: string): Promise<{ authorization_url: string; login_id: string; expires_in: number }> {
    try {
      const { url, pending } = await this.refusalsAudited('POST', '/auth/login', address, () => login.provider.begin(redirectUri, this.askAccount.get()));
      login.pending = pending;
      return { authorization_url: url, login_id: loginId, expires_in: PENDING_LOGIN_MS / 1000 };
    } catch (error) {
      this.desktopLogins.delete(loginId);
      login.close();
      throw error;
    }
  }

  /**
   * The provider's redirect to `/auth/callback`, with the login of its state that the browser's cookie holds (none:
   * unknown, expired, completed, or started in another browser): the hand-off code for the UI.
   */
  async completeBrowser(query: URLSearchParams, started: BrowserLogin | undefined, browser: string | undefined, address: string): Promise<string> {
    const { userId, codeChallenge } = await this.refusalsAudited('GET', CALLBACK_ACTION, address, async () => {
      if (!started) throw new LoginRefused('invalid_state', 'This login is unknown, expired, already completed or was started in another browser: start again');
      const provider = this.oidc;
      if (provider?.provider.issuer !== started.issuer) throw new LoginRefused('invalid_state', 'The identity provider changed since this login started: start again');
      return { userId: this.signIn(await provider.complete(query, started)), codeChallenge: started.codeChallenge };
    });
    const code = randomToken();
    this.finished.put(code, { status: 'ready', userId, codeChallenge, browser }, HANDOFF_MS);
    return code;
  }

  /** Exchanges a hand-off code (or a desktop login's id) for the session's first tokens. */
  exchange(code: string, codeVerifier: string | undefined, browser: string | undefined, address: string): ExchangeResult {
    const claimed = this.claim(code, codeVerifier, browser, address);
    if ('error' in claimed) return claimed;
    const tokens = this.sessions.open(claimed.userId);
    this.audit.record('token.issued', `user:${claimed.userId}`, 'POST', TOKEN_ACTION, 200);
    return { tokens };
  }

  /**
   * The user of a finished login, its hand-off code used up, when the caller proves it started it: the UI's session
   * (`exchange`), or an app's authorization request, which then asks for the user's consent (app-login.ts).
   */
  claim(code: string, codeVerifier: string | undefined, browser: string | undefined, address: string): { userId: string } | ExchangeRefusal {
    const handoff = this.handoffOf(code);
    if (!handoff) return this.refuseExchange('invalid_grant', 'The code is unknown, expired or already used', address);
    if (!bindingHolds(handoff, codeVerifier, browser)) {
      this.useUp(code);
      return this.refuseExchange('invalid_grant', handoff.codeChallenge ? 'code_verifier does not match the code_challenge of this login' : 'This login was started in another browser', address);
    }
    if (handoff.status === 'pending') return { error: 'authorization_pending', description: 'The user has not finished logging in at the identity provider' };
    this.useUp(code);
    if (handoff.status === 'failed') {
      const denied = handoff.refusal.code === 'access_denied' || handoff.refusal.code === 'user_disabled';
      return this.refuseExchange(denied ? 'access_denied' : 'invalid_grant', handoff.refusal.message, address);
    }
    return { userId: handoff.userId };
  }

  async endSessionUrl(): Promise<string | undefined> {
    return this.oidc?.endSessionUrl();
  }

  /** Closes the desktop logins still waiting (the node stops). */
  close(): void {
    for (const login of this.desktopLogins.values()) login.close();
  }

  /** Ends a desktop login still waiting (timed out, or replaced by newer ones): its app stops waiting. */
  private giveUp(loginId: string, login: DesktopLogin): void {
    if (this.desktopLogins.get(loginId) !== login) return;
    this.desktopLogins.delete(loginId);
    login.close();
    const refusal = new LoginRefused('invalid_state', 'This desktop login expired or was replaced by newer ones');
    this.refusedDesktop.put(loginId, { status: 'failed', refusal, codeChallenge: login.codeChallenge }, HANDOFF_MS);
  }

  private handoffOf(code: string): Handoff | undefined {
    const waiting = this.desktopLogins.get(code);
    if (waiting) return { status: 'pending', codeChallenge: waiting.codeChallenge };
    return this.finished.peek(code) ?? this.refusedDesktop.peek(code);
  }

  private useUp(code: string): void {
    this.finished.take(code);
    this.refusedDesktop.take(code);
  }

  /**
   * A redirect to a desktop login's listener (or the node's callback). Only the answer to its own state completes it,
   * once: anything else sent to the port (a stray request, a guess) is refused and the login keeps waiting.
   */
  private async completeDesktop(loginId: string, query: URLSearchParams, address: string): Promise<LoopbackPage> {
    const login = this.desktopLogins.get(loginId);
    const pending = login?.pending;
    if (!login || !pending || login.answered || query.get('state') !== pending.state) {
      const stray = new LoginRefused('invalid_state', 'This answer belongs to no login waiting here');
      this.auditRefusal(stray, 'GET', CALLBACK_ACTION, address);
      return { ...refusalPage(stray), done: false };
    }
    login.answered = true;
    const binding = { codeChallenge: login.codeChallenge };
    try {
      const userId = await this.refusalsAudited('GET', CALLBACK_ACTION, address, async () => this.signIn(await login.provider.complete(query, pending)));
      this.finished.put(loginId, { status: 'ready', userId, ...binding }, HANDOFF_MS);
      return { status: 200, html: page('Connexion réussie', 'You are logged in to Liaison. You can close this window and go back to the application.'), done: true };
    } catch (error) {
      if (!(error instanceof LoginRefused)) throw error;
      this.refusedDesktop.put(loginId, { status: 'failed', refusal: error, ...binding }, HANDOFF_MS);
      return { ...refusalPage(error), done: true };
    } finally {
      // A loopback listener closes itself once its page is sent; a login at the node stops its timer here.
      if (this.desktopLogins.get(loginId) === login && this.atNode.has(pending.state)) login.close();
      this.desktopLogins.delete(loginId);
    }
  }

  private requireProvider(): OidcLogin {
    if (!this.oidc) throw new LoginRefused('invalid_request', 'No identity provider is configured: log in with a local account, or an admin sets one up in Réglages (or `liaison auth set`)');
    return this.oidc;
  }

  /** The node's user of a provider's identity; a disabled user is refused. The account was asked for, if it had to be. */
  private signIn(identity: UpstreamIdentity): string {
    const user = this.users.signIn(identity);
    if (user.disabledAt) throw new LoginRefused('user_disabled', 'This account is disabled: ask the practice administrator', user.id);
    this.audit.record('login', `user:${user.id}`, 'GET', CALLBACK_ACTION, 200);
    this.askAccount.set(false);
    return user.id;
  }

  /** Runs a step of a login; a refusal is audited (`login.refused`) before it reaches the caller. */
  private async refusalsAudited<R>(method: string, action: string, address: string, step: () => Promise<R>): Promise<R> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof LoginRefused) this.auditRefusal(error, method, action, address);
      throw error;
    }
  }

  private auditRefusal(refusal: LoginRefused, method: string, action: string, address: string): void {
    this.audit.refused('login.refused', { address, clientId: refusal.userId && `user:${refusal.userId}` }, method, action, REFUSAL_STATUS[refusal.code]);
  }

  private refuseExchange(error: 'invalid_grant' | 'access_denied', description: string, address: string): ExchangeRefusal {
    this.audit.refused('login.refused', { address }, 'POST', TOKEN_ACTION, 400);
    return { error, description };
  }
}

const randomToken = () => randomBytes(32).toString('base64url');

/** RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) equals the challenge; else the browser cookie must match. */
function bindingHolds(binding: Binding, codeVerifier: string | undefined, browser: string | undefined): boolean {
  if (binding.codeChallenge !== undefined) {
    return codeVerifier !== undefined && sameText(createHash('sha256').update(codeVerifier).digest('base64url'), binding.codeChallenge);
  }
  return binding.browser !== undefined && browser !== undefined && sameText(browser, binding.browser);
}

/** Compares secrets in constant time. */
export function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

const page = (title: string, message: string) => htmlPage(title, `<p>${escapeHtml(message)}</p>`);

const refusalPage = (refusal: LoginRefused) => ({ status: REFUSAL_STATUS[refusal.code], html: page('Connexion refusée', `${refusal.message}. Go back to the application to try again.`) });
