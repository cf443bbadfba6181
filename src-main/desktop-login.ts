import { createHash, randomBytes } from 'node:crypto';
import type { LocalLoginRefusal, LoginErrorCode, LoginResult, Session, SessionUser } from './preload/bridge';

/**
 * The user's login in the desktop app (docs/login.md, "Desktop"), run by the main process: PKCE pair, the node's
 * `POST /auth/login` (back to the node's own callback for Pro Santé Connect, to a loopback listener for others), the
 * provider's page in the system browser, `POST /oauth/token` polled until the user is done — or a local account's
 * login and password (`POST /auth/password`) — then the session kept fresh with rotating refresh tokens. The refresh
 * token lives only here and in the secret store (safeStorage); the window gets the access token and who the user is,
 * never the refresh token. No electron import: the shell passes `openExternal` and the store, the tests a scripted
 * browser and a real node.
 */

export const UI_CLIENT_ID = 'liaison-ui';

/** Where the refresh token is kept between launches (SecretStore). */
export interface RefreshTokenStore {
  /** False when it could not be kept (no system encryption): the session lasts this launch only. */
  save(secret: string): boolean;
  load(): string | null;
  clear(): void;
}

export interface DesktopLoginOptions {
  /** The running node's address (waits for it to run; rejects when it cannot). */
  nodeUrl(): Promise<string>;
  /** Opens one URL in the system browser: the provider's login page of this login, or its logout page. */
  openExternal(url: string): Promise<void>;
  store: RefreshTokenStore;
  fetch?: typeof fetch;
  now?: () => number;
  /** Token polling: first delay, growth factor, longest delay (ms). */
  poll?: { firstMs?: number; factor?: number; maxMs?: number };
  /** An access token this close to its expiry is refreshed before being handed out. */
  refreshMarginMs?: number;
}

/** A PKCE pair (RFC 7636, S256). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Only web pages go to the system browser: never `file:`, custom schemes or URLs carrying credentials. */
export function isBrowserUrl(candidate: unknown): candidate is string {
  if (typeof candidate !== 'string' || candidate.length > 8192) return false;
  try {
    const url = new URL(candidate);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password;
  } catch {
    return false;
  }
}

export class LoginError extends Error {
  constructor(
    readonly code: LoginErrorCode,
    message: string,
    /** After too many failed attempts: when the node takes the next one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

interface TokenAnswer {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

interface Current extends Session {
  refreshToken: string;
}

/** Network errors while polling in a row before the login is given up (the node restarted: its logins are gone). */
const MAX_NETWORK_FAILURES = 3;

export class DesktopLogin {
  private current?: Current;
  private refreshing?: Promise<Session | null>;
  private running?: AbortController;
  /** Bumped by every login and logout: a refresh that started before one of them must not bring its session back. */
  private epoch = 0;
  private readonly listeners = new Set<(user: SessionUser | null) => void>();
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly poll: Required<NonNullable<DesktopLoginOptions['poll']>>;
  private readonly refreshMarginMs: number;

  constructor(private readonly options: DesktopLoginOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
    this.poll = { firstMs: 500, factor: 1.5, maxMs: 3000, ...options.poll };
    this.refreshMarginMs = options.refreshMarginMs ?? 5 * 60_000;
  }

  /** Called with the user when a session opens, with null when it ends (logout, refused refresh). */
  onChange(listener: (user: SessionUser | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get loginRunning(): boolean {
    return this.running !== undefined;
  }

  /**
   * Logs the user in through the system browser; resolves once they are done at the provider, refused, or the login
   * is cancelled. A new login replaces one still waiting (the user closed the browser tab and clicks again).
   */
  start(): Promise<LoginResult> {
    return this.attempt(async (base, signal) => {
      const { verifier, challenge } = pkcePair();
      const redirect = await this.redirectFor(base, signal);
      const begun = await this.request(base, '/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect, code_challenge: challenge, code_challenge_method: 'S256' }), signal });
      if (!begun.ok) throw beginRefusal(begun.status, await begun.json().catch(() => undefined));
      const { authorization_url: authorizationUrl, login_id: loginId, expires_in: expiresIn } = (await begun.json()) as Record<string, unknown>;
      if (!isBrowserUrl(authorizationUrl) || typeof loginId !== 'string' || typeof expiresIn !== 'number') throw new LoginError('failed', 'The node answered POST /auth/login without a usable authorization_url and login_id');
      // The provider's page: opened for this login only, not through the window's allow-list.
      await this.options.openExternal(authorizationUrl);
      return this.waitForTokens(base, loginId, verifier, expiresIn * 1000, signal);
    });
  }

  /**
   * Logs in with a local account of the node (docs/login.md, "Local accounts"): its login and password for a hand-off
   * code (`POST /auth/password`, with this login's PKCE challenge), exchanged at `/oauth/token` with the verifier.
   * The session is then kept as a provider login's is: the refresh token stays here and in the secret store.
   */
  loginWithPassword(login: string, password: string): Promise<LoginResult> {
    return this.attempt((base, signal) => this.passwordHandoff(base, '/auth/password', { login, password }, signal));
  }

  /** A local account's new password (after a reset, or the user's choice), then its session as `loginWithPassword`. */
  changePassword(login: string, password: string, newPassword: string): Promise<LoginResult> {
    return this.attempt((base, signal) => this.passwordHandoff(base, '/auth/password/change', { login, password, newPassword }, signal));
  }

  /** Runs one login, replacing one still waiting: its tokens become the session, its failure a LoginResult. */
  private async attempt(obtainTokens: (base: string, signal: AbortSignal) => Promise<TokenAnswer>): Promise<LoginResult> {
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    const { signal } = controller;
    try {
      const base = await this.reachNode();
      const tokens = await obtainTokens(base, signal);
      const previous = this.current;
      this.current = undefined; // replaced by this login's session (its refresh token is the one stored now)
      const session = await this.adopt(base, tokens, ++this.epoch);
      if (previous) void this.endSession(base, previous.accessToken).catch(() => undefined);
      return { ok: true, user: session.user };
    } catch (error) {
      if (signal.aborted) return { ok: false, error: 'cancelled', message: 'The login was cancelled' };
      if (error instanceof LoginError) return { ok: false, error: error.code, message: error.message, ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}) };
      // fetch rejects with a TypeError when nothing answers (the node is restarting).
      if (error instanceof TypeError) return { ok: false, error: 'node_unreachable', message: `The local node did not answer: ${error.message}` };
      return { ok: false, error: 'failed', message: error instanceof Error ? error.message : String(error) };
    } finally {
      if (this.running === controller) this.running = undefined;
    }
  }

  /**
   * Where the provider sends the browser back (docs/login.md, "Desktop"): Pro Santé Connect registers exact redirect
   * URIs, so its logins come back to the node's own `/auth/callback` (`http://127.0.0.1:8347/auth/callback`); other
   * providers to a loopback listener on a port the system picks (RFC 8252), which they accept on any port.
   */
  private async redirectFor(base: string, signal: AbortSignal): Promise<'node' | 'loopback'> {
    try {
      const config = (await (await this.request(base, '/auth/config', { headers: { accept: 'application/json' }, signal })).json()) as { provider?: { kind?: string } | null };
      const kind = config.provider?.kind;
      return kind === 'psc' || kind === 'psc-sandbox' ? 'node' : 'loopback';
    } catch {
      return 'loopback';
    }
  }

  private async passwordHandoff(base: string, path: string, fields: Record<string, string>, signal: AbortSignal): Promise<TokenAnswer> {
    const { verifier, challenge } = pkcePair();
    const answer = await this.request(base, path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ ...fields, code_challenge: challenge }), signal });
    const body = (await answer.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (!answer.ok) throw localRefusal(answer.status, body, answer.headers.get('retry-after'));
    if (typeof body?.code !== 'string') throw new LoginError('failed', `The node answered ${path} without a code`);
    const tokens = await this.tokenRequest(base, { grant_type: 'authorization_code', code: body.code, code_verifier: verifier }, signal);
    if (tokens.status !== 200) throw new LoginError(tokens.body.error === 'invalid_grant' ? 'invalid_grant' : 'failed', String(tokens.body.error_description ?? tokens.body.error ?? tokens.status));
    return tokens.body as unknown as TokenAnswer;
  }

  /** Stops a login waiting for the user; false when none was. */
  cancel(): boolean {
    if (!this.running) return false;
    this.running.abort();
    this.running = undefined;
    return true;
  }

  /**
   * The session's access token and user: resumed from the stored refresh token after a launch, refreshed when near
   * its expiry. Null when there is none (or the node refused the refresh token: it is forgotten, the user logs in
   * again). Throws when the node cannot answer now (the stored token is kept for later).
   */
  async session(): Promise<Session | null> {
    const current = this.current;
    if (current && current.expiresAt - this.now() > this.refreshMarginMs) return publicSession(current);
    // One refresh at a time: a refresh token works once, a second use would end the session.
    this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Ends the session at the node and forgets it here; opens the provider's logout page when the node gives one. */
  async logout(): Promise<void> {
    this.cancel();
    const live = await this.session().catch(() => null);
    this.epoch++;
    const hadSession = this.current !== undefined || live !== null;
    this.current = undefined;
    this.options.store.clear();
    if (hadSession) this.emit(null);
    if (!live) return;
    const base = await this.options.nodeUrl().catch(() => undefined);
    const endSessionUrl = base && (await this.endSession(base, live.accessToken));
    // On a shared computer the provider's own session would otherwise log the next person in as this one.
    if (isBrowserUrl(endSessionUrl)) await this.options.openExternal(endSessionUrl);
  }

  private async refresh(): Promise<Session | null> {
    const epoch = this.epoch;
    const refreshToken = this.current?.refreshToken ?? this.options.store.load();
    if (!refreshToken) return null;
    const base = await this.reachNode();
    const answer = await this.tokenRequest(base, { grant_type: 'refresh_token', refresh_token: refreshToken });
    if (epoch !== this.epoch) return this.current ? publicSession(this.current) : null;
    if (answer.status === 200) return this.adopt(base, answer.body as unknown as TokenAnswer, epoch);
    if (answer.body.error === 'invalid_grant' || answer.body.error === 'invalid_request') {
      // Used, expired, or its session ended (logout elsewhere, user disabled): log in again.
      const hadSession = this.current !== undefined;
      this.current = undefined;
      this.options.store.clear();
      if (hadSession) this.emit(null);
      return null;
    }
    throw new LoginError('failed', `The node refused to refresh the session: ${String(answer.body.error_description ?? answer.status)}`);
  }

  /** Keeps a session's tokens (the refresh token first: the previous one is used up) and reads who the user is. */
  private async adopt(base: string, tokens: TokenAnswer, epoch: number): Promise<Session> {
    if (typeof tokens.access_token !== 'string' || typeof tokens.refresh_token !== 'string' || typeof tokens.expires_in !== 'number') {
      throw new LoginError('failed', 'The node answered /oauth/token without a session');
    }
    const expiresAt = this.now() + tokens.expires_in * 1000;
    if (epoch === this.epoch) {
      this.options.store.save(tokens.refresh_token);
      // Should /auth/me fail below, the next refresh must still use the new token, never the spent one.
      if (this.current) this.current = { ...this.current, accessToken: tokens.access_token, expiresAt, refreshToken: tokens.refresh_token };
    }
    const me = await this.request(base, '/auth/me', { headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/json' } });
    if (!me.ok) throw new LoginError('failed', `GET /auth/me answered ${me.status}`);
    const user = userOf(await me.json());
    const session: Current = { accessToken: tokens.access_token, expiresAt, user, refreshToken: tokens.refresh_token };
    if (epoch !== this.epoch) return publicSession(session);
    const changed = this.current?.user.id !== user.id || this.current?.user.displayName !== user.displayName;
    this.current = session;
    if (changed) this.emit(user);
    return publicSession(session);
  }

  private async waitForTokens(base: string, loginId: string, verifier: string, expiresInMs: number, signal: AbortSignal): Promise<TokenAnswer> {
    // The node gives up the login after expires_in (invalid_grant); this deadline only guards against a silent node.
    const deadline = this.now() + expiresInMs + 30_000;
    let delay = this.poll.firstMs;
    let networkFailures = 0;
    for (;;) {
      await sleep(delay, signal);
      try {
        const answer = await this.tokenRequest(base, { grant_type: 'authorization_code', code: loginId, code_verifier: verifier }, signal);
        networkFailures = 0;
        if (answer.status === 200) return answer.body as unknown as TokenAnswer;
        const { error, error_description: description } = answer.body;
        const message = typeof description === 'string' ? description : String(error);
        if (error === 'access_denied') throw new LoginError('access_denied', message);
        if (error === 'invalid_grant') throw new LoginError('invalid_grant', message);
        if (error === 'slow_down') delay += 1000;
        else if (answer.status === 429) delay = Math.max(delay, Number(answer.retryAfter ?? 1) * 1000);
        else if (error !== 'authorization_pending') throw new LoginError('failed', `${String(error ?? answer.status)}: ${message}`);
      } catch (error) {
        if (signal.aborted || error instanceof LoginError) throw error;
        if (++networkFailures >= MAX_NETWORK_FAILURES) throw new LoginError('node_unreachable', `The node stopped answering: ${(error as Error).message}`);
      }
      if (this.now() + delay > deadline) throw new LoginError('timeout', 'The login took too long');
      delay = Math.min(this.poll.maxMs, delay * this.poll.factor);
    }
  }

  private async tokenRequest(base: string, form: Record<string, string>, signal?: AbortSignal): Promise<{ status: number; body: Record<string, unknown>; retryAfter?: string | null }> {
    const response = await this.request(base, '/oauth/token', { method: 'POST', body: new URLSearchParams({ client_id: UI_CLIENT_ID, ...form }), signal });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    return { status: response.status, body, retryAfter: response.headers.get('retry-after') };
  }

  private async endSession(base: string, accessToken: string): Promise<string | undefined> {
    try {
      const response = await this.request(base, '/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      return typeof body.end_session_url === 'string' ? body.end_session_url : undefined;
    } catch {
      // The node is down: the session ends by itself (12 h); the refresh token is already forgotten here.
      return undefined;
    }
  }

  private async reachNode(): Promise<string> {
    try {
      return await this.options.nodeUrl();
    } catch (error) {
      throw new LoginError('node_unreachable', `The local node is not running: ${(error as Error).message}`);
    }
  }

  private request(base: string, path: string, init: RequestInit): Promise<Response> {
    return this.fetch(`${base}${path}`, init);
  }

  private emit(user: SessionUser | null): void {
    for (const listener of this.listeners) listener(user);
  }
}

function beginRefusal(status: number, body: unknown): LoginError {
  const diagnostics = (body as { issue?: { diagnostics?: string }[] } | undefined)?.issue?.[0]?.diagnostics ?? `HTTP ${status}`;
  if (status === 404) return new LoginError('no_provider', diagnostics);
  if (status === 502) return new LoginError('provider_unreachable', diagnostics);
  return new LoginError('failed', diagnostics);
}

const LOCAL_REFUSALS: readonly LocalLoginRefusal[] = ['bad-credentials', 'account-disabled', 'local-accounts-off', 'password-change-required', 'too-many-attempts', 'password-too-short', 'password-too-long', 'password-unchanged'];

/** A local login's refusal by the node's code (the OperationOutcome's `details.coding`), its words kept for the log. */
function localRefusal(status: number, body: unknown, retryAfter: string | null): LoginError {
  const issue = (body as { issue?: Array<{ diagnostics?: string; details?: { coding?: Array<{ code?: string }> } }> } | undefined)?.issue?.[0];
  const code = issue?.details?.coding?.[0]?.code;
  const message = issue?.diagnostics ?? `HTTP ${status}`;
  const seconds = retryAfter !== null && Number.isFinite(Number(retryAfter)) ? Number(retryAfter) : undefined;
  if (LOCAL_REFUSALS.includes(code as LocalLoginRefusal)) return new LoginError(code as LocalLoginRefusal, message, seconds);
  if (status === 429) return new LoginError('too-many-attempts', message, seconds);
  return new LoginError('failed', message);
}

/** The fields of `GET /auth/me` the window is told. */
export function userOf(body: unknown): SessionUser {
  const me = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof me.id !== 'string' || typeof me.displayName !== 'string') throw new LoginError('failed', 'GET /auth/me answered without a user');
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  return {
    id: me.id,
    displayName: me.displayName,
    ...(typeof me.email === 'string' ? { email: me.email } : {}),
    ...(typeof me.practitionerId === 'string' ? { practitionerId: me.practitionerId } : {}),
    roles: strings(me.roles),
    organizations: strings(me.organizations),
    ...(typeof me.localLogin === 'string' ? { localLogin: me.localLogin } : {}),
    ...(typeof me.canSetLocalPassword === 'boolean' ? { canSetLocalPassword: me.canSetLocalPassword } : {}),
  };
}

function publicSession({ accessToken, expiresAt, user }: Current): Session {
  return { accessToken, expiresAt, user };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new LoginError('cancelled', 'The login was cancelled'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new LoginError('cancelled', 'The login was cancelled'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
