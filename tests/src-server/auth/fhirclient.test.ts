import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCall } from '../../helpers/app-login';
import { collectProblems, launchChromium } from '../../helpers/chromium';
import { startTestNode, type TestNode } from '../../helpers/node';

/**
 * SMART's reference JavaScript client, `fhirclient` (its browser bundle, as a SMART app ships it), performs a
 * standalone launch against the node in Chromium (docs/login.md "Apps"): a small app of the test's own, served on a
 * loopback address registered as a public app, calls `FHIR.oauth2.authorize` with `launch/patient`; Claire logs in on
 * the node's page and picks the patient; `FHIR.oauth2.ready()` then gives a client whose patient is the one she
 * picked, which reads that patient and their data, and nothing of another patient. Screenshots in
 * test-results/smart-launch/.
 */

type Json = Record<string, any>;

const ROOT = join(import.meta.dirname, '../../..');
const SCREENSHOTS = join(ROOT, 'test-results/smart-launch');
const CLAIRE = { login: 'c.martin', password: 'la mer est calme ce matin' };
const BUNDLE = readFileSync(join(ROOT, 'node_modules/fhirclient/build/fhir-client.min.js'));

let node: TestNode;
let site: Server;
let origin: string;
let browser: Browser | undefined;

/** The app's pages: the launch page (it calls authorize) and its redirect URI (it calls ready, then reads). */
function appPages(): Server {
  const page = (script: string) => `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Carnet</title><script src="/fhir-client.js"></script></head>
<body><pre id="result">…</pre><script>${script}</script></body></html>`;
  const launch = `const params = new URLSearchParams(location.search);
FHIR.oauth2.authorize({ iss: params.get('iss'), clientId: params.get('client'), scope: 'launch/patient openid fhirUser patient/*.read', redirectUri: location.origin + '/app.html', pkceMode: 'required' });`;
  // What the app learns, for the test to read: the patient it was given, what it reads, and what it may not.
  const app = `FHIR.oauth2.ready().then(async (client) => {
  const refused = (promise) => promise.then((answer) => ({ answered: answer }), (error) => ({ status: error.status }));
  const patient = await client.patient.read();
  const observations = await client.request('Observation?patient=' + client.patient.id, { flat: true });
  const patients = await client.request('Patient', { flat: true });
  const other = await refused(client.request('Patient/sibling'));
  const otherObservations = await client.request('Observation?patient=sibling', { flat: true });
  const everything = await refused(client.request('Patient/sibling/$everything'));
  document.getElementById('result').textContent = JSON.stringify({
    patientId: client.patient.id, patient, observations: observations.map((o) => o.id), patients: patients.map((p) => p.id),
    other, otherObservations, everything, scope: client.state.tokenResponse.scope,
  });
}, (error) => { document.getElementById('result').textContent = JSON.stringify({ error: String(error) }); });`;
  return createServer((request, response) => {
    const path = new URL(request.url!, 'http://app').pathname;
    if (path === '/fhir-client.js') return response.writeHead(200, { 'content-type': 'text/javascript' }).end(BUNDLE);
    if (path === '/launch.html') return response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(launch));
    if (path === '/app.html') return response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(app));
    response.writeHead(404).end();
  });
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  site = appPages();
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  // A browser app calls the node from its own origin: the practice allows it (--cors-origin), as for any web app.
  node = await startTestNode({ corsOrigins: [origin] });
  const put = async (resource: Json) => {
    if (resource.resourceType === 'Practitioner') node.repository.update(resource.resourceType, resource.id, resource);
    else expect((await node.request(`${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource })).status).toBeLessThan(300);
  };
  await put({ resourceType: 'Practitioner', id: 'claire', name: [{ family: 'Martin', given: ['Claire'] }] });
  await put({ resourceType: 'Patient', id: 'chosen', name: [{ family: 'Dupont', given: ['Marie'] }], gender: 'female', birthDate: '1961-03-12', generalPractitioner: [{ reference: 'Practitioner/claire' }] });
  await put({ resourceType: 'Patient', id: 'sibling', name: [{ family: 'Lambert', given: ['Paul'] }], gender: 'male', birthDate: '1975-07-01', generalPractitioner: [{ reference: 'Practitioner/claire' }] });
  await put({ resourceType: 'Patient', id: 'neighbour', name: [{ family: 'Dupuis', given: ['Anne'] }], gender: 'female', birthDate: '1990-11-23', generalPractitioner: [{ reference: 'Practitioner/claire' }] });
  const glucose = { coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'Glucose' }] };
  await put({ resourceType: 'Observation', id: 'obs-chosen', status: 'final', code: glucose, subject: { reference: 'Patient/chosen' } });
  await put({ resourceType: 'Observation', id: 'obs-sibling', status: 'final', code: glucose, subject: { reference: 'Patient/sibling' } });
  const user = { login: CLAIRE.login, displayName: 'Dr Claire Martin', roles: ['practitioner'], organizations: [], practitionerId: 'claire', password: CLAIRE.password };
  expect((await adminCall(node, 'users', { method: 'POST', json: user })).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await node?.stop();
  await new Promise((resolve) => site?.close(resolve));
});

describe('fhirclient (SMART’s JavaScript client) in Chromium', () => {
  it('launches standalone with launch/patient: Claire picks the patient, the client reads that patient and nothing of another', async () => {
    const scopes = ['PATIENT_READ', 'PATIENT_SEARCH', 'OBSERVATION_READ', 'OBSERVATION_SEARCH'];
    const app = (await adminCall(node, 'apps', { method: 'POST', json: { name: 'Carnet de suivi', redirectUris: ['http://127.0.0.1/app.html'], public: true, scopes, rateLimit: 1000 } })).body as { client_id: string };
    browser = await launchChromium();
    const page = await browser.newPage({ locale: 'fr-FR' });
    page.setDefaultTimeout(15_000);
    const problems: string[] = [];
    collectProblems(page, problems);

    await page.goto(`${origin}/launch.html?iss=${encodeURIComponent(node.fhir)}&client=${app.client_id}`);
    await page.getByLabel('Identifiant').fill(CLAIRE.login);
    await page.getByLabel('Mot de passe').fill(CLAIRE.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.getByRole('heading', { name: 'Autoriser l’application' }).waitFor();
    expect(await page.textContent('body')).toContain('LAMBERT Paul, né le 01/07/1975');
    await page.screenshot({ path: join(SCREENSHOTS, '1-consent-patients.png'), fullPage: true });
    // She looks for the patient by name (Enter in the field searches), and picks her.
    await page.getByLabel('Nom ou prénom').fill('dup');
    await page.getByLabel('Nom ou prénom').press('Enter');
    await page.getByRole('group', { name: 'Patients trouvés' }).waitFor();
    const found = (await page.getByRole('group', { name: 'Patients trouvés' }).textContent())!;
    expect(found).toContain('DUPONT Marie, née le 12/03/1961');
    expect(found).toContain('DUPUIS Anne, née le 23/11/1990');
    expect(found).not.toContain('LAMBERT');
    await page.getByLabel('DUPONT Marie, née le 12/03/1961').check();
    await page.screenshot({ path: join(SCREENSHOTS, '2-consent-patient-chosen.png'), fullPage: true });
    await page.getByRole('button', { name: 'Autoriser' }).click();

    await page.waitForURL(`${origin}/app.html**`);
    await expect.poll(() => page.textContent('#result'), { timeout: 15_000 }).not.toBe('…');
    const result = JSON.parse((await page.textContent('#result'))!) as Json;
    expect(result.error).toBeUndefined();
    expect(result.patientId).toBe('chosen');
    expect(result.patient).toMatchObject({ resourceType: 'Patient', id: 'chosen', birthDate: '1961-03-12' });
    expect(result.observations).toEqual(['obs-chosen']);
    // Of Claire's three patients, the app sees the one she chose.
    expect(result.patients).toEqual(['chosen']);
    expect(result.other).toEqual({ status: 404 });
    expect(result.otherObservations).toEqual([]);
    expect(result.everything).toEqual({ status: 404 });
    expect(result.scope.split(' ').sort()).toEqual(['OBSERVATION_READ', 'OBSERVATION_SEARCH', 'PATIENT_READ', 'PATIENT_SEARCH']);
    expect(problems).toEqual([]);
  }, 90_000);
});
