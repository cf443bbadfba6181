import { beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { clientToken as makeClient, userToken as makeUser } from '../../helpers/users';

/**
 * Who sees which patients, on a real node: two practitioners of practice A (which does not share its patients), one
 * of practice B, a secretary of practice A, and API clients acting for a practitioner or a practice. Each must see exactly their patients, and
 * what follows them, through every path: read, vread, history, search and its totals, includes, chains, `_has`,
 * compartments, Bundles, conditional operations, error messages, writes.
 */

type Json = Record<string, any>;

const node = useTestNode();

const PRACTICE_A = 'cabinet-lilas';
const PRACTICE_B = 'msp-port';
/** The practices share their EHR's patient numbers (IPP): a number alone must not reveal another practice's patient. */
const IPP = 'urn:oid:1.2.250.1.999.1.1';

/** What each caller must see; everything else of the patient data below is hidden from them. */
const SEES: Record<string, string[]> = {
  a1: ['Patient/pa1', 'Patient/pa-practice', 'Encounter/ea1', 'Appointment/shared', 'CommunicationRequest/letter', 'DocumentReference/doc-b1', 'Binary/pdf-b1'],
  a2: ['Patient/pa2', 'Patient/pa-practice'],
  b1: ['Patient/pb1', 'Encounter/eb1', 'EpisodeOfCare/epb1', 'Coverage/cb1', 'Observation/ob1', 'Appointment/ab1', 'Appointment/shared', 'CommunicationRequest/letter', 'DocumentReference/doc-b1', 'Binary/pdf-b1'],
  // The secretary works for practice A's practitioners: their patients, and what is addressed to them.
  secretary: ['Patient/pa1', 'Patient/pa2', 'Patient/pa-practice', 'Encounter/ea1', 'Appointment/shared', 'CommunicationRequest/letter', 'DocumentReference/doc-b1', 'Binary/pdf-b1'],
};
const PATIENT_DATA = [...new Set(Object.values(SEES).flat())];
const PATIENTS = PATIENT_DATA.filter((reference) => reference.startsWith('Patient/'));

const tokens: Record<string, string> = {};

async function as(who: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const response = await fhirFetch(node().fhir, tokens[who], path, init);
  const text = await response.text();
  return { status: response.status, body: text && response.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Json) : { text } };
}

const ids = (bundle: Json): string[] => (bundle.entry ?? []).map((entry: Json) => `${entry.resource.resourceType}/${entry.resource.id}`).sort();
const pdf = Buffer.from('%PDF-1.4 lettre de liaison pour le Dr A1');

beforeAll(async () => {
  const { repository } = node();
  // The directory is written by import and sync, not through the API.
  for (const [id, family] of [['a1', 'Alpha'], ['a2', 'Aubert'], ['b1', 'Bernard']]) {
    repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family }] });
  }
  repository.update('Organization', PRACTICE_A, { resourceType: 'Organization', id: PRACTICE_A, name: 'Cabinet des Lilas' });
  repository.update('Organization', PRACTICE_B, { resourceType: 'Organization', id: PRACTICE_B, name: 'Maison de santé du Port' });

  const owner = (resource: Json) => node().request(`${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource });
  const patient = (id: string, family: string, gp: string) => ({
    resourceType: 'Patient',
    id,
    identifier: [{ system: IPP, value: `ipp-${id}` }],
    name: [{ family }],
    generalPractitioner: [{ reference: gp }],
  });
  const binary = await node().request('Binary/pdf-b1', { method: 'PUT', body: pdf, headers: { 'content-type': 'application/pdf' } });
  expect(binary.status).toBe(201);
  for (const resource of [
    patient('pa1', 'Arnaud', 'Practitioner/a1'),
    patient('pa2', 'Astier', 'Practitioner/a2'),
    patient('pa-practice', 'Aubry', `Organization/${PRACTICE_A}`),
    patient('pb1', 'Secretnom', 'Practitioner/b1'),
    { resourceType: 'Encounter', id: 'ea1', status: 'finished', subject: { reference: 'Patient/pa1' } },
    { resourceType: 'Encounter', id: 'eb1', status: 'finished', subject: { reference: 'Patient/pb1' } },
    { resourceType: 'EpisodeOfCare', id: 'epb1', status: 'active', patient: { reference: 'Patient/pb1' } },
    { resourceType: 'Coverage', id: 'cb1', status: 'active', beneficiary: { reference: 'Patient/pb1' } },
    { resourceType: 'Observation', id: 'ob1', status: 'final', code: { text: 'TA' }, subject: { reference: 'Patient/pb1' } },
    { resourceType: 'Appointment', id: 'ab1', status: 'booked', start: '2026-12-01T09:00:00Z', end: '2026-12-01T09:15:00Z', participant: [{ actor: { reference: 'Patient/pb1' }, status: 'accepted' }, { actor: { reference: 'Practitioner/b1' }, status: 'accepted' }] },
    // Dr A1 takes part in a consultation of Dr B1's patient: the appointment, not the patient.
    { resourceType: 'Appointment', id: 'shared', status: 'booked', start: '2026-12-01T09:15:00Z', end: '2026-12-01T09:30:00Z', participant: [{ actor: { reference: 'Patient/pb1' }, status: 'accepted' }, { actor: { reference: 'Practitioner/a1' }, status: 'accepted' }] },
    { resourceType: 'DocumentReference', id: 'doc-b1', status: 'current', type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] }, indexed: '2026-11-20T10:00:00Z', subject: { reference: 'Patient/pb1' }, author: [{ reference: 'Practitioner/b1' }], content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/pdf-b1' } }] },
    // Dr B1 sent that document to Dr A1 (a record of it: an active one would be sent now): the recipient sees the message, the document and its PDF.
    { resourceType: 'CommunicationRequest', id: 'letter', status: 'completed', subject: { reference: 'Patient/pb1' }, sender: { reference: 'Practitioner/b1' }, recipient: [{ reference: 'Practitioner/a1' }], payload: [{ contentReference: { reference: 'DocumentReference/doc-b1' } }] },
  ]) {
    const response = await owner(resource);
    expect(response.status, `${resource.resourceType}/${resource.id}: ${await response.clone().text()}`).toBe(201);
  }
  const userToken = (userId: string, roles: string, practitionerId: string | null, organizations: string) => makeUser(node().db, { userId, roles, practitionerId, organizations });
  tokens.a1 = userToken('u-a1', 'practitioner', 'a1', PRACTICE_A);
  tokens.a2 = userToken('u-a2', 'practitioner', 'a2', PRACTICE_A);
  tokens.b1 = userToken('u-b1', 'practitioner admin', 'b1', PRACTICE_B);
  tokens.secretary = userToken('u-sec', 'staff', null, PRACTICE_A);
  // Practice A's practitioners keep to their own patients (docs/access.md): its admin turned patient sharing off, so
  // every path below checks that Dr A2 sees nothing of Dr A1's patients (shared-patients.test.ts: sharing on).
  const off = await fetch(`${node().url}/admin/practices/${PRACTICE_A}`, { method: 'PUT', headers: { authorization: `Bearer ${node().token}`, 'content-type': 'application/json' }, body: JSON.stringify({ sharesPatients: false }) });
  expect(off.status).toBe(200);
});

describe('each user sees exactly their patients and what follows them', () => {
  for (const who of Object.keys(SEES)) {
    it(`${who}: read, vread and instance history`, async () => {
      for (const reference of PATIENT_DATA) {
        const visible = SEES[who].includes(reference);
        const read = await as(who, reference, { headers: { accept: 'application/fhir+json' } });
        expect(read.status, `${who} reads ${reference}`).toBe(visible ? 200 : 404);
        if (!visible) expect(read.body.issue[0].diagnostics).toBe(`${reference} does not exist`);
        const history = await as(who, `${reference}/_history`);
        expect(history.status, `${who} reads the history of ${reference}`).toBe(visible ? 200 : 404);
        if (visible) {
          const version = history.body.entry[0].response.etag.replace(/^W\/"|"$/g, '');
          expect((await as(who, `${reference}/_history/${version}`)).status).toBe(200);
        }
      }
      // The version id of a hidden resource does not open it either.
      const hiddenVersion = (await node().request('Patient/pb1')).headers.get('etag')!.replace(/^W\/"|"$/g, '');
      expect((await as(who, `Patient/pb1/_history/${hiddenVersion}`)).status).toBe(who === 'b1' ? 200 : 404);
    });

    it(`${who}: searches, totals, counts and type/system history`, async () => {
      const mine = (type: string) => SEES[who].filter((reference) => reference.startsWith(`${type}/`)).sort();
      for (const type of ['Patient', 'Encounter', 'Appointment', 'DocumentReference', 'CommunicationRequest', 'Observation']) {
        const search = await as(who, `${type}?_total=accurate&_count=100`);
        expect(ids(search.body), `${who} searches ${type}`).toEqual(mine(type));
        expect(search.body.total).toBe(mine(type).length);
        expect((await as(who, `${type}?_summary=count`)).body.total).toBe(mine(type).length);
      }
      // Searching by a hidden patient's own values finds nothing.
      expect(ids((await as(who, 'Patient?name=secretnom')).body)).toEqual(who === 'b1' ? ['Patient/pb1'] : []);
      expect((await as(who, 'Encounter?patient=Patient/pb1&_total=accurate')).body.total).toBe(who === 'b1' ? 1 : 0);
      const patientHistory = await as(who, 'Patient/_history?_count=100');
      expect([...new Set(ids(patientHistory.body))]).toEqual(mine('Patient'));
      const everything = await as(who, '_history?_count=100');
      expect([...new Set(ids(everything.body))].filter((reference) => PATIENT_DATA.includes(reference)).sort()).toEqual([...SEES[who]].sort());
    });
  }

  it('_include and _revinclude bring in only what the caller may see', async () => {
    // Dr A1 sees the shared appointment, not its patient; the practitioners are directory data.
    const included = await as('a1', 'Appointment?_id=shared&_include=Appointment:actor');
    expect(ids(included.body)).toEqual(['Appointment/shared', 'Practitioner/a1']);
    const iterated = await as('a1', 'CommunicationRequest?_include=CommunicationRequest:subject&_include=CommunicationRequest:payload&_include:iterate=DocumentReference:subject');
    expect(ids(iterated.body)).toEqual(['CommunicationRequest/letter', 'DocumentReference/doc-b1']);
    const reverse = await as('a1', 'Practitioner?_id=b1&_revinclude=Patient:general-practitioner&_revinclude=Appointment:actor');
    expect(ids(reverse.body)).toEqual(['Practitioner/b1']);
    expect(ids((await as('b1', 'Patient?_id=pb1&_revinclude=Observation:subject')).body)).toEqual(['Observation/ob1', 'Patient/pb1']);
  });

  it('chains and _has look only into visible resources', async () => {
    // Through the appointment Dr A1 sees, a chain must not tell the hidden patient's name.
    expect(ids((await as('a1', 'Appointment?patient.name=secretnom')).body)).toEqual([]);
    expect(ids((await as('b1', 'Appointment?patient.name=secretnom')).body)).toEqual(['Appointment/ab1', 'Appointment/shared']);
    // Nor may a visible directory entry be filtered by the patients it is the GP of.
    expect(ids((await as('a1', 'Practitioner?_has:Patient:general-practitioner:name=secretnom')).body)).toEqual([]);
    expect(ids((await as('b1', 'Practitioner?_has:Patient:general-practitioner:name=secretnom')).body)).toEqual(['Practitioner/b1']);
    expect(ids((await as('a2', 'Patient?_has:Encounter:patient:status=finished')).body)).toEqual([]);
  });

  it('every format and surface keeps the same reach: XML, _search by form or JSON body, /fhir/v2 and /fhir/v3', async () => {
    const raw = (who: string, path: string, init: RequestInit = {}, base = node().fhir) => fhirFetch(base, tokens[who], path, init);
    for (const who of ['a1', 'b1']) {
      const sees = who === 'b1';
      // XML: the hidden patient is as absent as in JSON, read or searched.
      const xmlRead = await raw(who, 'Patient/pb1', { headers: { accept: 'application/fhir+xml' } });
      expect(xmlRead.status, `${who} reads Patient/pb1 in XML`).toBe(sees ? 200 : 404);
      expect((await xmlRead.text()).includes('Secretnom')).toBe(sees);
      const xmlSearch = await raw(who, 'Patient?name=secretnom', { headers: { accept: 'application/fhir+xml' } });
      expect(xmlSearch.status).toBe(200);
      expect((await xmlSearch.text()).includes('Secretnom'), `${who} searches in XML`).toBe(sees);
      // A search whose parameters are in its body, as a form or as Lifen's JSON.
      const bodies: RequestInit[] = [
        { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=secretnom' },
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identifier: `${IPP}|ipp-pb1` }) },
      ];
      for (const init of bodies) {
        const found = await raw(who, 'Patient/_search', init);
        expect(found.status).toBe(200);
        expect(ids((await found.json()) as Json), `${who} _search ${String(init.body)}`).toEqual(sees ? ['Patient/pb1'] : []);
      }
      // Lifen's surfaces serve the same node with the same reach.
      for (const surface of ['v2', 'v3']) {
        const found = await raw(who, `Patient?identifier=${encodeURIComponent(`${IPP}|ipp-pb1`)}`, {}, `${node().fhir}/${surface}`);
        expect(found.status).toBe(200);
        const bundle = (await found.json()) as Json;
        expect(ids(bundle), `${who} on /fhir/${surface}`).toEqual(sees ? ['Patient/pb1'] : []);
        expect(bundle.total).toBe(sees ? 1 : 0);
        expect((await raw(who, 'Patient/pb1', {}, `${node().fhir}/${surface}`)).status).toBe(sees ? 200 : 404);
      }
    }
  });

  it('compartments of a hidden patient are empty', async () => {
    expect(ids((await as('a1', 'Patient/pb1/Encounter')).body)).toEqual([]);
    expect(ids((await as('a1', 'Patient/pb1/Appointment')).body)).toEqual(['Appointment/shared']);
    expect(ids((await as('b1', 'Patient/pb1/Encounter')).body)).toEqual(['Encounter/eb1']);
  });

  it('the PDF of a document is read by those who see the document', async () => {
    const raw = await fhirFetch(node().fhir, tokens.a1, 'Binary/pdf-b1', { headers: { accept: 'application/pdf' } });
    expect(raw.status).toBe(200);
    expect(Buffer.from(await raw.arrayBuffer()).equals(pdf)).toBe(true);
    expect((await fhirFetch(node().fhir, tokens.a2, 'Binary/pdf-b1', { headers: { accept: 'application/pdf' } })).status).toBe(404);
  });
});

describe('writes stay within the caller’s reach', () => {
  const count = async (query: string) => ((await (await node().request(`${query}&_summary=count`)).json()) as Json).total;

  it('a practitioner creates and updates the data of their patients', async () => {
    const created = await as('a1', 'Encounter', { method: 'POST', json: { resourceType: 'Encounter', status: 'planned', subject: { reference: 'Patient/pa1' } } });
    expect(created.status).toBe(201);
    const updated = await as('a1', 'Patient/pa1', { method: 'PUT', json: { resourceType: 'Patient', id: 'pa1', name: [{ family: 'Arnaud', given: ['Jean'] }], generalPractitioner: [{ reference: 'Practitioner/a1' }] } });
    expect(updated.status).toBe(200);
  });

  it('refuses data about a patient the caller does not follow, and writes nothing', async () => {
    const before = await count('Encounter?patient=Patient/pb1');
    const encounter = await as('a1', 'Encounter', { method: 'POST', json: { resourceType: 'Encounter', status: 'planned', subject: { reference: 'Patient/pb1' } } });
    expect(encounter.status).toBe(403);
    expect(encounter.body.resourceType).toBe('OperationOutcome');
    expect(await count('Encounter?patient=Patient/pb1')).toBe(before);
    // A patient given to another practitioner would leave the caller's reach.
    const patient = await as('a1', 'Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Perdu' }], generalPractitioner: [{ reference: 'Practitioner/b1' }] } });
    expect(patient.status).toBe(403);
    expect(await count('Patient?name=perdu')).toBe(0);
    // Nor may a hidden patient be overwritten, or moved out of the caller's own list.
    const overwrite = await as('a1', 'Patient/pb1', { method: 'PUT', json: { resourceType: 'Patient', id: 'pb1', generalPractitioner: [{ reference: 'Practitioner/a1' }] } });
    expect(overwrite.status).toBe(403);
    expect(((await (await node().request('Patient/pb1')).json()) as Json).name[0].family).toBe('Secretnom');
    const giveAway = await as('a2', 'Patient/pa2', { method: 'PUT', json: { resourceType: 'Patient', id: 'pa2', generalPractitioner: [{ reference: 'Practitioner/b1' }] } });
    expect(giveAway.status).toBe(403);
    expect(((await (await node().request('Patient/pa2')).json()) as Json).generalPractitioner[0].reference).toBe('Practitioner/a2');
  });

  it('conditional operations match only visible resources', async () => {
    // pb1's identifier: If-None-Exist must not answer with the hidden patient.
    const conditional = await as('a1', 'Patient', {
      method: 'POST',
      json: { resourceType: 'Patient', name: [{ family: 'Homonyme' }], identifier: [{ system: IPP, value: 'ipp-pb1' }], generalPractitioner: [{ reference: 'Practitioner/a1' }] },
      headers: { 'if-none-exist': `identifier=${IPP}|ipp-pb1` },
    });
    expect(conditional.status).toBe(201);
    expect(conditional.body.id).not.toBe('pb1');
    expect(conditional.body.name[0].family).toBe('Homonyme');
    // A conditional update by the same identifier updates the caller's patient, not the hidden one.
    const update = await as('a1', `Patient?identifier=${IPP}|ipp-pb1`, {
      method: 'PUT',
      json: { resourceType: 'Patient', name: [{ family: 'Homonyme', given: ['Paul'] }], identifier: [{ system: IPP, value: 'ipp-pb1' }], generalPractitioner: [{ reference: 'Practitioner/a1' }] },
    });
    expect(update.status).toBe(200);
    expect(update.body.id).toBe(conditional.body.id);
    expect(((await (await node().request('Patient/pb1')).json()) as Json).name[0].family).toBe('Secretnom');
  });

  it('Bundle entries obey the same rules; a transaction outside the reach rolls back whole', async () => {
    const batch = await as('a1', '', {
      method: 'POST',
      json: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/pb1' } }, { request: { method: 'GET', url: 'Patient/pa1' } }, { request: { method: 'GET', url: 'Encounter?patient=Patient/pb1' } }] },
    });
    expect(batch.status).toBe(200);
    expect(batch.body.entry.map((entry: Json) => entry.response.status.slice(0, 3))).toEqual(['404', '200', '200']);
    expect(batch.body.entry[2].resource.entry).toBeUndefined();
    const before = await count('Encounter?status=in-progress');
    const transaction = await as('a1', '', {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'POST', url: 'Encounter' }, resource: { resourceType: 'Encounter', status: 'in-progress', subject: { reference: 'Patient/pa1' } } },
          { request: { method: 'POST', url: 'Encounter' }, resource: { resourceType: 'Encounter', status: 'in-progress', subject: { reference: 'Patient/pb1' } } },
        ],
      },
    });
    expect(transaction.status).toBe(403);
    expect(await count('Encounter?status=in-progress')).toBe(before);
  });
});

describe('API clients act for a practitioner or a practice', () => {
  it("a practitioner's client reaches that practitioner's patients; a practice's client, the practice's", async () => {
    const scopes = ['PATIENT_READ', 'PATIENT_SEARCH', 'ENCOUNTER_SEARCH'];
    tokens.clientB1 = await makeClient(node(), { scopes, practitionerId: 'b1' });
    tokens.clientA = await makeClient(node(), { scopes, organizationId: PRACTICE_A });
    expect(ids((await as('clientB1', 'Patient?_count=100')).body)).toEqual(['Patient/pb1']);
    const practice = ids((await as('clientA', 'Patient?_count=100&_has:Encounter:patient:status=finished,planned')).body);
    expect(practice).toEqual(['Patient/pa1']);
    const all = ids((await as('clientA', 'Patient?_count=100&name:missing=false')).body);
    expect(all).toEqual(expect.arrayContaining(['Patient/pa1', 'Patient/pa2', 'Patient/pa-practice']));
    expect(all).not.toContain('Patient/pb1');
  });

  it('an owner-created client without anyone to act for sees every patient', async () => {
    const all = ids((await node().request('Patient?_count=100').then((response) => response.json())) as Json);
    expect(all).toEqual(expect.arrayContaining(PATIENTS));
  });

  it('refuses to act for something that is not an id', async () => {
    const response = await fetch(`${node().url}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node().token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'EHR', scopes: ['PATIENT_READ'], practitionerId: '../b1' }),
    });
    expect(response.status).toBe(400);
  });
});
