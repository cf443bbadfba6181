import { expect } from 'vitest';
import { MSSANTE_EXTENSION } from '../../../src-server/directory/codes';
import type { Db } from '../../../src-server/store/database';
import type { Repository } from '../../../src-server/store/repository';
import { fhirFetch } from '../../helpers/node';
import { userToken } from '../../helpers/users';

/**
 * The office of the document tests: practice A (Dr Alpha, the sender, and Dr Aubert, a colleague on this node),
 * practice B on this node too (Dr Bernard), and practitioners elsewhere reachable by MSSanté (Dr Externe), one whose
 * mailbox the relay refuses, and one with no channel at all.
 */

type Json = Record<string, any>;

export const PRACTICE_A = 'cabinet-lilas';
export const PRACTICE_B = 'msp-port';
export const EXTERNAL_MAILBOX = 'dr.externe@pro.mssante.fr';
export const REFUSED_MAILBOX = 'ferme@pro.mssante.fr';
export const INS = '280029912345657';
export const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n% lettre de liaison\n'), Buffer.alloc(3000, 7), Buffer.from('\n%%EOF\n')]);

const mailbox = (address: string) => ({
  extension: [{ url: MSSANTE_EXTENSION, extension: [{ url: 'type', valueCode: 'PER' }] }],
  system: 'email',
  value: address,
});

/** The directory and the node's users, written as import and the admin would. Returns the users' tokens. */
export function seedOffice(db: Db, repository: Repository): Record<'alpha' | 'aubert' | 'bernard' | 'secretary', string> {
  const practitioner = (id: string, family: string, given: string, telecom: Json[] = [], idnps?: string) =>
    repository.update('Practitioner', id, {
      resourceType: 'Practitioner',
      id,
      ...(idnps ? { identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: idnps }] } : {}),
      name: [{ family, given: [given], prefix: ['Dr'] }],
      ...(telecom.length ? { telecom } : {}),
    });
  practitioner('alpha', 'Alpha', 'Anne', [], '810001111111');
  practitioner('aubert', 'Aubert', 'Paul');
  practitioner('bernard', 'Bernard', 'Lise');
  practitioner('externe', 'Externe', 'Marc', [mailbox(EXTERNAL_MAILBOX)]);
  practitioner('ferme', 'Ferme', 'Jean', [mailbox(REFUSED_MAILBOX)]);
  practitioner('injoignable', 'Injoignable', 'Rose', [{ system: 'phone', value: '0102030405' }]);
  repository.update('Organization', PRACTICE_A, { resourceType: 'Organization', id: PRACTICE_A, name: 'Cabinet des Lilas' });
  repository.update('Organization', PRACTICE_B, { resourceType: 'Organization', id: PRACTICE_B, name: 'Maison de santé du Port' });
  repository.update('PractitionerRole', 'role-aubert', { resourceType: 'PractitionerRole', id: 'role-aubert', practitioner: { reference: 'Practitioner/aubert' }, organization: { reference: `Organization/${PRACTICE_A}` } });
  const user = (userId: string, roles: string, practitionerId: string | null, organizations: string) => userToken(db, { userId, roles, practitionerId, organizations });
  return {
    alpha: user('u-alpha', 'practitioner', 'alpha', PRACTICE_A),
    aubert: user('u-aubert', 'practitioner', 'aubert', PRACTICE_A),
    bernard: user('u-bernard', 'practitioner', 'bernard', PRACTICE_B),
    secretary: user('u-secretary', 'staff', null, PRACTICE_A),
  };
}

/** Dr Alpha's patient and a consultation note about them, posted the Lifen way (Binary, then DocumentReference). */
export async function postDocument(fhir: string, token: string, patientId = 'p-martin'): Promise<{ patient: string; documentReference: string; binary: string }> {
  const patient = await fhirFetch(fhir, token, `Patient/${patientId}`, {
    method: 'PUT',
    json: { resourceType: 'Patient', id: patientId, identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: INS }], name: [{ family: 'Martin', given: ['Hélène'] }], birthDate: '1980-02-29', gender: 'female', generalPractitioner: [{ reference: 'Practitioner/alpha' }] },
  });
  expect([200, 201]).toContain(patient.status);
  const binary = await fhirFetch(fhir, token, 'Binary', { method: 'POST', body: PDF, headers: { 'content-type': 'application/pdf' } });
  expect(binary.status, await binary.clone().text()).toBe(201);
  const binaryId = ((await binary.json()) as Json).id as string;
  const reference = await fhirFetch(fhir, token, 'DocumentReference', {
    method: 'POST',
    json: {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11488-4', display: 'Consultation note' }] },
      subject: { reference: `Patient/${patientId}` },
      author: [{ reference: 'Practitioner/alpha' }],
      indexed: '2026-11-26T09:30:00Z',
      description: 'Compte rendu de consultation',
      content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${binaryId}` } }],
    },
  });
  expect(reference.status, await reference.clone().text()).toBe(201);
  return { patient: patientId, documentReference: ((await reference.json()) as Json).id, binary: binaryId };
}

/** A CommunicationRequest from Dr Alpha carrying the document to `recipients`. */
export function sendRequest(documentReference: string, recipients: Json[], more: Json = {}): Json {
  return {
    resourceType: 'CommunicationRequest',
    status: 'active',
    subject: { reference: 'Patient/p-martin' },
    sender: { reference: 'Practitioner/alpha' },
    recipient: recipients,
    payload: [{ contentReference: { reference: `DocumentReference/${documentReference}` } }, { contentString: 'Cher confrère, veuillez trouver ci-joint mon compte rendu.' }],
    authoredOn: '2026-11-26T09:31:00Z',
    ...more,
  };
}

/** The Communications of a request, once none is in progress any more (or the deadline passes). */
export async function settledCommunications(fhir: string, token: string, requestId: string, timeoutMs = 15_000): Promise<Json[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bundle = (await (await fhirFetch(fhir, token, `Communication?based-on=CommunicationRequest/${requestId}&_count=100`)).json()) as Json;
    const communications = (bundle.entry ?? []).map((entry: Json) => entry.resource as Json);
    if ((communications.length > 0 && communications.every((communication: Json) => communication.status !== 'in-progress')) || Date.now() > deadline) return communications;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const channelOf = (communication: Json) => communication.medium[0].coding[0].code as string;

/** A letter (LOINC 11488-4) about a patient by an author, whose content is the Binary at `url`. */
export function documentAbout(patient: string, author: string, url: string): Json {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
    subject: { reference: `Patient/${patient}` },
    author: [{ reference: `Practitioner/${author}` }],
    indexed: '2026-11-26T09:30:00Z',
    content: [{ attachment: { contentType: 'application/pdf', url } }],
  };
}

/** Channel settings that send by MSSanté through the test relay, retrying fast. */
export const relayChannels = (port: number) => ({
  mssante: { host: '127.0.0.1', port, from: 'cabinet.lilas@cabinet.mssante.fr' },
  outbox: { firstRetryMs: 100, maxDelayMs: 400, maxAttempts: 30, attemptTimeoutMs: 10_000 },
});
