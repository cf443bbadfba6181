import { createHash, randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminCall, auditCount as countAudited, AuthorizeBrowser, hidden } from '../../helpers/app-login';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { Endpoint } from '../../helpers/webhook-endpoint';

/**
 * SMART standalone launch with `launch/patient` (docs/login.md "Apps", docs/access.md "Tokens of apps"): the user picks
 * one of their patients on the consent page, the token answer carries `patient`, and the grant then sees that
 * patient's compartment only, on every path the access rule covers. Each attack is checked against a token of the
 * same app and user without a launch, which does reach the data: the confinement is what keeps it out.
 */

type Json = Record<string, any>;

const node = useTestNode();
const CLAIRE = { login: 'c.martin', password: 'la mer est calme ce matin' };
const REDIRECT = 'http://127.0.0.1:45123/callback';
const LAUNCH = 'launch/patient openid fhirUser patient/*.read patient/Observation.write';
let carnet: { client_id: string };

const admin = (path: string, init: { method?: string; json?: unknown } = {}) => adminCall(node(), path, init);
const auditCount = (event: string) => countAudited(node(), event);

/** Claire logged in, on the consent page of an authorization request of Carnet's (a public app). */
async function consentPage(scope: string): Promise<{ browser: AuthorizeBrowser; consent: string; html: string; verifier: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${node().url}/authorize`);
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  for (const [name, value] of Object.entries({ response_type: 'code', client_id: carnet.client_id, redirect_uri: REDIRECT, scope, state: 'st', code_challenge: challenge, code_challenge_method: 'S256' })) url.searchParams.set(name, value);
  const browser = new AuthorizeBrowser(node().url);
  const { consent, step } = await browser.logIn(url.href, CLAIRE.login, CLAIRE.password);
  expect(consent, step.html).toBeDefined();
  return { browser, consent: consent!, html: step.html, verifier };
}

async function exchange(code: string, verifier: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${node().url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: carnet.client_id, code_verifier: verifier }) });
  return { status: response.status, body: (await response.json()) as Json };
}

/** The tokens of Carnet for Claire: with a launch, confined to `patient`; without (`user/` scopes), her whole reach. */
async function tokensFor(patient?: string, scope = patient ? LAUNCH : 'openid user/*.read user/Observation.write'): Promise<Json> {
  const { browser, consent, verifier } = await consentPage(scope);
  const answered = await browser.post('/authorize/consent', { consent, decision: 'allow', ...(patient ? { patient } : {}) });
  expect(answered.status, answered.html).toBe(303);
  const tokens = await exchange(new URL(answered.location!).searchParams.get('code')!, verifier);
  expect(tokens.status).toBe(200);
  return tokens.body;
}

const as = (token: string, path: string, init?: { method?: string; json?: unknown }) => fhirFetch(node().fhir, token, path, init);
const ids = async (token: string, path: string): Promise<string[]> => {
  const answer = await as(token, path);
  expect(answer.status, path).toBe(200);
  return (((await answer.json()) as Json).entry ?? []).map((entry: Json) => `${entry.resource.resourceType}/${entry.resource.id}`).sort();
};
const count = async (path: string): Promise<number> => (((await (await node().request(`${path}${path.includes('?') ? '&' : '?'}_total=accurate&_count=0`)).json()) as Json).total as number);

let launched: Json;
let unconfined: Json;

beforeAll(async () => {
  const put = async (resource: Json) => {
    if (resource.resourceType === 'Practitioner' || resource.resourceType === 'Organization') node().repository.update(resource.resourceType, resource.id, resource);
    else expect((await node().request(`${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource })).status, JSON.stringify(resource)).toBeLessThan(300);
  };
  await put({ resourceType: 'Practitioner', id: 'claire', name: [{ family: 'Martin', given: ['Claire'] }] });
  await put({ resourceType: 'Practitioner', id: 'other', name: [{ family: 'Autre' }] });
  await put({ resourceType: 'Organization', id: 'lilas', name: 'Cabinet médical des Lilas' });
  // Two of Claire's patients (she picks the first), and another practitioner's.
  await put({ resourceType: 'Patient', id: 'chosen', name: [{ family: 'Dupont', given: ['Marie'] }], gender: 'female', birthDate: '1961-03-12', generalPractitioner: [{ reference: 'Practitioner/claire' }] });
  await put({ resourceType: 'Patient', id: 'sibling', name: [{ family: 'Lambert', given: ['Paul'] }], birthDate: '1975-07-01', generalPractitioner: [{ reference: 'Practitioner/claire' }] });
  await put({ resourceType: 'Patient', id: 'theirs', name: [{ family: 'Durand', given: ['Luc'] }], generalPractitioner: [{ reference: 'Practitioner/other' }] });
  const glucose = { coding: [{ system: 'http://loinc.org', code: '2339-0' }] };
  await put({ resourceType: 'Observation', id: 'obs-chosen', status: 'final', code: glucose, subject: { reference: 'Patient/chosen' } });
  await put({ resourceType: 'Observation', id: 'obs-sibling', status: 'final', code: glucose, subject: { reference: 'Patient/sibling' }, performer: [{ reference: 'Practitioner/claire' }] });
  await put({ resourceType: 'Encounter', id: 'enc-sibling', status: 'finished', subject: { reference: 'Patient/sibling' } });
  // Seen by Claire because they name her, not because of a patient she follows.
  await put({ resourceType: 'DocumentReference', id: 'doc-named', status: 'current', type: { text: 'Courrier' }, author: [{ reference: 'Practitioner/claire' }], indexed: '2026-12-01T10:00:00Z', content: [{ attachment: { url: 'http://x.example/a.pdf' } }] });
  await put({ resourceType: 'DocumentReference', id: 'doc-carried', status: 'current', type: { text: 'Courrier' }, subject: { reference: 'Patient/theirs' }, indexed: '2026-12-01T10:00:00Z', content: [{ attachment: { url: 'http://x.example/b.pdf' } }] });
  await put({ resourceType: 'Communication', id: 'msg', status: 'completed', recipient: [{ reference: 'Practitioner/claire' }], payload: [{ contentReference: { reference: 'DocumentReference/doc-carried' } }] });
  const user = await admin('users', { method: 'POST', json: { login: CLAIRE.login, displayName: 'Dr Claire Martin', roles: ['practitioner'], organizations: ['lilas'], practitionerId: 'claire', password: CLAIRE.password } });
  expect(user.status, JSON.stringify(user.body)).toBe(201);
  const scopes = ['PATIENT_READ', 'PATIENT_SEARCH', 'OBSERVATION_READ', 'OBSERVATION_SEARCH', 'OBSERVATION_CREATE', 'OBSERVATION_UPDATE', 'ENCOUNTER_READ', 'ENCOUNTER_SEARCH', 'DOCUMENTREFERENCE_READ', 'DOCUMENTREFERENCE_SEARCH', 'COMMUNICATION_READ', 'COMMUNICATION_SEARCH', 'SUBSCRIPTION_CREATE', 'SUBSCRIPTION_READ'];
  carnet = (await admin('apps', { method: 'POST', json: { name: 'Carnet de suivi', redirectUris: ['http://127.0.0.1/callback'], public: true, scopes, rateLimit: 1000 } })).body as typeof carnet;
  launched = await tokensFor('chosen');
  unconfined = await tokensFor();
});

describe('the consent page of a launch with launch/patient', () => {
  it('lists Claire’s patients by name and birth date, never another’s, and finds them by name or birth date', async () => {
    const { browser, consent, html } = await consentPage(LAUNCH);
    expect(html).toContain('un seul patient');
    expect(html).toContain('DUPONT Marie, née le 12/03/1961');
    expect(html).toContain('LAMBERT Paul, né(e) le 01/07/1975');
    expect(html).not.toContain('DURAND');
    const byName = await browser.post('/authorize/consent', { consent, decision: 'search', name: 'dup', birthdate: '' });
    expect(byName.status).toBe(200);
    expect(byName.html).toContain('DUPONT Marie');
    expect(byName.html).not.toContain('LAMBERT');
    const byBirth = await browser.post('/authorize/consent', { consent: hidden(byName.html, 'consent'), decision: 'search', name: '', birthdate: '1975-07-01' });
    expect(byBirth.html).toContain('LAMBERT Paul');
    expect(byBirth.html).not.toContain('DUPONT');
    // Another practitioner's patient is not found by name either.
    expect((await browser.post('/authorize/consent', { consent, decision: 'search', name: 'durand' })).html).toContain('Aucun de vos patients');
  });

  it('allowing without a patient asks for one, and issues nothing', async () => {
    const { browser, consent } = await consentPage(LAUNCH);
    const answered = await browser.post('/authorize/consent', { consent, decision: 'allow' });
    expect(answered.status).toBe(400);
    expect(answered.location).toBeUndefined();
    expect(answered.html).toContain('Choisissez le patient');
  });

  it('a forged post naming a patient Claire may not see is refused (launch-patient-not-followed), audited, no code', async () => {
    const before = await auditCount('authorize.refused');
    for (const forged of ['theirs', 'nobody', '../Patient/theirs']) {
      const { browser, consent } = await consentPage(LAUNCH);
      const answered = await browser.post('/authorize/consent', { consent, decision: 'allow', patient: forged });
      expect(answered.status).toBe(403);
      expect(answered.location).toBeUndefined();
      expect(answered.html).toContain('data-refusal="launch-patient-not-followed"');
      expect(answered.html).toContain('ne fait pas partie de ceux dont vous pouvez ouvrir le dossier');
    }
    expect(await auditCount('authorize.refused')).toBe(before + 3);
  });
});

describe('SMART’s aud', () => {
  it('must name this node’s FHIR base: another server’s is invalid_request, nothing asked of the user', async () => {
    const url = (aud: string) => `${node().url}/authorize?${new URLSearchParams({ response_type: 'code', client_id: carnet.client_id, redirect_uri: REDIRECT, scope: LAUNCH, state: 'st', code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', aud })}`;
    const wrong = await new AuthorizeBrowser(node().url).get(url('https://ehr.example/fhir'));
    expect(new URL(wrong.location!).searchParams.get('error')).toBe('invalid_request');
    for (const aud of [node().fhir, `${node().fhir}/`, `${node().fhir}/v3`]) expect((await new AuthorizeBrowser(node().url).get(url(aud))).status, aud).toBe(200);
  });
});

describe('a launch/patient token', () => {
  it('carries the patient chosen in the token answer, and maps patient/ scopes onto the node’s', () => {
    expect(launched.patient).toBe('chosen');
    expect(launched.scope.split(' ').sort()).toEqual(['COMMUNICATION_READ', 'COMMUNICATION_SEARCH', 'DOCUMENTREFERENCE_READ', 'DOCUMENTREFERENCE_SEARCH', 'ENCOUNTER_READ', 'ENCOUNTER_SEARCH', 'OBSERVATION_CREATE', 'OBSERVATION_READ', 'OBSERVATION_SEARCH', 'OBSERVATION_UPDATE', 'PATIENT_READ', 'PATIENT_SEARCH', 'SUBSCRIPTION_READ']);
    expect(unconfined.patient).toBeUndefined();
  });

  it('reads the patient chosen and their data', async () => {
    expect((await as(launched.access_token, 'Patient/chosen')).status).toBe(200);
    expect(await ids(launched.access_token, 'Observation?subject=Patient/chosen')).toEqual(['Observation/obs-chosen']);
  });

  it('reads no other patient, nor their data', async () => {
    for (const path of ['Patient/sibling', 'Observation/obs-sibling', 'Encounter/enc-sibling', 'Patient/theirs']) {
      expect((await as(unconfined.access_token, path)).status, path).toBe(path === 'Patient/theirs' ? 404 : 200);
      expect((await as(launched.access_token, path)).status, path).toBe(404);
    }
  });

  it('sees nothing by being named: a document naming Claire, a message to her and what it carries', async () => {
    for (const path of ['DocumentReference/doc-named', 'Communication/msg', 'DocumentReference/doc-carried']) {
      expect((await as(unconfined.access_token, path)).status, path).toBe(200);
      expect((await as(launched.access_token, path)).status, path).toBe(404);
    }
    expect(await ids(launched.access_token, 'DocumentReference')).toEqual([]);
    expect(await ids(launched.access_token, 'Communication')).toEqual([]);
    expect(await ids(launched.access_token, 'Observation?performer=Practitioner/claire')).toEqual([]);
  });

  it.each([
    ['Patient?', 'Patient', ['Patient/chosen', 'Patient/sibling'], ['Patient/chosen']],
    ['Patient? by name', 'Patient?family=Lambert', ['Patient/sibling'], []],
    ['_include', 'Observation?_include=Observation:subject', ['Observation/obs-chosen', 'Observation/obs-sibling', 'Patient/chosen', 'Patient/sibling'], ['Observation/obs-chosen', 'Patient/chosen']],
    ['_revinclude', 'Patient?_revinclude=Observation:subject', ['Observation/obs-chosen', 'Observation/obs-sibling', 'Patient/chosen', 'Patient/sibling'], ['Observation/obs-chosen', 'Patient/chosen']],
    ['a chain', 'Observation?subject:Patient.family=Lambert', ['Observation/obs-sibling'], []],
    ['_has', 'Patient?_has:Encounter:subject:status=finished', ['Patient/sibling'], []],
    ['a compartment search', 'Patient/sibling/Observation', ['Observation/obs-sibling'], []],
    ['a type history', 'Observation/_history', ['Observation/obs-chosen', 'Observation/obs-sibling'], ['Observation/obs-chosen']],
  ])('%s: nothing of another patient', async (_what, path, seenUnconfined, seenLaunched) => {
    expect(await ids(unconfined.access_token, path)).toEqual(seenUnconfined);
    expect(await ids(launched.access_token, path)).toEqual(seenLaunched);
  });

  it('a name search through the text index, and its default total, count the patient chosen only', async () => {
    await node().textIndex.caughtUp((node().db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq);
    const search = async (token: string, query: string) => (await (await as(token, query)).json()) as Json;
    // The index counts a lone name search's matches itself only for callers who see every one: a launch is not one.
    // `_count=0` asks the total alone (no page to count it from), as a client sizing a list does.
    for (const query of ['Patient?name=lambert', 'Patient?name=paul']) {
      expect((await search(unconfined.access_token, `${query}&_count=0`)).total, query).toBe(1);
      expect((await search(launched.access_token, `${query}&_count=0`)).total, query).toBe(0);
      expect((await search(launched.access_token, query)).entry ?? []).toEqual([]);
    }
    expect((await search(launched.access_token, 'Patient?name=marie&_count=0')).total).toBe(1);
  });

  it('$everything: the patient chosen’s record only; another patient’s is 404', async () => {
    expect((await as(unconfined.access_token, 'Patient/sibling/$everything')).status).toBe(200);
    expect((await as(launched.access_token, 'Patient/sibling/$everything')).status).toBe(404);
    expect(await ids(launched.access_token, 'Patient/chosen/$everything')).toEqual(['Observation/obs-chosen', 'Patient/chosen']);
  });

  it('a Bundle of GETs: each entry under the same limit', async () => {
    const bundle = { resourceType: 'Bundle', type: 'batch', entry: ['Patient/sibling', 'Observation?subject=Patient/sibling', 'DocumentReference/doc-named', 'Patient/chosen'].map((url) => ({ request: { method: 'GET', url } })) };
    const answered = (await (await as(launched.access_token, '', { method: 'POST', json: bundle })).json()) as Json;
    const entries = answered.entry as Json[];
    expect(entries.map((entry) => entry.response.status)).toEqual(['404 Not Found', '200 OK', '404 Not Found', '200 OK']);
    expect(entries[1].resource.entry ?? []).toEqual([]);
    expect(entries[3].resource.id).toBe('chosen');
  });

  it('writes within the patient chosen only: naming another patient is refused and writes nothing', async () => {
    const observation = (patient: string) => ({ resourceType: 'Observation', status: 'preliminary', code: { text: 'Poids' }, subject: { reference: `Patient/${patient}` } });
    const before = await count('Observation');
    expect((await as(launched.access_token, 'Observation', { method: 'POST', json: observation('sibling') })).status).toBe(403);
    expect((await as(launched.access_token, 'Observation', { method: 'POST', json: observation('theirs') })).status).toBe(403);
    // Moving the patient's observation to another patient, or taking over another's.
    expect((await as(launched.access_token, 'Observation/obs-chosen', { method: 'PUT', json: { ...observation('sibling'), id: 'obs-chosen' } })).status).toBe(403);
    expect((await as(launched.access_token, 'Observation/obs-sibling', { method: 'PUT', json: { ...observation('chosen'), id: 'obs-sibling' } })).status).toBe(403);
    // A transaction with one entry out of bounds writes none of them.
    const transaction = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: ['chosen', 'sibling'].map((patient) => ({ fullUrl: `urn:uuid:${randomBytes(16).toString('hex').replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5')}`, resource: observation(patient), request: { method: 'POST', url: 'Observation' } })),
    };
    expect((await as(launched.access_token, '', { method: 'POST', json: transaction })).status).toBe(403);
    expect(await count('Observation')).toBe(before);
    expect(((await (await node().request('Observation/obs-chosen')).json()) as Json).subject.reference).toBe('Patient/chosen');
    expect(((await (await node().request('Observation/obs-sibling')).json()) as Json).subject.reference).toBe('Patient/sibling');
    // The scopes it was granted, for the patient chosen.
    expect((await as(launched.access_token, 'Observation', { method: 'POST', json: observation('chosen') })).status).toBe(201);
    expect(await count('Observation')).toBe(before + 1);
  });

  it('a Subscription it creates is notified of the patient chosen’s data only', async () => {
    const receiver = await new Endpoint().listen();
    try {
      const tokens = await tokensFor('chosen', 'launch/patient patient/Observation.rs patient/Subscription.cr');
      const channel = { type: 'rest-hook', endpoint: receiver.url, payload: 'application/fhir+json' };
      const created = await as(tokens.access_token, 'Subscription', { method: 'POST', json: { resourceType: 'Subscription', status: 'requested', reason: 'Suivi', criteria: 'Observation?status=amended', channel } });
      expect(created.status).toBe(201);
      // Another patient's first: had the subscription Claire's whole reach, it would be the first notification.
      for (const patient of ['sibling', 'chosen']) {
        const written = await node().request('Observation', { method: 'POST', json: { resourceType: 'Observation', status: 'amended', code: { text: 'Tension' }, subject: { reference: `Patient/${patient}` } } });
        expect(written.status).toBe(201);
      }
      const [notification] = await receiver.waitFor(1);
      expect(JSON.parse(notification.body.toString()).subject.reference).toBe('Patient/chosen');
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('a refresh keeps the patient and the limit', async () => {
    const tokens = await tokensFor('chosen');
    const response = await fetch(`${node().url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: carnet.client_id }) });
    const refreshed = (await response.json()) as Json;
    expect(response.status).toBe(200);
    expect(refreshed.patient).toBe('chosen');
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect((await as(refreshed.access_token, 'Patient/chosen')).status).toBe(200);
    expect((await as(refreshed.access_token, 'Patient/sibling')).status).toBe(404);
    expect(await ids(refreshed.access_token, 'Patient')).toEqual(['Patient/chosen']);
  });
});
