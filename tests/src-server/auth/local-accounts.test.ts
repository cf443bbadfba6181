import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pkcePair } from '../../helpers/browser';
import { fhirFetch, startTestNode, type TestNode } from '../../helpers/node';
import { ADMIN_PASSWORD, call, exchange, passwordLogin, refusalCode, setupBody, type Answer } from '../../helpers/setup';

/**
 * Local accounts over HTTP (docs/login.md, "Local accounts"): a login and a password, hashed with scrypt; an admin
 * adds colleagues and resets passwords, which their owner replaces at the next login; disabled accounts; and what a
 * flood of wrong passwords costs (the source slowed down, the owner never locked out).
 */

type Json = Record<string, any>;

let node: TestNode;
let adminToken: string;
let practiceId: string;

beforeAll(async () => {
  node = await startTestNode();
  const done = await call(node.url, 'POST', '/setup', { json: setupBody(), setupCode: node.firstRun.setupCode });
  practiceId = done.body.organizationId;
  adminToken = (await passwordLogin(node.url, 'admin', ADMIN_PASSWORD)).tokens!.access_token;
});

afterAll(async () => {
  await node?.stop();
});

const admin = (method: string, path: string, json?: unknown) => call(node.url, method, `/admin${path}`, { token: adminToken, ...(json !== undefined ? { json } : {}) });
const start = (login: string, password: string) => call(node.url, 'POST', '/auth/password', { json: { login, password, code_challenge: pkcePair().challenge } });

function expectRefusal(answer: Answer, status: number, code: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.resourceType).toBe('OperationOutcome');
  expect(refusalCode(answer)).toBe(code);
  expect(answer.body.issue[0].details.coding[0].system).toBe('https://liaison.example/fhir/CodeSystem/refusal');
}

describe('local logins', () => {
  it('answers a wrong password and an unknown login alike, and keeps only a salted scrypt hash', async () => {
    const wrong = await start('admin', 'not the password at all');
    const unknown = await start('nobody', 'not the password at all');
    expectRefusal(wrong, 401, 'bad-credentials');
    expectRefusal(unknown, 401, 'bad-credentials');
    expect(unknown.body).toEqual(wrong.body);

    const hashes = node.db.prepare('SELECT password_hash FROM local_accounts').pluck().all() as string[];
    expect(hashes).toHaveLength(1);
    expect(hashes[0]).toMatch(/^[0-9a-f]{32}:[0-9a-f]{64}$/);
    expect(hashes[0]).not.toContain(ADMIN_PASSWORD);
  });

  it('binds the hand-off code to the PKCE challenge, and needs one', async () => {
    const { challenge } = pkcePair();
    const started = await call(node.url, 'POST', '/auth/password', { json: { login: 'admin', password: ADMIN_PASSWORD, code_challenge: challenge } });
    expect(started.status).toBe(200);
    await expect(exchange(node.url, started.body.code, pkcePair().verifier)).rejects.toThrow('invalid_grant');
    expectRefusal(await call(node.url, 'POST', '/auth/password', { json: { login: 'admin', password: ADMIN_PASSWORD } }), 400, 'invalid-request');
  });
});

describe("an admin's colleagues", () => {
  let colleagueId: string;
  let temporary: string;

  it('adds an account whose temporary password must be replaced at the first login', async () => {
    const added = await admin('POST', '/users', { login: 'Sophie.Leroy', displayName: 'Sophie Leroy', roles: ['staff'], organizations: [practiceId] });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body.user).toMatchObject({ login: 'sophie.leroy', localAccount: true, mustChangePassword: true, issuer: 'local', roles: ['staff'] });
    temporary = added.body.temporaryPassword;
    expect(temporary).toMatch(/^[A-Za-z0-9]{16}$/);
    colleagueId = added.body.user.id;
    expectRefusal(await admin('POST', '/users', { login: 'sophie.leroy', displayName: 'Another', roles: ['staff'], organizations: [] }), 409, 'login-taken');
    expectRefusal(await admin('POST', '/users', { login: 'paul', displayName: 'Paul', roles: ['staff'], organizations: [], password: 'too short' }), 400, 'password-too-short');
    expectRefusal(await admin('POST', '/users', { login: 'paul', displayName: 'Paul', roles: ['boss'], organizations: [] }), 400, 'roles-invalid');

    expectRefusal(await start('sophie.leroy', temporary), 403, 'password-change-required');
    const { verifier, challenge } = pkcePair();
    const change = (newPassword: string, password = temporary) => call(node.url, 'POST', '/auth/password/change', { json: { login: 'sophie.leroy', password, newPassword, code_challenge: challenge } });
    expectRefusal(await change('eleven char'), 400, 'password-too-short');
    expectRefusal(await change('a new password here', 'not the temporary one'), 401, 'bad-credentials');
    const changed = await change('a new password here');
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const tokens = await exchange(node.url, changed.body.code, verifier);
    expect((await call(node.url, 'GET', '/auth/me', { token: tokens.access_token })).body).toMatchObject({ id: colleagueId, mustChangePassword: false });
    expectRefusal(await start('sophie.leroy', temporary), 401, 'bad-credentials');
    expect((await passwordLogin(node.url, 'sophie.leroy', 'a new password here')).tokens).toBeDefined();

    const listed = (await admin('GET', '/users')).body.users as Json[];
    expect(listed.find((user) => user.id === colleagueId)).toMatchObject({ login: 'sophie.leroy', localAccount: true, mustChangePassword: false });
  });

  it('resets a password: the sessions end and the next login sets a new one', async () => {
    const { tokens } = await passwordLogin(node.url, 'sophie.leroy', 'a new password here');
    const reset = await admin('POST', `/users/${colleagueId}/reset-password`);
    expect(reset.status).toBe(200);
    expect(reset.headers.get('cache-control')).toBe('no-store');
    expect((await fhirFetch(node.fhir, tokens!.access_token, 'Patient')).status).toBe(401);
    expectRefusal(await start('sophie.leroy', 'a new password here'), 401, 'bad-credentials');
    expectRefusal(await start('sophie.leroy', reset.body.temporaryPassword), 403, 'password-change-required');
    const { verifier, challenge } = pkcePair();
    const changed = await call(node.url, 'POST', '/auth/password/change', { json: { login: 'sophie.leroy', password: reset.body.temporaryPassword, newPassword: 'yet another long one', code_challenge: challenge } });
    expect((await exchange(node.url, changed.body.code, verifier)).access_token).toBeTruthy();
  });

  it('refuses a disabled account only to whoever knows its password', async () => {
    expect((await admin('PATCH', `/users/${colleagueId}`, { disabled: true })).status).toBe(200);
    expectRefusal(await start('sophie.leroy', 'yet another long one'), 403, 'account-disabled');
    expectRefusal(await start('sophie.leroy', 'a wrong password'), 401, 'bad-credentials');
    expect((await admin('PATCH', `/users/${colleagueId}`, { disabled: false })).status).toBe(200);
    expect((await passwordLogin(node.url, 'sophie.leroy', 'yet another long one')).tokens).toBeDefined();
  });
});

describe('a flood of wrong passwords', () => {
  it('slows its source down and never keeps the owner out: the right password is answered at once throughout', { timeout: 120_000 }, async () => {
    // The owner logged in since the node started (beforeAll).
    let flooding = true;
    const statuses: number[] = [];
    const held: number[] = [];
    const flood = Array.from({ length: 16 }, async (_, worker) => {
      for (let attempt = 0; flooding; attempt++) {
        const sent = performance.now();
        const answer = await start(worker % 2 === 0 ? 'admin' : `nobody${attempt}`, `guess ${worker} ${attempt} xxxxxx`);
        held.push(performance.now() - sent);
        statuses.push(answer.status);
        if (answer.status === 429) expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const times: number[] = [];
    for (let round = 0; round < 5; round++) {
      const sent = performance.now();
      const { tokens } = await passwordLogin(node.url, 'admin', ADMIN_PASSWORD);
      times.push(performance.now() - sent);
      expect(tokens?.access_token).toBeTruthy();
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    flooding = false;
    await Promise.all(flood);
    // Every wrong one refused, many of them before their check (the source had too many under way), later and later.
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
    expect(Math.max(...held)).toBeGreaterThan(1000);
    // The owner's answers came at once (generous bound for a loaded machine): never behind the flood's hold-backs.
    expect(Math.max(...times)).toBeLessThan(1000);
    // The flood is counted, not a row a request (rows of a second are written once it is over).
    const rows = await vi.waitFor(
      () => {
        const counted = node.db.prepare("SELECT count(*) AS rows, sum(count) AS requests FROM audit_log WHERE event = 'login.refused'").get() as { rows: number; requests: number };
        expect(counted.requests).toBeGreaterThanOrEqual(statuses.length);
        return counted;
      },
      { timeout: 20_000, interval: 100 },
    );
    expect(rows.rows).toBeLessThan(rows.requests);
  });
});
