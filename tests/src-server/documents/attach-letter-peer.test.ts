import { afterAll, beforeAll, expect, it } from 'vitest';
import { fhirFetch, type TestNode } from '../../helpers/node';
import { connect, eventually, FAST_SYNC, startSyncNodes } from '../../helpers/sync-nodes';
import { userToken } from '../../helpers/users';
import { PRACTICE_A, PRACTICE_B, postDocument, sendRequest, settledCommunications } from './fixtures';

/**
 * A letter from another office's node, by sync (issue 26): Dr Alpha on node A sends it to Dr Bernard, a user of node
 * B; sync brings the DocumentReference (about Dr Alpha's patient) to B. Filing it on B must not edit that shared
 * resource, which sync would carry back to A and take out of Dr Alpha's patient's record: Dr Bernard gets a copy of
 * his own, and the letter stays the version Dr Alpha wrote on both nodes.
 */

type Json = Record<string, any>;

let a: TestNode;
let b: TestNode;
let alpha: string;
let bernard: string;

beforeAll(async () => {
  [a, b] = await startSyncNodes(2, { sync: { ...FAST_SYNC, handshakeMs: 200 } });
  for (const node of [a, b]) {
    for (const id of ['alpha', 'bernard']) node.repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family: id, prefix: ['Dr'] }] });
  }
  alpha = userToken(a.db, { userId: 'u-alpha', roles: 'practitioner', practitionerId: 'alpha', organizations: PRACTICE_A });
  bernard = userToken(b.db, { userId: 'u-bernard', roles: 'practitioner', practitionerId: 'bernard', organizations: PRACTICE_B });
  const bPeerOfA = connect(a, b);
  connect(b, a);
  await eventually(() => a.sync.peers.recipientsOf(bPeerOfA).includes('Practitioner/bernard'), 'A knows whom B serves');
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

it("filing a peer's letter on B leaves the letter as its sender wrote it, on both nodes", async () => {
  const sent = await postDocument(a.fhir, alpha, 'p-martin');
  const created = await fhirFetch(a.fhir, alpha, 'CommunicationRequest', { method: 'POST', json: sendRequest(sent.documentReference, [{ reference: 'Practitioner/bernard' }]) });
  expect(created.status, await created.clone().text()).toBe(201);
  const [delivery] = await settledCommunications(a.fhir, alpha, ((await created.json()) as Json).id);
  expect(delivery.medium[0].coding[0].code).toBe('internal');
  await eventually(() => JSON.parse(b.repository.read('Communication', delivery.id)?.json ?? '{}').status === 'completed', 'the delivery is on B');
  const original = b.repository.read('DocumentReference', sent.documentReference)!;
  const patient = await fhirFetch(b.fhir, bernard, 'Patient/pb-martin', {
    method: 'PUT',
    json: { resourceType: 'Patient', id: 'pb-martin', name: [{ family: 'Martin', given: ['Hélène'] }], birthDate: '1980-02-29', generalPractitioner: [{ reference: 'Practitioner/bernard' }] },
  });
  expect(patient.status).toBe(201);

  const attached = await fhirFetch(b.fhir, bernard, `DocumentReference/${sent.documentReference}/$attach`, { method: 'POST', json: { resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: 'Patient/pb-martin' } }] } });
  expect(attached.status, await attached.clone().text()).toBe(201);
  const copy = (await attached.json()) as Json;
  expect(copy.subject).toEqual({ reference: 'Patient/pb-martin' });

  // Sync carries the copy to A (the peers hold each other's records); the letter stays Dr Alpha's version everywhere.
  await eventually(() => a.repository.exists('DocumentReference', copy.id), 'the copy is on A');
  for (const node of [a, b]) expect(node.repository.read('DocumentReference', sent.documentReference)!.versionId).toBe(original.versionId);
  const record = (await (await fhirFetch(a.fhir, alpha, 'Patient/p-martin/$everything?_count=100')).json()) as Json;
  expect(record.entry.map((entry: Json) => entry.resource.id)).toContain(sent.documentReference);
  const bernardsRecord = (await (await fhirFetch(b.fhir, bernard, 'Patient/pb-martin/$everything?_count=100')).json()) as Json;
  expect(bernardsRecord.entry.map((entry: Json) => entry.resource.id)).toContain(copy.id);
});
