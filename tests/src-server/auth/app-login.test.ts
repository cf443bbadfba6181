import { compactVerify, createLocalJWKSet, decodeProtectedHeader, type JWK } from 'jose';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CODE_MS } from '../../../src-server/auth/app-login';
import { adminCall, auditCount as countAudited, AuthorizeBrowser } from '../../helpers/app-login';
import { runCli } from '../../helpers/child-node';
import { collectProblems, launchChromium } from '../../helpers/chromium';
import { fhirFetch, useTestNode } from '../../helpers/node';

/**
 * Apps log their users in through the node (auth/app-login.ts, docs/login.md "Apps"), tested as a partner's app would
 * be: built with openid-client (discovery, PKCE, the ID token checked against the JWKS), the login and consent pages
 * driven in Chromium, then its token reads that user's patients only, with only what the user allowed. Every
 * refusal is the OAuth error the RFCs name, issues nothing, and is audited.
 */

type Json = Record<string, any>;

const node = useTestNode();
const CLAIRE = { login: 'c.martin', password: 'la mer est calme ce matin' };
const REDIRECT = 'http://127.0.0.1:45123/callback';
let claireId: string;
let tele: { client_id: string; client_secret: string };
let labo: { client_id: string };
let browser: Browser | undefined;

const admin = (path: string, init: { method?: string; json?: unknown } = {}) => adminCall(node(), path, init);
const auditCount = (event: string) => countAudited(node(), event);

/** openid-client's view of the node, for an app (confidential with its secret, public without). */
function discover(clientId: string, secret?: string): Promise<client.Configuration> {
  return client.discovery(new URL(node().url), clientId, secret, secret ? undefined : client.None(), { execute: [client.allowInsecureRequests] });
}

interface Started {
  config: client.Configuration;
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

async function start(clientId: string, secret: string | undefined, scope: string, extra: Record<string, string> = {}): Promise<Started> {
  const config = await discover(clientId, secret);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce, ...extra });
  return { config, url, verifier, state, nonce };
}

/** The whole flow over HTTP: the app's tokens for Claire (Téléexpertise, confidential, unless said otherwise). */
async function tokensFor(scope = 'openid PATIENT_READ PATIENT_SEARCH'): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
  const started = await start(tele.client_id, tele.client_secret, scope);
  const back = await new AuthorizeBrowser(node().url).authorize(started.url.href, CLAIRE.login, CLAIRE.password);
  return client.authorizationCodeGrant(started.config, back, { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce });
}

/** A code for Claire, and what the app needs to exchange it by hand. */
async function codeFor(clientId = tele.client_id, secret: string | undefined = tele.client_secret): Promise<{ code: string; verifier: string }> {
  const started = await start(clientId, secret, 'openid PATIENT_READ');
  const back = await new AuthorizeBrowser(node().url).authorize(started.url.href, CLAIRE.login, CLAIRE.password);
  return { code: back.searchParams.get('code')!, verifier: started.verifier };
}

/** `POST /oauth/token` by hand, so that a refusal's exact answer is seen. */
async function token(form: Record<string, string>): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${node().url}/oauth/token`, { method: 'POST', body: new URLSearchParams(form) });
  return { status: response.status, body: (await response.json()) as Json };
}

const exchange = (code: string, verifier: string | undefined, extra: Record<string, string> = {}) =>
  token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: tele.client_id, client_secret: tele.client_secret, ...(verifier ? { code_verifier: verifier } : {}), ...extra });

const read = (accessToken: string, path: string) => fhirFetch(node().fhir, accessToken, path);

beforeAll(async () => {
  // The directory's types are written by its imports only, as here; the practice's records through the API.
  const put = async (resource: Json) => {
    if (resource.resourceType === 'Practitioner' || resource.resourceType === 'Organization') node().repository.update(resource.resourceType, resource.id, resource);
    else expect([200, 201]).toContain((await node().request(`${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource })).status);
  };
  await put({
    resourceType: 'Practitioner',
    id: 'claire',
    identifier: [
      { system: 'https://rpps.esante.gouv.fr', value: '10001234567' },
      { system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810001234567' },
    ],
    name: [{ family: 'Martin', given: ['Claire'] }],
    qualification: [{ code: { coding: [{ system: 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante', code: '10', display: 'Médecin' }] } }],
  });
  await put({ resourceType: 'Practitioner', id: 'other', name: [{ family: 'Autre' }] });
  await put({
    resourceType: 'Organization',
    id: 'lilas',
    name: 'Cabinet médical des Lilas',
    identifier: [
      { system: 'https://finess.esante.gouv.fr', value: '750000001' },
      { system: 'https://sirene.fr', value: '12345678900011' },
    ],
  });
  await put({ resourceType: 'Patient', id: 'hers', name: [{ family: 'Dupont' }], generalPractitioner: [{ reference: 'Practitioner/claire' }] });
  await put({ resourceType: 'Patient', id: 'theirs', name: [{ family: 'Durand' }], generalPractitioner: [{ reference: 'Practitioner/other' }] });
  await put({ resourceType: 'DocumentReference', id: 'her-doc', status: 'current', type: { text: 'Courrier' }, subject: { reference: 'Patient/hers' }, indexed: '2026-12-01T10:00:00Z', content: [{ attachment: { url: 'http://x.example/doc.pdf' } }] });
  // An admin: an app acting for her still never manages the node.
  const user = await admin('users', { method: 'POST', json: { login: CLAIRE.login, displayName: 'Dr Claire Martin', roles: ['practitioner', 'admin'], organizations: ['lilas'], practitionerId: 'claire', password: CLAIRE.password } });
  expect(user.status, JSON.stringify(user.body)).toBe(201);
  claireId = user.body.user.id;
  const scopes = ['PATIENT_READ', 'PATIENT_SEARCH', 'DOCUMENTREFERENCE_READ', 'DOCUMENTREFERENCE_SEARCH'];
  // Rates well above what these tests send in a second (rate limits have tests of their own).
  tele = (await admin('apps', { method: 'POST', json: { name: 'Téléexpertise', redirectUris: ['http://127.0.0.1/callback'], public: false, scopes, rateLimit: 1000 } })).body as typeof tele;
  labo = (await admin('apps', { method: 'POST', json: { name: 'Labo', redirectUris: ['http://127.0.0.1/callback'], public: true, scopes, rateLimit: 1000 } })).body as typeof labo;
});

afterAll(async () => {
  await browser?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('an app built with openid-client', () => {
  it('logs Claire in through the node in Chromium, reads her identity from a verified ID token, and reads only her patients with what she allowed', async () => {
    browser = await launchChromium();
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    collectProblems(page, problems);
    const started = await start(tele.client_id, tele.client_secret, 'openid profile PATIENT_READ PATIENT_SEARCH');
    // The app's own redirect URI: its loopback listener, here the test catching the navigation.
    let landed: string | undefined;
    await page.route(`${REDIRECT}**`, (route) => {
      landed = route.request().url();
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'app' });
    });
    await page.goto(started.url.href);
    await expect.poll(() => page.textContent('body')).toContain('Téléexpertise');
    await page.getByLabel('Identifiant').fill(CLAIRE.login);
    await page.getByLabel('Mot de passe').fill(CLAIRE.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.getByRole('heading', { name: 'Autoriser l’application' }).waitFor();
    const consent = (await page.textContent('body'))!;
    expect(consent).toContain('Dr Claire Martin');
    expect(consent).toContain('Lire les dossiers de vos patients');
    expect(consent).toContain('Rechercher les dossiers de vos patients');
    // What she did not get asked for is not shown, and no code of the node reaches the page.
    expect(consent).not.toContain('documents');
    expect(consent).not.toMatch(/PATIENT_|_READ|_SEARCH/);
    await page.getByRole('button', { name: 'Autoriser' }).click();
    await expect.poll(() => landed).toBeDefined();
    expect(problems).toEqual([]);

    const tokens = await client.authorizationCodeGrant(started.config, new URL(landed!), { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce });
    // openid-client checked the ID token's signature against /oauth/jwks, its iss, aud, exp and nonce.
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({
      iss: node().url,
      sub: claireId,
      aud: tele.client_id,
      nonce: started.nonce,
      name: 'Dr Claire Martin',
      given_name: 'Claire',
      family_name: 'Martin',
      SubjectNameID: '810001234567',
      SubjectRole: ['10^1.2.250.1.213.1.1.5.5'],
      rpps: '10001234567',
      profession: { code: '10', display: 'Médecin' },
      practices: [{ id: 'lilas', name: 'Cabinet médical des Lilas', finess: '750000001', siret: '12345678900011' }],
    });
    expect(tokens.scope).toBe('PATIENT_READ PATIENT_SEARCH');

    // Her patients only (her reach), with the scopes she allowed.
    const search = await read(tokens.access_token, 'Patient');
    expect(search.status).toBe(200);
    expect(((await search.json()) as Json).entry.map((entry: Json) => entry.resource.id)).toEqual(['hers']);
    expect((await read(tokens.access_token, 'Patient/hers')).status).toBe(200);
    expect((await read(tokens.access_token, 'Patient/theirs')).status).toBe(404);
    // The app may ask for documents, but she was not asked: refused, naming the scope.
    const documents = await read(tokens.access_token, 'DocumentReference/her-doc');
    expect(documents.status).toBe(403);
    expect(await documents.text()).toContain('DOCUMENTREFERENCE_READ');
    const write = await fhirFetch(node().fhir, tokens.access_token, 'Patient', { method: 'POST', json: { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/claire' }] } });
    expect(write.status).toBe(403);
    // Her admin role is hers, not the app's; nor may it act on her account.
    expect((await fetch(`${node().url}/admin/users`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(403);
    expect((await fetch(`${node().url}/auth/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(400);
    // Its calls are counted for the app and user pair, at the app's rate.
    expect(search.headers.get('ratelimit-limit')).toBe('1000');

    // The refresh token rotates.
    const refreshed = await client.refreshTokenGrant(started.config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await read(refreshed.access_token, 'Patient/hers')).status).toBe(200);
  });

  it('a public app proves itself by PKCE alone, and asks for documents too', async () => {
    const started = await start(labo.client_id, undefined, 'openid DOCUMENTREFERENCE_READ');
    const back = await new AuthorizeBrowser(node().url).authorize(started.url.href, CLAIRE.login, CLAIRE.password);
    const tokens = await client.authorizationCodeGrant(started.config, back, { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce });
    expect((await read(tokens.access_token, 'DocumentReference/her-doc')).status).toBe(200);
    expect((await read(tokens.access_token, 'Patient/hers')).status).toBe(403);
  });

  it('discovery names the node as issuer, S256 and ES256', async () => {
    const document = (await (await fetch(`${node().url}/.well-known/openid-configuration`)).json()) as Json;
    expect(document).toMatchObject({ issuer: node().url, authorization_endpoint: `${node().url}/authorize`, token_endpoint: `${node().url}/oauth/token`, jwks_uri: `${node().url}/oauth/jwks`, code_challenge_methods_supported: ['S256'], id_token_signing_alg_values_supported: ['ES256'] });
    const jwks = (await (await fetch(document.jwks_uri)).json()) as Json;
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: 'EC', crv: 'P-256', use: 'sig', alg: 'ES256', kid: expect.any(String) })]);
    expect(JSON.stringify(jwks)).not.toContain('"d"');
  });
});

describe('SMART App Launch (standalone, user/ scopes)', () => {
  it('is discovered beside the FHIR base, without a token', async () => {
    const answer = await fetch(`${node().fhir}/.well-known/smart-configuration`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({
      authorization_endpoint: `${node().url}/authorize`,
      token_endpoint: `${node().url}/oauth/token`,
      code_challenge_methods_supported: ['S256'],
      capabilities: expect.arrayContaining(['launch-standalone', 'context-standalone-patient', 'client-public', 'permission-user', 'permission-patient', 'permission-v1', 'permission-v2', 'sso-openid-connect']),
    });
  });

  it.each([
    ['v1', 'openid fhirUser user/Patient.read'],
    ['v2', 'openid fhirUser user/Patient.rs'],
  ])('maps %s scopes onto the node’s: the app reads and searches her patients, nothing else', async (_version, scope) => {
    const tokens = await tokensFor(scope);
    expect(tokens.scope).toBe('PATIENT_READ PATIENT_SEARCH');
    expect(tokens.claims()!.fhirUser).toBe(`${node().fhir}/Practitioner/claire`);
    expect((await read(tokens.access_token, 'Patient?_count=5')).status).toBe(200);
    expect((await read(tokens.access_token, 'DocumentReference/her-doc')).status).toBe(403);
  });

  it('grants user/*.read as far as the app may ask, and drops what the node never does (delete)', async () => {
    expect((await tokensFor('openid user/*.read')).scope).toBe('PATIENT_READ PATIENT_SEARCH DOCUMENTREFERENCE_READ DOCUMENTREFERENCE_SEARCH');
    expect((await tokensFor('openid user/Patient.crud')).scope).toBe('PATIENT_READ');
  });

  // An EHR launch (`launch`: a context an EHR hands over) and backend scopes are not offered; launch/patient is
  // (smart-launch.test.ts).
  it.each(['launch', 'launch/encounter', 'system/Patient.read', 'user/Nothing.read', 'user/Appointment.write'])('refuses %s: invalid_scope', async (scope) => {
    const started = await start(tele.client_id, tele.client_secret, `openid ${scope}`);
    const answer = await new AuthorizeBrowser(node().url).get(started.url.href);
    expect(new URL(answer.location!).searchParams.get('error')).toBe('invalid_scope');
  });
});

describe("the user's authorized apps", () => {
  /** A session in the UI (a local account's login, as the UI makes it): Claire's unless told. */
  async function uiToken(who: { login: string; password: string } = CLAIRE): Promise<string> {
    const verifier = client.randomPKCECodeVerifier();
    const handed = await fetch(`${node().url}/auth/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...who, code_challenge: await client.calculatePKCECodeChallenge(verifier) }),
    });
    const { code } = (await handed.json()) as Json;
    return (await token({ grant_type: 'authorization_code', client_id: 'liaison-ui', code, code_verifier: verifier })).body.access_token;
  }

  it("a colleague neither sees nor takes back the apps she allowed", async () => {
    const tokens = await tokensFor();
    const colleague = { login: 'l.durand', password: 'une phrase du collègue' };
    expect((await admin('users', { method: 'POST', json: { ...colleague, displayName: 'Dr Lise Durand', roles: ['practitioner'], organizations: [] } })).status).toBe(201);
    const theirs = await uiToken(colleague);
    const asColleague = (init: RequestInit = {}, path = '') => fetch(`${node().url}/auth/me/apps${path}`, { ...init, headers: { authorization: `Bearer ${theirs}` } });
    expect(((await (await asColleague()).json()) as Json).apps).toEqual([]);
    expect((await asColleague({ method: 'DELETE' }, `/${tele.client_id}`)).status).toBe(404);
    expect((await read(tokens.access_token, 'Patient/hers')).status).toBe(200);
  });

  it('lists the apps she allowed, and taking one back stops its tokens at once', async () => {
    const tokens = await tokensFor();
    const session = await uiToken();
    const mine = (init: RequestInit = {}, path = '') => fetch(`${node().url}/auth/me/apps${path}`, { ...init, headers: { authorization: `Bearer ${session}` } });
    const listed = (await (await mine()).json()) as Json;
    expect(listed.apps).toContainEqual({ clientId: tele.client_id, name: 'Téléexpertise', scopes: ['PATIENT_READ', 'PATIENT_SEARCH'], since: expect.any(String) });
    // The app itself may not see nor take back what she allowed.
    expect((await fetch(`${node().url}/auth/me/apps`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(400);
    expect((await read(tokens.access_token, 'Patient/hers')).status).toBe(200);
    const revoked = await mine({ method: 'DELETE' }, `/${tele.client_id}`);
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as Json).apps.map((app: Json) => app.clientId)).not.toContain(tele.client_id);
    expect((await read(tokens.access_token, 'Patient/hers')).status).toBe(401);
    expect((await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: tele.client_id, client_secret: tele.client_secret })).body.error).toBe('invalid_grant');
    expect((await mine({ method: 'DELETE' }, `/${tele.client_id}`)).status).toBe(404);
  });
});

describe('revocation (RFC 7009)', () => {
  const revoke = (form: Record<string, string>) => fetch(`${node().url}/oauth/revoke`, { method: 'POST', body: new URLSearchParams(form) });

  it.each(['access_token', 'refresh_token'] as const)('an app revoking its %s ends the grant: both stop', async (which) => {
    const tokens = await tokensFor();
    expect((await revoke({ token: tokens[which]!, client_id: tele.client_id })).status).toBe(401); // its secret is needed
    expect((await read(tokens.access_token, 'Patient/hers')).status).toBe(200);
    expect((await revoke({ token: tokens[which]!, client_id: labo.client_id })).status).toBe(200); // another app's: left alone
    expect((await read(tokens.access_token, 'Patient/hers')).status).toBe(200);
    expect((await revoke({ token: tokens[which]!, client_id: tele.client_id, client_secret: tele.client_secret })).status).toBe(200);
    expect((await read(tokens.access_token, 'Patient/hers')).status).toBe(401);
    expect((await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: tele.client_id, client_secret: tele.client_secret })).body.error).toBe('invalid_grant');
  });
});

describe('refusals: the OAuth error the RFCs name, nothing issued, audited', () => {
  it('a redirect URI the app did not register is shown on a page, never redirected', async () => {
    const before = await auditCount('authorize.refused');
    const started = await start(tele.client_id, tele.client_secret, 'openid PATIENT_READ');
    const url = new URL(started.url);
    for (const wrong of ['https://evil.example/callback', 'http://127.0.0.1:45123/other', 'http://localhost:45123/callback']) {
      url.searchParams.set('redirect_uri', wrong);
      const answer = await new AuthorizeBrowser(node().url).get(url.href);
      expect(answer.status).toBe(400);
      expect(answer.location).toBeUndefined();
      expect(answer.html).toContain('adresse de retour');
    }
    url.searchParams.set('client_id', 'nobody');
    expect((await new AuthorizeBrowser(node().url).get(url.href)).status).toBe(400);
    expect(await auditCount('authorize.refused')).toBe(before + 4);
  });

  it('a public app without PKCE (or with plain) is sent back invalid_request, with its state', async () => {
    const config = await discover(labo.client_id);
    const withoutPkce: Array<Record<string, string>> = [{}, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }];
    for (const pkce of withoutPkce) {
      const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid PATIENT_READ', state: 'xyz', ...pkce });
      const answer = await new AuthorizeBrowser(node().url).get(url.href);
      expect(answer.status).toBe(302);
      const back = new URL(answer.location!);
      expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('state')).toBe('xyz');
      expect(back.searchParams.get('code')).toBeNull();
    }
  });

  it('a scope the app may not ask for is invalid_scope', async () => {
    const started = await start(tele.client_id, tele.client_secret, 'openid PATIENT_CREATE');
    const answer = await new AuthorizeBrowser(node().url).get(started.url.href);
    expect(new URL(answer.location!).searchParams.get('error')).toBe('invalid_scope');
  });

  it('consent refused: access_denied with the state, no code', async () => {
    const before = await auditCount('authorize.refused');
    const started = await start(tele.client_id, tele.client_secret, 'openid PATIENT_READ');
    const back = await new AuthorizeBrowser(node().url).authorize(started.url.href, CLAIRE.login, CLAIRE.password, 'deny');
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe(started.state);
    expect(back.searchParams.get('code')).toBeNull();
    expect(await auditCount('authorize.refused')).toBe(before + 1);
  });

  it('a wrong password shows the login page again, in French', async () => {
    const started = await start(tele.client_id, tele.client_secret, 'openid PATIENT_READ');
    const { consent, step } = await new AuthorizeBrowser(node().url).logIn(started.url.href, CLAIRE.login, 'pas le bon mot de passe');
    expect(consent).toBeUndefined();
    expect(step.status).toBe(401);
    expect(step.html).toContain('Identifiant ou mot de passe incorrect');
  });

  it('a consent posted from another browser (no cookie) is refused', async () => {
    const started = await start(tele.client_id, tele.client_secret, 'openid PATIENT_READ');
    const { consent } = await new AuthorizeBrowser(node().url).logIn(started.url.href, CLAIRE.login, CLAIRE.password);
    const elsewhere = await new AuthorizeBrowser(node().url).post('/authorize/consent', { consent: consent!, decision: 'allow' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.location).toBeUndefined();
  });

  it('a missing or wrong PKCE verifier is invalid_grant, and uses the code up', async () => {
    const before = await auditCount('token.refused');
    const missing = await codeFor();
    expect(await exchange(missing.code, undefined)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await exchange(missing.code, missing.verifier)).body.error).toBe('invalid_grant');
    const wrong = await codeFor();
    expect(await exchange(wrong.code, client.randomPKCECodeVerifier())).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await auditCount('token.refused')).toBeGreaterThanOrEqual(before + 3);
  });

  it('a code exchanged with another redirect URI, or by another app, is invalid_grant', async () => {
    const first = await codeFor();
    expect((await exchange(first.code, first.verifier, { redirect_uri: 'http://127.0.0.1:45124/callback' })).body.error).toBe('invalid_grant');
    const second = await codeFor();
    const byLabo = await token({ grant_type: 'authorization_code', code: second.code, redirect_uri: REDIRECT, client_id: labo.client_id, code_verifier: second.verifier });
    expect(byLabo).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('a confidential app without its secret is invalid_client', async () => {
    const { code, verifier } = await codeFor();
    const answer = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: tele.client_id, code_verifier: verifier });
    expect(answer).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    // The code is still good for the app that proves itself.
    expect((await exchange(code, verifier)).status).toBe(200);
  });

  it('a replayed code is invalid_grant, and ends the grant the first exchange made', async () => {
    const { code, verifier } = await codeFor();
    const first = await exchange(code, verifier);
    expect(first.status).toBe(200);
    expect((await read(first.body.access_token, 'Patient/hers')).status).toBe(200);
    expect(await exchange(code, verifier)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await read(first.body.access_token, 'Patient/hers')).status).toBe(401);
    expect((await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: tele.client_id, client_secret: tele.client_secret })).body.error).toBe('invalid_grant');
  });

  it('an expired code is invalid_grant', async () => {
    const { code, verifier } = await codeFor();
    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now + CODE_MS + 1000);
    const answer = await exchange(code, verifier);
    vi.restoreAllMocks();
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(answer.body.access_token).toBeUndefined();
  });

  it('a replayed refresh token ends the grant: the newest tokens stop too', async () => {
    const tokens = await tokensFor();
    const refresh = (refreshToken: string) => token({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: tele.client_id, client_secret: tele.client_secret });
    const rotated = await refresh(tokens.refresh_token!);
    expect(rotated.status).toBe(200);
    expect(await refresh(tokens.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await read(rotated.body.access_token, 'Patient/hers')).status).toBe(401);
    expect((await refresh(rotated.body.refresh_token)).body.error).toBe('invalid_grant');
    // Another app's refresh token is not this one's, nor the UI's.
    const other = await tokensFor();
    expect((await token({ grant_type: 'refresh_token', refresh_token: other.refresh_token!, client_id: labo.client_id })).body.error).toBe('invalid_grant');
    expect((await token({ grant_type: 'refresh_token', refresh_token: other.refresh_token!, client_id: 'liaison-ui' })).body.error).toBe('invalid_grant');
  });

  it('a disabled user: their apps’ tokens stop at once, refreshes and new logins are refused', async () => {
    const user = await admin('users', { method: 'POST', json: { login: 'p.bernard', displayName: 'Dr Paul Bernard', roles: ['practitioner'], organizations: [], password: 'une autre phrase secrète' } });
    const started = await start(tele.client_id, tele.client_secret, 'openid PATIENT_SEARCH');
    const back = await new AuthorizeBrowser(node().url).authorize(started.url.href, 'p.bernard', 'une autre phrase secrète');
    const tokens = await client.authorizationCodeGrant(started.config, back, { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce });
    expect((await read(tokens.access_token, 'Patient?_count=1')).status).toBe(200);
    expect((await admin(`users/${user.body.user.id}`, { method: 'PATCH', json: { disabled: true } })).status).toBe(200);
    expect((await read(tokens.access_token, 'Patient?_count=1')).status).toBe(401);
    expect((await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: tele.client_id, client_secret: tele.client_secret })).body.error).toBe('invalid_grant');
    const again = await start(tele.client_id, tele.client_secret, 'openid PATIENT_READ');
    const { consent, step } = await new AuthorizeBrowser(node().url).logIn(again.url.href, 'p.bernard', 'une autre phrase secrète');
    expect(consent).toBeUndefined();
    expect(step.status).toBe(403);
    expect(step.html).toContain('désactivé');
  });

  it('a disabled app: every token it holds stops at once, its refreshes and exchanges are invalid_client, its logins stop at the page', async () => {
    const created = (await admin('apps', { method: 'POST', json: { name: 'Agenda', redirectUris: ['http://127.0.0.1/callback'], public: false, scopes: ['PATIENT_READ'] } })).body as typeof tele;
    const started = await start(created.client_id, created.client_secret, 'openid PATIENT_READ');
    const pending = await start(created.client_id, created.client_secret, 'openid PATIENT_READ');
    const back = await new AuthorizeBrowser(node().url).authorize(started.url.href, CLAIRE.login, CLAIRE.password);
    const waiting = await new AuthorizeBrowser(node().url).authorize(pending.url.href, CLAIRE.login, CLAIRE.password);
    const tokens = await client.authorizationCodeGrant(started.config, back, { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce });
    expect((await read(tokens.access_token, 'Patient/hers')).status).toBe(200);
    expect((await admin(`apps/${created.client_id}/disable`, { method: 'POST' })).body.disabledAt).toEqual(expect.any(String));
    expect((await read(tokens.access_token, 'Patient/hers')).status).toBe(401);
    const refresh = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: created.client_id, client_secret: created.client_secret });
    expect(refresh).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const code = await token({ grant_type: 'authorization_code', code: waiting.searchParams.get('code')!, redirect_uri: REDIRECT, client_id: created.client_id, client_secret: created.client_secret, code_verifier: pending.verifier });
    expect(code).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const page = await new AuthorizeBrowser(node().url).get(started.url.href);
    expect(page.status).toBe(400);
    expect(page.html).toContain('désactivée');
  });
});

describe('the ID-token signing key (auth/signing-key.ts)', () => {
  const jwks = async () => ((await (await fetch(`${node().url}/oauth/jwks`)).json()) as { keys: Json[] }).keys;
  const kidOf = (idToken: string) => decodeProtectedHeader(idToken).kid;

  it('rotates at once by the admin API or `liaison apps rotate-key`: earlier ID tokens still verify, new ones carry the new kid', async () => {
    const before = await tokensFor('openid PATIENT_READ');
    const oldKid = kidOf(before.id_token!);
    expect((await jwks()).map((key) => key.kid)).toEqual([oldKid]);

    // Only an admin rotates it.
    const app = await fetch(`${node().url}/admin/signing-keys/rotate`, { method: 'POST', headers: { authorization: `Bearer ${before.access_token}` } });
    expect(app.status).toBe(403);
    const rotated = await admin('signing-keys/rotate', { method: 'POST' });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(rotated.body.kid).not.toBe(oldKid);
    expect(rotated.body.published).toEqual([rotated.body.kid, oldKid]);

    // The app, fetching the JWKS again, still verifies the ID token it got before; no private half is published.
    const published = await jwks();
    expect(published.map((key) => key.kid)).toEqual([rotated.body.kid, oldKid]);
    expect(JSON.stringify(published)).not.toContain('"d"');
    await compactVerify(before.id_token!, createLocalJWKSet({ keys: published as JWK[] }));

    // openid-client verifies the next one against the JWKS; it names the new key.
    const after = await tokensFor('openid PATIENT_READ');
    expect(kidOf(after.id_token!)).toBe(rotated.body.kid);

    const cli = await runCli(['apps', 'rotate-key', '--data', node().dataDir]);
    expect(cli.code, cli.stderr).toBe(0);
    const third = (await jwks()).map((key) => key.kid);
    expect(third).toHaveLength(3);
    expect(cli.stdout).toContain(third[0]);
    expect(third.slice(1)).toEqual([rotated.body.kid, oldKid]);
    expect(kidOf((await tokensFor('openid PATIENT_READ')).id_token!)).toBe(third[0]);
  });
});
