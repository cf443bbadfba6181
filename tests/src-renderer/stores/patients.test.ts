// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IDENTITY_RELIABILITY_URL, IDENTITY_STATUS_SYSTEM } from '../../../src-server/patients/identity';
import { identityStatusOf, INS_SYSTEM, patientSearchParams, toTimeline, usePatientsStore } from '../../../src-renderer/stores/patients';
import { useNamesStore } from '../../../src-renderer/stores/names';
import { bundle, FakeNode, loggedIn } from '../fake-node';

let node: FakeNode;
beforeEach(async () => {
  node = new FakeNode().install();
  await loggedIn(node, { id: 'demo-sophie.leroy', displayName: 'Sophie Leroy', roles: ['staff'], organizations: ['demo-cabinet-des-lilas'] });
});
afterEach(() => vi.unstubAllGlobals());

const PATIENT = { resourceType: 'Patient', id: 'p1', meta: { versionId: 'v1' }, active: true, name: [{ family: 'Dupont', given: ['Jeanne'] }], birthDate: '1960-05-04' };

describe('patient search', () => {
  it('reads a birth date, an identifier or a name from the box', () => {
    expect(patientSearchParams('04/05/1960')).toEqual({ birthdate: '1960-05-04' });
    expect(patientSearchParams('4/5/1960')).toEqual({ birthdate: '1960-05-04' });
    expect(patientSearchParams('1960-05-04')).toEqual({ birthdate: '1960-05-04' });
    expect(patientSearchParams('2 60 05 88 154 002 33')).toEqual({ identifier: '260058815400233' });
    expect(patientSearchParams('dupont jea')).toEqual({ name: 'dupont jea' });
  });
});

describe('the care pathway', () => {
  it('puts encounters, episodes, documents and appointments on one line, newest first, and leaves the rest out', () => {
    const items = toTimeline([
      { resourceType: 'EpisodeOfCare', id: 'e', status: 'active', patient: { reference: 'Patient/p1' }, period: { start: '2024-01-10' } } as never,
      { resourceType: 'Encounter', id: 'c', status: 'finished', period: { start: '2025-06-02T09:00:00+02:00' }, type: [{ text: 'Suivi' }] } as never,
      { resourceType: 'Appointment', id: 'a', status: 'booked', start: '2026-12-01T10:00:00Z', participant: [] } as never,
      { resourceType: 'DocumentReference', id: 'd', status: 'current', indexed: '2025-06-03T08:00:00Z', description: 'CR', type: {}, content: [] } as never,
      { resourceType: 'Observation', id: 'o' } as never,
    ]);
    expect(items.map((item) => `${item.kind}:${item.title ?? ''}`)).toEqual(['appointment:', 'document:CR', 'encounter:Suivi', 'episode:']);
  });

  it('uses $everything when the node has it, else one search per kind of event', async () => {
    node.on('GET', /^\/fhir\/Patient\/p1$/, { json: PATIENT });
    node.on('GET', /^\/fhir\/Patient\/p1\/\$everything/, { json: bundle(PATIENT, { resourceType: 'Encounter', id: 'c1', status: 'finished', period: { start: '2025-01-01' } }) });
    const patients = usePatientsStore();
    await patients.open('p1');
    expect(patients.timeline.map((item) => item.key)).toEqual(['Encounter/c1']);
    expect(node.callsTo('GET', /^\/fhir\/Encounter/)).toEqual([]);

    // A node without the operation answers 404: the same timeline comes from four searches.
    node.on('GET', /^\/fhir\/Patient\/p1\/\$everything/, { status: 404, json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] } });
    node.on('GET', /^\/fhir\/Encounter\?patient=Patient%2Fp1/, { json: bundle({ resourceType: 'Encounter', id: 'c1', status: 'finished', period: { start: '2025-01-01' } }) });
    node.on('GET', /^\/fhir\/Appointment\?patient=Patient%2Fp1/, { json: bundle({ resourceType: 'Appointment', id: 'a1', status: 'booked', start: '2026-01-01T10:00:00Z', participant: [] }) });
    node.on('GET', /^\/fhir\/(EpisodeOfCare|DocumentReference)\?/, { json: bundle() });
    await patients.loadTimeline('p1');
    expect(patients.timeline.map((item) => item.key)).toEqual(['Appointment/a1', 'Encounter/c1']);
    expect(patients.timelineError).toBeUndefined();
  });
});

describe('the patients store', () => {
  it('lists the patients the user follows but those archived, searching the box’s words, with whose patients they are', async () => {
    // As practice software writes them: no `active`. Only `active: false` archives a patient.
    const { active: _active, ...written } = PATIENT;
    const gp = { resourceType: 'Practitioner', id: 'a1', name: [{ family: 'Alpha', prefix: ['Dr'] }] };
    node.on('GET', /^\/fhir\/Patient\?/, { json: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: { ...written, generalPractitioner: [{ reference: 'Practitioner/a1' }] }, search: { mode: 'match' } }, { resource: gp, search: { mode: 'include' } }] } });
    const patients = usePatientsStore();
    patients.listQuery = 'dupo';
    await patients.loadList();
    const asked = Object.fromEntries(node.callsTo('GET', /^\/fhir\/Patient\?/)[0].url.searchParams);
    expect(asked).toEqual({ name: 'dupo', 'active:not': 'false', _include: 'Patient:general-practitioner', _count: '20', _total: 'none' });
    expect(patients.list.map((patient) => patient.id)).toEqual(['p1']);
    expect(useNamesStore().resources.get('Practitioner/a1')).toEqual(gp);
    // The pickers (booking, documents) ask the same.
    await patients.find('dupo');
    expect(Object.fromEntries(node.callsTo('GET', /^\/fhir\/Patient\?/)[1].url.searchParams)).toMatchObject({ 'active:not': 'false', _include: 'Patient:general-practitioner' });
  });

  it('reads the identity status FR Core gives the record, as the node checks it', () => {
    const status = (code: string) => ({ ...PATIENT, extension: [{ url: IDENTITY_RELIABILITY_URL, extension: [{ url: 'identityStatus', valueCoding: { system: IDENTITY_STATUS_SYSTEM, code } }] }] });
    expect(identityStatusOf(status('QUAL') as never)).toBe('QUAL');
    expect(identityStatusOf(PATIENT as never)).toBeUndefined();
  });

  it('creates a patient followed by the secretary’s practice, so that she can see it', async () => {
    node.on('POST', /^\/fhir\/Patient$/, (call) => ({ status: 201, json: { ...(call.body as object), id: 'new' } }));
    const patients = usePatientsStore();
    await patients.create({ resourceType: 'Patient', name: [{ family: 'Martin', given: ['Léa'] }], birthDate: '2001-02-03', identifier: [{ system: INS_SYSTEM, value: '201020312345678' }] });
    expect(node.callsTo('POST', /Patient/)[0].body).toMatchObject({ active: true, generalPractitioner: [{ reference: 'Organization/demo-cabinet-des-lilas' }] });
    expect(patients.list[0].id).toBe('new');
  });

  it('archives with an update of `active` on the version shown, never a delete', async () => {
    node.on('PUT', /^\/fhir\/Patient\/p1$/, (call) => ({ json: { ...(call.body as object), meta: { versionId: 'v2' } } }));
    const patients = usePatientsStore();
    patients.list = [PATIENT as never];
    await patients.setArchived(PATIENT as never, true);
    const put = node.callsTo('PUT', /Patient\/p1/)[0];
    expect(put.body).toMatchObject({ id: 'p1', active: false });
    expect(put.headers.get('if-match')).toBe('W/"v1"');
    expect(patients.list).toEqual([]);
    expect(node.calls.some((call) => call.method === 'DELETE')).toBe(false);
  });
});
