import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppLogins, AuthorizationRequest, Consent } from '../auth/app-login';
import { escapeHtml, htmlPage } from '../auth/html-page';
import type { LoginFlow } from '../auth/login-flow';
import { LoginRefused } from '../auth/oidc-login';
import type { PasswordLogin } from '../auth/password-login';
import { scopeSentences } from '../auth/scope-words';
import { SIGNING_ALGORITHM, type SigningKeys } from '../auth/signing-key';
import { SMART_SCOPES_SUPPORTED } from '../auth/smart-scopes';
import type { Users } from '../auth/users';
import { FhirError } from '../fhir/outcome';
import type { LoginCookies } from './login-cookie';

/**
 * The pages and documents of apps' logins (auth/app-login.ts, docs/login.md "Apps"):
 * - `GET /authorize` → the login page → the consent page → `POST /authorize/consent` → 303 to the app's redirect URI
 *   with `code`, `state` and `iss` (RFC 9207). The login page offers the node's two ways, as the UI's screen does:
 *   a local account (`POST /authorize/login`), and the identity provider (`POST /authorize/provider` → the node's
 *   browser login, `GET /auth/login`'s, marked as an app's → `/auth/callback` → `GET /authorize/resume`, which claims
 *   the finished login with the PKCE verifier it made for it, kept with the request in the cookie
 *   `liaison_authorize_resume`);
 * - `GET /.well-known/openid-configuration`: discovery, the issuer being the node's base URL as the caller names it;
 * - `GET /oauth/jwks`: the keys that sign ID tokens (the current one, and a retired one until its tokens expire);
 * - `GET /fhir/.well-known/smart-configuration`: SMART App Launch's discovery.
 * The browser that started a login is known by its cookie `liaison_authorize` (HttpOnly, SameSite=Lax, so no other
 * site's form can post to these pages with it).
 */

export interface AppLoginRoutesOptions {
  appLogins: AppLogins;
  passwords: PasswordLogin;
  login: LoginFlow;
  loginCookies: LoginCookies;
  /** The ways to log in now: the provider's label (none: no provider), and whether local accounts may. */
  ways: () => LoginWays;
  users: Users;
  signingKeys: () => Promise<SigningKeys>;
}

export interface LoginWays {
  provider?: string;
  local: boolean;
}

const COOKIE = 'liaison_authorize';
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;
/** An app's request waiting for the provider's login, with the PKCE verifier its hand-off is bound to. */
const RESUME_COOKIE = 'liaison_authorize_resume';
const SEALED_VALUE = /^[A-Za-z0-9_:-]{1,4000}$/;

type Resume = AuthorizationRequest & { verifier: string };

/** The node's base URL as this request names it: the issuer of its ID tokens and discovery. */
export function issuerOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

export async function appLoginRoutes(app: FastifyInstance, { appLogins, passwords, login, loginCookies, ways, users, signingKeys }: AppLoginRoutesOptions): Promise<void> {
  const loginPage = (reply: FastifyReply, status: number, request: AuthorizationRequest, error?: string) => loginPageOf(reply, status, request, appLogins.seal(request), ways(), error);

  app.get('/.well-known/openid-configuration', async (request) => {
    const issuer = issuerOf(request);
    return {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      jwks_uri: `${issuer}/oauth/jwks`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [SIGNING_ALGORITHM],
      scopes_supported: ['openid', 'profile'],
      claims_supported: ['sub', 'name', 'given_name', 'family_name', 'email', 'SubjectNameID', 'SubjectRole', 'preferred_username', 'rpps', 'profession', 'practitioner', 'fhirUser', 'practices'],
      authorization_response_iss_parameter_supported: true,
    };
  });

  // The key signing now and any retired one whose ID tokens may not have expired yet (signing-key.ts).
  app.get('/oauth/jwks', async () => ({ keys: await (await signingKeys()).published() }));

  // SMART App Launch's discovery (standalone launch, user/ scopes: auth/smart-scopes.ts), beside the FHIR base.
  app.get('/fhir/.well-known/smart-configuration', async (request) => {
    const issuer = issuerOf(request);
    return {
      issuer,
      jwks_uri: `${issuer}/oauth/jwks`,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/oauth/token`,
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'profile', 'fhirUser', 'offline_access', ...SMART_SCOPES_SUPPORTED],
      capabilities: ['launch-standalone', 'client-public', 'client-confidential-symmetric', 'sso-openid-connect', 'permission-user', 'permission-offline', 'permission-v1', 'permission-v2'],
    };
  });

  app.get('/authorize', async (request, reply) => {
    const browser = browserOf(request) ?? randomBytes(32).toString('base64url');
    reply.header('set-cookie', `${COOKIE}=${browser}; Path=/authorize; Max-Age=600; HttpOnly; SameSite=Lax`);
    const checked = appLogins.authorize(new URL(request.url, 'http://node').searchParams, browser, issuerOf(request), request.ip);
    if ('page' in checked) return page(reply, 400, 'Connexion impossible', `<p>${escapeHtml(checked.page)}</p>`);
    if ('redirect' in checked) return reply.redirect(checked.redirect, 302);
    return loginPage(reply, 200, checked.request);
  });

  app.post('/authorize/login', async (request, reply) => {
    const form = formOf(request);
    const started = appLogins.unseal<AuthorizationRequest>(form.get('request'), browserOf(request));
    if (!started) return expired(reply);
    try {
      const userId = await passwords.userOf({ login: form.get('login') ?? undefined, password: form.get('password') ?? undefined, source: request.ip }, 'POST /authorize/login');
      const consent = appLogins.consentOf(started, userId);
      return consentPage(reply, consent, appLogins.seal(consent), users.get(userId).displayName);
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      reply.headers(error.headers);
      return loginPage(reply, error.status, started, LOGIN_REFUSALS[refusalCode(error)] ?? 'Connexion refusée.');
    }
  });

  app.post('/authorize/provider', async (request, reply) => {
    const started = appLogins.unseal<AuthorizationRequest>(formOf(request).get('request'), browserOf(request));
    if (!started) return expired(reply);
    const verifier = randomBytes(32).toString('base64url');
    try {
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const { url, login: pending } = await login.beginBrowser(`${issuerOf(request)}/auth/callback`, challenge, request.ip, true);
      loginCookies.addLogin(request, reply, pending);
      const resume: Resume = { ...started, verifier };
      reply.header('set-cookie', `${RESUME_COOKIE}=${appLogins.seal(resume)}; Path=/authorize; Max-Age=600; HttpOnly; SameSite=Lax`);
      return reply.redirect(url, 303);
    } catch (error) {
      if (!(error instanceof LoginRefused)) throw error;
      return loginPage(reply, 502, started, PROVIDER_REFUSALS[error.code] ?? PROVIDER_REFUSALS.login_failed);
    }
  });

  // The provider's login came back (auth-routes.ts `/auth/callback`): the user, then their consent.
  app.get<{ Querystring: Record<string, string | undefined> }>('/authorize/resume', async (request, reply) => {
    const resume = appLogins.unseal<Resume>(cookieOf(request, RESUME_COOKIE, SEALED_VALUE), browserOf(request));
    reply.header('set-cookie', `${RESUME_COOKIE}=; Path=/authorize; Max-Age=0; HttpOnly; SameSite=Lax`);
    if (!resume) return expired(reply);
    const { verifier, ...started } = resume;
    const refused = request.query.login_error;
    if (refused !== undefined) return loginPage(reply, 403, started, PROVIDER_REFUSALS[refused] ?? PROVIDER_REFUSALS.login_failed);
    const claimed = login.claim(request.query.login ?? '', verifier, undefined, request.ip);
    if ('error' in claimed) return expired(reply);
    const consent = appLogins.consentOf(started, claimed.userId);
    return consentPage(reply, consent, appLogins.seal(consent), users.get(claimed.userId).displayName);
  });

  app.post('/authorize/consent', async (request, reply) => {
    const form = formOf(request);
    const consent = appLogins.unseal<Consent>(form.get('consent'), browserOf(request));
    if (!consent?.userId) return expired(reply);
    return reply.redirect(appLogins.decide(consent, form.get('decision') === 'allow', issuerOf(request), request.ip), 303);
  });
}

/** What the login page says of a refusal (auth/password-login.ts's codes). */
const LOGIN_REFUSALS: Record<string, string> = {
  'bad-credentials': 'Identifiant ou mot de passe incorrect.',
  'too-many-attempts': 'Trop de mots de passe erronés depuis cette adresse : patientez quelques secondes avant de réessayer.',
  'account-disabled': 'Ce compte est désactivé : adressez-vous à l’administrateur du cabinet.',
  'password-change-required': 'Votre mot de passe a été réinitialisé : choisissez-en un nouveau dans Liaison, puis revenez à cette application.',
  'local-accounts-off': 'Les comptes locaux sont désactivés sur ce nœud.',
  'invalid-request': 'Saisissez votre identifiant et votre mot de passe.',
};

function refusalCode(error: FhirError): string {
  return (error.issues[0]?.details as { coding?: Array<{ code?: string }> } | undefined)?.coding?.[0]?.code ?? '';
}

/** What the login page says when the identity provider's login did not end well (LoginRefused's codes). */
const PROVIDER_REFUSALS: Record<string, string> = {
  issuer_unreachable: 'Le fournisseur d’identité ne répond pas : réessayez plus tard, ou connectez-vous avec votre compte local.',
  access_denied: 'La connexion a été refusée chez le fournisseur d’identité.',
  user_disabled: 'Ce compte est désactivé : adressez-vous à l’administrateur du cabinet.',
  invalid_state: 'Cette connexion a expiré : recommencez.',
  login_failed: 'La connexion chez le fournisseur d’identité n’a pas abouti : recommencez.',
  invalid_request: 'Aucun fournisseur d’identité n’est configuré sur ce nœud.',
};

function browserOf(request: FastifyRequest): string | undefined {
  return cookieOf(request, COOKIE, COOKIE_VALUE);
}

function cookieOf(request: FastifyRequest, wanted: string, valid: RegExp): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === wanted && value !== undefined && valid.test(value)) return value;
  }
  return undefined;
}

function formOf(request: FastifyRequest): URLSearchParams {
  return request.body instanceof URLSearchParams ? request.body : new URLSearchParams();
}

function page(reply: FastifyReply, status: number, title: string, bodyHtml: string) {
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(htmlPage(title, bodyHtml));
}

function expired(reply: FastifyReply) {
  return page(reply, 400, 'Connexion expirée', '<p>Cette connexion a expiré ou a été commencée dans un autre navigateur : revenez à l’application et recommencez.</p>');
}

function loginPageOf(reply: FastifyReply, status: number, request: AuthorizationRequest, sealed: string, ways: LoginWays, error?: string) {
  const hidden = `<input type="hidden" name="request" value="${escapeHtml(sealed)}">`;
  const provider = ways.provider
    ? `<form method="post" action="/authorize/provider">${hidden}<button type="submit">Se connecter avec ${escapeHtml(ways.provider)}</button></form>`
    : '';
  const local = ways.local
    ? `<form method="post" action="/authorize/login">
${hidden}
<label>Identifiant <input name="login" autocomplete="username" required></label>
<label>Mot de passe <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Se connecter</button>
</form>`
    : '';
  return page(
    reply,
    status,
    'Connexion',
    `<p>L’application <strong>${escapeHtml(request.appName)}</strong> vous demande de vous connecter avec votre compte du cabinet.</p>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
${provider}${provider && local ? '<p>ou avec votre compte local :</p>' : ''}${local}`,
  );
}

function consentPage(reply: FastifyReply, consent: Consent, sealed: string, displayName: string) {
  const lines = scopeSentences(consent.scopes).map((line) => `<li>${escapeHtml(line)}</li>`).join('');
  return page(
    reply,
    200,
    'Autoriser l’application',
    `<p>Vous êtes connecté(e) : ${escapeHtml(displayName)}.</p>
<p>L’application <strong>${escapeHtml(consent.appName)}</strong> demande à agir en votre nom, dans la limite de ce que vous pouvez faire vous-même :</p>
<ul>${lines}</ul>
${consent.oidcScopes.includes('openid') ? '<p>Elle connaîtra aussi votre identité : nom, identifiant national (RPPS), profession et cabinet.</p>' : ''}
<form method="post" action="/authorize/consent">
<input type="hidden" name="consent" value="${escapeHtml(sealed)}">
<button type="submit" name="decision" value="allow">Autoriser</button>
<button type="submit" name="decision" value="deny">Refuser</button>
</form>`,
  );
}
