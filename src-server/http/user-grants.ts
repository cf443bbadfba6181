import type { AuditLog } from '../audit/audit-log';
import type { LoginFlow } from '../auth/login-flow';
import type { SessionTokens, Sessions } from '../auth/sessions';
import { UI_CLIENT_ID } from '../auth/tokens';
import { DEFAULT_RATE_LIMIT, type RateLimitAnswer, type RateLimiter } from './rate-limit';

/**
 * The two grants of users' sessions on `POST /oauth/token`, for the UI's public client `liaison-ui`:
 * - `authorization_code`: the hand-off code of a finished login (a provider's or a local account's, or a desktop
 *   login's id), with the app's `code_verifier` when it sent a challenge → the session's first tokens;
 * - `refresh_token`: a refresh token, used up → new tokens; a used one coming back ends its session. A user gets at
 *   most DEFAULT_RATE_LIMIT refreshes a second (`user:<id>` in the token endpoint's limiter): one past it is
 *   refused 429 (held back like the token endpoint's other refusals) and leaves the refresh token unused. A wrong
 *   refresh token costs a hash and an index lookup, like a wrong bearer token on /fhir, and is answered at once.
 */

export type GrantAnswer =
  | { tokens: SessionTokens }
  | { status: 400 | 401; error: string; description: string }
  /** `key`: whose refusal it is (`user:<id>`), for the hold-back. */
  | { status: 429; throttled: RateLimitAnswer; key: string };

export interface UserGrantServices {
  login: LoginFlow;
  sessions: Sessions;
  audit: AuditLog;
}

/** Who sent the grant: the browser's login cookie (its id), and the network address. */
export interface GrantSender {
  browser: string | undefined;
  address: string;
}

export function userGrant(form: URLSearchParams, { browser, address }: GrantSender, { login, sessions, audit }: UserGrantServices, limiter: RateLimiter): GrantAnswer {
  if (form.get('client_id') !== UI_CLIENT_ID) {
    return { status: 401, error: 'invalid_client', description: `Users' grants are for the public client ${UI_CLIENT_ID}` };
  }
  if (form.get('grant_type') === 'authorization_code') {
    const code = form.get('code');
    if (!code) return { status: 400, error: 'invalid_request', description: 'code is required' };
    const result = login.exchange(code, form.get('code_verifier') ?? undefined, browser, address);
    return 'tokens' in result ? result : { status: 400, error: result.error, description: result.description };
  }
  const refreshToken = form.get('refresh_token');
  if (!refreshToken) return { status: 400, error: 'invalid_request', description: 'refresh_token is required' };
  let throttled: RateLimitAnswer | undefined;
  const result = sessions.refresh(refreshToken, (userId) => {
    const answer = limiter.tryTake(`user:${userId}`, DEFAULT_RATE_LIMIT);
    if (answer.retryAfter > 0) throttled = answer;
    return !throttled;
  });
  if ('tokens' in result) {
    audit.record('token.issued', `user:${result.userId}`, 'POST', '/oauth/token', 200);
    return result;
  }
  audit.refused('token.refused', { address, clientId: result.userId && `user:${result.userId}` }, 'POST', '/oauth/token', throttled ? 429 : 400);
  if (throttled) return { status: 429, throttled, key: `user:${result.userId}` };
  return {
    status: 400,
    error: 'invalid_grant',
    description: result.refused === 'reused' ? 'This refresh token was already used: its session is ended, log in again' : 'The refresh token is unknown, expired, or its session ended',
  };
}
