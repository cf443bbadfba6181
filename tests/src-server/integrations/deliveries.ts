import { randomBytes } from 'node:crypto';
import type { Delivery } from '../../../src-server/channels/channel';

/** A delivery as the outbox hands it to a channel: a PDF about a patient with an IPP and an INS, from a GP. */

/** A NIR with its key (97 - 2800275123456 mod 97 = 26). */
export const INS = '280027512345626';
export const IPP = 'IPP-42';
export const IPP_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.7.999';
export const IDNPS = '810001234567';

/** PDF-looking bytes with every byte value in them, so the base64 holds '+' and '/'. */
export const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(4096), Buffer.from(Array.from({ length: 256 }, (_, index) => index)), Buffer.from('\n%%EOF\n')]);

export const patient = (identifier: object[] = [
  { type: { coding: [{ system: 'http://hl7.org/fhir/v2/0203', code: 'PI' }] }, system: IPP_SYSTEM, value: IPP, assigner: { display: 'CABINET&DUPONT' } },
  { system: 'urn:oid:1.2.250.1.213.1.4.8', value: INS },
]) => ({
  resourceType: 'Patient',
  id: 'pat-1',
  identifier,
  name: [
    { use: 'official', family: 'Lefèvre|Martin', given: ['Hélène', 'Marie'] },
    { use: 'usual', family: 'Dupont^Moreau', given: ['Hélène'] },
  ],
  birthDate: '1980-02-29',
  gender: 'female',
});

export function delivery(overrides: Partial<Delivery> = {}): Delivery {
  return {
    deliveryId: 'cr-1/Organization/hospital/dpi',
    communicationRequest: { resourceType: 'CommunicationRequest', id: 'cr-1', status: 'active' },
    documentReference: {
      resourceType: 'DocumentReference',
      id: 'doc-1',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11488-4', display: 'Consult note' }] },
      description: 'Compte rendu de consultation',
      created: '2026-11-20T09:30:00+01:00',
      indexed: '2026-11-20T09:31:00+01:00',
      subject: { reference: 'Patient/pat-1' },
      content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/bin-1' } }],
    },
    content: PDF,
    contentType: 'application/pdf',
    patient: patient(),
    sender: {
      resourceType: 'Practitioner',
      id: 'pp-1',
      identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: IDNPS }],
      name: [{ family: 'Martin', given: ['Jean'], prefix: ['Dr'] }],
    },
    recipient: { resource: { resourceType: 'Organization', id: 'hospital', name: 'CH Exemple' } },
    ...overrides,
  };
}
