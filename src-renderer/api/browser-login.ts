import { errorOf, NodeUnreachableError } from './fhir-client';

/**
 * The browser's side of a user's login (docs/login.md, "Browser"): a PKCE pair kept in this tab while the user is at
 * the provider, the hand-off code exchanged for the session's tokens, refreshes; a local account's login and password
 * change. The desktop app does all this in its main process instead (the bridge's `login()`/`session()`).
 */

export const UI_CLIENT_ID = 'liaison-ui';
const VERIFIER_KEY = 'liaison.login.verifier';

export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** Why a login came back refused (`/?login_error=…`), as the node names it. */
export type BrowserLoginError = 'issuer_unreachable' | 'access_denied' | 'invalid_state' | 'login_failed' | 'user_disabled' | 'invalid_request';

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** RFC 7636: a random verifier and its S256 challenge. */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

/** The address that starts a login; the verifier waits in this tab's storage until the user comes back. */
export async function loginUrl(): Promise<string> {
  const { verifier, challenge } = await pkcePair();
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  return `/auth/login?${new URLSearchParams({ code_challenge: challenge, code_challenge_method: 'S256' })}`;
}

/** The tokens of a finished login, for its hand-off code (single use, valid 60 s). */
export async function exchangeHandoff(code: string): Promise<SessionTokens> {
  const verifier = sessionStorage.getItem(VERIFIER_KEY) ?? undefined;
  sessionStorage.removeItem(VERIFIER_KEY);
  return tokenRequest({ grant_type: 'authorization_code', client_id: UI_CLIENT_ID, code, ...(verifier ? { code_verifier: verifier } : {}) });
}

/** New tokens for a refresh token (which is used up: keep the new one). */
export function refresh(refreshToken: string): Promise<SessionTokens> {
  return tokenRequest({ grant_type: 'refresh_token', client_id: UI_CLIENT_ID, refresh_token: refreshToken });
}

/**
 * A local account's login: its login and password for a hand-off code (`POST /auth/password`), exchanged with the
 * verifier of this login's PKCE pair. A refusal throws the node's answer (FhirApiError: `bad-credentials`,
 * `password-change-required`, `too-many-attempts` with its Retry-After…).
 */
export async function passwordLogin(login: string, password: string): Promise<SessionTokens> {
  return handoffFor('/auth/password', { login, password });
}

/** The forced change after a reset, or one the user asks for: the current password and the new one, then a session. */
export async function passwordChange(login: string, password: string, newPassword: string): Promise<SessionTokens> {
  return handoffFor('/auth/password/change', { login, password, newPassword });
}

async function handoffFor(path: string, fields: Record<string, string>): Promise<SessionTokens> {
  const { verifier, challenge } = await pkcePair();
  let response: Response;
  try {
    response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ ...fields, code_challenge: challenge }) });
  } catch (error) {
    throw new NodeUnreachableError(error);
  }
  if (!response.ok) throw await errorOf(response);
  const { code } = (await response.json()) as { code?: unknown };
  if (typeof code !== 'string') throw new TokenRefused('invalid_response', `${path} answered without a code`);
  return tokenRequest({ grant_type: 'authorization_code', client_id: UI_CLIENT_ID, code, code_verifier: verifier });
}

export class TokenRefused extends Error {
  constructor(
    readonly error: string,
    description: string,
  ) {
    super(description);
    this.name = 'TokenRefused';
  }
}

async function tokenRequest(form: Record<string, string>): Promise<SessionTokens> {
  const response = await fetch('/oauth/token', { method: 'POST', body: new URLSearchParams(form) });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) throw new TokenRefused(String(body.error ?? response.status), String(body.error_description ?? ''));
  return {
    accessToken: String(body.access_token),
    refreshToken: String(body.refresh_token),
    expiresAt: Date.now() + Number(body.expires_in ?? 3600) * 1000,
  };
}
