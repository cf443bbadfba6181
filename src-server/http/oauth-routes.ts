import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OAuthClient } from '../auth/clients';
import { FailedAttempts } from '../auth/failed-attempts';
import type { IssuedToken, TokenStore } from '../auth/tokens';
import { credentialsOf } from './bearer';
import { loginCookieOf } from './login-cookie';
import { userGrant, type UserGrantServices } from './user-grants';

/**
 * `POST /oauth/token`, client credentials grant (RFC 6749 §4.4) and users' session grants (user-grants.ts), and
 * `POST /oauth/revoke` (RFC 7009). Credentials in the body (form or JSON) or in
 * HTTP Basic. Errors use the OAuth error format (RFC 6749 §5.2), which OAuth client libraries parse.
 */

export interface OAuthRoutesOptions extends UserGrantServices {
  verify: (clientId: string, secret: string) => OAuthClient | undefined;
  tokens: TokenStore;
}

const USER_GRANTS = new Set(['authorization_code', 'refresh_token']);

export async function oauthRoutes(app: FastifyInstance, { verify, tokens, ...services }: OAuthRoutesOptions): Promise<void> {
  const { audit } = services;
  const failures = new FailedAttempts();
  app.post('/token', async (request, reply) => {
    const form = readForm(request.body);
    if (!form) return oauthError(reply, 400, 'invalid_request', 'Send application/x-www-form-urlencoded or JSON');
    const grantType = form.get('grant_type') ?? '';
    if (USER_GRANTS.has(grantType)) {
      const answer = userGrant(form, loginCookieOf(request), services);
      return 'tokens' in answer ? sendTokens(reply, answer.tokens) : oauthError(reply, answer.status, answer.error, answer.description);
    }
    if (grantType !== 'client_credentials') {
      return oauthError(reply, 400, 'unsupported_grant_type', 'grant_type must be client_credentials, authorization_code or refresh_token');
    }
    const check = checkClient(request, form, verify, failures);
    if ('refused' in check) {
      audit.record('token.refused', claimedClientId(request, form), 'POST', '/oauth/token', check.refused.status);
      return refuse(reply, check.refused);
    }
    const { client } = check;
    audit.record('token.issued', client.clientId, 'POST', '/oauth/token', 200);
    return sendTokens(reply, tokens.issue(client));
  });

  // RFC 7009: the client revokes one of its own tokens. An unknown or foreign token is answered 200 all the same.
  app.post('/revoke', async (request, reply) => {
    const form = readForm(request.body);
    if (!form) return oauthError(reply, 400, 'invalid_request', 'Send application/x-www-form-urlencoded or JSON');
    const check = checkClient(request, form, verify, failures);
    if ('refused' in check) return refuse(reply, check.refused);
    const { client } = check;
    const token = form.get('token');
    if (!token) return oauthError(reply, 400, 'invalid_request', 'token is required');
    tokens.revoke(token, client.clientId);
    audit.record('token.revoked', client.clientId, 'POST', '/oauth/revoke', 200);
    return reply.header('cache-control', 'no-store').send({});
  });
}

/** Who a refused request said it was (never its secret), for the audit trail. */
function claimedClientId(request: FastifyRequest, form: URLSearchParams): string | undefined {
  return (basicCredentials(request)?.id ?? form.get('client_id') ?? undefined)?.slice(0, 100);
}

type Refusal = { status: 401 } | { status: 429; retryAfter: number };

/** The client the request's credentials prove, or why not (a client with too many recent failures is not checked). */
function checkClient(request: FastifyRequest, form: URLSearchParams, verify: OAuthRoutesOptions['verify'], failures: FailedAttempts): { client: OAuthClient } | { refused: Refusal } {
  const credentials = basicCredentials(request) ?? { id: form.get('client_id'), secret: form.get('client_secret') };
  if (!credentials.id || !credentials.secret) return { refused: { status: 401 } };
  const retryAfter = failures.retryAfter(credentials.id);
  if (retryAfter > 0) return { refused: { status: 429, retryAfter } };
  const client = verify(credentials.id, credentials.secret);
  if (!client) {
    failures.failed(credentials.id);
    return { refused: { status: 401 } };
  }
  failures.succeeded(credentials.id);
  return { client };
}

function refuse(reply: FastifyReply, refusal: Refusal) {
  if (refusal.status === 401) return oauthError(reply, 401, 'invalid_client', 'Unknown client, wrong secret, or no client_id and client_secret');
  reply.header('retry-after', String(refusal.retryAfter));
  return oauthError(reply, 429, 'invalid_client', `Too many failed attempts for this client: retry in ${refusal.retryAfter} s`);
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
