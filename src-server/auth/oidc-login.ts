import type { webcrypto } from 'node:crypto';
import * as client from 'openid-client';
import { discover, type ProviderConfig } from './identity-provider';

/**
 * The node as an OpenID Connect relying party of the upstream provider (Pro Santé Connect, or any issuer by
 * configuration: identity-provider.ts): authorization code flow with PKCE (S256), state and nonce, through
 * openid-client. Userinfo may come as JSON or as a JWT, signed (checked against the provider's keys) or encrypted
 * to this node's key (rp-key.ts). This module only speaks to the provider, and keeps nothing: a login waiting for the
 * provider's answer is kept by whoever started it (login-flow.ts). Who the identity is and what it may do is decided
 * elsewhere (users.ts, login-flow.ts).
 */

/** A private key a provider encrypts to, and the kid it publishes it under. */
export interface DecryptionKey {
  key: webcrypto.CryptoKey;
  kid: string;
}

/** A provider named on the command line (`liaison serve --oidc-issuer`): its secret from the environment, never argv. */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  /** Absent: a public client (PKCE only). */
  clientSecret?: string;
  /** Space separated; default `openid profile email`. */
  scopes?: string;
}
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
  /** The provider it was started with: a login started before the provider changed is not completed by the new one. */
  issuer: string;
  state: string;
  codeVerifier: string;
  nonce: string;
  redirectUri: string;
}

export class OidcLogin {
  private configuration: Promise<client.Configuration> | undefined;

  constructor(
    readonly provider: ProviderConfig,
    /** This node's key for userinfo encrypted to it, with its kid (none: encrypted answers are refused). */
    private readonly decryptionKey?: () => Promise<DecryptionKey>,
  ) {}

  /**
   * The provider's authorization URL for a new login, and the login to keep until its callback. `askAccount`: the
   * provider must ask who logs in (`prompt=login`), never reuse its own session (the last user logged out).
   */
  async begin(redirectUri: string, askAccount = false): Promise<{ url: string; pending: PendingLogin }> {
    const config = await this.discover();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.provider.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(this.provider.acrValues ? { acr_values: this.provider.acrValues } : {}),
      ...(askAccount ? { prompt: 'login' } : {}),
    });
    return { url: url.href, pending: { issuer: this.provider.issuer, state, codeVerifier, nonce, redirectUri } };
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
    this.configuration ??= this.configure().catch((cause: Error) => {
      this.configuration = undefined;
      throw new LoginRefused('issuer_unreachable', `The identity provider ${this.provider.issuer} cannot be reached: ${cause.message}`);
    });
    return this.configuration;
  }

  private async configure(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret } = this.provider;
    const metadata = (await discover(this.provider)) as client.ServerMetadata;
    const config = new client.Configuration(metadata, clientId, clientSecret, clientSecret ? undefined : client.None());
    config.timeout = REQUEST_TIMEOUT_SECONDS;
    // Plain HTTP only for a provider on this computer (the demo and test providers); anywhere else it stays refused.
    const url = new URL(issuer);
    if (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) client.allowInsecureRequests(config);
    // A userinfo (or ID token) answered as a JWT is checked against the provider's keys, not only read.
    client.enableNonRepudiationChecks(config);
    if (this.decryptionKey) client.enableDecryptingResponses(config, undefined, await this.decryptionKey());
    return config;
  }
}
