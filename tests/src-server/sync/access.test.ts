import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, type TestNode } from '../../helpers/node';
import { connect, eventually, peerClient, startSyncNodes, tokenFor, versionsOf, winnersOf } from '../../helpers/sync-nodes';

/**
 * A peer is an API client like any other (docs/access.md): `$changes` gives it only what its scopes and reach let it
 * read, `$replicate` takes only what they let it write, and an office syncing with a shared node never receives
 * another practice's patients.
 */

type Json = Record<string, any>;

let hub: TestNode;
let office: TestNode;
/** Dr One's office syncs with the hub as Dr One. */
let drOne: { clientId: string; clientSecret: string };
let drOneToken: string;
const ids: Record<string, string> = {};

const SCOPES = ['SYNC', 'PATIENT_READ', 'PATIENT_CREATE', 'PATIENT_UPDATE'];

beforeAll(async () => {
  [hub, office] = await startSyncNodes(2);
  for (const id of ['dr-one', 'dr-two']) hub.repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family: id }] });
  for (const [key, gp] of [['one', 'dr-one'], ['two', 'dr-two']]) {
    const patient = hub.repository.create('Patient', { resourceType: 'Patient', name: [{ family: `Patient of ${gp}` }], generalPractitioner: [{ reference: `Practitioner/${gp}` }] });
    ids[key] = patient.id;
    ids[`${key}-observation`] = hub.repository.create('Observation', { resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: `Patient/${patient.id}` } }).id;
  }
  drOne = await peerClient(hub, { scopes: SCOPES, practitionerId: 'dr-one' });
  drOneToken = await tokenFor(hub, drOne);
});
afterAll(async () => {
  await Promise.all([hub?.stop(), office?.stop()]);
});

async function changesAs(token: string): Promise<Response> {
  return fhirFetch(hub.fhir, token, '$changes?_count=1000');
}

function versionEntry(resource: Json, parents: string[] = []): Json {
  return {
    extension: [...parents.map((parent) => ({ url: 'http://liaison.health/fhir/StructureDefinition/sync-parent', valueString: parent })), { url: 'http://liaison.health/fhir/StructureDefinition/sync-origin', valueString: 'elsewhere' }],
    resource,
  };
}

async function replicateAs(token: string, entries: Json[]): Promise<Json[]> {
  const response = await fhirFetch(hub.fhir, token, '$replicate', { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: entries } });
  expect(response.status).toBe(200);
  return ((await response.json()) as Json).entry;
}

const stamp = () => new Date().toISOString();

describe('sync access', () => {
  it('refuses the protocol to a client without the SYNC scope (403)', async () => {
    const reader = await tokenFor(hub, await peerClient(hub, { scopes: ['PATIENT_READ'] }));
    const response = await changesAs(reader);
    expect(response.status).toBe(403);
    expect(((await response.json()) as Json).issue[0].diagnostics).toMatch(/SYNC/);
    expect((await fhirFetch(hub.fhir, reader, '$replicate', { method: 'POST', json: { resourceType: 'Bundle', type: 'batch' } })).status).toBe(403);
  });

  it("gives a peer only the versions it may read: its practitioner's patients, of the types its scopes name", async () => {
    const entries = ((await (await changesAs(drOneToken)).json()) as Json).entry as Json[];
    const seen = entries.map((entry) => `${entry.resource.resourceType}/${entry.resource.id}`);
    expect(seen).toContain(`Patient/${ids.one}`);
    expect(seen).not.toContain(`Patient/${ids.two}`);
    // No OBSERVATION_READ: not even the observation of its own patient.
    expect(seen.some((reference) => reference.startsWith('Observation/'))).toBe(false);
    // The directory is read by everyone it has READ scope for: none here.
    expect(seen.some((reference) => reference.startsWith('Practitioner/'))).toBe(false);
  });

  it('takes from a peer only what it may write, entry by entry, and stores nothing of what it refuses', async () => {
    const mine = { resourceType: 'Patient', id: 'replicated-one', meta: { versionId: 'rep-one-1', lastUpdated: stamp() }, generalPractitioner: [{ reference: 'Practitioner/dr-one' }] };
    const theirs = { resourceType: 'Patient', id: 'replicated-two', meta: { versionId: 'rep-two-1', lastUpdated: stamp() }, generalPractitioner: [{ reference: 'Practitioner/dr-two' }] };
    const practitioner = { resourceType: 'Practitioner', id: 'forged', meta: { versionId: 'forged-1', lastUpdated: stamp() } };
    const observation = { resourceType: 'Observation', id: 'obs-x', meta: { versionId: 'obs-x-1', lastUpdated: stamp() }, status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/replicated-one' } };
    const hiddenEdit = { resourceType: 'Patient', id: ids.two, meta: { versionId: 'hidden-edit-1', lastUpdated: stamp() }, generalPractitioner: [{ reference: 'Practitioner/dr-one' }] };
    const results = await replicateAs(drOneToken, [versionEntry(mine), versionEntry(theirs), versionEntry(practitioner), versionEntry(observation), versionEntry(hiddenEdit, [hub.repository.read('Patient', ids.two)!.versionId])]);
    expect(results.map((entry) => entry.extension[0].valueCode)).toEqual(['created', 'refused', 'refused', 'refused', 'refused']);
    expect(results.slice(1).map((entry) => entry.response.status)).toEqual(['403', '403', '403', '403']);
    const stored = versionsOf(hub);
    expect(stored.has('rep-one-1')).toBe(true);
    for (const versionId of ['rep-two-1', 'forged-1', 'obs-x-1', 'hidden-edit-1']) expect(stored.has(versionId)).toBe(false);
  });

  it("refuses a concurrent version that would move one of the peer's patients out of its reach, even as a losing leaf", async () => {
    const current = hub.repository.read('Patient', 'replicated-one')!;
    // An archived branch loses to the live one, so it never becomes current: it is checked all the same.
    const away = { resourceType: 'Patient', id: 'replicated-one', active: false, meta: { versionId: 'away-1', lastUpdated: stamp() }, generalPractitioner: [{ reference: 'Practitioner/dr-two' }] };
    const sibling = { resourceType: 'Patient', id: 'replicated-one', meta: { versionId: 'sibling-1', lastUpdated: stamp() }, gender: 'female', generalPractitioner: [{ reference: 'Practitioner/dr-one' }] };
    const archivedHere = { ...away, meta: { versionId: 'archived-here-1', lastUpdated: stamp() }, generalPractitioner: [{ reference: 'Practitioner/dr-one' }] };
    const results = await replicateAs(drOneToken, [versionEntry(sibling, [current.versionId]), versionEntry(away, [current.versionId]), versionEntry(archivedHere, [current.versionId])]);
    expect(results.map((entry) => entry.extension[0].valueCode)).toEqual(['created', 'refused', 'conflict']);
    expect(versionsOf(hub).has('away-1')).toBe(false);
    expect(winnersOf(hub).get('Patient/replicated-one')).toBe('sibling-1');
  });

  it('refuses a Binary naming a content file from a peer with a reach: it could point at another practice\'s document', async () => {
    const token = await tokenFor(hub, await peerClient(hub, { scopes: ['SYNC', 'BINARY_CREATE'], practitionerId: 'dr-one' }));
    const binary = {
      resourceType: 'Binary',
      id: 'pointing',
      meta: { versionId: 'pointing-1', lastUpdated: stamp() },
      contentType: 'application/pdf',
      _content: { extension: [{ url: 'http://liaison.health/fhir/StructureDefinition/binary-content', valueString: `sha256:${'a'.repeat(64)}:10` }] },
    };
    const [result] = await replicateAs(token, [versionEntry(binary)]);
    expect([result.extension[0].valueCode, result.response.status]).toEqual(['refused', '400']);
    expect(versionsOf(hub).has('pointing-1')).toBe(false);
  });

  it('keeps Subscriptions to who made them: a peer\'s client neither pulls nor writes them, and no version carries channel.header', async () => {
    const made = await hub.request('Subscription', {
      method: 'POST',
      json: { resourceType: 'Subscription', status: 'off', reason: 'EHR', criteria: 'Patient?gender=other', channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook', header: ['Authorization: Bearer hdr-of-the-ehr'] } },
    });
    expect(made.status).toBe(201);
    const subscription = (await made.json()) as Json;
    // The owner client's sync feed has it, without its header.
    const ownFeed = await (await changesAs(hub.token)).text();
    expect(ownFeed).toContain(subscription.id);
    expect(ownFeed).not.toContain('hdr-');

    const peer = await tokenFor(hub, await peerClient(hub, { scopes: ['SYNC', 'SUBSCRIPTION_READ', 'SUBSCRIPTION_CREATE', 'SUBSCRIPTION_UPDATE'] }));
    const pulled = ((await (await changesAs(peer)).json()) as Json).entry ?? [];
    expect(pulled.map((entry: Json) => entry.resource.id)).not.toContain(subscription.id);
    const redirected = { ...subscription, channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:10/elsewhere' }, meta: { versionId: 'redirected-1', lastUpdated: stamp() } };
    const another = { ...subscription, id: 'from-a-peer', meta: { versionId: 'from-a-peer-1', lastUpdated: stamp() } };
    const results = await replicateAs(peer, [versionEntry(redirected, [subscription.meta.versionId]), versionEntry(another)]);
    expect(results.map((entry) => [entry.extension[0].valueCode, entry.response.status])).toEqual([['refused', '403'], ['refused', '403']]);

    // A node that kept the header in the body (before it moved out) cannot bring one in, even as the owner client.
    const withHeader = { ...another, id: 'old-node-subscription', meta: { versionId: 'old-node-1', lastUpdated: stamp() }, channel: { ...subscription.channel, header: ['Authorization: Bearer hdr-old'] } };
    const [old] = await replicateAs(hub.token, [versionEntry(withHeader)]);
    expect([old.extension[0].valueCode, old.response.status]).toEqual(['refused', '400']);
    for (const versionId of ['redirected-1', 'from-a-peer-1', 'old-node-1']) expect(versionsOf(hub).has(versionId)).toBe(false);
  });

  it('lists to a peer or user only the conflicts on resources it may read, page by page', async () => {
    for (const key of ['one', 'two']) {
      const current = hub.repository.read('Patient', ids[key])!;
      const body = JSON.parse(current.json) as Json;
      const branches = ['a', 'b'].map((branch) => versionEntry({ ...body, gender: branch === 'a' ? 'male' : 'female', meta: { versionId: `${key}-branch-${branch}`, lastUpdated: stamp() } }, [current.versionId]));
      const response = await hub.request('$replicate', { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: branches } });
      expect(((await response.json()) as Json).entry.map((entry: Json) => entry.extension[0].valueCode)).toEqual(['created', 'conflict']);
    }
    const targets = (body: Json) => (body.parameter ?? []).filter((part: Json) => part.name === 'conflict').map((part: Json) => part.part.find((inner: Json) => inner.name === 'target').valueReference.reference);
    const asDrOne = (await (await fhirFetch(hub.fhir, drOneToken, '$conflicts')).json()) as Json;
    expect(targets(asDrOne)).toContain(`Patient/${ids.one}`);
    expect(targets(asDrOne)).not.toContain(`Patient/${ids.two}`);
    expect((await fhirFetch(hub.fhir, drOneToken, `Patient/${ids.two}/$conflicts`)).status).toBe(404);

    const first = (await (await hub.request('$conflicts?_count=1')).json()) as Json;
    expect(targets(first)).toHaveLength(1);
    const next = first.parameter.find((part: Json) => part.name === 'next').valueString as string;
    const second = (await (await hub.request(next)).json()) as Json;
    expect(new Set([...targets(first), ...targets(second)]).size).toBe(2);
  });

  it("never brings another practice's patients to an office, and the hub refuses the office's writes outside its reach", async () => {
    connect(office, hub, { credentials: drOne });
    await eventually(() => versionsOf(office).has(hub.repository.read('Patient', ids.one)!.versionId), "the office has Dr One's patient");
    const onOffice = winnersOf(office);
    expect(onOffice.has(`Patient/${ids.one}`)).toBe(true);
    expect(onOffice.has(`Patient/${ids.two}`)).toBe(false);
    expect([...onOffice.keys()].some((key) => key.startsWith('Observation/') || key.startsWith('Practitioner/'))).toBe(false);

    // Written on the office for another practitioner: the hub refuses it, the office keeps it.
    const stray = office.repository.create('Patient', { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/dr-two' }] });
    const own = await office.request('Patient', { method: 'POST', json: { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/dr-one' }] } });
    const ownVersion = ((await own.json()) as Json).meta.versionId;
    await eventually(() => versionsOf(hub).has(ownVersion), "the hub has the office's own patient");
    expect(versionsOf(hub).has(stray.versionId)).toBe(false);
    expect(versionsOf(office).has(stray.versionId)).toBe(true);
  });
});

