import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIRECTORY_TYPES } from '../../../src-server/fhir/directory';
import { importDirectoryFile } from '../../../src-server/directory/import';
import { DIRECTORY_SAMPLE_DIR } from '../../../src-server/directory/sample';
import { fhirFetch, startTestNode, tempDir, type TestNode } from '../../helpers/node';
import { ADMIN_PASSWORD, call, passwordLogin, refusalCode, setupBody } from '../../helpers/setup';
import { eventually, FAST_SYNC, openConflictsOf, ownerCredentials } from '../../helpers/sync-nodes';

/**
 * One copy of the directory per office (docs/sync.md, "One directory per office"): the office's node imports it, a
 * desktop that joined the office follows it from there, one way, on its own cursor, and fetches none itself.
 */

type Json = Record<string, any>;

const ACTIVITY_FILE = join(DIRECTORY_SAMPLE_DIR, 'PS_LibreAcces_Personne_activite_202501010000.txt');
/** Two people of the sample: one whose name changes, one who leaves the directory (their lines are gone). */
const RENAMED = 'pp-810100000001';
const LEAVING = 'pp-810100000002';

let office: TestNode;
let desktop: TestNode;
let practiceId: string;

beforeAll(async () => {
  // The desktop is given a directory source nobody serves: were it to fetch, its refresh would record the failure.
  const nowhere = { source: 'https://127.0.0.1:9', firstCheckMs: 3_600_000, retryMs: 3_600_000 };
  [office, desktop] = await Promise.all([startTestNode({ sync: FAST_SYNC }), startTestNode({ sync: FAST_SYNC, directoryRefresh: nowhere })]);
  const done = await call(office.url, 'POST', '/setup', { json: setupBody(), setupCode: office.firstRun.setupCode });
  practiceId = done.body.organizationId;
  const { tokens } = await passwordLogin(office.url, 'admin', ADMIN_PASSWORD);
  const adminToken = tokens!.access_token;
  const added = await call(office.url, 'POST', '/admin/users', { token: adminToken, json: { login: 'sophie', displayName: 'Sophie Leroy', roles: ['staff'], organizations: [practiceId], password: 'my own long password' } });
  const made = await call(office.url, 'POST', '/admin/join-codes', { token: adminToken, json: { userId: added.body.user.id } });
  // The office's node imports the national directory (by hand here; the daily refresh does the same).
  await importDirectoryFile(office.db, office.repository, ACTIVITY_FILE);
  const joined = await call(desktop.url, 'POST', '/setup/join', { json: { officeUrl: office.url, code: made.body.code }, setupCode: desktop.firstRun.setupCode });
  expect(joined.status, JSON.stringify(joined.body)).toBe(201);
});
afterAll(async () => {
  await Promise.all([office?.stop(), desktop?.stop()]);
});

const read = async (node: TestNode, id: string) => {
  const response = await fhirFetch(node.fhir, node.token, `Practitioner/${id}`);
  return { status: response.status, body: (await response.json()) as Json };
};
const nameOf = (node: TestNode, id: string) => (JSON.parse(node.repository.read('Practitioner', id)?.json ?? '{}') as Json).name?.[0]?.family;
const settingsOf = (node: TestNode): Json => {
  try {
    return JSON.parse(readFileSync(join(node.dataDir, 'settings.json'), 'utf8')) as Json;
  } catch {
    return {};
  }
};

describe('a desktop that joined its office', () => {
  it("finds the directory its office's node imported, within the sync delay, without importing it", async () => {
    expect((await read(office, RENAMED)).status).toBe(200);
    await eventually(() => desktop.repository.exists('Practitioner', RENAMED), `the desktop has the office's directory (${JSON.stringify(desktop.sync.peers.list())})`);
    const found = await read(desktop, RENAMED);
    expect(found.status).toBe(200);
    expect(found.body.name[0].family).toBe('PETIT');
    const searched = await fhirFetch(desktop.fhir, desktop.token, 'Practitioner?family=ROUSSEL');
    expect(((await searched.json()) as Json).entry.map((entry: Json) => entry.resource.id)).toContain(LEAVING);
    // Every directory version came from the office's node: the desktop imported nothing of its own.
    const own = desktop.db.prepare(`SELECT count(*) FROM resource_versions WHERE resource_type IN (${[...DIRECTORY_TYPES].map(() => '?').join(', ')}) AND origin_node = ?`).pluck();
    expect(own.get(...DIRECTORY_TYPES, desktop.repository.nodeId)).toBe(0);
    // The office's node fetches the directory (the refresh's default); the desktop does not.
    expect(settingsOf(desktop).directory).toEqual({ source: 'off' });
    expect(settingsOf(office).directory).toBeUndefined();
  });

  it('keeps following the daily changes: an updated and an archived practitioner', async () => {
    await eventually(() => desktop.repository.exists('Practitioner', LEAVING), 'the desktop has the directory');
    const lines = readFileSync(ACTIVITY_FILE, 'latin1').split('\n');
    const changed = lines.filter((line) => !line.includes('|810100000002|')).map((line) => (line.includes('|810100000001|') ? line.replace('|PETIT|', '|PETIT-DURAND|') : line));
    const file = join(tempDir('office-directory'), 'PS_LibreAcces_Personne_activite_202501020000.txt');
    writeFileSync(file, changed.join('\n'), 'latin1');
    await importDirectoryFile(office.db, office.repository, file);
    expect(nameOf(office, RENAMED)).toBe('PETIT-DURAND');

    await eventually(() => nameOf(desktop, RENAMED) === 'PETIT-DURAND', 'the desktop follows the renamed practitioner');
    await eventually(() => (JSON.parse(desktop.repository.read('Practitioner', LEAVING)!.json) as Json).active === false, 'the desktop follows the archived practitioner');
    expect((await read(desktop, RENAMED)).body.name[0].family).toBe('PETIT-DURAND');
    // The practice's Organization came with the join as the office's versions: following the directory meets them, no conflict.
    expect(desktop.repository.exists('Organization', practiceId)).toBe(true);
    expect(openConflictsOf(desktop)).toEqual([]);
  });

  it("sends nothing of the directory back to the office's node, and takes it from no second source", async () => {
    await eventually(() => desktop.repository.exists('Practitioner', RENAMED), 'the desktop has the directory');
    // A directory entry changed on the desktop, and a record beside it: the record goes to the office, the entry not.
    const { meta: _meta, ...local } = JSON.parse(desktop.repository.read('Practitioner', RENAMED)!.json) as Json;
    const edited = desktop.repository.update('Practitioner', RENAMED, { ...local, name: [{ family: 'Modifié-Sur-Le-Poste' }] }).stored;
    const patient = desktop.repository.create('Patient', { resourceType: 'Patient', name: [{ family: 'Témoin' }], generalPractitioner: [{ reference: `Organization/${practiceId}` }] });
    desktop.commits.notify();
    await eventually(() => office.repository.exists('Patient', patient.id), 'the record reaches the office');
    const fromDesktop = office.db.prepare('SELECT resource_type FROM resource_versions WHERE origin_node = ?').pluck().all(desktop.repository.nodeId) as string[];
    expect(fromDesktop.filter((type) => DIRECTORY_TYPES.has(type))).toEqual([]);
    expect(office.db.prepare('SELECT count(*) FROM resource_versions WHERE version_id = ?').pluck().get(edited.versionId)).toBe(0);
    expect(nameOf(office, RENAMED)).not.toBe('Modifié-Sur-Le-Poste');

    // A second directory source (a directory node besides the office's) is refused: two imports would conflict everywhere.
    const second = await call(desktop.url, 'POST', '/admin/peers', { token: desktop.token, json: { name: 'Annuaire national', url: office.url, kind: 'directory', ...ownerCredentials(office) } });
    expect(second.status).toBe(409);
    expect(refusalCode(second)).toBe('directory-source-taken');
    expect(desktop.sync.peers.list().filter((peer) => peer.kind === 'directory')).toHaveLength(1);
  });

  it("fetches nothing itself while it follows its office's node, and cannot be made to", async () => {
    // The refresh held back: asked to check now, it contacts no server (a failure would be recorded), and says why.
    expect((await call(desktop.url, 'POST', '/admin/directory/refresh', { token: desktop.token })).status).toBe(202);
    const status = await call(desktop.url, 'GET', '/admin/directory/refresh', { token: desktop.token });
    expect(status.body.heldBack).toBe('directory-peer');
    expect(status.body.failure).toBeUndefined();
    expect(status.body.running).toBeUndefined();
    // Turning the refresh on beside the directory peer would take the directory from two sources.
    const turnedOn = await call(desktop.url, 'PUT', '/admin/directory/source', { token: desktop.token, json: { source: 'https://mirror.example' } });
    expect(turnedOn.status).toBe(409);
    expect(refusalCode(turnedOn)).toBe('directory-source-taken');
    expect(settingsOf(desktop).directory).toEqual({ source: 'off' });
  });
});
