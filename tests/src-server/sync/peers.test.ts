import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subkey } from '../../../src-server/data-key';
import { unseal } from '../../../src-server/sealing';
import { testDataKey } from '../../helpers/data-key';
import { fhirFetch, type TestNode } from '../../helpers/node';
import { connect, eventually, peerClient, startSyncNodes, tokenFor, versionsOf, winnersOf } from '../../helpers/sync-nodes';

/** Peers as an admin manages them, directory data flowing one way, and versions kept aside until they can be stored. */

type Json = Record<string, any>;

let office: TestNode;
let directory: TestNode;
let other: TestNode;

beforeAll(async () => {
  [office, directory, other] = await startSyncNodes(3);
});
afterAll(async () => {
  await Promise.all([office?.stop(), directory?.stop(), other?.stop()]);
});

function admin(node: TestNode, path = '', init: { method?: string; json?: unknown; token?: string } = {}): Promise<Response> {
  return fetch(`${node.url}/admin/peers${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${init.token ?? node.token}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
  });
}

describe('/admin/peers', () => {
  it('adds, lists and removes peers, never showing the secret, which is sealed in the database', async () => {
    const secret = 'a-secret-that-must-not-leak';
    const added = await admin(office, '', { method: 'POST', json: { name: 'Poste du Dr Martin', url: 'http://127.0.0.1:9/fhir/', clientId: 'abc', clientSecret: secret } });
    expect(added.status).toBe(201);
    const peer = (await added.json()) as Json;
    expect(peer).toMatchObject({ name: 'Poste du Dr Martin', url: 'http://127.0.0.1:9', kind: 'office', clientId: 'abc' });
    const listed = await admin(office);
    const text = await listed.text();
    expect(text).toContain(peer.peerId);
    expect(text).not.toContain(secret);
    const stored = JSON.stringify(office.db.prepare('SELECT * FROM sync_peers').all());
    expect(stored).not.toContain(secret);
    expect(office.sync.peers.secretOf(peer.peerId)).toBe(secret);
    // Sealed under the data key (its 'sealing' subkey): no key file of its own in the folder.
    const sealed = office.db.prepare('SELECT secret FROM sync_peers WHERE peer_id = ?').pluck().get(peer.peerId) as string;
    expect(unseal(subkey(testDataKey(office.dataDir), 'sealing'), sealed)).toBe(secret);
    expect(existsSync(join(office.dataDir, 'sync-secret.key'))).toBe(false);

    expect((await admin(office, `/${peer.peerId}`, { method: 'DELETE' })).status).toBe(200);
    expect((await admin(office, `/${peer.peerId}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses bad peers with a 400 naming the problem, and non-admins with a 403', async () => {
    for (const [body, field] of [
      [{ name: 'x', url: 'ftp://host', clientId: 'a', clientSecret: 'b' }, 'url'],
      [{ name: 'x', url: 'http://user:pw@host', clientId: 'a', clientSecret: 'b' }, 'url'],
      [{ name: '', url: 'http://host', clientId: 'a', clientSecret: 'b' }, 'name'],
      [{ name: 'x', url: 'http://host', clientId: 'a' }, 'clientSecret'],
      [{ name: 'x', url: 'http://host', clientId: 'a', clientSecret: 'b', kind: 'hub' }, 'kind'],
    ] as const) {
      const response = await admin(office, '', { method: 'POST', json: body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as Json).issue[0].expression).toEqual([field]);
    }
    const notAdmin = await tokenFor(office, await peerClient(office, { scopes: ['SYNC'] }));
    expect((await admin(office, '', { token: notAdmin })).status).toBe(403);
  });
});

describe('directory data', () => {
  it('flows from a directory peer only, one way, and is refused through $replicate', async () => {
    directory.repository.update('Practitioner', 'rpps-1', { resourceType: 'Practitioner', id: 'rpps-1', name: [{ family: 'Annuaire' }] });
    directory.repository.create('Patient', { resourceType: 'Patient', name: [{ family: 'Not directory data' }] });
    connect(office, directory, { kind: 'directory' });
    await eventually(() => winnersOf(office).has('Practitioner/rpps-1'), 'the office has the directory practitioner');
    expect([...winnersOf(office).keys()].some((key) => key.startsWith('Patient/'))).toBe(false);

    // The office pushes nothing to a directory peer, and no office passes the directory on.
    office.repository.create('Patient', { resourceType: 'Patient', name: [{ family: 'Stays here' }] });
    connect(other, office);
    await eventually(() => [...winnersOf(other).keys()].some((key) => key.startsWith('Patient/')), 'the other office has the patient');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect([...winnersOf(directory).keys()].filter((key) => key.startsWith('Patient/'))).toHaveLength(1);
    expect(winnersOf(other).has('Practitioner/rpps-1')).toBe(false);

    const practitioner = JSON.parse(directory.repository.read('Practitioner', 'rpps-1')!.json) as Json;
    const response = await fhirFetch(other.fhir, other.token, '$replicate', {
      method: 'POST',
      json: { resourceType: 'Bundle', type: 'batch', entry: [{ resource: practitioner, extension: [{ url: 'http://liaison.health/fhir/StructureDefinition/sync-origin', valueString: directory.repository.nodeId }] }] },
    });
    const entry = ((await response.json()) as Json).entry[0];
    expect(entry.extension[0].valueCode).toBe('refused');
    expect(entry.response.outcome.issue[0].diagnostics).toMatch(/directory/);
  });
});

describe('versions this node cannot store yet', () => {
  it('keeps them aside, answers deferred, and stores them once it can', async () => {
    const future = { resourceType: 'FutureResource', id: 'f1', meta: { versionId: 'future-1', lastUpdated: new Date().toISOString() } };
    const origin = { url: 'http://liaison.health/fhir/StructureDefinition/sync-origin', valueString: 'newer-node' };
    const response = await office.request('$replicate', { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: [{ resource: future, extension: [origin] }] } });
    const entry = ((await response.json()) as Json).entry[0];
    expect(entry.extension[0].valueCode).toBe('deferred');
    expect(entry.response.status).toBe('202 Accepted');
    const kept = () => office.db.prepare('SELECT version_id, reason FROM sync_deferred').all() as Json[];
    expect(kept()).toEqual([{ version_id: 'future-1', reason: expect.stringMatching(/FutureResource/) }]);
    // Sent again: still one, still deferred; tried again by this build: still kept.
    await office.request('$replicate', { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: [{ resource: future, extension: [origin] }] } });
    expect(office.repository.retryDeferred()).toBe(0);
    expect(kept()).toHaveLength(1);

    // One an older build of this node kept aside, which this build can store: the next retry stores it.
    const patient = { resourceType: 'Patient', id: 'was-deferred', meta: { versionId: 'was-deferred-1', lastUpdated: new Date().toISOString() }, gender: 'other' };
    office.db
      .prepare('INSERT INTO sync_deferred (version_id, resource_type, resource_id, parent_ids, origin_node, received_from, body, reason, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run('was-deferred-1', 'Patient', 'was-deferred', '[]', 'older-node', null, JSON.stringify(patient), 'unknown element', new Date().toISOString());
    expect(office.repository.retryDeferred()).toBe(1);
    expect(versionsOf(office).get('was-deferred-1')).toBe(JSON.stringify(patient));
    expect(kept().map((row) => row.version_id)).toEqual(['future-1']);
  });

  it('answers 400 for a body that is no Bundle, and refuses malformed entries one by one', async () => {
    expect((await office.request('$replicate', { method: 'POST', json: { resourceType: 'Patient' } })).status).toBe(400);
    const response = await office.request('$replicate', {
      method: 'POST',
      json: { resourceType: 'Bundle', type: 'batch', entry: [{}, { resource: { resourceType: 'Patient', id: 'no-meta' }, extension: [{ url: 'http://liaison.health/fhir/StructureDefinition/sync-origin', valueString: 'x' }] }] },
    });
    expect(response.status).toBe(200);
    const entries = ((await response.json()) as Json).entry as Json[];
    expect(entries.map((entry) => [entry.extension[0].valueCode, entry.response.status])).toEqual([
      ['refused', '400'],
      ['refused', '400'],
    ]);
    expect((await office.request('$changes?cursor=abc')).status).toBe(400);
    expect((await office.request('$changes?_count=0')).status).toBe(400);
  });
});
