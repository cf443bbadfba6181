import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Provider } from 'oidc-provider';
import { consentPage, loginPage } from './demo-provider-pages';

/**
 * A small OpenID provider on 127.0.0.1 (oidc-provider): the upstream identity provider of `liaison serve --demo`
 * and of the tests, standing in for Pro Santé Connect. Its accounts log in with a password on its own login page,
 * then confirm on a consent page; "Refuse" answers the relying party `access_denied`. With `psc`, it plays Pro Santé
 * Connect as the node meets it: a confidential client, the scope `scope_all` and `acr_values=eidas1`, the discovery
 * document at `.well-known/wallet-openid-configuration` only, and userinfo as a signed or encrypted JWT.
 */

export interface ProviderAccount {
  /** The `sub`, also what the user types as login. */
  login: string;
  password: string;
  /** What userinfo tells about them: `name`, `given_name`, `family_name`, `email`, Pro Santé Connect's `SubjectNameID`… */
  claims: Record<string, string>;
}

export interface RunningProvider {
  issuer: string;
  /** The relying party registered for the node: a public native client (PKCE, loopback redirects on any port). */
  clientId: string;
  /** The authorization requests it received (their query), newest last: what the node asked for. */
  authorizations: URLSearchParams[];
  close(): Promise<void>;
}

/** How the provider plays Pro Santé Connect. */
export interface PscPlay {
  /** The node's client secret (client_secret_basic). */
  clientSecret: string;
  /** Userinfo as a JWT: signed with the provider's key, or also encrypted to the node's key (`jwks`). */
  userinfo: 'signed' | 'encrypted';
  /** The node's public keys (GET /auth/jwks), for `encrypted`. */
  jwks?: { keys: object[] };
}

export const PROVIDER_CLIENT_ID = 'liaison';

/** The claims each scope releases; `SubjectNameID` comes with `profile`, as Pro Santé Connect gives it with the identity. */
const CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'SubjectNameID'],
  email: ['email', 'email_verified'],
};

/** Pro Santé Connect releases the professional's identity with `scope_all`. */
const PSC_CLAIMS = { openid: ['sub'], scope_all: ['name', 'given_name', 'family_name', 'SubjectNameID', 'email'] };
const PSC_DISCOVERY = '/.well-known/wallet-openid-configuration';
const STANDARD_DISCOVERY = '/.well-known/openid-configuration';

export async function startOidcProvider(accounts: readonly ProviderAccount[], psc?: PscPlay): Promise<RunningProvider> {
  const byLogin = new Map(accounts.map((account) => [account.login, account]));
  // The issuer is the provider's own address: listen first, then build the provider for it.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const authorizations: URLSearchParams[] = [];
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: PROVIDER_CLIENT_ID,
        application_type: 'native',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        // RFC 8252 §7.3: the provider accepts these on any port (the node's own port, a desktop login's ephemeral one).
        redirect_uris: ['http://127.0.0.1/auth/callback', 'http://localhost/auth/callback', 'http://127.0.0.1/callback'],
        ...(psc
          ? {
              client_secret: psc.clientSecret,
              token_endpoint_auth_method: 'client_secret_basic',
              userinfo_signed_response_alg: 'RS256',
              ...(psc.userinfo === 'encrypted' ? { userinfo_encrypted_response_alg: 'RSA-OAEP-256', userinfo_encrypted_response_enc: 'A256GCM', jwks: psc.jwks } : {}),
            }
          : { token_endpoint_auth_method: 'none' }),
      },
    ],
    claims: psc ? PSC_CLAIMS : CLAIMS,
    ...(psc ? { acrValues: ['eidas1'] } : {}),
    async findAccount(_ctx: unknown, sub: string) {
      const account = byLogin.get(sub);
      return account && { accountId: sub, claims: async () => ({ ...account.claims, sub }) };
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false }, ...(psc ? { jwtUserinfo: { enabled: true }, encryption: { enabled: true } } : {}) },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: { keys: [{ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig' }] },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  });
  const handleProvider = provider.callback();
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', issuer);
    if (url.pathname === '/auth') authorizations.push(url.searchParams);
    if (psc && url.pathname === STANDARD_DISCOVERY) return html(response, 404, 'Not here: see .well-known/wallet-openid-configuration');
    if (psc && url.pathname === PSC_DISCOVERY) request.url = STANDARD_DISCOVERY;
    const match = /^\/interaction\/([\w-]+)(?:\/(login|consent|abort))?$/.exec(url.pathname);
    // Koa's request handler answers its own failures (ctx.onerror): it cannot reject.
    if (!match) return void handleProvider(request, response);
    void interact(provider, byLogin, request, response, match[1], match[2], psc ? 'eidas1' : undefined).catch((error: Error) => {
      if (!response.headersSent) response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`This login cannot continue: ${error.message}\n`);
    });
  });
  return {
    issuer,
    clientId: PROVIDER_CLIENT_ID,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The login and consent steps of an authorization request (oidc-provider's interactions). */
async function interact(
  provider: Provider,
  accounts: Map<string, ProviderAccount>,
  request: IncomingMessage,
  response: ServerResponse,
  uid: string,
  step: string | undefined,
  /** The level of assurance a login reaches (Pro Santé Connect's eidas1). */
  acr: string | undefined,
): Promise<void> {
  const details = await provider.interactionDetails(request, response);
  if (details.uid !== uid) throw new Error('this page belongs to another login');
  if (request.method === 'GET' && step === undefined) {
    return html(response, 200, details.prompt.name === 'login' ? loginPage(uid) : consentPage(uid, String(details.params.client_id)));
  }
  if (request.method !== 'POST') throw new Error(`${request.method} is not expected here`);
  const form = new URLSearchParams(await readBody(request));
  if (step === 'abort') {
    return provider.interactionFinished(request, response, { error: 'access_denied', error_description: 'The user refused the login' }, { mergeWithLastSubmission: false });
  }
  if (step === 'login' && details.prompt.name === 'login') {
    const account = accounts.get(form.get('login') ?? '');
    if (!account || account.password !== form.get('password')) return html(response, 401, loginPage(uid, 'Unknown login or wrong password'));
    return provider.interactionFinished(request, response, { login: { accountId: account.login, ...(acr ? { acr } : {}) } }, { mergeWithLastSubmission: false });
  }
  if (step === 'consent' && details.prompt.name === 'consent') {
    const { params, session, grantId, prompt } = details;
    const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session?.accountId, clientId: String(params.client_id) });
    if (!grant) throw new Error('the grant of this login is gone');
    const missingScope = (prompt.details.missingOIDCScope as string[] | undefined) ?? [];
    if (missingScope.length > 0) grant.addOIDCScope(missingScope.join(' '));
    const missingClaims = (prompt.details.missingOIDCClaims as string[] | undefined) ?? [];
    if (missingClaims.length > 0) grant.addOIDCClaims(missingClaims);
    return provider.interactionFinished(request, response, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  }
  throw new Error(`the ${step} step does not follow the ${details.prompt.name} step`);
}

function html(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(body);
}

const MAX_FORM_BYTES = 10_000;

async function readBody(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) {
    body += chunk;
    if (body.length > MAX_FORM_BYTES) throw new Error('the form is too large');
  }
  return body;
}
