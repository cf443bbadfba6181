import { createHash, randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log';
import { newSealingKey, seal, unseal } from '../sealing';
import type { Repository } from '../store/repository';
import type { StoredApp } from './apps';
import { redirectUriAllowed } from './apps';
import { identityClaims } from './identity-claims';
import { sameText } from './login-flow';
import { OneTimeStore } from './one-time-store';
import { requestedScopes } from './scopes';
import { asksForPatient, isSmartScope, LAUNCH_PATIENT_SCOPE, lifenScopesOf } from './smart-scopes';
import type { SessionTokens, Sessions } from './sessions';
import type { SigningKeys } from './signing-key';
import { TOKEN_LIFETIME_SECONDS } from './tokens';
import type { Users } from './users';

/**
 * Apps log their users in through the node (docs/login.md, "Apps"): the authorization code flow of OAuth 2.0 with
 * PKCE (S256, required of every app) and OpenID Connect's ID token, on the node's own sessions and tokens.
 * 1. `GET /authorize` checks the request against the app's registration (apps.ts). An unknown or disabled app, or a
 *    redirect URI it did not register, is shown on a page and never redirected (RFC 6749 §4.1.2.1); other errors go
 *    back to the app's redirect URI with `error` and `state`.
 * 2. The user logs in as in the UI (a local account's password through PasswordLogin, with its hold-back), then reads
 *    what the app asks for in words and allows or refuses it. Between the steps nothing is kept on the node: the
 *    request travels sealed (AES-256-GCM under a key held in memory, 10 minutes) in the page's form, bound to the
 *    browser that started it by a cookie, so no flood of requests can push a login out and no other page can post it.
 * 3. Allowed, the app gets a one-time code (60 s) bound to the app, the redirect URI, the PKCE challenge, the user and
 *    the scopes consented; `POST /oauth/token` exchanges it for a grant: a session of the app's for that user
 *    (sessions.ts), whose access tokens carry the consented scopes and the user's reach, with a refresh token that
 *    rotates at each use (a replayed one ends the grant) and, for `openid`, an ID token signed by the node
 *    (signing-key.ts). A code replayed ends the grant it made (RFC 6749 §4.1.2).
 * Every refusal is the OAuth error the RFCs name, issues nothing, and is audited.
 *
 * oidc-provider was weighed for this and left out: it keeps its own grants, sessions, tokens and login interactions,
 * so the node's tokens (the one table every FHIR call is checked against), its users' reach and its login would have
 * had a twin to keep in step; the flow is a few checks on what the node already has.
 */

/** From `/authorize` to the consent's answer. */
export const AUTHORIZATION_MS = 10 * 60_000;
/** A code's life (RFC 6749 §4.1.2: 10 minutes at most). */
export const CODE_MS = 60_000;
/** Scopes of OpenID Connect (and SMART's `fhirUser`), beside the node's. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access', 'fhirUser']);
/** The FHIR bases an app's `aud` may name (docs/lifen-compatibility.md: one node, three surfaces). */
const FHIR_SURFACES = ['/fhir', '/fhir/v2', '/fhir/v3'];
const CHALLENGE = /^[A-Za-z0-9_~.-]{43,128}$/;
const MAX_PARAMETER_LENGTH = 1024;

/** An app's authorization request, checked, as it travels sealed in the login and consent pages. */
export interface AuthorizationRequest {
  clientId: string;
  appName: string;
  redirectUri: string;
  /** The node's scopes asked for (the app's whole list when it asked for none). */
  scopes: string[];
  /** OpenID Connect scopes asked for (`openid`: an ID token). */
  oidcScopes: string[];
  /** SMART `launch/patient` (or `patient/` scopes): the user chooses a patient, and the grant sees only that one's data. */
  launchPatient: boolean;
  state?: string;
  nonce?: string;
  codeChallenge: string;
  /** The browser's cookie: only the browser that started it may go on. */
  browser: string;
  expiresAt: number;
}

/** The request once the user logged in, waiting for their answer. */
export interface Consent extends AuthorizationRequest {
  userId: string;
  /** Epoch seconds (ID token's `auth_time`). */
  authTime: number;
}

export type AuthorizeCheck =
  | { request: AuthorizationRequest }
  /** Not sent back to the app: the page says why. */
  | { page: string }
  /** The app's redirect URI with the error. */
  | { redirect: string };

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  userId: string;
  scopes: string[];
  oidcScopes: string[];
  nonce?: string;
  authTime: number;
  /** The patient chosen at a SMART launch, checked against the user's access. */
  patientId?: string;
}

export interface AppTokens extends SessionTokens {
  id_token?: string;
}

export type AppGrantAnswer = { tokens: AppTokens } | { error: 'invalid_grant' | 'invalid_request'; description: string };

export class AppLogins {
  private readonly key = newSealingKey();
  private readonly codes = new OneTimeStore<IssuedCode>();
  /** Codes already exchanged, for what is left of their life, with the grant each made: a replay ends it. */
  private readonly exchanged = new OneTimeStore<string>();

  constructor(
    private readonly findApp: (clientId: string) => StoredApp | undefined,
    private readonly sessions: Sessions,
    private readonly users: Users,
    private readonly repository: Repository,
    private readonly audit: AuditLog,
    private readonly signingKeys: () => Promise<SigningKeys>,
  ) {}

  /** Step 1: the request of `GET /authorize`, checked against the app's registration. */
  authorize(query: URLSearchParams, browser: string, issuer: string, address: string): AuthorizeCheck {
    const refuse = (page: string, clientId?: string): AuthorizeCheck => {
      this.audit.refused('authorize.refused', { address, claimedClientId: clientId?.slice(0, 100) }, 'GET', '/authorize', 400);
      return { page };
    };
    const once = (name: string) => (query.getAll(name).length > 1 ? undefined : (query.get(name) ?? undefined));
    const clientId = once('client_id');
    const stored = clientId ? this.findApp(clientId) : undefined;
    if (!stored) return refuse('Cette application est inconnue du nœud, ou a été désactivée par l’administrateur du cabinet.', clientId);
    const { app } = stored;
    const redirectUri = once('redirect_uri');
    if (!redirectUri || !redirectUriAllowed(app.redirectUris, redirectUri)) {
      return refuse(`L’adresse de retour demandée n’est pas une de celles enregistrées pour l’application « ${app.name} » : la connexion s’arrête ici.`, clientId);
    }
    const back = (error: string, description: string): AuthorizeCheck => {
      this.audit.refused('authorize.refused', { address, claimedClientId: app.clientId }, 'GET', '/authorize', 400);
      return { redirect: redirectWith(redirectUri, { error, error_description: description, state: query.get('state') ?? undefined, iss: issuer }) };
    };
    for (const name of ['response_type', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'prompt', 'aud']) {
      if (query.getAll(name).length > 1) return back('invalid_request', `${name} is given more than once`);
      if ((query.get(name) ?? '').length > MAX_PARAMETER_LENGTH) return back('invalid_request', `${name} is longer than ${MAX_PARAMETER_LENGTH} characters`);
    }
    if (query.get('response_type') !== 'code') return back('unsupported_response_type', 'response_type must be code (the authorization code flow)');
    const codeChallenge = query.get('code_challenge');
    if (!codeChallenge || !CHALLENGE.test(codeChallenge) || query.get('code_challenge_method') !== 'S256') {
      return back('invalid_request', 'PKCE is required: code_challenge (43 to 128 characters) with code_challenge_method=S256 (RFC 7636)');
    }
    if ((query.get('prompt') ?? '').split(' ').includes('none')) return back('login_required', 'The user must log in on the node');
    // SMART's `aud`: the FHIR server the app means to call. Were it another (a counterfeit whose discovery names this
    // node's endpoints), the app would hand it this node's tokens.
    const aud = query.get('aud');
    if (aud !== null && !FHIR_SURFACES.some((surface) => aud.replace(/\/+$/, '') === `${issuer}${surface}`)) {
      return back('invalid_request', `aud must be this node's FHIR base (${issuer}/fhir), the server these tokens are for`);
    }
    const words = [...new Set((query.get('scope') ?? '').split(' ').filter(Boolean))];
    const nodeWords = words.filter((word) => !OIDC_SCOPES.has(word));
    const asked = scopesAsked(app.scopes, nodeWords);
    if ('refused' in asked) return back('invalid_scope', asked.refused);
    const state = query.get('state') ?? undefined;
    const nonce = query.get('nonce') ?? undefined;
    return {
      request: {
        clientId: app.clientId,
        appName: app.name,
        redirectUri,
        scopes: asked.scopes,
        oidcScopes: words.filter((word) => OIDC_SCOPES.has(word)),
        launchPatient: nodeWords.some(asksForPatient),
        ...(state !== undefined ? { state } : {}),
        ...(nonce !== undefined ? { nonce } : {}),
        codeChallenge,
        browser,
        expiresAt: Date.now() + AUTHORIZATION_MS,
      },
    };
  }

  /** A request or consent, sealed for its page's form (or, with its PKCE verifier, for a provider's login). */
  seal(value: AuthorizationRequest): string {
    return seal(this.key, JSON.stringify(value));
  }

  /** What a form sent back, when this node sealed it since it started, it has not expired, and this browser started it. */
  unseal<T extends AuthorizationRequest>(sealed: unknown, browser: string | undefined): T | undefined {
    if (typeof sealed !== 'string' || sealed.length > 16_000 || browser === undefined) return undefined;
    try {
      const value = JSON.parse(unseal(this.key, sealed)) as T;
      return value.expiresAt > Date.now() && sameText(value.browser, browser) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  /** Step 2: the user who logged in, asked for their consent. */
  consentOf(request: AuthorizationRequest, userId: string): Consent {
    this.audit.record('login', `user:${userId}`, 'POST', '/authorize/login', 200);
    return { ...request, userId, authTime: Math.floor(Date.now() / 1000) };
  }

  /**
   * Step 3: the user's answer, as the redirect to the app (a code, or `access_denied`). At a SMART launch, `patientId`
   * is the patient they chose, which the caller checked they may see (launch-patients.ts).
   */
  decide(consent: Consent, allowed: boolean, issuer: string, address: string, patientId?: string): string {
    if (allowed && consent.launchPatient !== (patientId !== undefined)) throw new Error('A launch with a patient context is allowed with the patient chosen, and only then');
    const back = (params: Record<string, string | undefined>) => redirectWith(consent.redirectUri, { ...params, state: consent.state, iss: issuer });
    const who = `${consent.clientId}|user:${consent.userId}`;
    if (!allowed) {
      this.audit.refused('authorize.refused', { address, clientId: who }, 'POST', '/authorize/consent', 403);
      return back({ error: 'access_denied', error_description: 'The user refused' });
    }
    // The app or the user may have been disabled while the page was open.
    if (!this.findApp(consent.clientId) || this.users.get(consent.userId).disabledAt) {
      this.audit.refused('authorize.refused', { address, clientId: who }, 'POST', '/authorize/consent', 403);
      return back({ error: 'access_denied', error_description: 'The app or the user is disabled' });
    }
    const code = randomBytes(32).toString('base64url');
    const { clientId, redirectUri, codeChallenge, userId, scopes, oidcScopes, nonce, authTime } = consent;
    this.codes.put(code, { clientId, redirectUri, codeChallenge, userId, scopes, oidcScopes, ...(nonce !== undefined ? { nonce } : {}), authTime, ...(patientId !== undefined ? { patientId } : {}) }, CODE_MS);
    this.audit.record('authorize.granted', who, 'POST', '/authorize/consent', 303);
    return back({ code });
  }

  /** A chosen patient the user may not see (a forged form): audited, and no code. */
  refusePatient(consent: Consent, address: string): void {
    this.audit.refused('authorize.refused', { address, clientId: `${consent.clientId}|user:${consent.userId}` }, 'POST', '/authorize/consent', 403);
  }

  /** `POST /oauth/token` with `grant_type=authorization_code` from `app` (its secret, if it has one, already checked). */
  async exchange(app: StoredApp['app'], form: URLSearchParams, issuer: string, address: string): Promise<AppGrantAnswer> {
    const refuse = (description: string, userId?: string): AppGrantAnswer => {
      this.audit.refused('token.refused', { address, clientId: userId ? `${app.clientId}|user:${userId}` : undefined, claimedClientId: app.clientId }, 'POST', '/oauth/token', 400);
      return { error: 'invalid_grant', description };
    };
    const code = form.get('code');
    if (!code) return { error: 'invalid_request', description: 'code is required' };
    const issued = this.codes.take(code);
    if (!issued) {
      const grant = this.exchanged.take(code);
      // RFC 6749 §4.1.2: a code used twice revokes what it gave.
      if (grant) this.sessions.end(grant);
      return refuse(grant ? 'This code was already used: the grant it made is ended' : 'The code is unknown, expired or already used');
    }
    if (issued.clientId !== app.clientId) return refuse('This code was issued to another app', issued.userId);
    if (form.get('redirect_uri') !== issued.redirectUri) return refuse('redirect_uri is not the one of the authorization request', issued.userId);
    const verifier = form.get('code_verifier');
    if (!verifier || !sameText(createHash('sha256').update(verifier).digest('base64url'), issued.codeChallenge)) {
      return refuse('code_verifier does not match the code_challenge of the authorization request', issued.userId);
    }
    const user = this.users.get(issued.userId);
    if (user.disabledAt) return refuse('This user is disabled', issued.userId);
    const { tokens, sessionId } = this.sessions.grant(user.id, { clientId: app.clientId, scopes: issued.scopes, ...(issued.patientId !== undefined ? { patientId: issued.patientId } : {}) });
    this.exchanged.put(code, sessionId, CODE_MS);
    this.audit.record('token.issued', `${app.clientId}|user:${user.id}`, 'POST', '/oauth/token', 200);
    if (!issued.oidcScopes.includes('openid')) return { tokens };
    const now = Math.floor(Date.now() / 1000);
    const idToken = (await (await this.signingKeys()).current()).sign({
      iss: issuer,
      sub: user.id,
      aud: app.clientId,
      azp: app.clientId,
      iat: now,
      exp: now + TOKEN_LIFETIME_SECONDS,
      auth_time: issued.authTime,
      ...(issued.nonce !== undefined ? { nonce: issued.nonce } : {}),
      ...identityClaims(user, this.repository, issuer),
    });
    return { tokens: { ...tokens, id_token: idToken } };
  }

  /** `grant_type=refresh_token` from `app`: the refresh token of one of its grants, rotated; a replayed one ends the grant. */
  refresh(app: StoredApp['app'], refreshToken: string, admit: (userId: string) => boolean, address: string): { tokens: SessionTokens } | { refused: 'unknown' | 'reused' | 'held'; userId?: string } {
    const result = this.sessions.refresh(refreshToken, admit, app.clientId);
    const who = result.userId && `${app.clientId}|user:${result.userId}`;
    if ('tokens' in result) {
      this.audit.record('token.issued', who, 'POST', '/oauth/token', 200);
      return { tokens: result.tokens };
    }
    this.audit.refused('token.refused', { address, clientId: who, claimedClientId: app.clientId }, 'POST', '/oauth/token', result.refused === 'held' ? 429 : 400);
    return result;
  }

  /** Entries held in memory (codes waiting, codes exchanged): bounded by OneTimeStore. */
  get size(): number {
    return this.codes.size + this.exchanged.size;
  }
}

/**
 * The node's scopes an authorization request asks for: Lifen's, each one the app may ask for (else `invalid_scope`),
 * and SMART's (smart-scopes.ts), granted as far as the app may; none asked (`launch/patient` asks for a context, not a
 * scope): all the app's.
 */
function scopesAsked(held: readonly string[], words: readonly string[]): { scopes: string[] } | { refused: string } {
  if (words.every((word) => word === LAUNCH_PATIENT_SCOPE)) return { scopes: [...held] };
  const lifen = words.filter((word) => !isSmartScope(word));
  const asked = lifen.length > 0 ? requestedScopes(held, lifen.join(' ')) : { scopes: [] };
  if ('notHeld' in asked) return { refused: `This app may not ask for ${asked.notHeld.slice(0, 5).map((scope) => scope.slice(0, 64)).join(' ')}` };
  const scopes = new Set(asked.scopes);
  for (const word of words.filter(isSmartScope)) {
    const mapped = lifenScopesOf(word, held);
    if ('refused' in mapped) return mapped;
    for (const scope of mapped.scopes) scopes.add(scope);
  }
  if (scopes.size === 0) return { refused: 'None of the scopes asked for is one this app may ask for' };
  return { scopes: [...scopes] };
}

/** The app's redirect URI with the answer's parameters added (its own query kept, RFC 6749 §3.1.2). */
function redirectWith(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.href;
}
