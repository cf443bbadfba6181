import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { coded } from '../../helpers/refusals';
import { clientToken } from '../../helpers/users';
import { INS, postDocument, seedOffice, sendRequest } from '../documents/fixtures';

/**
 * The refusals of the main flows on a real node over HTTP, each with its code (issue.details.coding), the element it
 * is about (expression) and the values its sentence needs (refusal-parameter extensions): the UI words them in the
 * user's language and time zone from these alone, never from the English diagnostics.
 */

type Json = Record<string, any>;

const node = useTestNode();
let tokens: ReturnType<typeof seedOffice>;
let documentReference: string;

async function call(path: string, init: RequestInit & { json?: unknown } = {}, token = node().token): Promise<{ status: number; body: Json }> {
  const response = await fhirFetch(node().fhir, token, path, init);
  return { status: response.status, body: (await response.json()) as Json };
}

const patient = (nir: string, more: Json = {}) => ({ resourceType: 'Patient', name: [{ family: 'Durand', given: ['Léa'] }], identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: nir }], ...more });
const reliability = (status: string) => ({
  extension: [
    {
      url: 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability',
      extension: [{ url: 'identityStatus', valueCoding: { system: 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status', code: status } }],
    },
  ],
});

beforeAll(async () => {
  tokens = seedOffice(node().db, node().repository);
  ({ documentReference } = await postDocument(node().fhir, tokens.alpha));
});

describe('patients', () => {
  it('a NIR with a wrong key: nir-key at the identifier, with the key expected and the one given', async () => {
    const refused = await call('Patient', { method: 'POST', json: patient('184127645108947') });
    expect(refused.status).toBe(422);
    expect(refused.body.issue[0].code).toBe('processing');
    expect(coded(refused.body)).toEqual({ code: 'nir-key', expression: ['Patient.identifier[0].value'], parameters: { value: '184127645108947', expected: '46', given: '47' } });
  });

  it('a NIR that is not 15 characters: nir-format; an INS on a provisional identity: ins-status', async () => {
    const format = await call('Patient', { method: 'POST', json: patient('1841276451089') });
    expect(format.status).toBe(422);
    expect(coded(format.body)).toEqual({ code: 'nir-format', expression: ['Patient.identifier[0].value'], parameters: { value: '1841276451089' } });
    const status = await call('Patient', { method: 'POST', json: patient('184127645108946', reliability('PROV')) });
    expect(status.status).toBe(422);
    expect(coded(status.body)).toEqual({ code: 'ins-status', expression: ['Patient.identifier'], parameters: { status: 'PROV' } });
  });
});

describe('appointments', () => {
  const appointment = (start: string, end: string, more: Json = {}) => ({
    resourceType: 'Appointment',
    status: 'booked',
    start,
    end,
    participant: [
      { actor: { reference: 'Patient/p-martin' }, status: 'accepted' },
      { actor: { reference: 'Practitioner/alpha' }, status: 'accepted' },
    ],
    ...more,
  });

  it('a double booking: double-booking at the start, with the booked appointment\'s start and end as instants', async () => {
    const first = await call('Appointment', { method: 'POST', json: appointment('2026-12-01T10:00:00+01:00', '2026-12-01T10:30:00+01:00') });
    expect(first.status).toBe(201);
    const refused = await call('Appointment', { method: 'POST', json: appointment('2026-12-01T10:15:00+01:00', '2026-12-01T10:45:00+01:00') });
    expect(refused.status).toBe(409);
    expect(refused.body.issue[0].code).toBe('conflict');
    expect(coded(refused.body)).toEqual({
      code: 'double-booking',
      expression: ['Appointment.start'],
      parameters: { start: '2026-12-01T09:00:00.000Z', end: '2026-12-01T09:30:00.000Z', practitioner: 'Practitioner/alpha', appointment: `Appointment/${first.body.id}` },
    });
  });

  it('a slot already taken: slot-taken at the slot, with its times and status', async () => {
    const schedule = await call('Schedule', { method: 'POST', json: { resourceType: 'Schedule', actor: [{ reference: 'Practitioner/aubert' }] } });
    const slot = await call('Slot', { method: 'POST', json: { resourceType: 'Slot', schedule: { reference: `Schedule/${schedule.body.id}` }, status: 'busy', start: '2026-12-02T08:00:00Z', end: '2026-12-02T08:20:00Z' } });
    expect(slot.status).toBe(201);
    const refused = await call('Appointment', { method: 'POST', json: appointment('2026-12-02T08:00:00Z', '2026-12-02T08:20:00Z', { slot: [{ reference: `Slot/${slot.body.id}` }] }) });
    expect(refused.status).toBe(409);
    expect(coded(refused.body)).toEqual({ code: 'slot-taken', expression: ['Appointment.slot'], parameters: { start: '2026-12-02T08:00:00.000Z', end: '2026-12-02T08:20:00.000Z', status: 'busy' } });
  });
});

describe('sending documents', () => {
  it('a recipient no channel reaches: recipient-no-channel at that recipient, naming them', async () => {
    const refused = await call('CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }, { reference: 'Practitioner/injoignable' }]) }, tokens.alpha);
    expect(refused.status).toBe(422);
    expect(coded(refused.body)).toEqual({ code: 'recipient-no-channel', expression: ['CommunicationRequest.recipient[1]'], parameters: { recipient: 'Practitioner/injoignable' } });
  });

  it('MSSanté asked for a recipient without a mailbox: recipient-no-mailbox, with the channel', async () => {
    const medium = [{ coding: [{ system: 'urn:liaison:channel', code: 'mssante' }] }];
    const refused = await call('CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/injoignable' }], { medium }) }, tokens.alpha);
    expect(refused.status).toBe(422);
    expect(coded(refused.body)).toEqual({ code: 'recipient-no-mailbox', expression: ['CommunicationRequest.recipient[0]'], parameters: { recipient: 'Practitioner/injoignable', channel: 'mssante' } });
  });
});

describe('validation: one coded issue per problem, at its element', () => {
  it('names the kind of each problem of a resource', async () => {
    const refused = await call('Patient', {
      method: 'POST',
      json: { resourceType: 'Patient', nickname: 'Lulu', active: 'yes', birthDate: '1984-13-45', maritalStatus: 'married', contact: [{ name: {} }] },
    });
    expect(refused.status).toBe(400);
    const issues = (refused.body.issue as Json[]).map((issue) => ({ type: issue.code, ...coded({ issue: [issue] }) }));
    expect(issues).toEqual(
      expect.arrayContaining([
        { type: 'structure', code: 'element-unknown', expression: ['Patient.nickname'], parameters: {} },
        { type: 'value', code: 'value-invalid', expression: ['Patient.active'], parameters: {} },
        { type: 'value', code: 'date-invalid', expression: ['Patient.birthDate'], parameters: {} },
        { type: 'structure', code: 'element-wrong-type', expression: ['Patient.maritalStatus'], parameters: {} },
        { type: 'structure', code: 'element-empty', expression: ['Patient.contact[0].name'], parameters: {} },
      ]),
    );
    expect(issues.every((issue) => issue.code !== undefined)).toBe(true);
  });

  it('a required element missing, and a type the node does not know', async () => {
    const required = await call('Observation', { method: 'POST', json: { resourceType: 'Observation', code: { text: 'Poids' } } });
    expect(required.status).toBe(400);
    expect(coded(required.body)).toMatchObject({ code: 'element-required', expression: ['Observation.status'] });
    const unknown = await call('Dragon', { method: 'POST', json: { resourceType: 'Dragon' } });
    expect(unknown.status).toBe(404);
    expect(coded(unknown.body).code).toBe('resource-type-unknown');
  });
});

describe('search', () => {
  it('an unknown parameter (named), a bad date, a bad _count', async () => {
    const unknown = await call('Patient?colour=blue');
    expect(unknown.status).toBe(400);
    expect(coded(unknown.body)).toEqual({ code: 'search-parameter-unknown', expression: ['colour'], parameters: { parameter: 'colour' } });
    const date = await call('Patient?birthdate=yesterday');
    expect(date.status).toBe(400);
    expect(coded(date.body)).toMatchObject({ code: 'search-date-invalid', expression: ['birthdate'] });
    const count = await call('Patient?_count=-3');
    expect(count.status).toBe(400);
    expect(coded(count.body)).toMatchObject({ code: 'count-invalid', expression: ['_count'] });
  });
});

describe('access and storage', () => {
  it('a client without the scope: scope-missing naming it; a resource outside a user\'s reach: outside-access', async () => {
    const reader = await clientToken(node(), { name: 'Lecteur', scopes: ['PATIENT_READ'] });
    const refused = await call('Patient', { method: 'POST', json: patient('184127645108946') }, reader);
    expect(refused.status).toBe(403);
    expect(coded(refused.body)).toEqual({ code: 'scope-missing', parameters: { scope: 'PATIENT_CREATE' } });
    // Dr Bernard (another practice) writing an appointment of Dr Alpha's patient.
    const outside = await call('Patient/p-martin', { method: 'PUT', json: { resourceType: 'Patient', id: 'p-martin', name: [{ family: 'Martin' }] } }, tokens.bernard);
    expect(outside.status).toBe(403);
    expect(coded(outside.body).code).toBe('outside-access');
  });

  it('an update on a version that is no longer the current one (If-Match): version-mismatch', async () => {
    const created = await call('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Lemoine' }] } });
    const stale = await call(`Patient/${created.body.id}`, { method: 'PUT', headers: { 'if-match': 'W/"999"' }, json: { ...created.body, gender: 'male' } });
    expect(stale.status).toBe(412);
    expect(stale.body.issue[0].code).toBe('conflict');
    expect(coded(stale.body).code).toBe('version-mismatch');
  });

  it('another patient\'s INS: ins-duplicate at the identifier, or ins-followed-elsewhere when another practice follows them', async () => {
    const first = await call('Patient', { method: 'POST', json: patient('285067512345639') });
    expect(first.status).toBe(201);
    const second = await call('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Durand' }] } });
    const twin = await call(`Patient/${second.body.id}`, { method: 'PUT', json: { ...second.body, ...patient('285067512345639') } });
    expect(twin.status).toBe(409);
    expect(coded(twin.body)).toEqual({ code: 'ins-duplicate', expression: ['Patient.identifier'], parameters: {} });
    // Dr Bernard, of another practice, does not see Dr Alpha's patient p-martin (fixtures.INS): not named to him.
    const hidden = await call('Patient', { method: 'POST', json: { ...patient(INS), generalPractitioner: [{ reference: 'Practitioner/bernard' }] } }, tokens.bernard);
    expect(hidden.status).toBe(409);
    expect(coded(hidden.body)).toEqual({ code: 'ins-followed-elsewhere', expression: ['Patient.identifier'], parameters: {} });
  });
});

describe('channels', () => {
  it('a Lifen send by MSSanté on a node without its mailbox: channel-not-configured, naming the channel', async () => {
    const body = JSON.parse(readFileSync(join(__dirname, '../../fixtures/lifen/v3-operations/send-to-mss.json'), 'utf8')) as Json;
    const refused = await call('CommunicationRequest/$send-to-mss', { method: 'POST', json: body });
    expect(refused.status).toBe(412);
    expect(coded(refused.body)).toEqual({ code: 'channel-not-configured', parameters: { channel: 'mssante' } });
  });
});
