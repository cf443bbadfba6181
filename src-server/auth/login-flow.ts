import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log';
import { escapeHtml, htmlPage } from './html-page';
import { listenOnLoopback, type LoopbackListener, type LoopbackPage } from './loopback';
import { LoginRefused, OidcLogin, PENDING_LOGIN_MS, type UpstreamIdentity } from './oidc-login';
import { OneTimeStore } from './one-time-store';
import type { SessionTokens, Sessions } from './sessions';
import type { Users } from './users';

/**
 * A login from start to tokens, in the two ways the node offers (docs/login.md):
 * - browser: `GET /auth/login` → provider → `GET /auth/callback` → `/?login=<hand-off code>`;
 * - desktop (RFC 8252): `POST /auth/login` → system browser → provider → this login's loopback listener.
 * Either way the tokens never travel in a URL: the app exchanges a single-use hand-off code on `POST /oauth/token`,
 * proving it is the one that started the login (its PKCE `code_verifier`, or the browser's login cookie).
 */

/** How long a completed login waits for the app to collect its tokens. */
export const HANDOFF_MS = 60_000;
/** Desktop logins waiting at once: each holds a port, so a loop of starts must not hold hundreds. */
const MAX_LOOPBACK_LOGINS = 8;

/** How the hand-off is bound to whoever started the login. */
interface Binding {
  /** S256 challenge of the app's code_verifier. */
  codeChallenge?: string;
  /** The login cookie of the browser that started it (when it sent no challenge). */
  browser?: string;
}

type LoginContext = Binding & { mode: 'browser' } | { mode: 'loopback'; loginId: string };

type Handoff = Binding & ({ status: 'pending' } | { status: 'ready'; userId: string } | { status: 'failed'; refusal: LoginRefused });

export type ExchangeResult =
  | { tokens: SessionTokens }
  | { error: 'authorization_pending' | 'invalid_grant' | 'access_denied'; description: string };

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

export class LoginFlow {
  private readonly handoffs = new OneTimeStore<Handoff>();
  /** Open loopback listeners, oldest first. */
  private readonly listeners = new Set<LoopbackListener>();

  constructor(
    private readonly oidc: OidcLogin<LoginContext>,
    private readonly users: Users,
    private readonly sessions: Sessions,
    private readonly audit: AuditLog,
  ) {}

  /** The provider's URL for a browser login that comes back to `callbackUrl`. */
  async beginBrowser(callbackUrl: string, binding: Binding, address: string): Promise<string> {
    return (await this.refusalsAudited('GET', '/auth/login', address, () => this.oidc.begin(callbackUrl, { mode: 'browser', ...binding }))).url;
  }

  /** A desktop login: its own loopback listener, the URL to open in the system browser, the id to collect it by. */
  async beginLoopback(codeChallenge: string, address: string): Promise<{ authorization_url: string; login_id: string; expires_in: number }> {
    const loginId = randomToken();
    const listener = await listenOnLoopback((query, address) => this.completeLoopback(loginId, query, address), PENDING_LOGIN_MS);
    if (this.listeners.size >= MAX_LOOPBACK_LOGINS) this.listeners.values().next().value?.close();
    this.listeners.add(listener);
    void listener.closed.then(() => {
      this.listeners.delete(listener);
      // Closed without an answer (timed out, or replaced by newer logins): the app stops waiting.
      if (this.handoffs.peek(loginId)?.status === 'pending') {
        this.handoffs.put(loginId, { status: 'failed', refusal: new LoginRefused('invalid_state', 'This desktop login expired or was replaced by newer ones'), codeChallenge }, HANDOFF_MS);
      }
    });
    try {
      const { url } = await this.refusalsAudited('POST', '/auth/login', address, () => this.oidc.begin(listener.redirectUri, { mode: 'loopback', loginId }));
      this.handoffs.put(loginId, { status: 'pending', codeChallenge }, PENDING_LOGIN_MS);
      return { authorization_url: url, login_id: loginId, expires_in: PENDING_LOGIN_MS / 1000 };
    } catch (error) {
      listener.close();
      throw error;
    }
  }

  /**
   * The provider's redirect to `/auth/callback`: the hand-off code for the UI. Only the browser that started the
   * login may complete it; another one (a replayed or planted callback URL) is refused without using it up.
   */
  async completeBrowser(query: URLSearchParams, browser: string | undefined, address: string): Promise<string> {
    const { userId, binding } = await this.refusalsAudited('GET', CALLBACK_ACTION, address, async () => {
      const started = this.oidc.contextOf(query.get('state') ?? '');
      if (started?.mode === 'browser' && started.browser !== undefined && started.browser !== browser) {
        throw new LoginRefused('invalid_state', 'This login was started in another browser');
      }
      const { identity, context } = await this.oidc.complete(query);
      if (context.mode !== 'browser') throw new LoginRefused('invalid_state', 'This login expects its answer elsewhere');
      return { userId: this.signIn(identity), binding: { codeChallenge: context.codeChallenge, browser: context.browser } };
    });
    const code = randomToken();
    this.handoffs.put(code, { status: 'ready', userId, ...binding }, HANDOFF_MS);
    return code;
  }

  /** Exchanges a hand-off code (or a desktop login's id) for the session's first tokens. */
  exchange(code: string, codeVerifier: string | undefined, browser: string | undefined, address: string): ExchangeResult {
    const handoff = this.handoffs.peek(code);
    if (!handoff) return this.refuseExchange('invalid_grant', 'The code is unknown, expired or already used', address);
    if (!bindingHolds(handoff, codeVerifier, browser)) {
      this.handoffs.take(code);
      return this.refuseExchange('invalid_grant', handoff.codeChallenge ? 'code_verifier does not match the code_challenge of this login' : 'This login was started in another browser', address);
    }
    if (handoff.status === 'pending') return { error: 'authorization_pending', description: 'The user has not finished logging in at the identity provider' };
    this.handoffs.take(code);
    if (handoff.status === 'failed') {
      const denied = handoff.refusal.code === 'access_denied' || handoff.refusal.code === 'user_disabled';
      return this.refuseExchange(denied ? 'access_denied' : 'invalid_grant', handoff.refusal.message, address);
    }
    const tokens = this.sessions.open(handoff.userId);
    this.audit.record('token.issued', `user:${handoff.userId}`, 'POST', TOKEN_ACTION, 200);
    return { tokens };
  }

  endSessionUrl(): Promise<string | undefined> {
    return this.oidc.endSessionUrl();
  }

  /** Closes the desktop logins' listeners still waiting (the node stops). */
  close(): void {
    for (const listener of this.listeners) listener.close();
  }

  private async completeLoopback(loginId: string, query: URLSearchParams, address: string): Promise<LoopbackPage> {
    const pending = this.handoffs.peek(loginId);
    const binding = { codeChallenge: pending?.codeChallenge };
    try {
      const userId = await this.refusalsAudited('GET', CALLBACK_ACTION, address, async () => {
        const { identity, context } = await this.oidc.complete(query);
        if (context.mode !== 'loopback' || context.loginId !== loginId) throw new LoginRefused('invalid_state', 'This answer belongs to another login');
        return this.signIn(identity);
      });
      this.handoffs.put(loginId, { status: 'ready', userId, ...binding }, HANDOFF_MS);
      return { status: 200, html: page('Connexion réussie', 'You are logged in to Liaison. You can close this window and go back to the application.') };
    } catch (error) {
      if (!(error instanceof LoginRefused)) throw error;
      this.handoffs.put(loginId, { status: 'failed', refusal: error, ...binding }, HANDOFF_MS);
      return { status: REFUSAL_STATUS[error.code], html: page('Connexion refusée', `${error.message}. Go back to the application to try again.`) };
    }
  }

  /** The node's user of a provider's identity; a disabled user is refused. */
  private signIn(identity: UpstreamIdentity): string {
    const user = this.users.signIn(identity);
    if (user.disabledAt) throw new LoginRefused('user_disabled', 'This account is disabled: ask the practice administrator', user.id);
    this.audit.record('login', `user:${user.id}`, 'GET', CALLBACK_ACTION, 200);
    return user.id;
  }

  /** Runs a step of a login; a refusal is audited (`login.refused`) before it reaches the caller. */
  private async refusalsAudited<R>(method: string, action: string, address: string, step: () => Promise<R>): Promise<R> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof LoginRefused) {
        this.audit.refused('login.refused', { address, clientId: error.userId && `user:${error.userId}` }, method, action, REFUSAL_STATUS[error.code]);
      }
      throw error;
    }
  }

  private refuseExchange(error: 'invalid_grant' | 'access_denied', description: string, address: string): ExchangeResult {
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

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

const page = (title: string, message: string) => htmlPage(title, `<p>${escapeHtml(message)}</p>`);
