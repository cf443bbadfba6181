import { beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { coded } from '../../helpers/refusals';
import { postDocument, seedOffice, sendRequest } from '../documents/fixtures';

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
    const refused = await call('CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/externe' }, { reference: 'Practitioner/injoignable' }]) }, tokens.alpha);
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
