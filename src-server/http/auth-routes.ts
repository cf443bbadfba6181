import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AuditLog } from '../audit/audit-log';
import { REFUSAL_STATUS, type LoginFlow } from '../auth/login-flow';
import { LoginRefused } from '../auth/oidc-login';
import type { Sessions } from '../auth/sessions';
import type { TokenStore } from '../auth/tokens';
import type { Users } from '../auth/users';
import { badRequest, FhirError, notFound } from '../fhir/outcome';
import { authenticate } from './bearer';
import type { LoginCookies } from './login-cookie';

/**
 * `/auth`: users' logins through the upstream OpenID provider (docs/login.md).
 * - `GET /auth/login[?code_challenge=…&code_challenge_method=S256]` (browser) → the provider → `GET /auth/callback`
 *   → `/?login=<hand-off code>`, or `/?login_error=<code>`;
 * - `POST /auth/login {"redirect":"loopback","code_challenge"}` (desktop) → `{authorization_url, login_id}`;
 * - `POST /auth/logout` (bearer) ends the session → `{end_session_url?}`; `GET /auth/me` (bearer) → the user;
 * - `GET /auth/config` (no token) → `{provider: {issuer, demo} | null, demoAccounts?}` for the login screen.
 * Tokens come from `POST /oauth/token` (oauth-routes.ts), never from these answers.
 */

export interface AuthRoutesOptions {
  /** Absent when no identity provider is configured: logins are refused, existing sessions still end. */
  login?: LoginFlow;
  sessions: Sessions;
  users: Users;
  tokens: TokenStore;
  audit: AuditLog;
  loginCookies: LoginCookies;
  /** What the login screen shows: the provider's issuer, and in `--demo` the people who can log in. */
  loginScreen?: LoginScreen;
}

/** `GET /auth/config`: what the UI needs to offer a login, before anyone is logged in. */
export interface LoginScreen {
  issuer: string;
  /** Only with `--demo`: the demo provider's accounts (fictitious people, password included). */
  demoAccounts?: ReadonlyArray<{ login: string; password: string; displayName: string; description: string }>;
}

const CHALLENGE = /^[A-Za-z0-9_~.-]{43,128}$/;

export async function authRoutes(app: FastifyInstance, { login, sessions, users, tokens, audit, loginCookies, loginScreen }: AuthRoutesOptions): Promise<void> {
  // Login answers carry codes and user details: never cached anywhere.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  const configured = () => {
    if (!login) throw notFound('No identity provider is configured: start the node with --oidc-issuer (or --demo)');
    return login;
  };

  // No token: the login screen asks before anyone is logged in. `provider: null` when logins are off.
  app.get('/config', async () => ({
    provider: login && loginScreen ? { issuer: loginScreen.issuer, demo: loginScreen.demoAccounts !== undefined } : null,
    ...(login && loginScreen?.demoAccounts ? { demoAccounts: loginScreen.demoAccounts } : {}),
  }));

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
    const { browser, login: started } = loginCookies.takeLogin(request, reply, query.get('state'));
    try {
      const code = await flow.completeBrowser(query, started, browser, request.ip);
      return reply.redirect(`/?${new URLSearchParams({ login: code })}`);
    } catch (error) {
      return redirectRefusal(reply, error);
    }
  });

  app.post('/login', async (request) => {
    const flow = configured();
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
    if (body.redirect !== 'loopback') throw badRequest('Send {"redirect": "loopback", "code_challenge": …}; browsers use GET /auth/login', 'redirect');
    try {
      return await flow.beginLoopback(challengeOf(body.code_challenge, body.code_challenge_method, true) as string, request.ip);
    } catch (error) {
      throw error instanceof LoginRefused ? refusalError(error) : error;
    }
  });

  app.post('/logout', async (request) => {
    const principal = authenticate(request, tokens);
    if (!principal.sessionId) throw badRequest("Only a user's login session logs out; an API client revokes its token on POST /oauth/revoke");
    sessions.end(principal.sessionId);
    audit.record('logout', principal.clientId, 'POST', '/auth/logout', 200);
    const endSessionUrl = await login?.endSessionUrl();
    return endSessionUrl ? { end_session_url: endSessionUrl } : {};
  });

  app.get('/me', async (request) => {
    const principal = authenticate(request, tokens);
    if (!principal.party?.userId || !principal.sessionId) throw badRequest('This token is not a user login session');
    return users.get(principal.party.userId);
  });
}

/** The app's PKCE challenge (RFC 7636: S256 only, 43 to 128 characters); required from a desktop app. */
function challengeOf(challenge: unknown, method: unknown, required: boolean): string | undefined {
  if (challenge === undefined && !required) return undefined;
  if (typeof challenge !== 'string' || !CHALLENGE.test(challenge)) throw new LoginRefused('invalid_request', 'code_challenge must be the S256 challenge of a code_verifier (RFC 7636)');
  if (method !== undefined && method !== 'S256') throw new LoginRefused('invalid_request', 'code_challenge_method must be S256');
  return challenge;
}

/** A browser learns a refusal on the UI's page, by a code it can explain. */
function redirectRefusal(reply: FastifyReply, error: unknown) {
  if (!(error instanceof LoginRefused)) throw error;
  return reply.redirect(`/?${new URLSearchParams({ login_error: error.code })}`);
}

function refusalError(refusal: LoginRefused): FhirError {
  const code = refusal.code === 'issuer_unreachable' ? 'exception' : refusal.code === 'invalid_request' ? 'invalid' : 'login';
  return new FhirError(REFUSAL_STATUS[refusal.code], { severity: 'error', code, diagnostics: refusal.message });
}
