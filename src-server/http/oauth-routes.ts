import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppLogins } from '../auth/app-login';
import type { StoredApp } from '../auth/apps';
import type { OAuthClient, StoredClient } from '../auth/clients';
import { requestedScopes } from '../auth/scopes';
import { FailedAttempts } from '../auth/failed-attempts';
import { SecretChecks } from '../auth/secret-checks';
import { UI_CLIENT_ID, type IssuedToken, type TokenStore } from '../auth/tokens';
import { issuerOf } from './app-login-routes';
import { credentialsOf } from './bearer';
import type { LoginCookies } from './login-cookie';
import { DEFAULT_RATE_LIMIT, RateLimiter, rateLimitHeaders, type RateLimitAnswer } from './rate-limit';
import { userGrant, type UserGrantServices } from './user-grants';

/**
 * `POST /oauth/token`, client credentials grant (RFC 6749 §4.4: `scope` asks for a narrower token, `invalid_scope`
 * beyond the client's grant), users' session grants (user-grants.ts), apps' grants for their users (authorization
 * code and refresh token, auth/app-login.ts: a confidential app proves its secret, a public one its PKCE verifier), and
 * `POST /oauth/revoke` (RFC 7009). Credentials in the body (form or JSON) or in
 * HTTP Basic. Errors use the OAuth error format (RFC 6749 §5.2), which OAuth client libraries parse.
 *
 * A client's requests here are rate limited like its FHIR calls (its own limit, or 10 a second; the owner too), in
 * buckets of their own, keyed by client_id: on 127.0.0.1 every caller has the same address. Only a request with
 * the right secret takes from the bucket, so nobody else can empty it; an empty one is refused 429 before any
 * secret is checked. The right secret within the client's rate is accepted at once, whatever others sent
 * (secret-checks.ts); refusals (a wrong secret, an unknown client_id, a client over its rate) are answered after
 * a hold-back that doubles with the client's refusals (failed-attempts.ts), so that a loop of them, however
 * cheap each one is, cannot take the event loop from other clients.
 */

/** What the token endpoint remembers of its callers: bounded by the registered clients and users, whatever ids callers make up. */
export class TokenEndpointGuard {
  readonly secrets = new SecretChecks();
  readonly failures = new FailedAttempts();
  /** Token requests per client and refreshes per user (`user:<id>`). */
  readonly calls = new RateLimiter();

  /** Entries held in memory. */
  get size(): number {
    return this.secrets.size + this.failures.size + this.calls.size;
  }
}

/** The failures key of requests naming no client the node knows (or none at all): made-up ids take no memory. */
const UNKNOWN_CLIENTS = '(unknown client)';

export interface OAuthRoutesOptions extends UserGrantServices {
  findClient: (clientId: string) => StoredClient | undefined;
  tokens: TokenStore;
  guard: TokenEndpointGuard;
  loginCookies: LoginCookies;
  appLogins: AppLogins;
  findApp: (clientId: string) => StoredApp | undefined;
}

const USER_GRANTS = new Set(['authorization_code', 'refresh_token']);

export async function oauthRoutes(app: FastifyInstance, { findClient, tokens, guard, loginCookies, appLogins, findApp, ...services }: OAuthRoutesOptions): Promise<void> {
  const { audit } = services;
  app.post('/token', async (request, reply) => {
    const form = readForm(request.body);
    if (!form) return oauthError(reply, 400, 'invalid_request', 'Send application/x-www-form-urlencoded or JSON');
    const grantType = form.get('grant_type') ?? '';
    const claimed = basicCredentials(request)?.id ?? form.get('client_id');
    if (USER_GRANTS.has(grantType) && claimed && claimed !== UI_CLIENT_ID) {
      const stored = findApp(claimed);
      if (stored) return appGrant(request, reply, form, stored, { appLogins, guard, audit });
      audit.refused('token.refused', { address: request.ip, claimedClientId: claimed.slice(0, 100) }, 'POST', '/oauth/token', 401);
      await guard.failures.holdBack(UNKNOWN_CLIENTS);
      return oauthError(reply, 401, 'invalid_client', 'Unknown or disabled app');
    }
    if (USER_GRANTS.has(grantType)) {
      const answer = userGrant(form, { browser: loginCookies.read(request)?.browser, address: request.ip }, services, guard.calls);
      if ('tokens' in answer) return sendTokens(reply, answer.tokens);
      if (!('throttled' in answer)) return oauthError(reply, answer.status, answer.error, answer.description);
      await guard.failures.holdBack(answer.key);
      return slowDown(reply, answer.throttled);
    }
    if (grantType !== 'client_credentials') {
      return oauthError(reply, 400, 'unsupported_grant_type', 'grant_type must be client_credentials, authorization_code or refresh_token');
    }
    const issued = await clientCredentials(request, form, '/oauth/token', { findClient, tokens, guard, audit });
    return 'refused' in issued ? refuse(reply, issued.refused) : sendTokens(reply.headers(rateLimitHeaders(issued.calls)), issued.token);
  });

  // RFC 7009: the client revokes one of its own tokens. An unknown or foreign token is answered 200 all the same.
  // An app's access or refresh token ends the whole grant it belongs to (the user logged out of the app).
  app.post('/revoke', async (request, reply) => {
    const form = readForm(request.body);
    if (!form) return oauthError(reply, 400, 'invalid_request', 'Send application/x-www-form-urlencoded or JSON');
    const stored = findApp(basicCredentials(request)?.id ?? form.get('client_id') ?? '');
    if (stored) {
      if (!(await appProven(request, form, stored, guard, audit, '/oauth/revoke'))) return oauthError(reply, 401, 'invalid_client', 'This app is confidential: send its client_secret (HTTP Basic or in the body)');
      const token = form.get('token');
      if (!token) return oauthError(reply, 400, 'invalid_request', 'token is required');
      const userId = services.sessions.endGrantHolding(token, stored.app.clientId);
      if (userId) audit.record('token.revoked', `${stored.app.clientId}|user:${userId}`, 'POST', '/oauth/revoke', 200);
      return reply.header('cache-control', 'no-store').send({});
    }
    const check = await checkClient(request, form, findClient, guard);
    if ('refused' in check) return refuse(reply, check.refused);
    const { client } = check;
    const token = form.get('token');
    if (!token) return oauthError(reply, 400, 'invalid_request', 'token is required');
    tokens.revoke(token, client.clientId);
    audit.record('token.revoked', client.clientId, 'POST', '/oauth/revoke', 200);
    return reply.header('cache-control', 'no-store').send({});
  });
}

/**
 * Lifen v3's token endpoint, `POST /v1/token` (docs/lifen-compatibility.md): the client credentials grant with a JSON
 * body (a form too), `audience` and `database_reference` accepted and ignored (one node, one practice), answered in
 * Lifen's shapes: 400 `invalid_request` for a body without credentials, 403 `access_denied` for wrong ones. The same
 * guard as `/oauth/token`: rate limits and hold-back.
 */
export async function lifenTokenRoutes(app: FastifyInstance, options: Pick<OAuthRoutesOptions, 'findClient' | 'tokens' | 'guard' | 'audit'>): Promise<void> {
  app.post('/v1/token', async (request, reply) => {
    const form = readForm(request.body);
    const grantType = form?.get('grant_type') ?? 'client_credentials';
    if (!form || grantType !== 'client_credentials' || (!basicCredentials(request) && (!form.get('client_id') || !form.get('client_secret')))) {
      await options.guard.failures.holdBack(UNKNOWN_CLIENTS);
      return oauthError(reply, 400, 'invalid_request', 'Send a JSON body with client_id, client_secret and grant_type client_credentials.');
    }
    const issued = await clientCredentials(request, form, '/v1/token', options);
    if (!('refused' in issued)) return sendTokens(reply.headers(rateLimitHeaders(issued.calls)), issued.token);
    if (issued.refused.status === 429) return slowDown(reply, issued.refused.throttled);
    if (issued.refused.status === 400) return invalidScope(reply, issued.refused.notHeld);
    return oauthError(reply, 403, 'access_denied', 'Unauthorized: unknown client or wrong secret.');
  });
}

/** The client credentials grant: a token for the client the request proves, recorded, or why not (after the hold-back). */
async function clientCredentials(
  request: FastifyRequest,
  form: URLSearchParams,
  path: string,
  { findClient, tokens, guard, audit }: Pick<OAuthRoutesOptions, 'findClient' | 'tokens' | 'guard' | 'audit'>,
): Promise<{ token: IssuedToken; calls: RateLimitAnswer } | { refused: Refusal }> {
  const check = await checkClient(request, form, findClient, guard);
  if ('refused' in check) {
    audit.refused('token.refused', { address: request.ip, claimedClientId: claimedClientId(request, form) }, 'POST', path, check.refused.status);
    return check;
  }
  const { client } = check;
  // A narrower token on request (RFC 6749 §3.3): the client's software gives each of its parts only what it needs.
  const asked = requestedScopes(client.scopes, form.get('scope'));
  if ('notHeld' in asked) {
    audit.refused('token.refused', { address: request.ip, clientId: client.clientId }, 'POST', path, 400);
    return { refused: { status: 400, notHeld: asked.notHeld } };
  }
  audit.record('token.issued', client.clientId, 'POST', path, 200);
  return { token: tokens.issue(client, asked.scopes), calls: check.calls };
}

/**
 * An app's grant for its user (auth/app-login.ts): a confidential app proves its secret first (held back when wrong,
 * as API clients' are); code exchanges take from the app's bucket, refreshes from the app and user pair's, at the
 * app's rate.
 */
async function appGrant(
  request: FastifyRequest,
  reply: FastifyReply,
  form: URLSearchParams,
  { app, secretHash }: StoredApp,
  { appLogins, guard, audit }: { appLogins: AppLogins; guard: TokenEndpointGuard; audit: OAuthRoutesOptions['audit'] },
) {
  if (!(await appProven(request, form, { app, secretHash }, guard, audit, '/oauth/token'))) {
    return oauthError(reply, 401, 'invalid_client', 'This app is confidential: send its client_secret (HTTP Basic or in the body)');
  }
  const rate = app.rateLimit ?? DEFAULT_RATE_LIMIT;
  if (form.get('grant_type') === 'authorization_code') {
    const calls = guard.calls.tryTake(app.clientId, rate);
    if (calls.retryAfter > 0) {
      await guard.failures.holdBack(app.clientId);
      return slowDown(reply, calls);
    }
    const answer = await appLogins.exchange(app, form, issuerOf(request), request.ip);
    return 'tokens' in answer ? sendTokens(reply, answer.tokens) : oauthError(reply, 400, answer.error, answer.description);
  }
  const refreshToken = form.get('refresh_token');
  if (!refreshToken) return oauthError(reply, 400, 'invalid_request', 'refresh_token is required');
  let throttled: RateLimitAnswer | undefined;
  const result = appLogins.refresh(
    app,
    refreshToken,
    (userId) => {
      const answer = guard.calls.tryTake(`${app.clientId}|user:${userId}`, rate);
      if (answer.retryAfter > 0) throttled = answer;
      return !throttled;
    },
    request.ip,
  );
  if ('tokens' in result) return sendTokens(reply, result.tokens);
  if (throttled) {
    await guard.failures.holdBack(`${app.clientId}|user:${result.userId}`);
    return slowDown(reply, throttled);
  }
  return oauthError(reply, 400, 'invalid_grant', result.refused === 'reused' ? 'This refresh token was already used: the grant is ended, log the user in again' : 'The refresh token is unknown, expired, or its grant ended');
}

/** A public app needs nothing more; a confidential one its secret (a wrong one audited and held back, as API clients'). */
async function appProven(request: FastifyRequest, form: URLSearchParams, { app, secretHash }: StoredApp, guard: TokenEndpointGuard, audit: OAuthRoutesOptions['audit'], path: string): Promise<boolean> {
  if (app.public) return true;
  const secret = basicCredentials(request)?.secret ?? form.get('client_secret');
  if (secret && (await guard.secrets.matches(app.clientId, secretHash, secret, guard.failures.recentlyFailed(app.clientId)))) return true;
  audit.refused('token.refused', { address: request.ip, claimedClientId: app.clientId }, 'POST', path, 401);
  await guard.failures.holdBack(app.clientId);
  return false;
}

/** Who a refused request said it was (never its secret), for the audit trail. */
function claimedClientId(request: FastifyRequest, form: URLSearchParams): string | undefined {
  return (basicCredentials(request)?.id ?? form.get('client_id') ?? undefined)?.slice(0, 100);
}

type Refusal = { status: 401 } | { status: 429; throttled: RateLimitAnswer } | { status: 400; notHeld: string[] };

/** The client the request's credentials prove, with the state of its bucket, or why not. */
async function checkClient(
  request: FastifyRequest,
  form: URLSearchParams,
  findClient: OAuthRoutesOptions['findClient'],
  guard: TokenEndpointGuard,
): Promise<{ client: OAuthClient; calls: RateLimitAnswer } | { refused: Refusal }> {
  const credentials = basicCredentials(request) ?? { id: form.get('client_id'), secret: form.get('client_secret') };
  if (!credentials.id || !credentials.secret) return refused(guard, UNKNOWN_CLIENTS, { status: 401 });
  const stored = findClient(credentials.id);
  if (!stored) return refused(guard, UNKNOWN_CLIENTS, { status: 401 });
  const { client, secretHash } = stored;
  const rate = client.rateLimit ?? DEFAULT_RATE_LIMIT;
  // Before any scrypt: only the client's own successes empty its bucket, so this holds back nobody else.
  const waiting = guard.calls.peek(client.clientId, rate);
  if (waiting.retryAfter > 0) return refused(guard, client.clientId, { status: 429, throttled: waiting });
  const suspect = guard.failures.recentlyFailed(client.clientId);
  if (!(await guard.secrets.matches(client.clientId, secretHash, credentials.secret, suspect))) return refused(guard, client.clientId, { status: 401 });
  const calls = guard.calls.tryTake(client.clientId, rate);
  return calls.retryAfter > 0 ? refused(guard, client.clientId, { status: 429, throttled: calls }) : { client, calls };
}

async function refused(guard: TokenEndpointGuard, key: string, refusal: Refusal): Promise<{ refused: Refusal }> {
  await guard.failures.holdBack(key);
  return { refused: refusal };
}

function refuse(reply: FastifyReply, refusal: Refusal) {
  if (refusal.status === 401) return oauthError(reply, 401, 'invalid_client', 'Unknown client, wrong secret, or no client_id and client_secret');
  if (refusal.status === 400) return invalidScope(reply, refusal.notHeld);
  return slowDown(reply, refusal.throttled);
}

/** RFC 6749 §5.2: the client asked for scopes beyond its grant; nothing is issued. */
function invalidScope(reply: FastifyReply, notHeld: readonly string[]) {
  // The caller's own words, echoed bounded.
  const named = notHeld.slice(0, 5).map((scope) => scope.slice(0, 64)).join(' ') + (notHeld.length > 5 ? ' …' : '');
  return oauthError(reply, 400, 'invalid_scope', `This client does not hold ${named}: ask for some of its scopes, or none for all of them`);
}

/**
 * 429: RFC 6749 has no error code for it; `slow_down` is the token endpoint's registered one (RFC 8628 §3.5), and
 * unlike `invalid_client` it does not tell a client library that its credentials are wrong.
 */
function slowDown(reply: FastifyReply, throttled: RateLimitAnswer) {
  reply.header('retry-after', String(throttled.retryAfter)).headers(rateLimitHeaders(throttled));
  return oauthError(reply, 429, 'slow_down', `Rate limit of ${throttled.limit} token requests per second exceeded: retry in ${throttled.retryAfter} s`);
}

function readForm(body: unknown): URLSearchParams | undefined {
  if (body instanceof URLSearchParams) return body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(body)) if (typeof value === 'string') form.set(key, value);
    return form;
  }
  return undefined;
}

function basicCredentials(request: FastifyRequest): { id: string; secret: string } | undefined {
  const credentials = credentialsOf(request, 'Basic');
  if (credentials === undefined) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

function sendTokens(reply: FastifyReply, issued: IssuedToken) {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(issued);
}

function oauthError(reply: FastifyReply, status: number, error: string, description: string) {
  if (status === 401) reply.header('www-authenticate', 'Basic realm="liaison"');
  return reply.code(status).header('cache-control', 'no-store').send({ error, error_description: description });
}
