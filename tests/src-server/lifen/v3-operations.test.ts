import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSSANTE_EXTENSION } from '../../../src-server/directory/codes';
import { fhirFetch, startTestNode, type TestNode } from '../../helpers/node';
import { samplePdf } from '../../helpers/pdf';
import { SmtpRelay } from '../../helpers/smtp-relay';
import { clientToken } from '../../helpers/users';
import { HospitalListener, hospitalDpi } from '../integrations/hospital-listener';

/**
 * Lifen's v3 operations against a real node, as a Lifen client calls them (the requests of tests/fixtures/lifen/
 * v3-operations, one per example of Lifen's documentation): `$send-to-mss` through a real SMTP relay on 127.0.0.1,
 * `$send-to-ehr` to a hospital's MLLP listener, `$tracking`, and `$search-for-mss` over the directory; then what they
 * refuse, and that a refusal writes nothing.
 */

type Json = Record<string, any>;

const FIXTURES = join(__dirname, '../../fixtures/lifen/v3-operations');
const fixture = (name: string): Json => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Json;
const PDF = samplePdf('Compte rendu de consultation');
const INS = '280027512345626';
const LIFEN_RPPS = 'http://lifen.fr/fhir/Identifier/practitioner-rpps';
const RPPS = 'https://rpps.esante.gouv.fr';

const relay = new SmtpRelay();
const listener = new HospitalListener();
let node: TestNode;
/** Dr Alpha's software: an API client acting for her, with Lifen's grouped scopes. */
let alphaMss: string;
let alphaEhr: string;
/** Another practice's software (Dr Bernard's). */
let bernardMss: string;
/** A client of Dr Alpha's practice without the send scopes. */
let readOnly: string;

const mailbox = (address: string, type = 'PER') => ({ extension: [{ url: MSSANTE_EXTENSION, extension: [{ url: 'type', valueCode: type }] }], system: 'email', value: address });

/** The directory as the national import writes it (personal mailboxes on roles), the practices, their patients. */
function seed(repository: TestNode['repository']): void {
  const put = (resource: Json) => repository.update(resource.resourceType, resource.id, resource);
  const rpps = (value: string) => [{ system: RPPS, value }, { system: 'urn:oid:1.2.250.1.71.4.2.1', value: `8${value}` }];
  put({ resourceType: 'Organization', id: 'cabinet-lilas', name: 'Cabinet des Lilas' });
  put({ resourceType: 'Organization', id: 'msp-port', name: 'Maison de santé du Port' });
  put({ resourceType: 'Practitioner', id: 'alpha', identifier: rpps('10001111111'), name: [{ family: 'Alpha', given: ['Anne'], prefix: ['Dr'] }] });
  put({ resourceType: 'Practitioner', id: 'bernard', identifier: rpps('10002222222'), name: [{ family: 'Bernard', given: ['Lise'] }] });
  put({ resourceType: 'Practitioner', id: 'durand', identifier: rpps('10000383181'), name: [{ family: 'Durand', given: ['Jean'], prefix: ['Dr'] }] });
  put({ resourceType: 'Practitioner', id: 'durandal', identifier: rpps('10000383199'), name: [{ family: 'Durandal', given: ['Roland'] }], address: [{ line: ['1 rue de Roncevaux'], city: 'Pau' }] });
  put({ resourceType: 'Practitioner', id: 'martin', identifier: rpps('10000444444'), name: [{ family: 'Martin', given: ['Paul'] }], telecom: [{ system: 'phone', value: '0102030405' }, mailbox('p.martin@hopital-lyon.fr')] });
  put({ resourceType: 'Organization', id: 'chu-exemple', name: 'CHU Exemple', address: [{ line: ['100 BOULEVARD DU GENERAL LECLERC'], city: 'PARIS', postalCode: '75014' }] });
  put({ resourceType: 'Organization', id: 'cardiologie', name: 'Service de cardiologie', partOf: { reference: 'Organization/chu-exemple' }, telecom: [mailbox('cardiologie@chu-exemple.mssante.fr', 'ORG')] });
  put({ resourceType: 'PractitionerRole', id: 'role-durand', practitioner: { reference: 'Practitioner/durand' }, organization: { reference: 'Organization/chu-exemple' }, telecom: [mailbox('jean.durand@chu-exemple.mssante.fr')] });
  put({
    resourceType: 'Organization',
    id: 'clinique-mss',
    identifier: [{ system: 'https://finess.esante.gouv.fr', value: '750000001' }, { system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1750000001' }],
    name: 'Clinique des Messageries',
    telecom: [mailbox('secretariat@clinique.mssante.fr', 'ORG')],
  });
  put({ resourceType: 'Organization', id: 'hospital', name: 'CH Exemple' });
  put({ resourceType: 'Patient', id: 'lifen-patient', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: INS }], name: [{ use: 'official', family: 'Lefèvre', given: ['Hélène'] }], birthDate: '1980-02-29', gender: 'female', generalPractitioner: [{ reference: 'Practitioner/alpha' }] });
  put({ resourceType: 'Encounter', id: 'lifen-encounter', status: 'finished', subject: { reference: 'Patient/lifen-patient' }, serviceProvider: { reference: 'Organization/hospital' } });
  put({ resourceType: 'Patient', id: 'other-patient', name: [{ family: 'Autre', given: ['Anne'] }], generalPractitioner: [{ reference: 'Practitioner/alpha' }] });
  put({ resourceType: 'Encounter', id: 'other-encounter', status: 'finished', subject: { reference: 'Patient/other-patient' } });
  put({ resourceType: 'Patient', id: 'patient-b', name: [{ family: 'Port', given: ['Yves'] }], generalPractitioner: [{ reference: 'Practitioner/bernard' }] });
  put({ resourceType: 'Encounter', id: 'encounter-b', status: 'finished', subject: { reference: 'Patient/patient-b' } });
}

const as = (token: string, path: string, init: RequestInit & { json?: unknown } = {}) => fhirFetch(node.fhir, token, path, init);
const post = (token: string, path: string, json: unknown) => as(token, path, { method: 'POST', json });
const body = async (response: Response) => (await response.json()) as Json;
const parameter = (parameters: Json, name: string): Json => (parameters.parameter as Json[] | undefined)?.find((item) => item.name === name) ?? {};

/** The fixture with some of its parameters replaced (by name: all of that name go) or added. */
function withParameters(name: string, replaced: Record<string, Json[]>): Json {
  const base = fixture(name);
  return { ...base, parameter: [...(base.parameter as Json[]).filter((item) => !(item.name in replaced)), ...Object.entries(replaced).flatMap(([key, items]) => items.map((item) => ({ name: key, ...item })))] };
}

/** A refusal: its status and an OperationOutcome whose issue names `location` (a parameter), if given. */
async function expectRefusal(response: Response, status: number, location?: string): Promise<Json> {
  const outcome = await body(response);
  expect(response.status, JSON.stringify(outcome)).toBe(status);
  expect(outcome.resourceType).toBe('OperationOutcome');
  if (location) expect(JSON.stringify(outcome.issue)).toContain(location);
  return outcome;
}

/** What the node holds of the send sequence's types: a refusal must leave it as it was. */
async function sendCounts(): Promise<number[]> {
  const count = async (type: string) => (await body(await node.request(`${type}?_summary=count`))).total as number;
  return [await count('Binary'), await count('DocumentReference'), await count('CommunicationRequest'), await count('Communication')];
}

/** The Communications a tracking url lists (`$tracking`, or a search by based-on) once none is in progress (or after 15 s). */
async function settled(token: string, trackingUrl: string): Promise<Json[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const bundle = await body(await as(token, trackingUrl));
    const communications = ((bundle.entry ?? []) as Json[]).map((entry) => entry.resource as Json);
    if ((communications.length > 0 && communications.every((communication) => communication.status !== 'in-progress')) || Date.now() > deadline) return communications;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  await relay.start();
  const port = await listener.start();
  node = await startTestNode({
    channels: {
      mssante: { host: '127.0.0.1', port: relay.port, from: 'cabinet.lilas@cabinet.mssante.fr' },
      dpi: hospitalDpi(port, ['hospital']),
      outbox: { firstRetryMs: 100, maxDelayMs: 400, maxAttempts: 30, attemptTimeoutMs: 10_000 },
    },
  });
  seed(node.repository);
  [alphaMss, alphaEhr, bernardMss, readOnly] = await Promise.all([
    clientToken(node, { scopes: ['SEND_TO_MSS'], practitionerId: 'alpha', organizationId: 'cabinet-lilas' }),
    clientToken(node, { scopes: ['SEND_TO_EHR', 'COMMUNICATION_SEARCH'], practitionerId: 'alpha' }),
    clientToken(node, { scopes: ['SEND_TO_MSS'], practitionerId: 'bernard', organizationId: 'msp-port' }),
    clientToken(node, { scopes: ['PATIENT_READ', 'DOCUMENTREFERENCE_CREATE'], practitionerId: 'alpha' }),
  ]);
});

afterAll(async () => {
  await node?.stop();
  await Promise.all([relay.stop(), listener.stop()]);
});

describe('$send-to-mss', () => {
  let answer: Json;
  let transactionId: string;
  let communications: Json[];

  beforeAll(async () => {
    const response = await post(alphaMss, 'CommunicationRequest/$send-to-mss', fixture('send-to-mss.json'));
    answer = await body(response);
    expect(response.status, JSON.stringify(answer)).toBe(201);
    transactionId = parameter(answer, 'transaction-id').valueString;
    expect(response.headers.get('location')).toBe(`${node.fhir}/CommunicationRequest/${transactionId}`);
    communications = await settled(alphaMss, parameter(answer, 'tracking-url').valueString);
  });

  it("answers 201 Parameters with the transaction-id and the tracking-url, Lifen's shape", () => {
    expect(answer.resourceType).toBe('Parameters');
    expect(answer.parameter.map((item: Json) => item.name).sort()).toEqual(['tracking-url', 'transaction-id']);
    expect(parameter(answer, 'tracking-url').valueString).toBe(`${node.fhir}/CommunicationRequest/$tracking?transaction-id=${transactionId}`);
  });

  it('writes the Document API sequence: the Binary, the DocumentReference naming it, the CommunicationRequest carrying it', async () => {
    const request = await body(await node.request(`CommunicationRequest/${transactionId}`));
    expect(request).toMatchObject({ status: 'active', subject: { reference: 'Patient/lifen-patient' }, context: { reference: 'Encounter/lifen-encounter' }, sender: { reference: 'Practitioner/alpha' } });
    expect(request.medium).toEqual([{ coding: [{ system: 'urn:liaison:channel', code: 'mssante' }] }]);
    const documentId = request.payload[0].contentReference.reference.split('/')[1];
    const document = await body(await node.request(`DocumentReference/${documentId}`));
    expect(document).toMatchObject({ status: 'current', description: 'Compte rendu de consultation', subject: { reference: 'Patient/lifen-patient' }, context: { encounter: { reference: 'Encounter/lifen-encounter' } } });
    expect(document.content[0].attachment.data).toBeUndefined();
    const binary = await node.request(document.content[0].attachment.url, { headers: { accept: 'application/pdf' } });
    expect(Buffer.from(await binary.arrayBuffer()).equals(PDF)).toBe(true);
  });

  it('e-mails each recipient — by mailbox, reference, RPPS and FINESS — the PDF with its IHE_XDM.ZIP', () => {
    const addresses = ['cardiologie@chu-exemple.mssante.fr', 'p.martin@hopital-lyon.fr', 'jean.durand@chu-exemple.mssante.fr', 'secretariat@clinique.mssante.fr'];
    expect(relay.accepted.flatMap((message) => message.to).sort()).toEqual([...addresses].sort());
    for (const address of addresses) {
      const [{ mail }] = relay.to(address);
      expect(mail.from?.value[0]).toMatchObject({ address: 'cabinet.lilas@cabinet.mssante.fr', name: 'Dr Anne Alpha' });
      expect(mail.subject).toBe('Compte rendu de consultation');
      const pdf = mail.attachments.find((attachment) => attachment.contentType === 'application/pdf')!;
      expect(pdf.content.equals(PDF)).toBe(true);
      const zip = unzipSync(new Uint8Array(mail.attachments.find((attachment) => attachment.filename === 'IHE_XDM.ZIP')!.content));
      expect(Buffer.from(zip['IHE_XDM/SUBSET01/DOC0001.PDF']).equals(PDF)).toBe(true);
      const metadata = strFromU8(zip['IHE_XDM/SUBSET01/METADATA.XML']);
      expect(metadata).toContain(`${INS}^^^&amp;1.2.250.1.213.1.4.8&amp;ISO^NH`);
      expect(metadata).toContain(address);
    }
  });

  it('$tracking answers a collection of its Communications, completed, the address in medium.text', async () => {
    const response = await as(alphaMss, `CommunicationRequest/$tracking?transaction-id=${transactionId}`);
    const bundle = await body(response);
    expect(response.status).toBe(200);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    expect(bundle.entry).toHaveLength(4);
    const byAddress = Object.fromEntries(communications.map((communication) => [communication.medium[0].text, communication]));
    expect(Object.keys(byAddress).sort()).toEqual(['cardiologie@chu-exemple.mssante.fr', 'jean.durand@chu-exemple.mssante.fr', 'p.martin@hopital-lyon.fr', 'secretariat@clinique.mssante.fr']);
    for (const communication of communications) {
      expect(communication.status).toBe('completed');
      expect(communication.basedOn).toEqual([{ reference: `CommunicationRequest/${transactionId}` }]);
      expect(communication.medium[0].coding).toContainEqual({ system: 'http://lifen.fr/fhir/CodeSystem/communication-medium', code: 'MSSANTE' });
    }
    // Each recipient carries the mailbox it was reached at, as Lifen's recipient-details extension says it.
    const reached = (address: string) => byAddress[address].recipient.map((recipient: Json) => ({ reference: recipient.reference, mailbox: recipient.extension?.[0]?.valueContactPoint?.value }));
    expect(reached('jean.durand@chu-exemple.mssante.fr')).toEqual([
      { reference: 'PractitionerRole/role-durand', mailbox: 'jean.durand@chu-exemple.mssante.fr' },
      { reference: 'Practitioner/durand', mailbox: 'jean.durand@chu-exemple.mssante.fr' },
    ]);
    expect(reached('secretariat@clinique.mssante.fr')).toEqual([{ reference: 'Organization/clinique-mss', mailbox: 'secretariat@clinique.mssante.fr' }]);
    expect(reached('cardiologie@chu-exemple.mssante.fr')).toEqual([{ reference: 'Organization/cardiologie', mailbox: 'cardiologie@chu-exemple.mssante.fr' }]);
    // An address the directory knows: the recipient is named as the directory names its owner.
    expect(byAddress['p.martin@hopital-lyon.fr'].contained[0]).toMatchObject({ resourceType: 'Practitioner', name: [{ family: 'Martin', given: ['Paul'] }], telecom: [mailbox('p.martin@hopital-lyon.fr')] });
  });

  it('records the call in the audit trail', async () => {
    const audit = await body(await fetch(`${node.url}/admin/audit?_count=1000`, { headers: { authorization: `Bearer ${node.token}` } }));
    expect(audit.events).toContainEqual(expect.objectContaining({ event: 'access', status: 201, action: 'POST /fhir/CommunicationRequest/$send-to-mss' }));
  });

  it('takes the sender as a reference too', async () => {
    const response = await post(alphaMss, 'CommunicationRequest/$send-to-mss', withParameters('send-to-mss.json', { 'sender-identifier': [], sender: [{ valueReference: { reference: 'Practitioner/alpha' } }], recipients: [{ valueString: 'secretariat@clinique.mssante.fr' }] }));
    expect(response.status, await response.clone().text()).toBe(201);
    const [communication] = await settled(alphaMss, parameter(await body(response), 'tracking-url').valueString);
    expect(communication).toMatchObject({ status: 'completed', sender: { reference: 'Practitioner/alpha' } });
  });
});

describe('$send-to-mss refusals', () => {
  const send = (token: string, replaced: Record<string, Json[]>) => post(token, 'CommunicationRequest/$send-to-mss', withParameters('send-to-mss.json', replaced));
  let before: number[];

  beforeAll(async () => {
    before = await sendCounts();
  });

  it('refuses a caller without SEND_TO_MSS (403 naming it), and records the denial', async () => {
    const outcome = await expectRefusal(await post(readOnly, 'CommunicationRequest/$send-to-mss', fixture('send-to-mss.json')), 403);
    expect(outcome.issue[0].diagnostics).toContain('SEND_TO_MSS');
    const audit = await body(await fetch(`${node.url}/admin/audit?event=access.denied&_count=1000`, { headers: { authorization: `Bearer ${node.token}` } }));
    expect(audit.events).toContainEqual(expect.objectContaining({ status: 403, action: 'POST /fhir/CommunicationRequest/$send-to-mss' }));
  });

  it('refuses an unknown recipient (422 naming recipients): an RPPS the directory lacks, an address that is no MSSanté mailbox', async () => {
    await expectRefusal(await send(alphaMss, { recipients: [{ valueIdentifier: { system: LIFEN_RPPS, value: '19999999999' } }] }), 422, 'recipients');
    await expectRefusal(await send(alphaMss, { recipients: [{ valueString: 'someone@gmail.com' }] }), 422, 'recipients');
    await expectRefusal(await send(alphaMss, { recipients: [{ valueReference: { reference: 'Practitioner/nobody' } }] }), 422, 'recipients');
    // A practitioner with no mailbox anywhere: the document flow says so.
    const outcome = await expectRefusal(await send(alphaMss, { recipients: [{ valueReference: { reference: 'Practitioner/bernard' } }] }), 422);
    expect(outcome.issue[0].diagnostics).toContain('no MSSanté mailbox');
  });

  it("refuses another practice's patient, encounter or practitioner as if they did not exist or were not the caller's", async () => {
    const patient = await expectRefusal(await send(alphaMss, { subject: [{ valueReference: { reference: 'Patient/patient-b' } }] }), 422, 'subject');
    expect(patient.issue[0].diagnostics).toBe('Patient/patient-b does not exist');
    await expectRefusal(await send(alphaMss, { context: [{ valueReference: { reference: 'Encounter/encounter-b' } }] }), 422, 'context');
    // An encounter of another of her own patients is no context for this one.
    await expectRefusal(await send(alphaMss, { context: [{ valueReference: { reference: 'Encounter/other-encounter' } }] }), 422, 'context');
    // Sending as another practice's practitioner: the document flow's 403.
    await expectRefusal(await send(alphaMss, { 'sender-identifier': [{ valueString: '10002222222' }] }), 403);
    // A patient is no recipient of an MSSanté message, whoever's it is.
    await expectRefusal(await send(alphaMss, { recipients: [{ valueReference: { reference: 'Patient/patient-b' } }] }), 400, 'recipients');
    // And the other practice cannot send about Dr Alpha's patient.
    await expectRefusal(await send(bernardMss, { 'sender-identifier': [{ valueString: '10002222222' }] }), 422, 'subject');
  });

  it('refuses malformed parameters with a 400 naming the parameter', async () => {
    await expectRefusal(await post(alphaMss, 'CommunicationRequest/$send-to-mss', { resourceType: 'Bundle', type: 'batch' }), 400, 'resourceType');
    await expectRefusal(await send(alphaMss, { subject: [] }), 400, 'subject');
    await expectRefusal(await send(alphaMss, { recipients: [] }), 400, 'recipients');
    await expectRefusal(await send(alphaMss, { priority: [{ valueCode: 'urgent' }] }), 400, 'priority');
    await expectRefusal(await send(alphaMss, { recipients: [{ valueBoolean: true }] }), 400, 'recipients');
    await expectRefusal(await send(alphaMss, { recipients: [{ valueString: 'not a recipient' }] }), 400, 'recipients');
    await expectRefusal(await send(alphaMss, { subject: [{ valueReference: { reference: 'Patient/lifen-patient' } }, { valueReference: { reference: 'Patient/lifen-patient' } }] }), 400, 'subject');
    await expectRefusal(await send(alphaMss, { subject: [{ valueReference: { reference: 'Practitioner/alpha' } }] }), 400, 'subject');
    const document = (data: unknown, contentType = 'application/pdf'): Json => ({ part: [{ name: 'document', resource: { resourceType: 'DocumentReference', status: 'current', type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] }, content: [{ attachment: { contentType, data } }] } }] });
    await expectRefusal(await send(alphaMss, { payload: [document(undefined)] }), 400, 'payload');
    await expectRefusal(await send(alphaMss, { payload: [document('%%% not base64 %%%')] }), 400, 'payload');
    await expectRefusal(await send(alphaMss, { payload: [document(PDF.toString('base64'), 'text/plain')] }), 400, 'payload');
    await expectRefusal(await send(alphaMss, { payload: [{ part: [{ name: 'document', resource: { resourceType: 'Patient' } }] }] }), 400, 'payload');
    // STU3 requires DocumentReference.type: the document's own validation says so.
    const untyped = document(PDF.toString('base64'));
    delete untyped.part[0].resource.type;
    await expectRefusal(await send(alphaMss, { payload: [untyped] }), 400, 'DocumentReference.type');
  });

  it('wrote nothing for any of them', async () => {
    expect(await sendCounts()).toEqual(before);
    expect(relay.accepted.flatMap((message) => message.to)).not.toContain('someone@gmail.com');
  });
});

describe('$send-to-ehr', () => {
  let answer: Json;
  let requestId: string;
  let communications: Json[];

  beforeAll(async () => {
    const response = await post(alphaEhr, 'CommunicationRequest/$send-to-ehr', fixture('send-to-ehr.json'));
    answer = await body(response);
    expect(response.status, JSON.stringify(answer)).toBe(201);
    const url = parameter(answer, 'tracking-url').valueString as string;
    requestId = url.split('CommunicationRequest/')[1];
    communications = await settled(alphaEhr, url);
  });

  it('answers 201 Parameters with a tracking-url, a Communication search by based-on', () => {
    expect(answer).toEqual({ resourceType: 'Parameters', parameter: [{ name: 'tracking-url', valueString: `${node.fhir}/Communication?based-on=CommunicationRequest/${requestId}` }] });
  });

  it("files the document into the EHR of the encounter's service provider, over the DPI channel", () => {
    expect(communications).toHaveLength(1);
    expect(communications[0]).toMatchObject({ status: 'completed', recipient: [{ reference: 'Organization/hospital' }], sender: { reference: 'Practitioner/alpha' } });
    expect(communications[0].medium[0].coding[0]).toEqual({ system: 'urn:liaison:channel', code: 'dpi' });
    expect(listener.received).toHaveLength(1);
    const [message] = listener.received;
    expect(message.getSegment('MSH')?.getField(9).toString()).toMatch(/^MDM\^T02/);
    expect(message.getSegment('PID')?.toString()).toContain(INS);
    expect(message.getSegment('TXA')?.getField(2).toString()).toBe('11488-4');
    expect(message.getSegment('TXA')?.getField(5).toString()).toContain('810001111111^Alpha^Anne');
    expect(Buffer.from(message.getSegment('OBX')!.getField(5).getComponent(5), 'base64').equals(PDF)).toBe(true);
  });

  it('takes document-type as a bare LOINC code too', async () => {
    const response = await post(alphaEhr, 'CommunicationRequest/$send-to-ehr', withParameters('send-to-ehr.json', { 'document-type': [{ valueCode: '11488-4' }] }));
    expect(response.status, await response.clone().text()).toBe(201);
  });

  it('refuses a document over 15 MB (413), a caller without SEND_TO_EHR (403), malformed parameters (400), and writes nothing', async () => {
    const before = await sendCounts();
    const large = Buffer.alloc(15 * 1024 * 1024 + 1, 0x25).toString('base64');
    const tooLarge = await expectRefusal(await post(alphaEhr, 'CommunicationRequest/$send-to-ehr', withParameters('send-to-ehr.json', { payload: [{ valueBase64Binary: large }] })), 413);
    expect(tooLarge.issue[0].diagnostics).toContain('15 MB');
    const denied = await expectRefusal(await post(readOnly, 'CommunicationRequest/$send-to-ehr', fixture('send-to-ehr.json')), 403);
    expect(denied.issue[0].diagnostics).toContain('SEND_TO_EHR');
    await expectRefusal(await post(alphaEhr, 'CommunicationRequest/$send-to-ehr', withParameters('send-to-ehr.json', { 'document-type': [] })), 400, 'document-type');
    await expectRefusal(await post(alphaEhr, 'CommunicationRequest/$send-to-ehr', withParameters('send-to-ehr.json', { 'content-type': [{ valueCode: 'pdf' }] })), 400, 'content-type');
    await expectRefusal(await post(alphaEhr, 'CommunicationRequest/$send-to-ehr', withParameters('send-to-ehr.json', { subject: [{ valueReference: { reference: 'Patient/patient-b' } }] })), 422, 'subject');
    expect(await sendCounts()).toEqual(before);
  });
});

describe('$tracking refusals', () => {
  it('answers 404 for a send the caller cannot see or that does not exist, 400 without a transaction-id, 403 without the scope', async () => {
    const response = await post(alphaMss, 'CommunicationRequest/$send-to-mss', withParameters('send-to-mss.json', { recipients: [{ valueString: 'secretariat@clinique.mssante.fr' }] }));
    const id = parameter(await body(response), 'transaction-id').valueString;
    await expectRefusal(await as(bernardMss, `CommunicationRequest/$tracking?transaction-id=${id}`), 404);
    await expectRefusal(await as(alphaMss, 'CommunicationRequest/$tracking?transaction-id=no-such-send'), 404);
    await expectRefusal(await as(alphaMss, 'CommunicationRequest/$tracking'), 400, 'transaction-id');
    await expectRefusal(await as(alphaMss, `CommunicationRequest/$tracking?transaction-id=${id}&status=completed`), 400, 'status');
    await expectRefusal(await as(readOnly, `CommunicationRequest/$tracking?transaction-id=${id}`), 403);
  });
});

describe('$search-for-mss', () => {
  it('finds practitioners by name, with their mailboxes as ranked work e-mails and a work address, and the total', async () => {
    const response = await post(alphaMss, 'Practitioner/$search-for-mss', fixture('search-for-mss-practitioner.json'));
    const bundle = await body(response);
    expect(response.status, JSON.stringify(bundle)).toBe(200);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 2 });
    expect(bundle.entry.map((entry: Json) => entry.resource.id)).toEqual(['durand', 'durandal']);
    const durand = bundle.entry[0].resource;
    expect(durand.telecom).toEqual([{ ...mailbox('jean.durand@chu-exemple.mssante.fr'), use: 'work', rank: 1 }]);
    expect(durand.address).toEqual([{ line: ['100 BOULEVARD DU GENERAL LECLERC'], city: 'PARIS', postalCode: '75014', use: 'work' }]);
    // Found by name too, without a mailbox (docs/lifen-compatibility.md).
    expect(bundle.entry[1].resource.telecom).toBeUndefined();
  });

  it("answers `name` from the text index, with the directory's semantics: a practitioner's name and the cities they work in", async () => {
    const bundle = await body(await post(alphaMss, 'Practitioner/$search-for-mss', { name: 'durand paris' }));
    expect(bundle.total).toBe(1);
    expect(bundle.entry[0].resource.id).toBe('durand');
  });

  it("finds them by RPPS under Lifen's system, by mailbox, by several ids, and pages by 1 with a next link", async () => {
    const ids = async (json: Json) => {
      const bundle = await body(await post(alphaMss, 'Practitioner/$search-for-mss', json));
      return { total: bundle.total, ids: (bundle.entry ?? []).map((entry: Json) => entry.resource.id), next: bundle.link.find((link: Json) => link.relation === 'next')?.url };
    };
    expect(await ids({ identifier: `${LIFEN_RPPS}|10000383181` })).toMatchObject({ total: 1, ids: ['durand'] });
    expect(await ids({ telecom: 'p.martin@hopital-lyon.fr' })).toMatchObject({ total: 1, ids: ['martin'] });
    expect((await ids({ _id: ['durand', 'martin', 'alpha'] })).total).toBe(3);
    const martin = (await body(await post(alphaMss, 'Practitioner/$search-for-mss', { _id: 'martin' }))).entry[0].resource;
    expect(martin.telecom).toEqual([{ ...mailbox('p.martin@hopital-lyon.fr'), use: 'work', rank: 1 }, { system: 'phone', value: '0102030405' }]);
    const first = await ids({ family: 'durand', _count: 1 });
    expect(first).toMatchObject({ total: 2, ids: [expect.any(String)] });
    const second = await body(await as(alphaMss, first.next));
    expect(second.total).toBe(2);
    expect(second.entry.map((entry: Json) => entry.resource.id)).not.toEqual(first.ids);
  });

  it('finds organizations by FINESS and by part-of, with their mailboxes', async () => {
    const response = await post(alphaMss, 'Organization/$search-for-mss', fixture('search-for-mss-organization.json'));
    const bundle = await body(response);
    expect(response.status, JSON.stringify(bundle)).toBe(200);
    expect(bundle).toMatchObject({ type: 'searchset', total: 1 });
    expect(bundle.entry[0].resource.telecom).toEqual([{ ...mailbox('secretariat@clinique.mssante.fr', 'ORG'), use: 'work', rank: 1 }]);
    const parts = await body(await post(alphaMss, 'Organization/$search-for-mss', { 'part-of': 'Organization/chu-exemple' }));
    expect(parts.entry.map((entry: Json) => entry.resource.id)).toEqual(['cardiologie']);
  });

  it("refuses Lifen's paging out of bounds, unknown fields and a caller without the search scope", async () => {
    await expectRefusal(await post(alphaMss, 'Practitioner/$search-for-mss', { name: 'durand', _count: 0 }), 400, '_count');
    await expectRefusal(await post(alphaMss, 'Practitioner/$search-for-mss', { name: 'durand', _count: 101 }), 400, '_count');
    await expectRefusal(await post(alphaMss, 'Practitioner/$search-for-mss', { nom: 'durand' }), 400, 'nom');
    await expectRefusal(await post(alphaMss, 'Organization/$search-for-mss', { given: 'jean' }), 400, 'given');
    await expectRefusal(await post(alphaMss, 'Organization/$search-for-mss', { telecom: 'secretariat@clinique.mssante.fr' }), 400, 'telecom');
    await expectRefusal(await post(alphaMss, 'Practitioner/$search-for-mss', { name: { family: 'durand' } }), 400, 'name');
    await expectRefusal(await post(readOnly, 'Practitioner/$search-for-mss', { name: 'durand' }), 403);
  });
});

describe('a node without an MSSanté mailbox or an EHR set up', () => {
  let bare: TestNode;
  let token: string;

  beforeAll(async () => {
    bare = await startTestNode();
    seed(bare.repository);
    token = await clientToken(bare, { scopes: ['SEND_TO_MSS', 'SEND_TO_EHR'], practitionerId: 'alpha' });
  });

  afterAll(async () => {
    await bare?.stop();
  });

  it('answers $send-to-mss 412, as Lifen answers a sender without a mailbox, and $send-to-ehr 412; nothing written', async () => {
    const mss = await expectRefusal(await fhirFetch(bare.fhir, token, 'CommunicationRequest/$send-to-mss', { method: 'POST', json: fixture('send-to-mss.json') }), 412);
    expect(mss.issue[0].diagnostics).toContain('no MSSanté mailbox');
    await expectRefusal(await fhirFetch(bare.fhir, token, 'CommunicationRequest/$send-to-ehr', { method: 'POST', json: fixture('send-to-ehr.json') }), 412);
    const count = await fhirFetch(bare.fhir, bare.token, 'CommunicationRequest?_summary=count');
    expect((await body(count)).total).toBe(0);
  });
});
