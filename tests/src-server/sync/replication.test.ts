import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from '../../helpers/node';
import { connect, converged, eventually, openConflictsOf, startSyncNodes, versionsOf, winnersOf } from '../../helpers/sync-nodes';

type Json = Record<string, any>;

/** Two desktops of one practice: the secretary's (a) syncs with the doctor's (b). */
let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  [a, b] = await startSyncNodes(2);
  connect(a, b);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

async function json(response: Response): Promise<Json> {
  return (await response.json()) as Json;
}

async function create(node: TestNode, resource: Json): Promise<Json> {
  const response = await node.request(resource.resourceType, { method: 'POST', json: resource });
  expect(response.status).toBe(201);
  return json(response);
}

async function update(node: TestNode, resource: Json): Promise<Json> {
  const response = await node.request(`${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource });
  expect(response.status).toBe(200);
  return json(response);
}

async function read(node: TestNode, path: string): Promise<Json | undefined> {
  const response = await node.request(path);
  return response.status === 200 ? json(response) : undefined;
}

describe('replication between two nodes', () => {
  it('carries a write each way, with the same version id, parents and body', async () => {
    const patient = await create(a, { resourceType: 'Patient', name: [{ family: 'Martin' }] });
    await eventually(() => versionsOf(b).has(patient.meta.versionId), 'b has the patient');
    expect(versionsOf(b).get(patient.meta.versionId)).toBe(versionsOf(a).get(patient.meta.versionId));
    const onB = await read(b, `Patient/${patient.id}`);
    expect(onB).toEqual(patient);

    const edited = await update(b, { ...onB, birthDate: '1980-02-29' });
    await eventually(() => versionsOf(a).has(edited.meta.versionId), 'a has the edit');
    expect((await read(a, `Patient/${patient.id}`))?.birthDate).toBe('1980-02-29');
    const history = await json(await a.request(`Patient/${patient.id}/_history`));
    expect(history.entry.map((entry: Json) => entry.resource.meta.versionId)).toEqual([edited.meta.versionId, patient.meta.versionId]);
  });

  it('finds a replicated write by exact search at once and by name through the text index', async () => {
    const patient = await create(b, { resourceType: 'Patient', identifier: [{ system: 'urn:test', value: 'sync-search' }], name: [{ family: 'Dupont-Synchro' }] });
    await eventually(() => versionsOf(a).has(patient.meta.versionId), 'a has the patient');
    const exact = await json(await a.request('Patient?identifier=urn:test|sync-search'));
    expect(exact.entry?.map((entry: Json) => entry.resource.id)).toEqual([patient.id]);
    await a.textIndex.caughtUp((a.db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq);
    const byName = await json(await a.request('Patient?name=dupont-sync'));
    expect(byName.entry?.map((entry: Json) => entry.resource.id)).toEqual([patient.id]);
  });

  it('opens the same conflict on both nodes for concurrent edits, resolves it once for both, with a Provenance', async () => {
    const patient = await create(a, { resourceType: 'Patient', name: [{ family: 'Bernard' }] });
    await eventually(() => versionsOf(b).has(patient.meta.versionId), 'b has the patient');
    // Both edit before either hears of the other: stop a's loop by removing the peer, edit, then reconnect.
    const [peer] = a.sync.peers.list();
    a.sync.peers.remove(peer.peerId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const onA = await update(a, { ...patient, gender: 'female' });
    const onB = await update(b, { ...patient, gender: 'male', birthDate: '1970-01-01' });
    connect(a, b);
    await converged([a, b]);
    expect(openConflictsOf(a)).toContain(`Patient/${patient.id}`);
    expect(openConflictsOf(b)).toEqual(openConflictsOf(a));
    expect(winnersOf(a).get(`Patient/${patient.id}`)).toBe(winnersOf(b).get(`Patient/${patient.id}`));
    // Neither is archived: the later origin stamp wins, b's.
    expect(winnersOf(a).get(`Patient/${patient.id}`)).toBe(onB.meta.versionId);

    const listed = await json(await a.request(`Patient/${patient.id}/$conflicts`));
    const conflict = listed.parameter[0].part as Json[];
    const leaves = conflict.filter((part) => part.name === 'leaf').map((part) => part.part[0].valueId);
    expect(leaves.sort()).toEqual([onA.meta.versionId, onB.meta.versionId].sort());
    const paths = conflict.filter((part) => part.name === 'difference').map((part) => part.part[0].valueString);
    expect(paths).toEqual(['birthDate', 'gender']);

    const resolved = await a.request(`Patient/${patient.id}/$resolve`, {
      method: 'POST',
      json: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { ...onB, gender: 'female' } }, ...leaves.map((leaf: string) => ({ name: 'leaf', valueId: leaf }))] },
    });
    expect(resolved.status).toBe(200);
    const resolution = await json(resolved);
    expect(openConflictsOf(a)).toEqual([]);
    await eventually(() => openConflictsOf(b).length === 0, 'the resolution closes the conflict on b');
    expect(winnersOf(b).get(`Patient/${patient.id}`)).toBe(resolution.meta.versionId);
    // The Provenance of the resolution replicates too: who resolved, from which versions.
    await eventually(() => openConflictsOf(b).length === 0 && [...versionsOf(b).values()].some((body) => body.includes(`"Patient/${patient.id}/_history/${resolution.meta.versionId}"`)), 'b has the Provenance');
    const provenances = (await json(await b.request('Provenance?_count=100'))).entry.map((entry: Json) => entry.resource);
    const record = provenances.find((resource: Json) => resource.target[0].reference === `Patient/${patient.id}/_history/${resolution.meta.versionId}`);
    expect(record.entity.map((entity: Json) => entity.whatReference.reference).sort()).toEqual(leaves.map((leaf: string) => `Patient/${patient.id}/_history/${leaf}`).sort());
  });

  it('refuses to resolve a resource without a conflict (409)', async () => {
    const patient = await create(a, { resourceType: 'Patient' });
    const response = await a.request(`Patient/${patient.id}/$resolve`, {
      method: 'POST',
      json: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient }, { name: 'leaf', valueId: patient.meta.versionId }, { name: 'leaf', valueId: 'x' }] },
    });
    expect(response.status).toBe(409);
    expect((await json(response)).resourceType).toBe('OperationOutcome');
  });
});
