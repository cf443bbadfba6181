import { beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { userToken } from '../../helpers/users';
import { IDNPS, INS } from './deliveries';
import { CLOSED_INTEGRATIONS } from './hospital-listener';

/**
 * The 422s that refuse a DPI/DMP CommunicationRequest the channel could never deliver, through a real node over
 * HTTP: the document flow checks them as it accepts the send, inside the write's transaction, so a refused request
 * leaves nothing behind. A DMP send has no recipient besides the patient's DMP; a DPI one goes to the hospital.
 */

type Json = Record<string, any>;

// The node checks these requirements (with the rest of a send, in the document flow) without being told.
const node = useTestNode({ channels: CLOSED_INTEGRATIONS });

const LOINC_TYPE = { coding: [{ system: 'http://loinc.org', code: '11488-4', display: 'Consult note' }] };
const medium = (code: string) => [{ coding: [{ system: 'urn:liaison:channel', code }] }];
const document = (id: string, subject?: string, type: Json = LOINC_TYPE) => ({
  resourceType: 'DocumentReference',
  id,
  status: 'current',
  type,
  indexed: '2026-11-20T10:00:00Z',
  ...(subject ? { subject: { reference: subject } } : {}),
  author: [{ reference: 'Practitioner/pp-810001234567' }],
  content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/pdf' } }],
});
const request = (channel: string, payload: string | undefined, extra: Json = {}) => ({
  resourceType: 'CommunicationRequest',
  status: 'active',
  medium: medium(channel),
  sender: { reference: 'Practitioner/pp-810001234567' },
  ...(channel === 'dmp' ? {} : { recipient: [{ reference: 'Organization/hospital' }] }),
  ...(payload ? { payload: [{ contentReference: { reference: payload } }] } : {}),
  ...extra,
});

async function post(json: Json, token = node().token): Promise<{ status: number; body: Json }> {
  const response = await fhirFetch(node().fhir, token, 'CommunicationRequest', { method: 'POST', json });
  return { status: response.status, body: (await response.json()) as Json };
}

/** Dr Martin, a user of this node: the internal channel reaches him. */
let martin: string;

const storedRequests = async () => ((await (await node().request('CommunicationRequest?_total=accurate')).json()) as Json).total;

beforeAll(async () => {
  const { repository } = node();
  martin = userToken(node().db, { userId: 'dr-martin', roles: 'practitioner', practitionerId: 'pp-810001234567', organizations: '' });
  repository.update('Practitioner', 'pp-810001234567', { resourceType: 'Practitioner', id: 'pp-810001234567', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: IDNPS }], name: [{ family: 'Martin' }] });
  repository.update('Practitioner', 'no-rpps', { resourceType: 'Practitioner', id: 'no-rpps', name: [{ family: 'Sans' }] });
  repository.update('Practitioner', 'pp-other', { resourceType: 'Practitioner', id: 'pp-other', name: [{ family: 'Autre' }] });
  repository.update('PractitionerRole', 'role-1', { resourceType: 'PractitionerRole', id: 'role-1', practitioner: { reference: 'Practitioner/pp-810001234567' } });
  repository.update('Organization', 'hospital', { resourceType: 'Organization', id: 'hospital', name: 'CH Exemple' });
  repository.update('Binary', 'pdf', { resourceType: 'Binary', id: 'pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 compte rendu').toString('base64') });
  const gp = [{ reference: 'Practitioner/pp-810001234567' }];
  // Patients as import or sync bring them: the API refuses a wrong NIR and a second patient with the same INS.
  for (const resource of [
    { resourceType: 'Patient', id: 'with-ins', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: INS }], name: [{ family: 'Avec' }], generalPractitioner: gp },
    { resourceType: 'Patient', id: 'without-ins', identifier: [{ system: 'urn:local', value: '12' }], name: [{ family: 'Sans' }], generalPractitioner: gp },
    { resourceType: 'Patient', id: 'bad-ins', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '280027512345627' }], generalPractitioner: gp },
    { resourceType: 'Patient', id: 'hidden-with-ins', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: INS }], generalPractitioner: [{ reference: 'Practitioner/pp-other' }] },
    { resourceType: 'Patient', id: 'hidden-without-ins', generalPractitioner: [{ reference: 'Practitioner/pp-other' }] },
  ]) {
    repository.update('Patient', resource.id, resource);
  }
  for (const resource of [
    document('doc-with-ins', 'Patient/with-ins'),
    document('doc-without-ins', 'Patient/without-ins'),
    document('doc-bad-ins', 'Patient/bad-ins'),
    document('doc-no-subject'),
    document('doc-untyped', 'Patient/with-ins', { text: 'Courrier' }),
    { ...document('doc-hidden-with-ins', 'Patient/hidden-with-ins'), author: [{ reference: 'Practitioner/pp-other' }] },
    { ...document('doc-hidden-without-ins', 'Patient/hidden-without-ins'), author: [{ reference: 'Practitioner/pp-other' }] },
  ]) {
    const response = await node().request(`${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource });
    expect(response.status, await response.clone().text()).toBe(201);
  }
});

describe('DMP delivery requirements', () => {
  it('answers 422 with a clear French/English message for a patient without INS, and stores nothing', async () => {
    const before = await storedRequests();
    const refused = await post(request('dmp', 'DocumentReference/doc-without-ins'));
    expect(refused.status).toBe(422);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    const [issue] = refused.body.issue;
    expect(issue.code).toBe('processing');
    expect(issue.diagnostics).toContain("Envoi au DMP impossible : Patient/without-ins n'a pas d'INS");
    expect(issue.diagnostics).toContain("a DMP delivery needs the patient's INS");
    expect(issue.expression).toEqual(['CommunicationRequest.subject']);
    expect(await storedRequests()).toBe(before);
  });

  it('accepts the patient with an INS, from the document\'s subject or else the request\'s', async () => {
    expect((await post(request('dmp', 'DocumentReference/doc-with-ins'))).status).toBe(201);
    expect((await post(request('dmp', 'DocumentReference/doc-no-subject', { subject: { reference: 'Patient/with-ins' } }))).status).toBe(201);
    const fallback = await post(request('dmp', 'DocumentReference/doc-no-subject', { subject: { reference: 'Patient/without-ins' } }));
    expect(fallback.status).toBe(422);
    expect(fallback.body.issue[0].diagnostics).toContain('Patient/without-ins');
    const noPatient = await post(request('dmp', 'DocumentReference/doc-no-subject'));
    expect(noPatient.status).toBe(422);
    expect(noPatient.body.issue[0].diagnostics).toContain('needs a patient');
  });

  it('refuses an INS that is not a valid NIR (wrong key), a sender without RPPS, and accepts a directory PractitionerRole', async () => {
    const badKey = await post(request('dmp', 'DocumentReference/doc-bad-ins'));
    expect(badKey.status).toBe(422);
    expect(badKey.body.issue[0].diagnostics).toContain('not a valid NIR');
    const anonymous = await post(request('dmp', 'DocumentReference/doc-with-ins', { sender: { reference: 'Practitioner/no-rpps' } }));
    expect(anonymous.status).toBe(422);
    expect(anonymous.body.issue[0].expression).toEqual(['CommunicationRequest.sender']);
    expect((await post(request('dmp', 'DocumentReference/doc-with-ins', { sender: { reference: 'PractitionerRole/role-1' } }))).status).toBe(201);
  });

  it('asks no INS for DPI or other channels, but a LOINC type for DPI and DMP', async () => {
    expect((await post(request('dpi', 'DocumentReference/doc-without-ins'))).status).toBe(201);
    // To a user of this node, whom the internal channel reaches: no LOINC type needed.
    expect((await post(request('internal', 'DocumentReference/doc-untyped', { recipient: [{ reference: 'Practitioner/pp-810001234567' }] }))).status).toBe(201);
    for (const channel of ['dpi', 'dmp']) {
      const untyped = await post(request(channel, 'DocumentReference/doc-untyped'));
      expect(untyped.status).toBe(422);
      expect(untyped.body.issue[0].diagnostics).toContain('LOINC');
      expect(untyped.body.issue[0].expression).toEqual(['CommunicationRequest.payload']);
    }
    expect((await post(request('dmp', 'DocumentReference/nowhere'))).status).toBe(422);
  });

  it('checks a draft when it becomes active (it is sent then), but never refuses closing a request', async () => {
    // A draft sends nothing yet, so nothing is asked of it.
    const created = await post(request('dmp', 'DocumentReference/doc-with-ins', { status: 'draft' }));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    // The patient loses the INS before the request is sent (a correction of identity).
    const patient = (await (await node().request('Patient/with-ins')).json()) as Json;
    const { identifier: _removed, ...withoutIdentifier } = patient;
    expect((await node().request('Patient/with-ins', { method: 'PUT', json: withoutIdentifier })).status).toBe(200);
    try {
      const sent = await node().request(`CommunicationRequest/${id}`, { method: 'PUT', json: { ...created.body, status: 'active' } });
      expect(sent.status).toBe(422);
      expect(((await sent.json()) as Json).issue[0].diagnostics).toContain("n'a pas d'INS");
      const cancelled = await node().request(`CommunicationRequest/${id}`, { method: 'PUT', json: { ...created.body, status: 'cancelled' } });
      expect(cancelled.status).toBe(200);
    } finally {
      // Put back as it was brought in (Patient/hidden-with-ins shares the INS, which the API refuses).
      node().repository.update('Patient', 'with-ins', patient);
    }
  });

  it('resolves a document created in the same transaction Bundle', async () => {
    const response = await node().request('', {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:0d6f1b1e-5a0c-4c9e-9a43-0d4d6f2c1a01', resource: document('ignored', 'Patient/without-ins'), request: { method: 'POST', url: 'DocumentReference' } },
          { resource: request('dmp', 'urn:uuid:0d6f1b1e-5a0c-4c9e-9a43-0d4d6f2c1a01'), request: { method: 'POST', url: 'CommunicationRequest' } },
        ],
      },
    });
    expect(response.status).toBe(422);
    expect(((await response.json()) as Json).issue[0].diagnostics).toContain("n'a pas d'INS");
  });

  it('tells a user nothing about a document they cannot see: the same 422 whether its patient has an INS or not', async () => {
    const token = martin;
    const withIns = await post(request('dmp', 'DocumentReference/doc-hidden-with-ins'), token);
    const withoutIns = await post(request('dmp', 'DocumentReference/doc-hidden-without-ins'), token);
    expect([withIns.status, withoutIns.status]).toEqual([422, 422]);
    const message = (outcome: Json) => outcome.issue[0].diagnostics.replace(/doc-hidden-with(out)?-ins/g, 'doc');
    expect(message(withIns.body)).toBe(message(withoutIns.body));
    // The document flow answers first, as for a document that does not exist (carried-documents-rule.ts).
    expect(withIns.body.issue[0].diagnostics).toBe('DocumentReference/doc-hidden-with-ins does not exist');
    // Nor about a patient they do not follow, named as the request's subject.
    const hiddenPatient = async (id: string) => post(request('dmp', 'DocumentReference/doc-no-subject', { subject: { reference: `Patient/${id}` } }), token);
    const [patientWithIns, patientWithoutIns] = [await hiddenPatient('hidden-with-ins'), await hiddenPatient('hidden-without-ins')];
    expect(patientWithIns.status).toBe(patientWithoutIns.status);
    expect(message(patientWithIns.body).replace(/hidden-with(out)?-ins/g, 'p')).toBe(message(patientWithoutIns.body).replace(/hidden-with(out)?-ins/g, 'p'));
    expect(patientWithIns.body.issue[0].diagnostics).not.toContain('INS');
    // Their own patient's document goes through the same rule as for the owner.
    expect((await post(request('dmp', 'DocumentReference/doc-without-ins'), token)).status).toBe(422);
    expect((await post(request('dmp', 'DocumentReference/doc-with-ins'), token)).status).toBe(201);
  });
});
