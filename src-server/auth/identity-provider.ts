import type { IdentitySettings } from '../node-settings';
import type { RefusalCode } from '../fhir/outcome';

/**
 * The upstream identity providers the node knows how to talk to, from the saved settings (node-settings.ts):
 * - Pro Santé Connect and its sandbox (`psc`, `psc-sandbox`): the issuer, the scopes `openid scope_all` and
 *   `acr_values=eidas1` are fixed; its discovery document sits at the non-standard
 *   `.well-known/wallet-openid-configuration`, with the standard one as a fallback; userinfo may come as JSON or as a
 *   signed or encrypted JWT (oidc-login.ts reads all three); `SubjectNameID` is the IDNPS (users.ts).
 * - any OpenID Connect provider (`oidc`): its issuer, the standard discovery document.
 * And the discovery itself, shared by the logins and by "test the provider", which says what is wrong by a code.
 */

export const PSC_ISSUERS = {
  psc: 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet',
  'psc-sandbox': 'https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet',
} as const;
export const PSC_SCOPES = 'openid scope_all';
export const PSC_ACR_VALUES = 'eidas1';
export const PSC_DISCOVERY = '.well-known/wallet-openid-configuration';
export const STANDARD_DISCOVERY = '.well-known/openid-configuration';
export const DEFAULT_SCOPES = 'openid profile email';

export type ProviderKind = 'psc' | 'psc-sandbox' | 'oidc' | 'demo';

/** An upstream provider as the login uses it. */
export interface ProviderConfig {
  kind: ProviderKind;
  /** What the login screen names. */
  label: string;
  issuer: string;
  clientId: string;
  /** Absent: a public client (PKCE only). */
  clientSecret?: string;
  scopes: string;
  /** Sent with every authorization request (Pro Santé Connect: eidas1). */
  acrValues?: string;
  /** The discovery documents tried in turn, relative to the issuer. */
  discovery: readonly string[];
}

/** Where a provider of the settings is and how it is discovered; undefined for none (or `oidc` without an issuer). */
export function issuerOf(identity: IdentitySettings): Pick<ProviderConfig, 'kind' | 'label' | 'issuer' | 'discovery'> | undefined {
  if (identity.provider === 'none') return undefined;
  if (identity.provider === 'oidc') return identity.issuer ? { kind: 'oidc', label: new URL(identity.issuer).host, issuer: identity.issuer, discovery: [STANDARD_DISCOVERY] } : undefined;
  return {
    kind: identity.provider,
    label: identity.provider === 'psc' ? 'Pro Santé Connect' : 'Pro Santé Connect (bac à sable)',
    issuer: identity.issuer ?? PSC_ISSUERS[identity.provider],
    discovery: [PSC_DISCOVERY, STANDARD_DISCOVERY],
  };
}

/** The provider of saved settings; undefined for none, or when the settings lack the client id to log in with. */
export function providerOf(identity: IdentitySettings): ProviderConfig | undefined {
  const where = issuerOf(identity);
  if (!where || !identity.clientId) return undefined;
  const psc = where.kind !== 'oidc';
  return {
    ...where,
    clientId: identity.clientId,
    ...(identity.clientSecret ? { clientSecret: identity.clientSecret } : {}),
    scopes: identity.scopes ?? (psc ? PSC_SCOPES : DEFAULT_SCOPES),
    ...(psc ? { acrValues: PSC_ACR_VALUES } : {}),
  };
}

/** A provider given on the command line (`liaison serve --oidc-issuer`, `--demo`): any OpenID Connect provider. */
export function plainProvider(kind: 'oidc' | 'demo', settings: { issuer: string; clientId: string; clientSecret?: string; scopes?: string }): ProviderConfig {
  return {
    kind,
    label: kind === 'demo' ? 'Démonstration' : new URL(settings.issuer).host,
    issuer: settings.issuer,
    clientId: settings.clientId,
    ...(settings.clientSecret ? { clientSecret: settings.clientSecret } : {}),
    scopes: settings.scopes ?? DEFAULT_SCOPES,
    discovery: [STANDARD_DISCOVERY],
  };
}

/** What went wrong fetching a provider's discovery document, by a code the UI words. */
export class DiscoveryProblem extends Error {
  constructor(
    readonly code: Extract<RefusalCode, 'provider-unreachable' | 'discovery-invalid' | 'issuer-mismatch' | 'tls-error'>,
    message: string,
  ) {
    super(message);
    this.name = 'DiscoveryProblem';
  }
}

/** The members a login needs of a discovery document. */
const REQUIRED = ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const;
const TIMEOUT_MS = 10_000;
const MAX_DOCUMENT_BYTES = 256 * 1024;

/** Errors of a TLS certificate the node does not trust (Node's and OpenSSL's codes). */
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL|DEPTH_ZERO|HOSTNAME/;

/**
 * The provider's discovery document: its documents tried in turn (a 404 or an invalid one passes to the next), the
 * issuer it names checked against the configured one. Throws a DiscoveryProblem saying why none would do.
 */
export async function discover(provider: Pick<ProviderConfig, 'issuer' | 'discovery'>): Promise<Record<string, unknown>> {
  let last: DiscoveryProblem | undefined;
  for (const path of provider.discovery) {
    const url = `${provider.issuer.replace(/\/+$/, '')}/${path}`;
    let response: Response;
    try {
      response = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (error) {
      const cause = (error as Error).cause as { code?: string; message?: string } | undefined;
      if (cause?.code && TLS_CODES.test(cause.code)) throw new DiscoveryProblem('tls-error', `${url}: its TLS certificate is not trusted (${cause.code})`);
      // Unreachable: the other path is on the same server.
      throw new DiscoveryProblem('provider-unreachable', `${url} cannot be reached: ${cause?.message ?? (error as Error).message}`);
    }
    const text = response.ok ? await readBounded(response) : (await response.body?.cancel(), undefined);
    if (text === undefined) {
      last = new DiscoveryProblem('discovery-invalid', `${url} answered ${response.status}, not a discovery document`);
      continue;
    }
    let document: Record<string, unknown>;
    try {
      document = JSON.parse(text) as Record<string, unknown>;
    } catch {
      last = new DiscoveryProblem('discovery-invalid', `${url} is not JSON`);
      continue;
    }
    const missing = REQUIRED.filter((member) => typeof document?.[member] !== 'string');
    if (missing.length > 0) {
      last = new DiscoveryProblem('discovery-invalid', `${url} lacks ${missing.join(', ')}`);
      continue;
    }
    if (sameIssuer(document.issuer as string, provider.issuer)) return document;
    throw new DiscoveryProblem('issuer-mismatch', `${url} names the issuer ${String(document.issuer)}, not ${provider.issuer}: check the issuer's address`);
  }
  throw last ?? new DiscoveryProblem('discovery-invalid', 'No discovery document to fetch');
}

/** "Test the provider": whether its discovery document would do, and if not, why. */
export async function testProvider(provider: Pick<ProviderConfig, 'issuer' | 'discovery'>): Promise<{ ok: true; issuer: string } | { ok: false; code: DiscoveryProblem['code']; detail: string }> {
  try {
    const document = await discover(provider);
    return { ok: true, issuer: document.issuer as string };
  } catch (error) {
    if (!(error instanceof DiscoveryProblem)) throw error;
    return { ok: false, code: error.code, detail: error.message };
  }
}

const sameIssuer = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

async function readBounded(response: Response): Promise<string | undefined> {
  const length = Number(response.headers.get('content-length'));
  if (length > MAX_DOCUMENT_BYTES) {
    await response.body?.cancel();
    return undefined;
  }
  const text = await response.text();
  return text.length > MAX_DOCUMENT_BYTES ? undefined : text;
}
