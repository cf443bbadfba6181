import { beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { clientToken, userToken } from '../../helpers/users';

/**
 * A practice whose practitioners share their patients (docs/access.md, "Who sees which patients"), on a real node:
 * Dr Aubert, the second GP of the Cabinet des Lilas, finds Dr Alpha's patient he has an appointment with and received
 * a letter about, and everything seen through that patient; nobody else sees more than before — a practitioner of
 * another practice, the practice once its admin turned sharing off, an API client made for one practitioner — and
 * Dr Aubert never acts as Dr Alpha (what names Dr Alpha alone stays hers). The same rule without sharing, path by
 * path, is patient-access.test.ts.
 */

type Json = Record<string, any>;

const node = useTestNode();

const PRACTICE_A = 'cabinet-lilas';
const PRACTICE_B = 'msp-port';
const IPP = 'urn:oid:1.2.250.1.999.1.1';
const tokens: Record<string, string> = {};

async function as(who: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const response = await fhirFetch(node().fhir, tokens[who], path, init);
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Json) : {} };
}

async function admin(who: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const token = who === 'owner' ? node().token : tokens[who];
  const response = await fetch(`${node().url}/admin/${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: response.status, body: (await response.json()) as Json };
}

const ids = (bundle: Json): string[] => (bundle.entry ?? []).map((entry: Json) => `${entry.resource.resourceType}/${entry.resource.id}`).sort();
const refusalCode = (outcome: Json) => outcome.issue?.[0]?.details?.coding?.[0]?.code;

/** What Dr Aubert sees of Dr Alpha's patient through every path; each list is empty for those who must not see her. */
async function seenOfArnaud(who: string): Promise<Record<string, unknown>> {
  const everything = await as(who, 'Patient/pa1/$everything?_count=100');
  const batch = await as(who, '', { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/pa1' } }, { request: { method: 'GET', url: 'Encounter?patient=Patient/pa1' } }] } });
  return {
    read: (await as(who, 'Patient/pa1')).status,
    byName: ids((await as(who, 'Patient?name=arnaud')).body),
    byIpp: ids((await as(who, `Patient?identifier=${IPP}|ipp-pa1`)).body),
    appointmentPatient: ids((await as(who, 'Appointment?_id=with-aubert&_include=Appointment:patient')).body).filter((reference) => reference.startsWith('Patient/')),
    letterSubject: ids((await as(who, 'CommunicationRequest?_id=letter-aubert&_include=CommunicationRequest:subject')).body).filter((reference) => reference.startsWith('Patient/')),
    encounters: ids((await as(who, 'Encounter?patient.name=arnaud')).body),
    revinclude: ids((await as(who, 'Patient?_id=pa1&_revinclude=Encounter:patient')).body),
    everything: everything.status === 200 ? ids(everything.body) : everything.status,
    batch: (batch.body.entry ?? []).map((entry: Json) => [entry.response.status, ids(entry.resource?.resourceType === 'Bundle' ? entry.resource : { entry: entry.resource ? [{ resource: entry.resource }] : [] })]),
  };
}

const SEES_ARNAUD = {
  read: 200,
  byName: ['Patient/pa1'],
  byIpp: ['Patient/pa1'],
  appointmentPatient: ['Patient/pa1'],
  letterSubject: ['Patient/pa1'],
  encounters: ['Encounter/ea1'],
  revinclude: ['Encounter/ea1', 'Patient/pa1'],
  everything: ['Appointment/with-aubert', 'CommunicationRequest/letter-aubert', 'DocumentReference/doc-arnaud', 'Encounter/ea1', 'Patient/pa1', 'Practitioner/a1', 'Practitioner/a2', 'Practitioner/b1'],
  batch: [
    ['200 OK', ['Patient/pa1']],
    ['200 OK', ['Encounter/ea1']],
  ],
};
const SEES_NOTHING = {
  read: 404,
  byName: [],
  byIpp: [],
  appointmentPatient: [],
  letterSubject: [],
  encounters: [],
  revinclude: [],
  everything: 404,
  batch: [
    ['404 Not Found', []],
    ['200 OK', []],
  ],
};

beforeAll(async () => {
  const { repository } = node();
  for (const [id, family] of [['a1', 'Alpha'], ['a2', 'Aubert'], ['b1', 'Bernard']]) repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family, prefix: ['Dr'] }] });
  repository.update('Organization', PRACTICE_A, { resourceType: 'Organization', id: PRACTICE_A, name: 'Cabinet des Lilas' });
  repository.update('Organization', PRACTICE_B, { resourceType: 'Organization', id: PRACTICE_B, name: 'Maison de santé du Port' });
  const user = (userId: string, roles: string, practitionerId: string | null, organizations: string) => userToken(node().db, { userId, roles, practitionerId, organizations });
  tokens.alpha = user('u-a1', 'practitioner', 'a1', PRACTICE_A);
  tokens.aubert = user('u-a2', 'practitioner', 'a2', PRACTICE_A);
  tokens.bernard = user('u-b1', 'practitioner admin', 'b1', PRACTICE_B);
  tokens.adminA = user('u-admin-a', 'staff admin', null, PRACTICE_A);
  tokens.secretary = user('u-sec', 'staff', null, PRACTICE_A);
  tokens.aubertClient = await clientToken(node(), { scopes: ['PATIENT_READ', 'PATIENT_SEARCH', 'ENCOUNTER_READ', 'ENCOUNTER_SEARCH'], practitionerId: 'a2', organizationId: PRACTICE_A });

  // The practice's software creates Dr Alpha's patient as practice software does: without `active`.
  tokens.software = await clientToken(node(), { scopes: ['PATIENT_CREATE', 'PATIENT_UPDATE', 'PATIENT_READ', 'ENCOUNTER_CREATE', 'ENCOUNTER_UPDATE'], organizationId: PRACTICE_A });
  const created = await as('software', 'Patient/pa1', { method: 'PUT', json: { resourceType: 'Patient', id: 'pa1', identifier: [{ system: IPP, value: 'ipp-pa1' }], name: [{ family: 'Arnaud', given: ['Jeanne'] }], birthDate: '1961-03-02', generalPractitioner: [{ reference: 'Practitioner/a1' }] } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect((await as('software', 'Encounter/ea1', { method: 'PUT', json: { resourceType: 'Encounter', id: 'ea1', status: 'finished', subject: { reference: 'Patient/pa1' } } })).status).toBe(201);

  const owner = async (resource: Json) => expect((await node().request(`${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource })).status).toBe(201);
  await owner({ resourceType: 'Patient', id: 'pb1', name: [{ family: 'Portier' }], generalPractitioner: [{ reference: 'Practitioner/b1' }] });
  // Dr Aubert sees Mme Arnaud while Dr Alpha is away, and the hospital's letter about her is addressed to him.
  await owner({ resourceType: 'Appointment', id: 'with-aubert', status: 'booked', start: '2026-12-08T09:00:00Z', end: '2026-12-08T09:15:00Z', participant: [{ actor: { reference: 'Patient/pa1' }, status: 'accepted' }, { actor: { reference: 'Practitioner/a2' }, status: 'accepted' }] });
  await owner({ resourceType: 'DocumentReference', id: 'doc-arnaud', status: 'current', type: { text: 'Compte rendu' }, indexed: '2026-12-01T10:00:00Z', subject: { reference: 'Patient/pa1' }, author: [{ reference: 'Practitioner/b1' }], content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/none' } }] });
  await owner({ resourceType: 'CommunicationRequest', id: 'letter-aubert', status: 'completed', subject: { reference: 'Patient/pa1' }, sender: { reference: 'Practitioner/b1' }, recipient: [{ reference: 'Practitioner/a2' }], payload: [{ contentReference: { reference: 'DocumentReference/doc-arnaud' } }] });
  // Dr Alpha's own correspondence about another practice's patient: it names her, not the practice.
  await owner({ resourceType: 'CommunicationRequest', id: 'letter-alpha', status: 'completed', subject: { reference: 'Patient/pb1' }, sender: { reference: 'Practitioner/b1' }, recipient: [{ reference: 'Practitioner/a1' }] });
  await owner({ resourceType: 'Appointment', id: 'alpha-pb1', status: 'booked', start: '2026-12-09T09:00:00Z', end: '2026-12-09T09:15:00Z', participant: [{ actor: { reference: 'Patient/pb1' }, status: 'accepted' }, { actor: { reference: 'Practitioner/a1' }, status: 'accepted' }] });
});

describe('the practitioners of a practice that shares its patients', () => {
  it('a second GP of the practice finds the patient he has an appointment with and received a letter about, and her record', async () => {
    expect(await seenOfArnaud('aubert')).toEqual(SEES_ARNAUD);
    // He works on her record too, as her GP would.
    expect((await as('aubert', 'Observation', { method: 'POST', json: { resourceType: 'Observation', status: 'final', code: { text: 'TA' }, subject: { reference: 'Patient/pa1' } } })).status).toBe(201);
  });

  it('each sees the other’s patients, and the practice’s software and secretary see them as before', async () => {
    expect(ids((await as('alpha', 'Patient?_count=100')).body)).toEqual(['Patient/pa1']);
    await node().request('Patient/pa2', { method: 'PUT', json: { resourceType: 'Patient', id: 'pa2', name: [{ family: 'Astier' }], generalPractitioner: [{ reference: 'Practitioner/a2' }] } });
    expect(ids((await as('alpha', 'Patient?_count=100')).body)).toEqual(['Patient/pa1', 'Patient/pa2']);
    expect(ids((await as('aubert', 'Patient?_count=100')).body)).toEqual(['Patient/pa1', 'Patient/pa2']);
    expect(ids((await as('secretary', 'Patient?_count=100')).body)).toEqual(['Patient/pa1', 'Patient/pa2']);
  });
});

describe('nobody sees more than before', () => {
  it('a practitioner of another practice on the node sees nothing of them', async () => {
    expect(await seenOfArnaud('bernard')).toEqual({ ...SEES_NOTHING, appointmentPatient: [], letterSubject: [] });
    expect(ids((await as('bernard', 'Patient?_count=100')).body)).toEqual(['Patient/pb1']);
  });

  it('an API client made for one practitioner of the practice keeps to that practitioner’s patients', async () => {
    const seen = await seenOfArnaud('aubertClient');
    expect([seen.read, seen.byName, seen.byIpp, seen.encounters, seen.revinclude]).toEqual([404, [], [], [], []]);
  });

  it('a colleague never acts as the practitioner: what names her alone stays hers', async () => {
    for (const reference of ['CommunicationRequest/letter-alpha', 'Appointment/alpha-pb1', 'Patient/pb1']) {
      expect((await as('alpha', reference)).status, `Dr Alpha reads ${reference}`).toBe(reference === 'Patient/pb1' ? 404 : 200);
      expect((await as('aubert', reference)).status, `Dr Aubert reads ${reference}`).toBe(404);
    }
    expect(ids((await as('aubert', 'CommunicationRequest?recipient=Practitioner/a1')).body)).toEqual([]);
    // Nor may he send in her name about a patient they share.
    const inHerName = await as('aubert', 'CommunicationRequest', {
      method: 'POST',
      json: { resourceType: 'CommunicationRequest', status: 'active', subject: { reference: 'Patient/pa1' }, sender: { reference: 'Practitioner/a1' }, recipient: [{ reference: 'Practitioner/b1' }], payload: [{ contentReference: { reference: 'DocumentReference/doc-arnaud' } }] },
    });
    expect([inHerName.status, refusalCode(inHerName.body)]).toEqual([403, 'sender-not-allowed']);
  });

  it('with sharing turned off by the practice’s admin, each practitioner sees only his own patients, at once', async () => {
    const off = await admin('adminA', 'PUT', `practices/${PRACTICE_A}`, { sharesPatients: false });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body).toMatchObject({ id: PRACTICE_A, sharesPatients: false, updatedBy: 'user:u-admin-a' });
    // The same token as a moment ago: its cached reach was dropped.
    expect(await seenOfArnaud('aubert')).toEqual({ ...SEES_NOTHING, appointmentPatient: [], letterSubject: [] });
    expect((await as('aubert', 'Appointment/with-aubert')).status).toBe(200);
    expect(ids((await as('alpha', 'Patient?_count=100')).body)).toEqual(['Patient/pa1']);
    expect(ids((await as('secretary', 'Patient?_count=100')).body)).toEqual(['Patient/pa1', 'Patient/pa2']);
    const on = await admin('adminA', 'PUT', `practices/${PRACTICE_A}`, { sharesPatients: true });
    expect(on.body.sharesPatients).toBe(true);
    expect((await as('aubert', 'Patient/pa1')).status).toBe(200);
  });
});

describe('the setting, in the admin API', () => {
  it('lists the node’s practices with their setting, on by default', async () => {
    const listed = await admin('adminA', 'GET', 'practices');
    expect(listed.status).toBe(200);
    expect(listed.body.practices.map((practice: Json) => [practice.id, practice.sharesPatients])).toEqual([
      [PRACTICE_A, true],
      [PRACTICE_B, true],
    ]);
  });

  it('is changed only by an admin of the practice (or the owner client), with a valid body, and audited', async () => {
    const refused = [
      [await admin('bernard', 'PUT', `practices/${PRACTICE_A}`, { sharesPatients: false }), 403, 'practice-not-yours'],
      [await admin('alpha', 'PUT', `practices/${PRACTICE_A}`, { sharesPatients: false }), 403, 'admin-only'],
      [await admin('adminA', 'PUT', `practices/${PRACTICE_A}`, { sharesPatients: 'non' }), 400, 'practice-settings-invalid'],
      [await admin('adminA', 'PUT', `practices/${PRACTICE_A}`, { sharesPatients: false, seesEverything: true }), 400, 'practice-settings-invalid'],
      [await admin('adminA', 'PUT', `practices/${PRACTICE_A}`, [false]), 400, 'practice-settings-invalid'],
      [await admin('owner', 'PUT', 'practices/cabinet-inconnu', { sharesPatients: false }), 404, 'practice-not-on-node'],
    ] as const;
    for (const [answer, status, code] of refused) {
      expect(answer.status).toBe(status);
      expect(answer.body.resourceType).toBe('OperationOutcome');
      expect(refusalCode(answer.body)).toBe(code);
    }
    expect((await admin('owner', 'GET', 'practices')).body.practices.find((practice: Json) => practice.id === PRACTICE_A).sharesPatients).toBe(true);
    expect((await as('aubert', 'Patient/pa1')).status).toBe(200);

    expect((await admin('owner', 'PUT', `practices/${PRACTICE_B}`, { sharesPatients: false })).status).toBe(200);
    const audit = await admin('owner', 'GET', 'audit?event=practice.changed');
    expect(audit.body.events.map((event: Json) => [event.clientId, event.action])).toEqual([
      [expect.any(String), `PUT /admin/practices/${PRACTICE_B} sharesPatients=false`],
      ['user:u-admin-a', `PUT /admin/practices/${PRACTICE_A} sharesPatients=true`],
      ['user:u-admin-a', `PUT /admin/practices/${PRACTICE_A} sharesPatients=false`],
    ]);
  });
});
