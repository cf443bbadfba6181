import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log';
import type { Identity } from '../auth/identity';
import { checkLogin, checkNewPassword, type LocalAccounts } from '../auth/local-accounts';
import { REFUSAL_STATUS, type LoginFlow } from '../auth/login-flow';
import { LoginRefused } from '../auth/oidc-login';
import type { PasswordLogin } from '../auth/password-login';
import type { RelyingPartyKey } from '../auth/rp-key';
import type { Sessions } from '../auth/sessions';
import type { TokenStore } from '../auth/tokens';
import { LOCAL_ISSUER, type Users } from '../auth/users';
import { isJson } from '../fhir/json';
import { badRequest, codedIssue, FhirError, notFound, refusal, type RefusalCode } from '../fhir/outcome';
import { authenticate } from './bearer';
import type { LoginCookies } from './login-cookie';

/**
 * `/auth`: users' logins (docs/login.md).
 * - `GET /auth/login[?code_challenge=…&code_challenge_method=S256]` (browser) → the provider → `GET /auth/callback`
 *   → `/?login=<hand-off code>`, or `/?login_error=<code>`;
 * - `POST /auth/login {"redirect":"loopback"|"node","code_challenge"}` (desktop) → `{authorization_url, login_id}`: the
 *   provider answers at a loopback listener of this login's, or at this node's `/auth/callback`;
 * - `POST /auth/password {login, password, code_challenge}` (local account) → `{code}`; `POST /auth/password/change
 *   {login, password, newPassword, code_challenge}` → `{code}` (password-login.ts);
 * - `POST /auth/logout` (bearer) ends the session → `{end_session_url?}`; `GET /auth/me` (bearer) → the user;
 *   `POST /auth/me/local-password {login, newPassword}` (bearer) sets a provider user's offline password;
 *   `GET /auth/me/apps` (bearer) the apps the user allowed, `DELETE /auth/me/apps/<client id>` takes one back;
 * - `GET /auth/config` (no token) → `{provider: {kind, issuer, label} | null, localAccounts, setup, demoAccounts?}`
 *   for the login screen (and the set-up screen while `setup`);
 * - `GET /auth/jwks` (no token): this node's public key, for a provider that encrypts userinfo to it (rp-key.ts).
 * Tokens come from `POST /oauth/token` (oauth-routes.ts), exchanging the hand-off code, never from these answers.
 */

export interface AuthRoutesOptions {
  login: LoginFlow;
  identity: Identity;
  passwords: PasswordLogin;
  accounts: LocalAccounts;
  sessions: Sessions;
  users: Users;
  tokens: TokenStore;
  audit: AuditLog;
  loginCookies: LoginCookies;
  /** Whether the data folder still waits for its set-up (no user at all). */
  setupOpen: () => boolean;
  relyingPartyKey: () => Promise<RelyingPartyKey>;
  /** Only with `--demo`: the demo provider's accounts (fictitious people, password included). */
  demoAccounts?: ReadonlyArray<{ login: string; password: string; displayName: string; description: string }>;
}

const CHALLENGE = /^[A-Za-z0-9_~.-]{43,128}$/;

export async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions): Promise<void> {
  const { login, identity, passwords, accounts, sessions, users, tokens, audit, loginCookies, demoAccounts } = options;
  // Login answers carry codes and user details: never cached anywhere.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  const configured = () => {
    if (!login.provider) throw notFound('identity-provider-missing', 'No identity provider is configured: log in with a local account, or an admin sets one up in Réglages (or `liaison auth set`)');
    return login;
  };

  // No token: the login screen asks before anyone is logged in. `provider: null` when there is none.
  app.get('/config', async () => {
    const provider = identity.screen();
    return {
      provider,
      localAccounts: identity.localAccounts,
      setup: options.setupOpen(),
      ...(provider?.kind === 'demo' && demoAccounts ? { demoAccounts } : {}),
    };
  });

  app.get('/jwks', async () => ({ keys: [(await options.relyingPartyKey()).publicJwk] }));

  app.post('/password', async (request) => {
    const body = bodyOf(request);
    const codeChallenge = passwordChallenge(body);
    return { code: await passwords.login({ login: body.login, password: body.password, source: request.ip }, codeChallenge, 'POST /auth/password') };
  });

  app.post('/password/change', async (request) => {
    const body = bodyOf(request);
    const codeChallenge = passwordChallenge(body);
    return { code: await passwords.change({ login: body.login, password: body.password, source: request.ip }, body.newPassword, codeChallenge, 'POST /auth/password/change') };
  });

  // A provider's user sets (or changes) the local password they log in with when the provider cannot be reached.
  app.post('/me/local-password', async (request) => {
    const user = users.get(userOf(request));
    if (user.issuer === LOCAL_ISSUER) throw refusal(400, 'not-local-account', 'A local account changes its password with POST /auth/password/change', 'newPassword');
    const body = bodyOf(request);
    const newLogin = checkLogin(body.login ?? user.login, 'login');
    const password = checkNewPassword(body.newPassword, 'newPassword');
    if (!accounts.isFree(newLogin, user.id)) throw refusal(409, 'login-taken', `The login '${newLogin}' is someone else's`, 'login');
    await accounts.set(user.id, newLogin, password, false);
    audit.record('password.changed', `user:${user.id}`, 'POST', '/auth/me/local-password', 200);
    return { login: newLogin };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/login', async (request, reply) => {
    const flow = configured();
    try {
      const codeChallenge = challengeOf(request.query.code_challenge, request.query.code_challenge_method, false);
      const { url, login: started } = await flow.beginBrowser(`${request.protocol}://${request.host}/auth/callback`, codeChallenge, request.ip);
      loginCookies.addLogin(request, reply, started);
      return reply.redirect(url);
    } catch (error) {
      return redirectRefusal(reply, error);
    }
  });

  app.get('/callback', async (request, reply) => {
    const flow = configured();
    const query = new URL(request.url, 'http://node').searchParams;
    // A desktop login that comes back here (`redirect: "node"`): the page says to go back to the app.
    const desktop = flow.completeAtNode(query, request.ip);
    if (desktop) {
      const page = await desktop;
      return reply.code(page.status).type('text/html; charset=utf-8').send(page.html);
    }
    const { browser, login: started } = loginCookies.takeLogin(request, reply, query.get('state'));
    // An app's login goes back to its authorization request (app-login-routes.ts), the UI's to the UI.
    const landing = started?.forApp ? '/authorize/resume' : '/';
    try {
      const code = await flow.completeBrowser(query, started, browser, request.ip);
      return reply.redirect(`${landing}?${new URLSearchParams({ login: code })}`);
    } catch (error) {
      return redirectRefusal(reply, error, landing);
    }
  });

  app.post('/login', async (request) => {
    const flow = configured();
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
    if (body.redirect !== 'loopback' && body.redirect !== 'node') throw badRequest('invalid-request', 'Send {"redirect": "loopback" | "node", "code_challenge": …}; browsers use GET /auth/login', 'redirect');
    try {
      const codeChallenge = challengeOf(body.code_challenge, body.code_challenge_method, true) as string;
      // "node": the provider answers at this node's /auth/callback (its one registered redirect URI, Pro Santé Connect).
      if (body.redirect === 'node') return await flow.beginAtNode(codeChallenge, `${request.protocol}://${request.host}/auth/callback`, request.ip);
      return await flow.beginLoopback(codeChallenge, request.ip);
    } catch (error) {
      throw error instanceof LoginRefused ? refusalError(error) : error;
    }
  });

  app.post('/logout', async (request) => {
    const principal = authenticate(request, tokens);
    if (!principal.sessionId || principal.role !== 'ui') throw badRequest('not-login-session', "Only a user's login session logs out; an API client or an app revokes its token on POST /oauth/revoke");
    sessions.end(principal.sessionId);
    // The next person at this computer must say who they are at the provider, not inherit this one's session there.
    login.loggedOut();
    audit.record('logout', principal.clientId, 'POST', '/auth/logout', 200);
    const endSessionUrl = await login.endSessionUrl();
    return endSessionUrl ? { end_session_url: endSessionUrl } : {};
  });

  // The apps the user allowed (app-login.ts), and taking one back: its grants end, its tokens stop at once.
  app.get('/me/apps', async (request) => ({ apps: sessions.grantsOf(userOf(request)) }));

  app.delete<{ Params: { clientId: string } }>('/me/apps/:clientId', async (request) => {
    const userId = userOf(request);
    const ended = sessions.endGrantsOf(userId, request.params.clientId);
    if (ended === 0) throw notFound('app-grant-unknown', `No grant of yours to the app '${request.params.clientId}'`);
    audit.record('token.revoked', `${request.params.clientId}|user:${userId}`, 'DELETE', '/auth/me/apps', 200);
    return { apps: sessions.grantsOf(userId) };
  });

  app.get('/me', async (request) => {
    const user = users.get(userOf(request));
    return { ...user, ...(user.login ? { localLogin: user.login } : {}), canSetLocalPassword: user.issuer !== LOCAL_ISSUER };
  });

  /** The user of the request's login session (400 for an API client's token, or an app's acting for the user). */
  function userOf(request: FastifyRequest): string {
    const principal = authenticate(request, tokens);
    if (!principal.party?.userId || !principal.sessionId || principal.role !== 'ui') throw badRequest('not-login-session', 'This token is not a user login session');
    return principal.party.userId;
  }
}

function bodyOf(request: FastifyRequest): Record<string, unknown> {
  if (!isJson(request.body)) throw refusal(400, 'invalid-request', 'Send a JSON object');
  return request.body;
}

/** The app's PKCE challenge a local login's hand-off is bound to (400 `invalid-request` without a valid one). */
function passwordChallenge(body: Record<string, unknown>): string {
  try {
    return challengeOf(body.code_challenge, body.code_challenge_method, true) as string;
  } catch (error) {
    if (error instanceof LoginRefused) throw refusal(400, 'invalid-request', error.message, 'code_challenge');
    throw error;
  }
}

/** The app's PKCE challenge (RFC 7636: S256 only, 43 to 128 characters); required from a desktop app. */
function challengeOf(challenge: unknown, method: unknown, required: boolean): string | undefined {
  if (challenge === undefined && !required) return undefined;
  if (typeof challenge !== 'string' || !CHALLENGE.test(challenge)) throw new LoginRefused('invalid_request', 'code_challenge must be the S256 challenge of a code_verifier (RFC 7636)');
  if (method !== undefined && method !== 'S256') throw new LoginRefused('invalid_request', 'code_challenge_method must be S256');
  return challenge;
}

/** A browser learns a refusal on the UI's page (or an app's login page), by a code it can explain. */
function redirectRefusal(reply: FastifyReply, error: unknown, landing = '/') {
  if (!(error instanceof LoginRefused)) throw error;
  return reply.redirect(`${landing}?${new URLSearchParams({ login_error: error.code })}`);
}

/** The refusal code of each way a login through the identity provider fails. */
const LOGIN_REFUSALS: Record<LoginRefused['code'], RefusalCode> = {
  issuer_unreachable: 'provider-unreachable',
  access_denied: 'login-denied',
  invalid_state: 'login-state-invalid',
  login_failed: 'login-failed',
  user_disabled: 'account-disabled',
  invalid_request: 'invalid-request',
};

function refusalError(refusal: LoginRefused): FhirError {
  const type = refusal.code === 'issuer_unreachable' ? 'exception' : refusal.code === 'invalid_request' ? 'invalid' : 'login';
  return new FhirError(REFUSAL_STATUS[refusal.code], codedIssue(type, LOGIN_REFUSALS[refusal.code], refusal.message));
}
