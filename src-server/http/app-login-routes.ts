import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppLogins, AuthorizationRequest, Consent } from '../auth/app-login';
import { escapeHtml, htmlPage } from '../auth/html-page';
import { LISTED_PATIENTS, type LaunchPatients, type PatientChoice, type PatientQuery } from '../auth/launch-patients';
import type { LoginFlow } from '../auth/login-flow';
import { LoginRefused } from '../auth/oidc-login';
import type { PasswordLogin } from '../auth/password-login';
import { scopeSentences } from '../auth/scope-words';
import { SIGNING_ALGORITHM, type SigningKeys } from '../auth/signing-key';
import { SMART_SCOPES_SUPPORTED } from '../auth/smart-scopes';
import type { Users } from '../auth/users';
import { FhirError } from '../fhir/outcome';
import type { RefusalCode } from '../fhir/refusals';
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
 * At a SMART launch with a patient context (`launch/patient`), the consent page lists the user's patients, searched by
 * name and birth date (`decision=search` posts the same form back), and the patient chosen is read again as the user
 * when the form allows the app (auth/launch-patients.ts): one they may not see is refused (403
 * `launch-patient-not-followed`), no code issued.
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
  patients: LaunchPatients;
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

export async function appLoginRoutes(app: FastifyInstance, { appLogins, passwords, login, loginCookies, ways, users, signingKeys, patients }: AppLoginRoutesOptions): Promise<void> {
  const loginPage = (reply: FastifyReply, status: number, request: AuthorizationRequest, error?: string) => loginPageOf(reply, status, request, appLogins.seal(request), ways(), error);
  /** The consent page; at a launch with a patient context, with the user's patients matching `query`. */
  const consentPage = async (request: FastifyRequest, reply: FastifyReply, consent: Consent, query: PatientQuery = {}, status = 200, error?: string) => {
    const picker = consent.launchPatient ? { query, choices: await patients.find(consent.userId, query, fhirBaseOf(request)), error } : undefined;
    return consentPageOf(reply, status, consent, appLogins.seal(consent), users.get(consent.userId).displayName, picker);
  };

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

  // SMART App Launch's discovery (standalone launch, user/ and patient/ scopes: auth/smart-scopes.ts), beside the FHIR base.
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
      capabilities: [
        'launch-standalone',
        'context-standalone-patient',
        'client-public',
        'client-confidential-symmetric',
        'sso-openid-connect',
        'permission-user',
        'permission-patient',
        'permission-offline',
        'permission-v1',
        'permission-v2',
      ],
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
      return await consentPage(request, reply, appLogins.consentOf(started, userId));
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
    return consentPage(request, reply, appLogins.consentOf(started, claimed.userId));
  });

  app.post('/authorize/consent', async (request, reply) => {
    const form = formOf(request);
    const consent = appLogins.unseal<Consent>(form.get('consent'), browserOf(request));
    if (!consent?.userId) return expired(reply);
    const decision = form.get('decision');
    if (!consent.launchPatient || decision === 'deny') return reply.redirect(appLogins.decide(consent, decision === 'allow', issuerOf(request), request.ip), 303);
    const query = { name: form.get('name') ?? undefined, birthDate: form.get('birthdate') ?? undefined };
    if (decision !== 'allow') return consentPage(request, reply, consent, query);
    const chosen = form.get('patient');
    if (!chosen) return consentPage(request, reply, consent, query, 400, 'Choisissez le patient dont l’application pourra lire le dossier.');
    // The list showed only the user's patients; what comes back is checked again, as the user, by the same rule.
    if (!(await patients.seen(consent.userId, chosen, fhirBaseOf(request)))) {
      appLogins.refusePatient(consent, request.ip);
      return page(reply, 403, 'Patient non autorisé', `<p role="alert" data-refusal="${PATIENT_NOT_FOLLOWED_CODE}">${escapeHtml(PATIENT_NOT_FOLLOWED)}</p>`);
    }
    return reply.redirect(appLogins.decide(consent, true, issuerOf(request), request.ip, chosen), 303);
  });
}

/** The node's refusal of a patient the user may not open, and as the page says it (src-renderer/i18n/fr.ts has the same words). */
const PATIENT_NOT_FOLLOWED_CODE: RefusalCode = 'launch-patient-not-followed';
const PATIENT_NOT_FOLLOWED = 'Ce patient ne fait pas partie de ceux dont vous pouvez ouvrir le dossier : l’application n’a pas été autorisée. Revenez à l’application et recommencez.';

function fhirBaseOf(request: FastifyRequest): string {
  return `${issuerOf(request)}/fhir`;
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

interface Picker {
  query: PatientQuery;
  choices: PatientChoice[];
  error?: string;
}

function consentPageOf(reply: FastifyReply, status: number, consent: Consent, sealed: string, displayName: string, picker?: Picker) {
  const lines = scopeSentences(consent.scopes).map((line) => `<li>${escapeHtml(line)}</li>`).join('');
  // Without a patient to choose, the form has nothing to check; with one, searching and refusing skip the check.
  const skipCheck = picker ? ' formnovalidate' : '';
  return page(
    reply,
    status,
    'Autoriser l’application',
    `<p>Vous êtes connecté(e) : ${escapeHtml(displayName)}.</p>
<p>L’application <strong>${escapeHtml(consent.appName)}</strong> demande à agir en votre nom, dans la limite de ce que vous pouvez faire vous-même${picker ? ', pour <strong>un seul patient</strong>, que vous choisissez ci-dessous' : ''} :</p>
<ul>${lines}</ul>
${consent.oidcScopes.includes('openid') ? '<p>Elle connaîtra aussi votre identité : nom, identifiant national (RPPS), profession et cabinet.</p>' : ''}
<form method="post" action="/authorize/consent">
<input type="hidden" name="consent" value="${escapeHtml(sealed)}">
${picker ? pickerHtml(picker) : ''}
<button type="submit" name="decision" value="allow">Autoriser</button>
<button type="submit" name="decision" value="deny"${skipCheck}>Refuser</button>
</form>`,
  );
}

/**
 * The patient picker: a search by name and birth date (its button first, so that Enter in a field searches), then the
 * matching patients as radio buttons, by name and birth date (never their id).
 */
function pickerHtml({ query, choices, error }: Picker): string {
  const options = choices
    .map((choice) => `<label><input type="radio" name="patient" value="${escapeHtml(choice.id)}" required> ${escapeHtml(choice.name)}${choice.birthDate ? `, ${BORN[choice.gender ?? ''] ?? 'né(e)'} le ${frenchDate(choice.birthDate)}` : ''}</label>`)
    .join('\n');
  const searched = query.name || query.birthDate;
  return `<fieldset>
<legend>Patient</legend>
<label>Nom ou prénom <input name="name" value="${escapeHtml(query.name ?? '')}" autocomplete="off"></label>
<label>Date de naissance <input name="birthdate" type="date" value="${escapeHtml(query.birthDate ?? '')}"></label>
<button type="submit" name="decision" value="search" formnovalidate>Rechercher</button>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<fieldset>
<legend>${searched ? 'Patients trouvés' : 'Vos patients'}</legend>
${options || `<p>${searched ? 'Aucun de vos patients ne correspond à cette recherche.' : 'Vous ne suivez aucun patient.'}</p>`}
${choices.length >= LISTED_PATIENTS ? `<p>Seuls ${LISTED_PATIENTS} patients sont affichés : précisez le nom ou la date de naissance.</p>` : ''}
</fieldset>
</fieldset>`;
}

const BORN: Record<string, string> = { female: 'née', male: 'né' };

/** 1961-03-12 → 12/03/1961 (as src-renderer/format.ts): a birth date is a day, read as written (no time zone). */
function frenchDate(date: string): string {
  const [year, month, day] = date.slice(0, 10).split('-');
  if (!month) return year;
  return day ? `${day}/${month}/${year}` : `${month}/${year}`;
}
