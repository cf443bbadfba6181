import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type RunningProvider } from '../../../src-server/auth/demo-provider';
import { IDNPS_SYSTEM } from '../../../src-server/auth/practitioner-link';
import { hidden } from '../../helpers/app-login';
import { ScriptedBrowser, type Page } from '../../helpers/browser';
import { startTestNode, type TestNode } from '../../helpers/node';

/**
 * An app's user logs in at the node's identity provider (Pro Santé Connect's shape, a local oidc-provider here)
 * rather than with a local account: the node's own browser login (`/auth/login`'s, auth/login-flow.ts) runs for
 * the app's authorization request and comes back to its consent page, then the app gets its code (app-login.ts).
 */

const RPPS = '10003456789';
const REDIRECT = 'http://127.0.0.1:45125/callback';
let provider: RunningProvider;
let node: TestNode;
let app: { client_id: string };

beforeAll(async () => {
  provider = await startOidcProvider([
    { login: 'psc-doctor', password: 'secret', claims: { given_name: 'Jeanne', family_name: 'Dupont', SubjectNameID: `8${RPPS}` } },
    { login: 'refusing', password: 'secret', claims: { name: 'Hugo Noir' } },
  ]);
  node = await startTestNode({ oidc: { issuer: provider.issuer, clientId: provider.clientId } });
  node.repository.update('Practitioner', 'jeanne-dupont', { resourceType: 'Practitioner', id: 'jeanne-dupont', identifier: [{ system: IDNPS_SYSTEM, value: `8${RPPS}` }], name: [{ family: 'Dupont', given: ['Jeanne'] }] });
  const created = await fetch(`${node.url}/admin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Labo', redirectUris: ['http://127.0.0.1/callback'], public: true, scopes: ['PATIENT_READ'] }),
  });
  app = (await created.json()) as { client_id: string };
});

afterAll(async () => {
  await node?.stop();
  await provider?.close();
});

async function start(): Promise<{ config: client.Configuration; url: URL; verifier: string; state: string; nonce: string }> {
  const config = await client.discovery(new URL(node.url), app.client_id, undefined, client.None(), { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid PATIENT_READ', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce });
  return { config, url, verifier, state, nonce };
}

/** The node's login page, then its provider button: the provider's login page. */
async function atProvider(browser: ScriptedBrowser, url: URL): Promise<Page> {
  const loginPage = await browser.open(url);
  expect(loginPage.html).toContain('Se connecter avec');
  const page = await browser.submit(loginPage, 'provider', { request: hidden(loginPage.html, 'request') });
  expect(page.url.origin).toBe(provider.issuer);
  return page;
}

describe("an app's user who logs in at the identity provider", () => {
  it('comes back to the consent page, and the app gets her identity and her tokens', async () => {
    const started = await start();
    const browser = new ScriptedBrowser();
    let page = await atProvider(browser, started.url);
    if (page.html.includes('Mot de passe')) page = await browser.submit(page, 'login', { login: 'psc-doctor', password: 'secret' });
    const consent = await browser.submit(page, 'consent', {});
    expect(consent.url.pathname).toBe('/authorize/resume');
    expect(consent.html).toContain('Lire les dossiers de vos patients');
    const back = await browser.submit(consent, 'consent', { consent: hidden(consent.html, 'consent'), decision: 'allow' }, (url) => url.href.startsWith(REDIRECT));
    const tokens = await client.authorizationCodeGrant(started.config, back.url, { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce });
    expect(tokens.claims()).toMatchObject({ SubjectNameID: `8${RPPS}`, given_name: 'Jeanne', family_name: 'Dupont', practitioner: 'Practitioner/jeanne-dupont' });
    // The provider's login made no session of the UI: the app's grant is the only one, with what she allowed.
    expect(node.db.prepare('SELECT client_id FROM sessions').all()).toEqual([{ client_id: app.client_id }]);
    expect((await fetch(`${node.fhir}/Patient?_count=1`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(403);
  });

  it("is shown the provider's refusal on the node's login page, and the app gets nothing", async () => {
    const started = await start();
    const browser = new ScriptedBrowser();
    const page = await atProvider(browser, started.url);
    const refused = await browser.submit(page, 'abort', {});
    expect(refused.url.pathname).toBe('/authorize/resume');
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('refusée chez le fournisseur');
  });

  it('a hand-off code taken to another browser is refused there', async () => {
    const started = await start();
    const browser = new ScriptedBrowser();
    let page = await atProvider(browser, started.url);
    if (page.html.includes('Mot de passe')) page = await browser.submit(page, 'login', { login: 'psc-doctor', password: 'secret' });
    const landing = await browser.submit(page, 'consent', {}, (url) => url.pathname === '/authorize/resume');
    const elsewhere = await new ScriptedBrowser().open(landing.url);
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.html).toContain('expiré');
  });
});
