import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDirectorySample } from '../../../src-server/directory/sample';
import { fhirFetch, startTestNode, tempDir, type TestNode } from '../../helpers/node';
import { ADMIN_PASSWORD, call, passwordLogin, refusalCode, setupBody } from '../../helpers/setup';
import { eventually, FAST_SYNC } from '../../helpers/sync-nodes';

/**
 * The first run of a data folder over HTTP (docs/login.md, "Set-up"): the set-up code, the practice made on the node
 * or chosen in the directory, the first administrator's local account, and a desktop joining its office.
 */

type Json = Record<string, any>;

const nodes: TestNode[] = [];
afterAll(async () => {
  for (const node of nodes) await node.stop();
});

async function freshNode(): Promise<TestNode> {
  const node = await startTestNode({ sync: FAST_SYNC });
  nodes.push(node);
  return node;
}

const nodeFile = (node: TestNode) => JSON.parse(readFileSync(join(node.dataDir, 'node.json'), 'utf8')) as Json;
const userCount = (node: TestNode) => node.db.prepare('SELECT count(*) FROM users').pluck().get() as number;
const organizationCount = (node: TestNode) => node.db.prepare("SELECT count(*) FROM resources WHERE resource_type = 'Organization'").pluck().get() as number;

describe('the first run', () => {
  let node: TestNode;
  let code: string;
  beforeAll(async () => {
    node = await freshNode();
    code = node.firstRun.setupCode!;
  });

  it('says it waits for its set-up, and refuses a wrong or missing code, and bad fields, writing nothing', async () => {
    expect(code).toMatch(/^[\w-]{24}$/);
    expect(await (await fetch(`${node.url}/auth/config`)).json()).toEqual({ provider: null, localAccounts: true, setup: true });
    expect(nodeFile(node).setupCode).toBe(code);

    // One character changed (a code ending in x would otherwise be "changed" into itself: 1 run in 64).
    const wrong = await call(node.url, 'POST', '/setup', { json: setupBody(), setupCode: `${code.slice(0, -1)}${code.endsWith('x') ? 'y' : 'x'}` });
    expect(wrong.status).toBe(401);
    expect(refusalCode(wrong)).toBe('setup-code');
    expect(wrong.body.resourceType).toBe('OperationOutcome');
    expect((await call(node.url, 'POST', '/setup', { json: setupBody() })).status).toBe(401);
    expect((await call(node.url, 'GET', '/setup/practices?name=cabinet', { setupCode: 'nope' })).status).toBe(401);

    const short = await call(node.url, 'POST', '/setup', { json: setupBody({ admin: { login: 'admin', password: 'short pw 11', displayName: 'Marie Curie' } }), setupCode: code });
    expect(short.status).toBe(400);
    expect(refusalCode(short)).toBe('password-too-short');
    expect(short.body.issue[0].expression).toEqual(['admin.password']);
    const login = await call(node.url, 'POST', '/setup', { json: setupBody({ admin: { login: 'a b', password: ADMIN_PASSWORD, displayName: 'Marie Curie' } }), setupCode: code });
    expect(refusalCode(login)).toBe('login-invalid');
    const practice = await call(node.url, 'POST', '/setup', { json: setupBody({ practice: { organizationId: 'st-nowhere' } }), setupCode: code });
    expect(practice.status).toBe(422);
    expect(refusalCode(practice)).toBe('practice-unknown');
    const finess = await call(node.url, 'POST', '/setup', { json: setupBody({ practice: { name: 'Cabinet', finess: '12' } }), setupCode: code });
    expect(refusalCode(finess)).toBe('practice-invalid');
    const identity = await call(node.url, 'POST', '/setup', { json: setupBody({ identity: { provider: 'oidc' } }), setupCode: code });
    expect(refusalCode(identity)).toBe('identity-invalid');
    expect({ users: userCount(node), organizations: organizationCount(node) }).toEqual({ users: 0, organizations: 0 });
  });

  it('creates the practice (never archived by a directory import) and its admin, who logs in; then it is closed for good', async () => {
    const done = await call(node.url, 'POST', '/setup', { json: setupBody(), setupCode: code });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    const { userId, organizationId } = done.body;
    expect(organizationId).toMatch(/^practice-/);

    const { tokens } = await passwordLogin(node.url, 'Admin', ADMIN_PASSWORD);
    const me = await call(node.url, 'GET', '/auth/me', { token: tokens!.access_token });
    expect(me.body).toMatchObject({ id: userId, issuer: 'local', displayName: 'Marie Curie', roles: ['admin', 'staff'], organizations: [organizationId], localLogin: 'admin', canSetLocalPassword: false });
    // The admin works: the admin API answers them.
    expect((await call(node.url, 'GET', '/admin/users', { token: tokens!.access_token })).body.users).toHaveLength(1);

    expect(await (await fetch(`${node.url}/auth/config`)).json()).toMatchObject({ setup: false });
    expect(nodeFile(node).setupCode).toBeUndefined();
    expect(node.firstRun.setupCode).toBeUndefined();
    const again = await call(node.url, 'POST', '/setup', { json: setupBody({ admin: { login: 'other', password: ADMIN_PASSWORD, displayName: 'X' } }), setupCode: code });
    expect(again.status).toBe(409);
    expect(refusalCode(again)).toBe('setup-done');
    expect(userCount(node)).toBe(1);

    // A whole extraction archives what it lacks of the directory, never the practice made here.
    await importDirectorySample(node.db, node.repository);
    const practice = (await (await fhirFetch(node.fhir, tokens!.access_token, `Organization/${organizationId}`)).json()) as Json;
    expect(practice).toMatchObject({ active: true, name: 'Cabinet des Tilleuls', identifier: [{ system: 'https://finess.esante.gouv.fr', value: '750000001' }] });
    expect(practice.meta.tag).toEqual([expect.objectContaining({ code: 'node-practice' })]);
  });

  it('takes the first of two set-ups sent together', async () => {
    const other = await freshNode();
    const setupCode = other.firstRun.setupCode!;
    const answers = await Promise.all(
      ['first', 'second'].map((login) => call(other.url, 'POST', '/setup', { json: setupBody({ admin: { login, password: ADMIN_PASSWORD, displayName: login } }), setupCode })),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
    expect(userCount(other)).toBe(1);
  });
});

describe("the installer's default settings", () => {
  it('give the Pro Santé Connect client the set-up does not name, and never land in the data folder', async () => {
    const folder = tempDir('liaison-installer-');
    const defaults = join(folder, 'default-settings.json');
    writeFileSync(defaults, JSON.stringify({ identity: { provider: 'psc', clientId: 'liaison-editeur', clientSecret: 'shipped-secret-0042', localAccounts: true } }));
    const node = await startTestNode({ defaultSettingsFile: defaults });
    nodes.push(node);
    expect((await call(node.url, 'GET', '/auth/config')).body.provider).toEqual({ kind: 'psc', issuer: 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet', label: 'Pro Santé Connect' });
    const done = await call(node.url, 'POST', '/setup', { json: { ...setupBody(), identity: undefined }, setupCode: node.firstRun.setupCode });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    expect((await call(node.url, 'GET', '/admin/identity', { token: node.token })).body).toEqual({ provider: 'psc', clientId: 'liaison-editeur', localAccounts: true, hasClientSecret: true, overriddenByFlags: false });
    // Chosen again at set-up with the client id left out: still the installer's client, secret included.
    await call(node.url, 'PUT', '/admin/identity', { token: node.token, json: { provider: 'psc' } });
    expect((await call(node.url, 'GET', '/admin/identity', { token: node.token })).body).toMatchObject({ clientId: 'liaison-editeur', hasClientSecret: true });
    expect(readFileSync(join(node.dataDir, 'settings.json'), 'utf8')).not.toContain('shipped-secret-0042');
    rmSync(folder, { recursive: true, force: true });
  });
});

describe('a practice chosen in the directory, and an admin who is a practitioner there', () => {
  it('finds the practice by FINESS, SIRET or name, and links the admin to their Practitioner', async () => {
    const node = await freshNode();
    await importDirectorySample(node.db, node.repository);
    await node.textIndex.caughtUp(node.db.prepare('SELECT max(seq) FROM change_log').pluck().get() as number);
    const setupCode = node.firstRun.setupCode!;
    const ids = (answer: { body: Json }) => (answer.body.entry ?? []).map((entry: Json) => entry.resource.id);
    const byFiness = await call(node.url, 'GET', '/setup/practices?finess=690000002', { setupCode });
    expect(byFiness.status, JSON.stringify(byFiness.body)).toBe(200);
    expect(byFiness.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(ids(byFiness)).toEqual(['st-R10000000000002']);
    expect(ids(await call(node.url, 'GET', '/setup/practices?siret=03000001401340', { setupCode }))).toEqual(['st-R10000000000002']);
    expect(ids(await call(node.url, 'GET', `/setup/practices?name=${encodeURIComponent('marchand reims')}`, { setupCode }))).toContain('st-R10000000000002');
    expect(ids(await call(node.url, 'GET', '/setup/practitioners?rpps=10100000002', { setupCode }))).toEqual(['pp-810100000002']);
    expect(ids(await call(node.url, 'GET', '/setup/practitioners?name=roussel', { setupCode }))).toContain('pp-810100000002');
    expect((await call(node.url, 'GET', '/setup/practitioners?rpps=10100000002')).status).toBe(401);

    const done = await call(node.url, 'POST', '/setup', {
      json: setupBody({ practice: { organizationId: 'st-R10000000000002' }, admin: { login: 'dr.roussel', password: ADMIN_PASSWORD, displayName: 'Nathalie Roussel', practitionerId: 'pp-810100000002' } }),
      setupCode,
    });
    expect(done.status, JSON.stringify(done.body)).toBe(201);
    expect(done.body.organizationId).toBe('st-R10000000000002');
    const { tokens } = await passwordLogin(node.url, 'dr.roussel', ADMIN_PASSWORD);
    expect((await call(node.url, 'GET', '/auth/me', { token: tokens!.access_token })).body).toMatchObject({ practitionerId: 'pp-810100000002', roles: ['admin', 'practitioner'], organizations: ['st-R10000000000002'] });
  });
});

describe('a desktop joining its office', () => {
  let office: TestNode;
  let adminToken: string;
  let colleagueId: string;
  const COLLEAGUE_PASSWORD = 'my own long password';

  beforeAll(async () => {
    office = await freshNode();
    const done = await call(office.url, 'POST', '/setup', { json: setupBody(), setupCode: office.firstRun.setupCode });
    const { tokens } = await passwordLogin(office.url, 'admin', ADMIN_PASSWORD);
    adminToken = tokens!.access_token;
    const added = await call(office.url, 'POST', '/admin/users', { token: adminToken, json: { login: 'sophie', displayName: 'Sophie Leroy', roles: ['staff'], organizations: [done.body.organizationId], password: COLLEAGUE_PASSWORD } });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    colleagueId = added.body.user.id;
  });

  const joinCode = async () => {
    const made = await call(office.url, 'POST', '/admin/join-codes', { token: adminToken, json: { userId: colleagueId } });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(Date.parse(made.body.expiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);
    return made.body.code as string;
  };

  it("becomes the office's sync peer with the colleague's account, who logs in on it with their own password", async () => {
    const desktop = await freshNode();
    const code = await joinCode();
    const joined = await call(desktop.url, 'POST', '/setup/join', { json: { officeUrl: office.url, code }, setupCode: desktop.firstRun.setupCode });
    expect(joined.status, JSON.stringify(joined.body)).toBe(201);
    expect(joined.body).toMatchObject({ userId: colleagueId, login: 'sophie' });

    const { tokens } = await passwordLogin(desktop.url, 'sophie', COLLEAGUE_PASSWORD);
    const me = await call(desktop.url, 'GET', '/auth/me', { token: tokens!.access_token });
    expect(me.body).toMatchObject({ id: colleagueId, displayName: 'Sophie Leroy', roles: ['staff'] });
    expect(await (await fetch(`${desktop.url}/auth/config`)).json()).toMatchObject({ setup: false });
    // Their practice came along (office peers carry no directory data).
    const practiceId = me.body.organizations[0];
    expect(desktop.repository.exists('Organization', practiceId)).toBe(true);

    // Records of the practice's patients flow both ways.
    const patient = await office.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Depuis-Le-Cabinet' }], generalPractitioner: [{ reference: `Organization/${practiceId}` }] } });
    const patientId = ((await patient.json()) as Json).id;
    await eventually(() => desktop.repository.exists('Patient', patientId), `the office patient reaches the desktop (${JSON.stringify(desktop.sync.peers.list())})`);
    const local = await fhirFetch(desktop.fhir, tokens!.access_token, 'Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Depuis-Le-Poste' }], generalPractitioner: [{ reference: `Organization/${practiceId}` }] } });
    expect(local.status).toBe(201);
    const localId = ((await local.json()) as Json).id;
    await eventually(() => office.repository.exists('Patient', localId), 'the desktop patient reaches the office');
    // The office is its peer for records, and its source of the directory (one copy per office).
    expect(desktop.sync.peers.list().sort((a, b) => a.kind.localeCompare(b.kind))).toMatchObject([
      { url: office.url, kind: 'directory' },
      { url: office.url, kind: 'office' },
    ]);
    expect(JSON.stringify(desktop.sync.peers.list())).not.toContain('secret');

    // Once caught up, the desktop asks the office at its poll interval (50 ms here), for records and for the directory,
    // not in a loop of its own writes.
    const calls = () => office.db.prepare("SELECT coalesce(sum(count), 0) FROM audit_log WHERE action LIKE 'GET /fhir/$changes%'").pluck().get() as number;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const before = calls();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(calls() - before).toBeLessThan(2 * 60);

    // The code was used up.
    const other = await freshNode();
    const reused = await call(other.url, 'POST', '/setup/join', { json: { officeUrl: office.url, code }, setupCode: other.firstRun.setupCode });
    expect(reused.status).toBe(401);
    expect(refusalCode(reused)).toBe('join-code');
    expect(userCount(other)).toBe(0);
  });

  it('refuses an expired or unknown code, an unreachable office, and a join once set up', async () => {
    const desktop = await freshNode();
    const setupCode = desktop.firstRun.setupCode;
    const code = await joinCode();
    office.db.prepare('UPDATE join_codes SET expires_at = ?').run(Date.now() - 1);
    const expired = await call(desktop.url, 'POST', '/setup/join', { json: { officeUrl: office.url, code }, setupCode });
    expect(refusalCode(expired)).toBe('join-code');
    const unknown = await call(desktop.url, 'POST', '/setup/join', { json: { officeUrl: office.url, code: 'AAAA-BBBB-CCCC-DDDD-EEEE' }, setupCode });
    expect(refusalCode(unknown)).toBe('join-code');

    const closed = await freshNode();
    const closedUrl = closed.url;
    await closed.stop();
    nodes.splice(nodes.indexOf(closed), 1);
    const unreachable = await call(desktop.url, 'POST', '/setup/join', { json: { officeUrl: closedUrl, code: await joinCode() }, setupCode });
    expect(unreachable.status).toBe(502);
    expect(refusalCode(unreachable)).toBe('office-unreachable');
    expect(userCount(desktop)).toBe(0);
    expect(desktop.sync.peers.list()).toEqual([]);

    expect(refusalCode(await call(office.url, 'POST', '/setup/join', { json: { officeUrl: desktop.url, code: 'x' }, setupCode: 'x' }))).toBe('setup-done');
  });
});
