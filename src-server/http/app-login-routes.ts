import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppLogins, AuthorizationRequest, Consent } from '../auth/app-login';
import { escapeHtml, htmlPage } from '../auth/html-page';
import type { PasswordLogin } from '../auth/password-login';
import { scopeSentences } from '../auth/scope-words';
import { SIGNING_ALGORITHM, type SigningKey } from '../auth/signing-key';
import type { Users } from '../auth/users';
import { FhirError } from '../fhir/outcome';

/**
 * The pages and documents of apps' logins (auth/app-login.ts, docs/login.md "Apps"):
 * - `GET /authorize` → the login page (a local account's login and password) → `POST /authorize/login` → the consent
 *   page → `POST /authorize/consent` → 303 to the app's redirect URI with `code`, `state` and `iss` (RFC 9207);
 * - `GET /.well-known/openid-configuration`: discovery, the issuer being the node's base URL as the caller names it;
 * - `GET /oauth/jwks`: the key that signs ID tokens.
 * The browser that started a login is known by its cookie `liaison_authorize` (HttpOnly, SameSite=Lax, so no other
 * site's form can post to these pages with it).
 */

export interface AppLoginRoutesOptions {
  appLogins: AppLogins;
  passwords: PasswordLogin;
  users: Users;
  signingKey: () => Promise<SigningKey>;
}

const COOKIE = 'liaison_authorize';
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

/** The node's base URL as this request names it: the issuer of its ID tokens and discovery. */
export function issuerOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

export async function appLoginRoutes(app: FastifyInstance, { appLogins, passwords, users, signingKey }: AppLoginRoutesOptions): Promise<void> {
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
      claims_supported: ['sub', 'name', 'given_name', 'family_name', 'email', 'SubjectNameID', 'SubjectRole', 'preferred_username', 'rpps', 'profession', 'practitioner', 'practices'],
      authorization_response_iss_parameter_supported: true,
    };
  });

  app.get('/oauth/jwks', async () => ({ keys: [(await signingKey()).publicJwk] }));

  app.get('/authorize', async (request, reply) => {
    const browser = browserOf(request) ?? randomBytes(32).toString('base64url');
    reply.header('set-cookie', `${COOKIE}=${browser}; Path=/authorize; Max-Age=600; HttpOnly; SameSite=Lax`);
    const checked = appLogins.authorize(new URL(request.url, 'http://node').searchParams, browser, issuerOf(request), request.ip);
    if ('page' in checked) return page(reply, 400, 'Connexion impossible', `<p>${escapeHtml(checked.page)}</p>`);
    if ('redirect' in checked) return reply.redirect(checked.redirect, 302);
    return loginPage(reply, 200, checked.request, appLogins.seal(checked.request));
  });

  app.post('/authorize/login', async (request, reply) => {
    const form = formOf(request);
    const sealed = form.get('request');
    const started = appLogins.unseal<AuthorizationRequest>(sealed, browserOf(request));
    if (!started) return expired(reply);
    try {
      const userId = await passwords.userOf({ login: form.get('login') ?? undefined, password: form.get('password') ?? undefined, source: request.ip }, 'POST /authorize/login');
      const consent = appLogins.consentOf(started, userId);
      return consentPage(reply, consent, appLogins.seal(consent), users.get(userId).displayName);
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      reply.headers(error.headers);
      return loginPage(reply, error.status, started, sealed!, LOGIN_REFUSALS[refusalCode(error)] ?? 'Connexion refusée.');
    }
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

function browserOf(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === COOKIE && value !== undefined && COOKIE_VALUE.test(value)) return value;
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

function loginPage(reply: FastifyReply, status: number, request: AuthorizationRequest, sealed: string, error?: string) {
  return page(
    reply,
    status,
    'Connexion',
    `<p>L’application <strong>${escapeHtml(request.appName)}</strong> vous demande de vous connecter avec votre compte du cabinet.</p>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/authorize/login">
<input type="hidden" name="request" value="${escapeHtml(sealed)}">
<label>Identifiant <input name="login" autocomplete="username" required></label>
<label>Mot de passe <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Se connecter</button>
</form>`,
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
