import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ScriptedBrowser } from '../../helpers/browser';
import { tempDir } from '../../helpers/node';
import { keyEnv } from '../../helpers/data-key';

/** `liaison serve --demo` as a person runs it: a real process, its demo provider, a demo practitioner logging in. */

type Json = Record<string, any>;

const dataDir = tempDir();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Starts `serve --demo`; resolves with the node's URL and what it printed once the demo accounts are listed. */
async function serveDemo(): Promise<{ child: ChildProcess; url: string; output: string }> {
  const child = spawn('node', ['bin/liaison.js', 'serve', '--demo', '--data', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: keyEnv(dataDir) });
  children.push(child);
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start: ${output}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match && output.includes('sophie.leroy')) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  return { child, url, output };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** A demo person logs in through the demo provider's pages; the browser's session tokens. */
async function demoLogin(url: string, login: string): Promise<Json> {
  const browser = new ScriptedBrowser();
  const atNode = (at: URL) => at.origin === url && at.pathname === '/';
  const loginPage = await browser.open(`${url}/auth/login`, atNode);
  expect(loginPage.html).toContain('Mot de passe');
  const consentPage = await browser.submit(loginPage, 'login', { login, password: 'demo' }, atNode);
  const landed = await browser.submit(consentPage, 'consent', {}, atNode);
  const code = landed.url.searchParams.get('login');
  expect(code, landed.url.href).toBeTruthy();
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { cookie: browser.cookieHeader() },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'liaison-ui', code: code! }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
}

const get = async (url: string, token: string) => (await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } })).json() as Promise<Json>;

describe('liaison serve --demo', () => {
  it('prints the demo accounts, and a demo practitioner logs in through the demo provider, again after a restart', async () => {
    const first = await serveDemo();
    expect(first.output).toMatch(/claire\.martin\s+password "demo"\s+Dr Claire Martin, practitioner \(RPPS \d{11}\), Cabinet des Lilas, admin/);
    expect(first.output).toMatch(/amina\.benali .*Maison de santé du Port/);
    expect(first.output).toMatch(/sophie\.leroy .*secretary, Cabinet des Lilas/);

    // The login screen lists the same accounts, without a token.
    const screen = (await (await fetch(`${first.url}/auth/config`)).json()) as Json;
    expect(screen.provider).toMatchObject({ kind: 'demo', issuer: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    expect(screen.setup).toBe(false);
    expect(screen.demoAccounts.map((account: Json) => account.login)).toEqual(['claire.martin', 'paul.durand', 'amina.benali', 'sophie.leroy']);
    expect(screen.demoAccounts[3]).toMatchObject({ password: 'demo', displayName: 'Sophie Leroy', description: expect.stringContaining('secretary') });

    const tokens = await demoLogin(first.url, 'claire.martin');
    const me = await get(`${first.url}/auth/me`, tokens.access_token);
    expect(me).toMatchObject({ id: 'demo-claire.martin', practitionerId: 'demo-claire-martin', organizations: ['demo-cabinet-des-lilas'], roles: ['practitioner', 'admin'], idnps: expect.stringMatching(/^8\d{11}$/) });
    const practitioner = await get(`${first.url}/fhir/Practitioner?identifier=urn:oid:1.2.250.1.71.4.2.1|${me.idnps}`, tokens.access_token);
    expect(practitioner.entry.map((entry: Json) => entry.resource.id)).toEqual(['demo-claire-martin']);
    const secretary = await get(`${first.url}/auth/me`, (await demoLogin(first.url, 'sophie.leroy')).access_token);
    expect(secretary).toMatchObject({ roles: ['staff'], organizations: ['demo-cabinet-des-lilas'] });
    // The demo people, and the bundled sample of the national directory to search.
    const seeded = (await get(`${first.url}/fhir/Practitioner?_summary=count`, tokens.access_token)).total;
    expect(seeded).toBeGreaterThan(100);
    await stop(first.child);

    // A restart moves the demo provider to a new port; the same people log in as the same users, seeded once.
    const second = await serveDemo();
    const again = await demoLogin(second.url, 'claire.martin');
    expect((await get(`${second.url}/auth/me`, again.access_token)).id).toBe('demo-claire.martin');
    const practitioners = await get(`${second.url}/fhir/Practitioner?_summary=count`, again.access_token);
    expect(practitioners.total).toBe(seeded);
    const users = await get(`${second.url}/admin/users`, again.access_token);
    expect(users.users).toHaveLength(4);
    await stop(second.child);
  }, 90_000);
});
