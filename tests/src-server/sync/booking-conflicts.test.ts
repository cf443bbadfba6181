import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from '../../helpers/node';
import { connect, eventually, startSyncNodes } from '../../helpers/sync-nodes';
import { clientToken } from '../../helpers/users';
import { fhirFetch } from '../../helpers/node';

/**
 * Bookings stay single across offline desktops (issue 28): two office nodes apart each book Dr Martin at overlapping
 * times; once they sync, both appointments are kept and marked as a booking conflict on both nodes ($conflicts and a
 * meta.tag on read and search), and moving one clears it on both. Real nodes syncing over HTTP.
 */

type Json = Record<string, any>;

const CONFLICT_SYSTEM = 'http://liaison.health/fhir/CodeSystem/conflict';

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

async function write(node: TestNode, resource: Json): Promise<Json> {
  const response = resource.id
    ? await node.request(`${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource })
    : await node.request(resource.resourceType, { method: 'POST', json: resource });
  const body = await json(response);
  expect(response.status, JSON.stringify(body)).toBeLessThan(300);
  return body;
}

function appointment(patient: string, practitioner: string, from: string, to: string): Json {
  return {
    resourceType: 'Appointment',
    status: 'booked',
    start: `2026-12-08T${from}:00Z`,
    end: `2026-12-08T${to}:00Z`,
    participant: [
      { actor: { reference: `Patient/${patient}` }, status: 'accepted' },
      { actor: { reference: `Practitioner/${practitioner}` }, status: 'accepted' },
    ],
  };
}

/** Cuts a's link to b (its only peer) and waits until its loop has stopped. */
async function apart(): Promise<void> {
  for (const peer of a.sync.peers.list()) a.sync.peers.remove(peer.peerId);
  await new Promise((resolve) => setTimeout(resolve, 300));
}

/** Waits until both nodes hold the same versions of the practice's data (directory data is each node's own import). */
function converged(nodes: readonly TestNode[]): Promise<void> {
  const practiceVersions = (node: TestNode) =>
    (node.db.prepare("SELECT version_id FROM resource_versions WHERE resource_type IN ('Patient', 'Appointment') ORDER BY 1").all() as Array<{ version_id: string }>).map((row) => row.version_id).join(' ');
  return eventually(() => nodes.every((node) => practiceVersions(node) === practiceVersions(nodes[0])), 'both nodes hold the same appointments and patients');
}

const conflictTags = (resource: Json) => ((resource.meta?.tag ?? []) as Json[]).filter((tag) => tag.system === CONFLICT_SYSTEM).map((tag) => tag.code as string);

/** The booking conflicts $conflicts lists: `Appointment/x Appointment/y Practitioner/p` each. */
async function bookingConflicts(node: TestNode, path = '$conflicts'): Promise<string[]> {
  const body = await json(await node.request(path));
  return ((body.parameter ?? []) as Json[])
    .filter((parameter) => parameter.name === 'conflict' && parameter.part.some((part: Json) => part.name === 'kind' && part.valueCode === 'booking'))
    .map((parameter) => {
      const parts = parameter.part as Json[];
      const targets = parts.filter((part) => part.name === 'target').map((part) => part.valueReference.reference as string);
      const practitioner = parts.find((part) => part.name === 'practitioner')?.valueReference.reference as string;
      return [...targets, practitioner].join(' ');
    });
}

describe('the offline double booking', () => {
  it('keeps both appointments, marks them as a booking conflict on both nodes, and moving one clears it everywhere', async () => {
    // Practitioners are directory data: each node has them from its directory import.
    for (const node of [a, b]) node.repository.update('Practitioner', 'martin', { resourceType: 'Practitioner', id: 'martin', name: [{ family: 'Martin', given: ['Paul'] }] });
    await write(a, { resourceType: 'Patient', id: 'dupont', name: [{ family: 'Dupont', given: ['Jeanne'] }] });
    await write(a, { resourceType: 'Patient', id: 'durand', name: [{ family: 'Durand', given: ['Marc'] }] });
    await converged([a, b]);
    await apart();

    const onA = await write(a, appointment('dupont', 'martin', '17:00', '17:30'));
    const onB = await write(b, appointment('durand', 'martin', '17:10', '17:40'));
    connect(a, b);
    await converged([a, b]);

    const pair = [onA.id as string, onB.id as string].sort();
    const expected = [`Appointment/${pair[0]} Appointment/${pair[1]} Practitioner/martin`];
    for (const node of [a, b]) {
      // Neither is lost: both are booked on both nodes.
      for (const id of pair) expect((await json(await node.request(`Appointment/${id}`))).status).toBe('booked');
      expect(await bookingConflicts(node)).toEqual(expected);
      expect(await bookingConflicts(node, `Appointment/${pair[0]}/$conflicts`)).toEqual(expected);
      // A plain read and a search say it too.
      for (const id of pair) expect(conflictTags(await json(await node.request(`Appointment/${id}`)))).toEqual(['booking']);
      const found = await json(await node.request('Appointment?actor=Practitioner/martin&date=ge2026-12-08&date=lt2026-12-09'));
      expect(found.entry.map((entry: Json) => conflictTags(entry.resource))).toEqual([['booking'], ['booking']]);
    }

    // The conflict names the times and the patients of both appointments.
    const listed = await json(await a.request('$conflicts'));
    const conflict = (listed.parameter as Json[]).find((parameter) => parameter.part.some((part: Json) => part.valueCode === 'booking'));
    const details = (conflict!.part as Json[]).filter((part) => part.name === 'appointment').map((part) => Object.fromEntries((part.part as Json[]).map((inner) => [inner.name, inner.valueInstant ?? inner.valueCode ?? inner.valueReference?.reference])));
    expect(details).toEqual(
      [
        { target: `Appointment/${onA.id}`, start: '2026-12-08T17:00:00Z', end: '2026-12-08T17:30:00Z', status: 'booked', patient: 'Patient/dupont' },
        { target: `Appointment/${onB.id}`, start: '2026-12-08T17:10:00Z', end: '2026-12-08T17:40:00Z', status: 'booked', patient: 'Patient/durand' },
      ].sort((x, y) => (x.target < y.target ? -1 : 1)),
    );

    // The patient of a's appointment arrives: an appointment in a booking conflict may still be edited, and the
    // conflict stays; a new overlap with a third appointment is still refused.
    const arrived = await write(a, { ...(await json(await a.request(`Appointment/${onA.id}`))), status: 'arrived' });
    expect(arrived.status).toBe('arrived');
    expect(await bookingConflicts(a)).toEqual(expected);
    const third = await a.request('Appointment', { method: 'POST', json: appointment('dupont', 'martin', '17:20', '17:50') });
    expect(third.status).toBe(409);
    await converged([a, b]);

    // A cancel in a transaction that fails as a whole changes nothing: the conflict and its tags stay.
    const current = await json(await b.request(`Appointment/${onB.id}`));
    const failed = await b.request('', {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: { ...current, status: 'cancelled' }, request: { method: 'PUT', url: `Appointment/${onB.id}` } },
          { resource: { resourceType: 'Patient', id: 'durand' }, request: { method: 'PUT', url: 'Patient/durand', ifMatch: 'W/"not-its-version"' } },
        ],
      },
    });
    expect(failed.status).toBe(412);
    expect(await bookingConflicts(b)).toEqual(expected);
    for (const id of pair) expect(conflictTags(await json(await b.request(`Appointment/${id}`)))).toEqual(['booking']);

    // Resolved by a normal write on one node: b moves its appointment to 18:00; once synced, gone on both.
    const moved = await write(b, { ...current, start: '2026-12-08T18:00:00Z', end: '2026-12-08T18:30:00Z' });
    // The tag is the node's answer, never stored: the moved version does not carry it.
    expect(conflictTags(moved)).toEqual([]);
    await converged([a, b]);
    for (const node of [a, b]) {
      expect(await bookingConflicts(node)).toEqual([]);
      for (const id of pair) expect(conflictTags(await json(await node.request(`Appointment/${id}`)))).toEqual([]);
    }
  });
});

describe('conflicts visible on a plain read', () => {
  it('tags a resource with an open conflict of either kind on read, vread of its current version, search, _include and $everything; a write drops the tag', async () => {
    const patient = await write(a, { resourceType: 'Patient', id: 'bernard', name: [{ family: 'Bernard' }], meta: { tag: [{ system: 'urn:example:practice', code: 'vip' }] } });
    await converged([a, b]);
    await apart();
    // Apart, each node edits the patient (an edit conflict) and books Dr Martin at 09:00 (a booking conflict).
    const onA = await write(a, { ...patient, gender: 'female' });
    const onB = await write(b, { ...patient, gender: 'male' });
    const first = await write(a, appointment('bernard', 'martin', '09:00', '09:20'));
    const second = await write(b, appointment('bernard', 'martin', '09:00', '09:20'));
    connect(a, b);
    await converged([a, b]);

    const read = await json(await a.request('Patient/bernard'));
    expect(conflictTags(read)).toEqual(['edit']);
    // The node's tag comes beside the practice's own, which stays.
    expect(read.meta.tag.map((tag: Json) => tag.code)).toEqual(['vip', 'edit']);
    expect(read.meta.tag[1].display).toBe('Conflit de modification / Edit conflict');
    const winner = read.meta.versionId as string;
    const loser = winner === onA.meta.versionId ? onB.meta.versionId : onA.meta.versionId;
    expect(conflictTags(await json(await a.request(`Patient/bernard/_history/${winner}`)))).toEqual(['edit']);
    // An older version is history: it says nothing of today's conflicts.
    expect(conflictTags(await json(await a.request(`Patient/bernard/_history/${loser}`)))).toEqual([]);
    const searched = await json(await a.request('Patient?_id=bernard'));
    expect(conflictTags(searched.entry[0].resource)).toEqual(['edit']);
    const withPatients = await json(await a.request(`Appointment?_id=${first.id},${second.id}&_include=Appointment:patient`));
    const tagsById = Object.fromEntries(withPatients.entry.map((entry: Json) => [`${entry.resource.resourceType}/${entry.resource.id}`, conflictTags(entry.resource)]));
    expect(tagsById).toEqual({ 'Patient/bernard': ['edit'], [`Appointment/${first.id}`]: ['booking'], [`Appointment/${second.id}`]: ['booking'] });
    const everything = await json(await a.request('Patient/bernard/$everything'));
    const everythingTags = Object.fromEntries(everything.entry.map((entry: Json) => [`${entry.resource.resourceType}/${entry.resource.id}`, conflictTags(entry.resource)]));
    expect(everythingTags).toMatchObject({ 'Patient/bernard': ['edit'], [`Appointment/${first.id}`]: ['booking'], [`Appointment/${second.id}`]: ['booking'] });

    // $conflicts pages through both kinds: the edit conflict, then the booking conflict.
    const kinds: string[] = [];
    for (let url: string | undefined = '$conflicts?_count=1'; url; ) {
      const page: Json = await json(await a.request(url));
      const parameters = (page.parameter ?? []) as Json[];
      kinds.push(...parameters.filter((parameter) => parameter.name === 'conflict').map((parameter) => parameter.part[0].valueCode as string));
      url = parameters.find((parameter) => parameter.name === 'next')?.valueString;
    }
    expect(kinds).toEqual(['edit', 'booking']);

    // A client that writes back what it read does not store the node's tag; the practice's own tag stays.
    const rewritten = await write(a, { ...read, gender: 'female' });
    const stored = JSON.parse(a.repository.read('Patient', 'bernard')!.json) as Json;
    expect(stored.meta.versionId).toBe(rewritten.meta.versionId);
    expect(stored.meta.tag).toEqual([{ system: 'urn:example:practice', code: 'vip' }]);
    // The edit went on one branch: the conflict stays open (and tagged) until resolved.
    expect(conflictTags(await json(await a.request('Patient/bernard')))).toEqual(['edit']);
  });
});

describe('who sees a booking conflict', () => {
  it('lists it only to a caller who sees both appointments: one who sees a single one learns nothing of the other', async () => {
    for (const node of [a, b]) node.repository.update('Practitioner', 'bonnet', { resourceType: 'Practitioner', id: 'bonnet', name: [{ family: 'Bonnet' }] });
    await apart();
    // Dr Bonnet takes part in a's appointment only; both take Dr Martin's time at 11:00.
    const shared = await write(a, { ...appointment('bernard', 'martin', '11:00', '11:30'), participant: [...appointment('bernard', 'martin', '11:00', '11:30').participant, { actor: { reference: 'Practitioner/bonnet' }, status: 'accepted' }] });
    const other = await write(b, appointment('dupont', 'martin', '11:15', '11:45'));
    connect(a, b);
    await converged([a, b]);
    expect(await bookingConflicts(a)).toContainEqual([shared.id, other.id].sort().map((id) => `Appointment/${id}`).concat('Practitioner/martin').join(' '));

    const asBonnet = await clientToken(a, { name: 'Dr Bonnet', scopes: ['APPOINTMENT_READ', 'APPOINTMENT_SEARCH', 'PATIENT_READ'], practitionerId: 'bonnet' });
    const bonnet = (path: string) => fhirFetch(a.fhir, asBonnet, path);
    expect((await bonnet(`Appointment/${other.id}`)).status).toBe(404);
    const listed = await json(await bonnet('$conflicts'));
    expect(JSON.stringify(listed)).not.toContain(other.id);
    const ofShared = await json(await bonnet(`Appointment/${shared.id}/$conflicts`));
    expect(ofShared.parameter).toBeUndefined();
    // The tag says that this appointment's time is contested, as the booking rule's 409 does, without naming the other.
    const read = await json(await bonnet(`Appointment/${shared.id}`));
    expect(conflictTags(read)).toEqual(['booking']);
    expect(JSON.stringify(read)).not.toContain(other.id);
  });
});
