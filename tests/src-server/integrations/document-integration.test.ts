import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryIdOf } from '../../../src-server/documents/communications';
import { controlIdOf } from '../../../src-server/integrations/dpi/hl7-message';
import { startTestNode, type TestNode } from '../../helpers/node';
import { channelOf, settledCommunications } from '../documents/fixtures';
import { IDNPS, INS, PDF } from './deliveries';
import { DmpStandIn } from './dmp-stand-in';
import { HospitalListener, hospitalDpi } from './hospital-listener';

/**
 * A document sent over HTTP as a practice sends it (Binary, DocumentReference, CommunicationRequest), through the
 * outbox, to two hospitals' DPI over MLLP (a real listener on 127.0.0.1) and to the patient's DMP (an HTTP stand-in),
 * with the channels configured as `channels.json` configures them (`NodeOptions.channels`).
 */

type Json = Record<string, any>;

const listener = new HospitalListener();
const standIn = new DmpStandIn();
let node: TestNode;

/** The request's id is chosen (PUT), so the test knows each delivery's HL7 control id before it arrives. */
const REQUEST_ID = 'send-to-dpi-and-dmp';
const REFUSING = 'Organization/clinic-ar';
const refusingControlId = controlIdOf(deliveryIdOf(REQUEST_ID, { channel: 'dpi', recipient: { reference: REFUSING }, named: [REFUSING] }));

beforeAll(async () => {
  const [port, endpoint] = await Promise.all([listener.start(), standIn.start()]);
  listener.answer = (message) =>
    message.getSegment('MSH')?.getField(10).toString() === refusingControlId ? { code: 'AR', text: 'Unknown receiving facility' } : { code: 'AA' };
  node = await startTestNode({
    channels: {
      dpi: hospitalDpi(port, ['hospital', 'clinic-ar']),
      dmp: {
        endpoint,
        sourceOid: '1.2.250.1.999.1.1',
        custodian: { name: 'Cabinet du Dr Martin' },
        codes: {
          healthcareFacilityType: { code: 'SA07', display: 'Cabinet individuel', scheme: '1.2.250.1.71.4.2.4' },
          practiceSetting: { code: 'AMBULATOIRE', display: 'Ambulatoire', scheme: '1.2.250.1.213.1.1.4.9' },
          class: { code: '11', display: 'Compte rendu', scheme: '1.2.250.1.213.1.1.4.1' },
        },
      },
      outbox: { firstRetryMs: 100, maxDelayMs: 400, maxAttempts: 5, attemptTimeoutMs: 10_000 },
    },
  });
  const { repository } = node;
  // The directory and the patient as import brings them.
  repository.update('Practitioner', 'pp-martin', { resourceType: 'Practitioner', id: 'pp-martin', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: IDNPS }], name: [{ family: 'Martin', given: ['Jean'] }] });
  repository.update('PractitionerRole', 'role-martin', { resourceType: 'PractitionerRole', id: 'role-martin', practitioner: { reference: 'Practitioner/pp-martin' } });
  repository.update('Organization', 'hospital', { resourceType: 'Organization', id: 'hospital', name: 'CH Exemple' });
  repository.update('Organization', 'clinic-ar', { resourceType: 'Organization', id: 'clinic-ar', name: 'Clinique qui refuse' });
  repository.update('Patient', 'pat-1', { resourceType: 'Patient', id: 'pat-1', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: INS }], name: [{ use: 'official', family: 'Lefèvre', given: ['Hélène'] }], birthDate: '1980-02-29', gender: 'female' });
});

afterAll(async () => {
  await node?.stop();
  await Promise.all([listener.stop(), standIn.stop()]);
});

async function created(path: string, init: RequestInit & { json?: unknown }): Promise<string> {
  const response = await node.request(path, init);
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as Json).id as string;
}

describe('a document sent to the DPI and the DMP', () => {
  let communications: Json[];

  beforeAll(async () => {
    const binary = await created('Binary', { method: 'POST', body: PDF, headers: { 'content-type': 'application/pdf' } });
    const document = await created('DocumentReference', {
      method: 'POST',
      json: {
        resourceType: 'DocumentReference',
        status: 'current',
        type: { coding: [{ system: 'http://loinc.org', code: '11488-4', display: 'Consult note' }] },
        subject: { reference: 'Patient/pat-1' },
        author: [{ reference: 'Practitioner/pp-martin' }],
        indexed: '2026-11-20T10:00:00Z',
        description: 'Compte rendu de consultation',
        content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${binary}` } }],
      },
    });
    // The sender as a role, the patient from the document (the request names none): what routing and the channels resolve.
    await created(`CommunicationRequest/${REQUEST_ID}`, {
      method: 'PUT',
      json: {
        resourceType: 'CommunicationRequest',
        id: REQUEST_ID,
        status: 'active',
        sender: { reference: 'PractitionerRole/role-martin' },
        recipient: [{ reference: 'Organization/hospital' }, { reference: REFUSING }],
        payload: [{ contentReference: { reference: `DocumentReference/${document}` } }],
        medium: [{ coding: [{ system: 'urn:liaison:channel', code: 'dpi' }, { system: 'urn:liaison:channel', code: 'dmp' }] }],
      },
    });
    communications = await settledCommunications(node.fhir, node.token, REQUEST_ID);
  });

  it('makes exactly one Communication per recipient and channel', () => {
    const keys = communications.map((communication) => `${channelOf(communication)} ${communication.recipient[0].reference}`).sort();
    expect(keys).toEqual(['dmp Patient/pat-1', 'dpi Organization/clinic-ar', 'dpi Organization/hospital']);
    for (const communication of communications) expect(communication.sender).toEqual({ reference: 'Practitioner/pp-martin' });
  });

  it('completes the DPI delivery the hospital acknowledged (AA) and the DMP one the endpoint filed', () => {
    const of = (channel: string, recipient: string) => communications.find((communication) => channelOf(communication) === channel && communication.recipient[0].reference === recipient)!;
    expect(of('dpi', 'Organization/hospital').status).toBe('completed');
    expect(of('dmp', 'Patient/pat-1').status).toBe('completed');
    expect(listener.received).toHaveLength(2);
    const [filed] = [...standIn.filed.values()];
    expect(standIn.filed.size).toBe(1);
    expect(filed.patientId).toContain(INS);
    expect(filed.pdf.equals(PDF)).toBe(true);
    // The author is the role's practitioner, by IDNPS, in the HL7 message and in the CDA.
    for (const message of listener.received) expect(message.getSegment('TXA')?.getField(5).toString()).toContain(`${IDNPS}^Martin^Jean`);
    expect(JSON.stringify(filed.cda)).toContain(IDNPS);
  });

  it('ends the delivery the other hospital rejected (AR) entered-in-error, with its reason', () => {
    const refused = communications.find((communication) => communication.recipient[0].reference === REFUSING)!;
    expect(refused.status).toBe('entered-in-error');
    expect(refused.notDone).toBe(true);
    expect(refused.notDoneReason.coding[0]).toMatchObject({ system: 'urn:liaison:delivery-failure', code: 'refused' });
    expect(refused.notDoneReason.text).toMatch(/^Envoi refusé par le logiciel de l’établissement \(DPI\)/);
    expect(refused.notDoneReason.extension[0].valueString).toContain('The receiver rejected the message (AR)');
    expect(refused.notDoneReason.extension[0].valueString).toContain('Unknown receiving facility');
  });
});
