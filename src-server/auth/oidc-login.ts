import * as client from 'openid-client';

/**
 * The node as an OpenID Connect relying party of the upstream provider (Pro Santé Connect, or any issuer by
 * configuration): authorization code flow with PKCE (S256), state and nonce, through openid-client. This module
 * only speaks to the provider, and keeps nothing: a login waiting for the provider's answer is kept by whoever
 * started it (login-flow.ts). Who the identity is and what it may do is decided elsewhere (users.ts, login-flow.ts).
 */

export interface OidcSettings {
  /** The issuer identifier; its discovery document is at `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** Absent: a public client (PKCE only). Read from the environment, never from argv. */
  clientSecret?: string;
  /** Space separated; default `openid profile email`. */
  scopes?: string;
}

export const DEFAULT_SCOPES = 'openid profile email';
/** How long the user may take at the provider (RFC 6749 leaves it to us; 10 minutes is common practice). */
export const PENDING_LOGIN_MS = 10 * 60_000;
const REQUEST_TIMEOUT_SECONDS = 10;

/** Why a login did not happen: `code` is what the UI is told (`/?login_error=<code>`), `message` what a person reads. */
export class LoginRefused extends Error {
  constructor(
    readonly code: 'issuer_unreachable' | 'access_denied' | 'invalid_state' | 'login_failed' | 'user_disabled' | 'invalid_request',
    message: string,
    /** The node's user, when the refusal is about a known one (disabled). */
    readonly userId?: string,
  ) {
    super(message);
  }
}

/** Who the provider says logged in: the ID token's claims overlaid with userinfo's. */
export interface UpstreamIdentity {
  issuer: string;
  subject: string;
  claims: Record<string, unknown>;
}

/** A login waiting for the provider's answer: what its callback needs. */
export interface PendingLogin {
  state: string;
  codeVerifier: string;
  nonce: string;
  redirectUri: string;
}

export class OidcLogin {
  private configuration: Promise<client.Configuration> | undefined;

  constructor(private readonly settings: OidcSettings) {}

  /** The provider's authorization URL for a new login, and the login to keep until its callback. */
  async begin(redirectUri: string): Promise<{ url: string; pending: PendingLogin }> {
    const config = await this.discover();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.settings.scopes ?? DEFAULT_SCOPES,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, pending: { state, codeVerifier, nonce, redirectUri } };
  }

  /**
   * Completes a login from the provider's redirect, given the pending login of its state: the code is exchanged
   * (with the PKCE verifier, checking state and nonce) and userinfo read.
   */
  async complete(callbackQuery: URLSearchParams, pending: PendingLogin): Promise<UpstreamIdentity> {
    const error = callbackQuery.get('error');
    if (error) {
      const description = callbackQuery.get('error_description') ?? error;
      throw new LoginRefused(error === 'access_denied' ? 'access_denied' : 'login_failed', `The identity provider refused the login: ${description}`);
    }
    const config = await this.discover();
    // The redirect URI the provider was given, not the Host this request came by: the token request must repeat it.
    const currentUrl = new URL(pending.redirectUri);
    currentUrl.search = callbackQuery.toString();
    try {
      const tokens = await client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new Error('no ID token');
      const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      return { issuer: config.serverMetadata().issuer, subject: idClaims.sub, claims: { ...idClaims, ...userinfo } };
    } catch (cause) {
      throw new LoginRefused('login_failed', `The identity provider's answer was not accepted: ${(cause as Error).message}`);
    }
  }

  /** Where to send the browser to end the provider's own session too (RP-initiated logout), when it has one. */
  async endSessionUrl(): Promise<string | undefined> {
    try {
      const config = await this.discover();
      return config.serverMetadata().end_session_endpoint ? client.buildEndSessionUrl(config, {}).href : undefined;
    } catch {
      return undefined;
    }
  }

  /** The provider's metadata, fetched once; a failure is not kept, so the next login tries again. */
  private discover(): Promise<client.Configuration> {
    this.configuration ??= discoverIssuer(this.settings).catch((cause: Error) => {
      this.configuration = undefined;
      throw new LoginRefused('issuer_unreachable', `The identity provider ${this.settings.issuer} cannot be reached: ${cause.message}`);
    });
    return this.configuration;
  }
}

function discoverIssuer({ issuer, clientId, clientSecret }: OidcSettings): Promise<client.Configuration> {
  const url = new URL(issuer);
  // Plain HTTP only for a provider on this computer (the demo and test providers); anywhere else it stays refused.
  const loopback = url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  return client.discovery(url, clientId, clientSecret, clientSecret ? undefined : client.None(), {
    timeout: REQUEST_TIMEOUT_SECONDS,
    ...(loopback ? { execute: [client.allowInsecureRequests] } : {}),
  });
}
