import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sessions } from '../../../src-server/auth/sessions';
import { TokenStore } from '../../../src-server/auth/tokens';
import { Users } from '../../../src-server/auth/users';
import { DATABASE_FILE } from '../../../src-server/node';
import { openDatabase } from '../../../src-server/store/database';
import { fhirFetch, startTestNode, tempDir, type TestNode } from '../../helpers/node';
import { keyEnv, testDatabaseKey } from '../../helpers/data-key';

/**
 * User administration (`/admin/users`, `liaison users`) and the node's answer to session tokens that are not good:
 * forged, of an expired session, expired themselves. Users and sessions are made here the way a login makes them
 * (tests/src-server/auth/login.test.ts covers the login itself).
 */

type Json = Record<string, any>;

const dataDir = tempDir();
let node: TestNode;
let users: Users;
let sessions: Sessions;

beforeAll(async () => {
  node = await startTestNode({ dataDir });
  users = new Users(node.db, () => undefined, (type, id) => node.repository.exists(type, id));
  sessions = new Sessions(node.db, new TokenStore(node.db));
  node.repository.update('Organization', 'practice-a', { resourceType: 'Organization', id: 'practice-a', name: 'Cabinet A' });
  node.repository.update('Practitioner', 'doctor-a', { resourceType: 'Practitioner', id: 'doctor-a', name: [{ family: 'A' }] });
});

afterAll(async () => {
  await node?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function newUser(subject: string): Json {
  return users.signIn({ issuer: 'https://idp.example', subject, claims: { name: `User ${subject}`, email: `${subject}@example.org` } });
}

async function admin(token: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const { json, ...rest } = init;
  const response = await fetch(`${node.url}/admin/${path}`, {
    ...rest,
    headers: { authorization: `Bearer ${token}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

describe('admin users API', () => {
  it('lists users and changes their roles, practices, Practitioner and access, effective on the next call', async () => {
    const user = newUser('alice');
    const { access_token: token } = sessions.open(user.id);
    expect((await admin(token, 'users')).status).toBe(403);

    const listed = await admin(node.token, 'users');
    expect(listed.status).toBe(200);
    expect(listed.body.users.find((entry: Json) => entry.id === user.id)).toMatchObject({ displayName: 'User alice', roles: ['staff'], organizations: [] });

    const changed = await admin(node.token, `users/${user.id}`, { method: 'PATCH', json: { roles: ['practitioner', 'admin'], organizations: ['practice-a'], practitionerId: 'doctor-a' } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ roles: ['practitioner', 'admin'], organizations: ['practice-a'], practitionerId: 'doctor-a' });
    // The user's cached token now carries the admin role.
    expect((await admin(token, 'users')).status).toBe(200);

    expect((await admin(node.token, `users/${user.id}`, { method: 'PATCH', json: { practitionerId: null } })).body.practitionerId).toBeUndefined();
    expect((await admin(node.token, `users/${user.id}`, { method: 'PATCH', json: { disabled: true } })).body.disabledAt).toBeTruthy();
    expect((await fhirFetch(node.fhir, token, 'Patient')).status).toBe(401);
  });

  it('refuses invalid changes with a 400 OperationOutcome naming the problem, and unknown users with 404', async () => {
    const user = newUser('bob');
    const cases: Array<[unknown, string]> = [
      [['roles'], 'JSON object'],
      [{ name: 'x' }, "'name' cannot be changed"],
      [{ roles: [] }, 'roles must be'],
      [{ roles: ['boss'] }, 'roles must be'],
      [{ organizations: ['nowhere'] }, "No Organization 'nowhere'"],
      [{ organizations: 'practice-a' }, 'organizations must be'],
      [{ practitionerId: 'nobody' }, "No Practitioner 'nobody'"],
      [{ disabled: 'yes' }, 'disabled must be'],
    ];
    for (const [change, message] of cases) {
      const answer = await admin(node.token, `users/${user.id}`, { method: 'PATCH', json: change });
      expect(answer.status, JSON.stringify(change)).toBe(400);
      expect(answer.body.resourceType).toBe('OperationOutcome');
      expect(answer.body.issue[0].diagnostics).toContain(message);
    }
    expect(users.get(user.id)).toMatchObject({ roles: ['staff'], organizations: [] });
    expect((await admin(node.token, 'users/nobody', { method: 'PATCH', json: { disabled: true } })).status).toBe(404);
  });
});

describe('session tokens that are not good', () => {
  it('answers 401 to a forged token, a token of an expired session, and an expired token', async () => {
    const user = newUser('carol');
    const forged = await fhirFetch(node.fhir, 'A'.repeat(43), 'Patient');
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toBe('Bearer');

    const { access_token: ofExpiredSession } = sessions.open(user.id);
    node.db.prepare('UPDATE sessions SET expires_at = ? WHERE user_id = ?').run(Date.now() - 1, user.id);
    expect((await fhirFetch(node.fhir, ofExpiredSession, 'Patient')).status).toBe(401);

    const { access_token: expired } = sessions.open(newUser('dave').id);
    node.db.prepare("UPDATE oauth_tokens SET expires_at = ? WHERE session_id IN (SELECT session_id FROM sessions s JOIN users u USING (user_id) WHERE u.subject = 'dave')").run(Date.now() - 1);
    expect((await fhirFetch(node.fhir, expired, 'Patient')).status).toBe(401);
  });
});

describe('liaison users (node stopped)', () => {
  it('lists users and sets roles, practices, Practitioner, disabled', async () => {
    const user = newUser('erin');
    const { refresh_token: refreshToken } = sessions.open(user.id);
    await node.close();
    const cli = (...args: string[]) => spawnSync('node', ['bin/liaison.js', 'users', ...args, '--data', dataDir], { encoding: 'utf8', env: keyEnv(dataDir) });

    const listed = cli('list');
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`${user.id}  active  User erin  <erin@example.org>  [staff]`);

    const set = cli('set', user.id, '--roles', 'staff,admin', '--organizations', 'practice-a', '--practitioner', 'doctor-a', '--disable');
    expect(set.status, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ roles: ['staff', 'admin'], organizations: ['practice-a'], practitionerId: 'doctor-a', disabledAt: expect.any(String) });
    // Disabling ended the user's session.
    const db = openDatabase(join(dataDir, DATABASE_FILE), { key: testDatabaseKey(dataDir) });
    try {
      expect(new Sessions(db, new TokenStore(db)).refresh(refreshToken)).toEqual({ refused: 'unknown' });
    } finally {
      db.close();
    }

    const enabled = cli('set', user.id, '--enable', '--practitioner', 'none');
    expect(JSON.parse(enabled.stdout).disabledAt).toBeUndefined();
    expect(JSON.parse(enabled.stdout).practitionerId).toBeUndefined();

    const refused = cli('set', user.id, '--organizations', 'nowhere');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("No Organization 'nowhere'");
  });
});
