import { createHash } from 'node:crypto';
import { unzipSync, strFromU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseXml, type XmlElement } from '../../helpers/fhir-xml';
import { fhirFetch, startTestNode, type TestNode } from '../../helpers/node';
import { SmtpRelay } from '../../helpers/smtp-relay';
import { clientToken } from '../../helpers/users';
import { channelOf, EXTERNAL_MAILBOX, INS, PDF, postDocument, PRACTICE_A, PRACTICE_B, REFUSED_MAILBOX, relayChannels, seedOffice, sendRequest, settledCommunications } from './fixtures';

/**
 * The Document API end to end over HTTP, with users' tokens: Dr Alpha posts a PDF, its DocumentReference and a
 * CommunicationRequest; the outbox delivers it to a colleague on this node (internal) and to practitioners elsewhere
 * through a real SMTP relay on 127.0.0.1 (MSSanté), and everyone sees what they should.
 */

type Json = Record<string, any>;

const relay = new SmtpRelay();
let node: TestNode;
let tokens: Record<'alpha' | 'aubert' | 'bernard' | 'secretary', string>;
let documentReference: string;
let binary: string;

/** METADATA.XML of an IHE_XDM.ZIP, parsed: `find('ExtrinsicObject')` is the rim element of that name. */
function xdmMetadata(zip: Buffer): { root: XmlElement; find(name: string): XmlElement } {
  const root = parseXml(strFromU8(unzipSync(new Uint8Array(zip))['IHE_XDM/SUBSET01/METADATA.XML']));
  expect(root.name).toBe('lcm:SubmitObjectsRequest');
  const list = root.children.find((child) => child.name === 'rim:RegistryObjectList')!;
  return { root, find: (name) => list.children.find((child) => child.name === `rim:${name}`)! };
}

const slotsOf = (element: XmlElement): Record<string, string[]> =>
  Object.fromEntries(element.children.filter((child) => child.name === 'rim:Slot').map((slot) => [slot.attributes.name, slot.children[0].children.map((value) => value.text)]));

const as = (who: keyof typeof tokens, path: string, init: RequestInit & { json?: unknown } = {}) => fhirFetch(node.fhir, tokens[who], path, init);
const body = async (response: Response) => (await response.json()) as Json;

beforeAll(async () => {
  await relay.start();
  node = await startTestNode({ channels: relayChannels(relay.port) });
  tokens = seedOffice(node.db, node.repository);
  ({ documentReference, binary } = await postDocument(node.fhir, tokens.alpha));
});

afterAll(async () => {
  await node?.stop();
  await relay.stop();
});

describe('sending a document', () => {
  let requestId: string;
  let communications: Json[];

  beforeAll(async () => {
    const posted = await as('alpha', 'CommunicationRequest', {
      method: 'POST',
      json: sendRequest(documentReference, [
        { reference: 'Practitioner/aubert' },
        { reference: 'Practitioner/externe' },
        { reference: '#secretariat' },
      ], {
        contained: [{ resourceType: 'Organization', id: 'secretariat', name: 'Secrétariat du Dr Hors', telecom: [{ system: 'email', value: 'secretariat.hors@clinique.mssante.fr' }] }],
      }),
    });
    expect(posted.status, await posted.clone().text()).toBe(201);
    requestId = (await body(posted)).id;
    communications = await settledCommunications(node.fhir, tokens.alpha, requestId);
  });

  it('makes one Communication per recipient and channel, completed, tracked by based-on', () => {
    const byRecipient = Object.fromEntries(communications.map((communication) => [communication.recipient[0].reference, communication]));
    expect(Object.keys(byRecipient).sort()).toEqual(['#secretariat', 'Practitioner/aubert', 'Practitioner/externe']);
    expect(channelOf(byRecipient['Practitioner/aubert'])).toBe('internal');
    expect(channelOf(byRecipient['Practitioner/externe'])).toBe('mssante');
    expect(channelOf(byRecipient['#secretariat'])).toBe('mssante');
    for (const communication of communications) {
      expect(communication.status).toBe('completed');
      expect(communication.basedOn).toEqual([{ reference: `CommunicationRequest/${requestId}` }]);
      expect(communication.sender).toEqual({ reference: 'Practitioner/alpha' });
      expect(communication.subject).toEqual({ reference: 'Patient/p-martin' });
      expect(communication.payload[0]).toEqual({ contentReference: { reference: `DocumentReference/${documentReference}` } });
      expect(Date.parse(communication.sent)).toBeGreaterThan(Date.now() - 60_000);
      expect(communication.received).toBeUndefined();
    }
    expect(byRecipient['#secretariat'].contained[0].telecom[0].value).toBe('secretariat.hors@clinique.mssante.fr');
  });

  it('e-mails each MSSanté recipient once, with the PDF and an IHE_XDM.ZIP describing it', () => {
    expect(relay.to(EXTERNAL_MAILBOX)).toHaveLength(1);
    expect(relay.to('secretariat.hors@clinique.mssante.fr')).toHaveLength(1);
    const { mail } = relay.to(EXTERNAL_MAILBOX)[0];
    expect(mail.from?.value[0]).toMatchObject({ address: 'cabinet.lilas@cabinet.mssante.fr', name: 'Dr Anne Alpha' });
    expect(mail.subject).toBe('Compte rendu de consultation');
    expect(mail.text).toContain('veuillez trouver ci-joint');
    const externe = communications.find((communication) => communication.recipient[0].reference === 'Practitioner/externe')!;
    expect(mail.messageId).toBe(`<${externe.id}@liaison.local>`);
    const pdf = mail.attachments.find((attachment) => attachment.contentType === 'application/pdf')!;
    expect(Buffer.compare(pdf.content, PDF)).toBe(0);
    const zip = mail.attachments.find((attachment) => attachment.filename === 'IHE_XDM.ZIP')!;
    const files = unzipSync(new Uint8Array(zip.content));
    expect(Object.keys(files).sort()).toEqual(['IHE_XDM/SUBSET01/DOC0001.PDF', 'IHE_XDM/SUBSET01/METADATA.XML', 'INDEX.HTM', 'README.TXT']);
    expect(Buffer.compare(Buffer.from(files['IHE_XDM/SUBSET01/DOC0001.PDF']), PDF)).toBe(0);
    const metadata = xdmMetadata(zip.content);
    const entry = metadata.find('ExtrinsicObject');
    expect(entry.attributes).toMatchObject({ mimeType: 'application/pdf', objectType: 'urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1' });
    const slots = slotsOf(entry);
    expect(slots.hash).toEqual([createHash('sha1').update(PDF).digest('hex')]);
    expect(slots.size).toEqual([String(PDF.length)]);
    expect(slots.sourcePatientId).toEqual([`${INS}^^^&1.2.250.1.213.1.4.8&ISO^NH`]);
    expect(slots.sourcePatientInfo).toEqual(['PID-5|Martin^Hélène', 'PID-7|19800229', 'PID-8|F']);
    expect(slots.URI).toEqual(['DOC0001.PDF']);
    const classification = (scheme: string) => entry.children.find((child) => child.name === 'rim:Classification' && child.attributes.classificationScheme === scheme)!;
    expect(slotsOf(classification('urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d')).authorPerson).toEqual(['810001111111^Alpha^Anne^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS']);
    expect(classification('urn:uuid:f0306f51-975f-434e-a61c-c59651d33983').attributes.nodeRepresentation).toBe('11488-4');
    const identifier = (scheme: string) => entry.children.find((child) => child.name === 'rim:ExternalIdentifier' && child.attributes.identificationScheme === scheme)!.attributes.value;
    expect(identifier('urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427')).toBe(`${INS}^^^&1.2.250.1.213.1.4.8&ISO^NH`);
    // The document entry's uniqueId: an OID, the same in every message of this document.
    const uniqueId = identifier('urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab');
    expect(uniqueId).toMatch(/^2\.25\.\d+$/);
    const secretariatZip = relay.to('secretariat.hors@clinique.mssante.fr')[0].mail.attachments.find((attachment) => attachment.filename === 'IHE_XDM.ZIP')!.content;
    expect(xdmMetadata(secretariatZip).find('ExtrinsicObject').children.some((child) => child.attributes.value === uniqueId)).toBe(true);
    const submission = metadata.find('RegistryPackage');
    expect(slotsOf(submission).intendedRecipient).toEqual([`|^Externe^Marc|^^Internet^${EXTERNAL_MAILBOX}`]);
    const association = metadata.find('Association');
    expect(association.attributes).toMatchObject({ sourceObject: submission.attributes.id, targetObject: entry.attributes.id, associationType: 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember' });
  });

  it('puts the document in the internal recipient\'s inbox, newest first, unread until they mark it read', async () => {
    const inbox = await body(await as('aubert', 'Communication?recipient=Practitioner/aubert&_sort=-sent&_include=Communication:payload'));
    const entries = (inbox.entry as Json[]).map((entry) => `${entry.resource.resourceType}/${entry.resource.id}`);
    const mine = communications.find((communication) => communication.recipient[0].reference === 'Practitioner/aubert')!;
    expect(entries).toEqual([`Communication/${mine.id}`, `DocumentReference/${documentReference}`]);
    // The recipient reads the document and its PDF through the message.
    const pdf = await as('aubert', `Binary/${binary}`, { headers: { accept: 'application/pdf' } });
    expect(pdf.status).toBe(200);
    expect(Buffer.compare(Buffer.from(await pdf.arrayBuffer()), PDF)).toBe(0);
    const unread = await body(await as('aubert', 'Communication?recipient=Practitioner/aubert&received:missing=true'));
    expect(unread.entry).toHaveLength(1);

    const readAt = '2026-11-26T10:00:00Z';
    const { meta: _meta, ...current } = unread.entry[0].resource as Json;
    const marked = await as('aubert', `Communication/${mine.id}`, { method: 'PUT', json: { ...current, received: readAt } });
    expect(marked.status, await marked.clone().text()).toBe(200);
    expect((await body(marked)).received).toBe(readAt);
    expect((await body(await as('aubert', 'Communication?recipient=Practitioner/aubert&received:missing=true'))).entry).toBeUndefined();
  });

  it('lets a recipient mark read and nothing more, and nobody else', async () => {
    const mine = communications.find((communication) => communication.recipient[0].reference === 'Practitioner/aubert')!;
    const { meta: _meta, ...current } = (await body(await as('aubert', `Communication/${mine.id}`))) as Json;
    const changed = await as('aubert', `Communication/${mine.id}`, { method: 'PUT', json: { ...current, sender: { reference: 'Practitioner/aubert' } } });
    expect(changed.status).toBe(422);
    expect((await body(changed)).issue[0].diagnostics).toContain('only received');
    // The sender sees the Communication but may not mark it read for the recipient.
    const bySender = await as('alpha', `Communication/${mine.id}`, { method: 'PUT', json: { ...current, received: '2026-11-26T11:00:00Z' } });
    expect(bySender.status).toBe(403);
    // Nor may anyone make a Communication that passes for a delivery.
    const forged = await as('alpha', 'Communication', { method: 'POST', json: { resourceType: 'Communication', status: 'completed', identifier: [{ system: 'urn:liaison:delivery', value: 'x' }], sender: { reference: 'Practitioner/alpha' } } });
    expect(forged.status).toBe(422);
  });

  it('shows the sender their outbox, and the practice secretary the colleague\'s inbox', async () => {
    const sent = await body(await as('alpha', `CommunicationRequest?sender=Practitioner/alpha&_sort=-authored&_revinclude=Communication:based-on`));
    const kinds = (sent.entry as Json[]).map((entry) => entry.resource.resourceType);
    expect(kinds.filter((kind) => kind === 'CommunicationRequest')).toHaveLength(1);
    expect(kinds.filter((kind) => kind === 'Communication')).toHaveLength(3);
    const secretary = await body(await as('secretary', 'Communication?recipient=Practitioner/aubert'));
    expect(secretary.entry).toHaveLength(1);
  });

  it('delivers to a practice, whose own software finds it in the practice inbox', async () => {
    const scopes = ['COMMUNICATION_READ', 'COMMUNICATION_SEARCH', 'DOCUMENTREFERENCE_READ', 'BINARY_READ'];
    const ehrA = await clientToken(node, { scopes, organizationId: PRACTICE_A });
    const ehrB = await clientToken(node, { scopes, organizationId: PRACTICE_B });
    const posted = await as('alpha', 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: `Organization/${PRACTICE_A}` }]) });
    const [communication] = await settledCommunications(node.fhir, tokens.alpha, (await body(posted)).id);
    expect([channelOf(communication), communication.status]).toEqual(['internal', 'completed']);
    const inbox = await body(await fhirFetch(node.fhir, ehrA, `Communication?recipient=Organization/${PRACTICE_A}&_sort=-sent`));
    expect(inbox.entry[0].resource.id).toBe(communication.id);
    expect((await fhirFetch(node.fhir, ehrA, `DocumentReference/${documentReference}`)).status).toBe(200);
    expect((await body(await fhirFetch(node.fhir, ehrB, `Communication?recipient=Organization/${PRACTICE_A}`))).entry).toBeUndefined();
  });

  it('keeps the request, its Communications and the document from another practice', async () => {
    expect((await as('bernard', `CommunicationRequest/${requestId}`)).status).toBe(404);
    expect((await body(await as('bernard', `Communication?based-on=CommunicationRequest/${requestId}`))).entry).toBeUndefined();
    expect((await as('bernard', `DocumentReference/${documentReference}`)).status).toBe(404);
    expect((await as('bernard', `Binary/${binary}`)).status).toBe(404);
  });
});

describe('a PractitionerRole recipient', () => {
  it('reaches the practitioner of the role, who finds it in their inbox', async () => {
    const posted = await as('alpha', 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'PractitionerRole/role-aubert' }]) });
    const [communication] = await settledCommunications(node.fhir, tokens.alpha, (await body(posted)).id);
    expect([channelOf(communication), communication.status]).toEqual(['internal', 'completed']);
    expect(communication.recipient).toEqual([{ reference: 'PractitionerRole/role-aubert' }, { reference: 'Practitioner/aubert' }]);
    const inbox = await body(await as('aubert', 'Communication?recipient=Practitioner/aubert&_sort=-sent'));
    expect(inbox.entry[0].resource.id).toBe(communication.id);
  });
});

describe('a PractitionerRole sender', () => {
  it('sends as the practitioner of the role: one the caller acts as, and the sender of the deliveries', async () => {
    node.repository.update('PractitionerRole', 'role-alpha', { resourceType: 'PractitionerRole', id: 'role-alpha', practitioner: { reference: 'Practitioner/alpha' }, organization: { reference: `Organization/${PRACTICE_A}` } });
    const posted = await as('alpha', 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }], { sender: { reference: 'PractitionerRole/role-alpha' } }) });
    expect(posted.status, await posted.clone().text()).toBe(201);
    const [communication] = await settledCommunications(node.fhir, tokens.alpha, (await body(posted)).id);
    expect([channelOf(communication), communication.status]).toEqual(['internal', 'completed']);
    expect(communication.sender).toEqual({ reference: 'Practitioner/alpha' });
    const sent = await body(await as('alpha', 'Communication?sender=Practitioner/alpha&_sort=-sent'));
    expect(sent.entry.map((entry: Json) => entry.resource.id)).toContain(communication.id);
    // Another practitioner's role is not one Dr Alpha acts as.
    const impersonating = await as('alpha', 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }], { sender: { reference: 'PractitionerRole/role-aubert' } }) });
    expect(impersonating.status).toBe(403);
    expect((await body(impersonating)).issue[0].diagnostics).toContain('You cannot send as PractitionerRole/role-aubert');
  });
});

describe('the whole sequence in one transaction Bundle', () => {
  it('sends the document the Bundle uploads', async () => {
    const bundle = await as('alpha', '', {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:0c3b6a1e-0000-4000-8000-000000000001', resource: { resourceType: 'Binary', contentType: 'application/pdf', content: PDF.toString('base64') }, request: { method: 'POST', url: 'Binary' } },
          {
            fullUrl: 'urn:uuid:0c3b6a1e-0000-4000-8000-000000000002',
            resource: { resourceType: 'DocumentReference', status: 'current', type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] }, subject: { reference: 'Patient/p-martin' }, indexed: '2026-11-26T12:00:00Z', description: 'Courrier en un envoi', content: [{ attachment: { contentType: 'application/pdf', url: 'urn:uuid:0c3b6a1e-0000-4000-8000-000000000001' } }] },
            request: { method: 'POST', url: 'DocumentReference' },
          },
          { resource: { ...sendRequest('x', [{ reference: 'Practitioner/externe' }]), payload: [{ contentReference: { reference: 'urn:uuid:0c3b6a1e-0000-4000-8000-000000000002' } }] }, request: { method: 'POST', url: 'CommunicationRequest' } },
        ],
      },
    });
    expect(bundle.status, await bundle.clone().text()).toBe(200);
    const requestId = /CommunicationRequest\/([^/]+)\//.exec((await body(bundle)).entry[2].response.location)![1];
    const [communication] = await settledCommunications(node.fhir, tokens.alpha, requestId);
    expect(communication.status).toBe('completed');
    const [message] = relay.accepted.filter((each) => each.mail.messageId === `<${communication.id}@liaison.local>`);
    expect(message.mail.subject).toBe('Courrier en un envoi');
    expect(Buffer.compare(message.mail.attachments.find((attachment) => attachment.contentType === 'application/pdf')!.content, PDF)).toBe(0);
  });
});

describe('the IHE_XDM.ZIP of an odd document', () => {
  it('stays well-formed XML and HL7 when names hold their delimiters, and writes one author per classification', async () => {
    // A compound family name written with `|`, HL7's field separator: unescaped, it cuts the PID-5 value in two.
    const patient = await as('alpha', 'Patient/p-odd', {
      method: 'PUT',
      json: { resourceType: 'Patient', id: 'p-odd', name: [{ family: 'Lefèvre|Martin', given: ['Hélène'] }], gender: 'female', generalPractitioner: [{ reference: 'Practitioner/alpha' }] },
    });
    expect(patient.status, await patient.clone().text()).toBe(201);
    // XML 1.0 has no way to write U+0007, escaped or not: a receiving parser refuses the whole METADATA.XML.
    const document = {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
      subject: { reference: 'Patient/p-odd' },
      author: [{ reference: 'Practitioner/alpha' }, { reference: 'Practitioner/aubert' }],
      indexed: '2026-11-26T09:30:00Z',
      description: 'Lettre\u0007 & <urgente>',
      content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${binary}` } }],
    };
    const posted = await as('alpha', 'DocumentReference', { method: 'POST', json: document });
    expect(posted.status, await posted.clone().text()).toBe(201);
    const mailbox = 'titres.bizarres@clinique.mssante.fr';
    const request = await as('alpha', 'CommunicationRequest', {
      method: 'POST',
      json: sendRequest((await body(posted)).id, [{ reference: '#odd' }], {
        subject: { reference: 'Patient/p-odd' },
        contained: [{ resourceType: 'Organization', id: 'odd', name: 'Secrétariat A&B', telecom: [{ system: 'email', value: mailbox }] }],
      }),
    });
    expect(request.status, await request.clone().text()).toBe(201);
    expect((await settledCommunications(node.fhir, tokens.alpha, (await body(request)).id)).map((communication) => communication.status)).toEqual(['completed']);
    const zip = relay.to(mailbox)[0].mail.attachments.find((attachment) => attachment.filename === 'IHE_XDM.ZIP')!.content;
    const text = strFromU8(unzipSync(new Uint8Array(zip))['IHE_XDM/SUBSET01/METADATA.XML']);
    expect(text).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
    const entry = xdmMetadata(zip).find('ExtrinsicObject');
    const name = entry.children.find((child) => child.name === 'rim:Name')!.children[0];
    expect(name.attributes.value).toBe('Lettre\uFFFD & <urgente>');
    expect(slotsOf(entry).sourcePatientInfo).toEqual(['PID-5|Lefèvre\\F\\Martin^Hélène', 'PID-8|F']);
    expect(slotsOf(xdmMetadata(zip).find('RegistryPackage')).intendedRecipient).toEqual([`Secrétariat A\\T\\B||^^Internet^${mailbox}`]);
    // authorPerson holds one author (ITI TF-3 §4.2.3.1.4): two authors are two classifications.
    const authors = entry.children.filter((child) => child.name === 'rim:Classification' && child.attributes.classificationScheme === 'urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d');
    expect(authors.map((author) => slotsOf(author).authorPerson)).toEqual([[expect.stringContaining('^Alpha^Anne')], [expect.stringContaining('^Aubert^')]]);
  });
});

describe('failures', () => {
  it('ends a recipient the relay refuses entered-in-error with the relay\'s reason, and delivers the others', async () => {
    relay.refused.add(REFUSED_MAILBOX);
    const posted = await as('alpha', 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/ferme' }, { reference: 'Practitioner/externe' }]) });
    expect(posted.status).toBe(201);
    const communications = await settledCommunications(node.fhir, tokens.alpha, (await body(posted)).id);
    const refused = communications.find((communication) => communication.recipient[0].reference === 'Practitioner/ferme')!;
    expect(refused.status).toBe('entered-in-error');
    expect(refused.notDone).toBe(true);
    expect(refused.notDoneReason.coding[0]).toEqual({ system: 'urn:liaison:delivery-failure', code: 'refused' });
    expect(refused.notDoneReason.text).toMatch(/^Envoi refusé par la messagerie sécurisée de santé \(MSSanté\)/);
    expect(refused.notDoneReason.extension[0].valueString).toContain(`refused the message to ${REFUSED_MAILBOX}`);
    expect(refused.notDoneReason.extension[0].valueString).toContain('550');
    expect(communications.find((communication) => communication.recipient[0].reference === 'Practitioner/externe')!.status).toBe('completed');
    expect(relay.to(REFUSED_MAILBOX)).toHaveLength(0);
  });

  it('retries while the relay is unreachable and delivers once it is back', async () => {
    await relay.stop();
    const before = relay.to(EXTERNAL_MAILBOX).length;
    const posted = await as('alpha', 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/externe' }]) });
    const requestId = (await body(posted)).id;
    const waiting = await vi.waitFor(
      () => {
        const row = node.db.prepare('SELECT attempts, last_error FROM document_outbox WHERE request_id = ?').get(requestId) as { attempts: number; last_error: string };
        expect(row.attempts).toBeGreaterThanOrEqual(2);
        return row;
      },
      { timeout: 15_000, interval: 20 },
    );
    expect(waiting.last_error).toContain('ECONNREFUSED');
    expect((await settledCommunications(node.fhir, tokens.alpha, requestId, 0))[0].status).toBe('in-progress');
    await relay.start();
    const [communication] = await settledCommunications(node.fhir, tokens.alpha, requestId);
    expect(communication.status).toBe('completed');
    expect(relay.to(EXTERNAL_MAILBOX).length).toBe(before + 1);
  });

  it('does not deliver what the sender cancelled while it waited for the relay', async () => {
    await relay.stop();
    const before = relay.to(EXTERNAL_MAILBOX).length;
    const posted = await body(await as('alpha', 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/externe' }]) }));
    const { meta: _meta, ...request } = posted;
    expect((await as('alpha', `CommunicationRequest/${posted.id}`, { method: 'PUT', json: { ...request, status: 'cancelled' } })).status).toBe(200);
    const [communication] = await settledCommunications(node.fhir, tokens.alpha, posted.id);
    await relay.start();
    expect(communication.status).toBe('entered-in-error');
    expect(communication.notDoneReason.coding[0].code).toBe('cancelled');
    expect(relay.to(EXTERNAL_MAILBOX).length).toBe(before);
  });

  it('refuses a send over a channel this node has not configured, naming the recipient (412), rather than fail it later', async () => {
    const posted = await as('alpha', 'CommunicationRequest', {
      method: 'POST',
      json: sendRequest(documentReference, [{ reference: `Organization/${PRACTICE_A}` }], { medium: [{ coding: [{ system: 'urn:liaison:channel', code: 'dpi' }] }] }),
    });
    expect(posted.status).toBe(412);
    expect(await posted.text()).toContain(`The dpi channel that reaches Organization/${PRACTICE_A} is not set up on this node`);
  });
});

describe('a client retry sends once', () => {
  it('answers a repeated identifier with the first request, queuing nothing more', async () => {
    const request = sendRequest(documentReference, [{ reference: 'Practitioner/externe' }], { identifier: [{ system: 'urn:ehr:envoi', value: 'envoi-42' }] });
    const first = await as('alpha', 'CommunicationRequest', { method: 'POST', json: request });
    expect(first.status).toBe(201);
    const id = (await body(first)).id;
    const retry = await as('alpha', 'CommunicationRequest', { method: 'POST', json: request });
    expect(retry.status).toBe(200);
    expect((await body(retry)).id).toBe(id);
    const communications = await settledCommunications(node.fhir, tokens.alpha, id);
    expect(communications).toHaveLength(1);
    expect(relay.accepted.filter((message) => message.mail.messageId === `<${communications[0].id}@liaison.local>`)).toHaveLength(1);
    // The same identifier on another request is a conflict, not a silent second send.
    const other = await as('alpha', 'CommunicationRequest', { method: 'POST', json: { ...request, recipient: [{ reference: 'Practitioner/aubert' }] } });
    expect(other.status).toBe(409);
    const total = await body(await as('alpha', 'CommunicationRequest?identifier=urn:ehr:envoi|envoi-42&_total=accurate'));
    expect(total.total).toBe(1);
  });

  it('answers If-None-Exist with the first request', async () => {
    const request = sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }], { identifier: [{ system: 'urn:ehr:envoi', value: 'envoi-43' }] });
    const first = await body(await as('alpha', 'CommunicationRequest', { method: 'POST', json: request }));
    const retry = await as('alpha', 'CommunicationRequest', { method: 'POST', json: request, headers: { 'if-none-exist': 'identifier=urn:ehr:envoi|envoi-43' } });
    expect(retry.status).toBe(200);
    expect((await body(retry)).id).toBe(first.id);
    expect(await settledCommunications(node.fhir, tokens.alpha, first.id)).toHaveLength(1);
  });

  it('refuses to change what a sent request sends, and lets it be cancelled', async () => {
    const posted = await body(await as('alpha', 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }]) }));
    const { meta: _meta, ...sent } = posted;
    const changed = await as('alpha', `CommunicationRequest/${sent.id}`, { method: 'PUT', json: { ...sent, recipient: [{ reference: 'Practitioner/externe' }] } });
    expect(changed.status).toBe(409);
    const cancelled = await as('alpha', `CommunicationRequest/${sent.id}`, { method: 'PUT', json: { ...sent, status: 'cancelled' } });
    expect(cancelled.status).toBe(200);
    expect(await settledCommunications(node.fhir, tokens.alpha, sent.id)).toHaveLength(1);
  });
});

describe('bad requests store nothing', () => {
  const cases: Array<[string, 'alpha' | 'bernard', () => Json, number, string | RegExp]> = [
    ['no sender', 'alpha', () => ({ ...sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }]), sender: undefined }), 422, 'needs a sender'],
    ['a sender the user is not', 'alpha', () => sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }], { sender: { reference: 'Practitioner/bernard' } }), 403, 'cannot send as Practitioner/bernard'],
    ['an unknown recipient', 'alpha', () => sendRequest(documentReference, [{ reference: 'Practitioner/nobody' }]), 422, 'Practitioner/nobody does not exist'],
    ['a recipient no channel reaches', 'alpha', () => sendRequest(documentReference, [{ reference: 'Practitioner/injoignable' }]), 422, 'No channel reaches Practitioner/injoignable'],
    ['a recipient on another server', 'alpha', () => sendRequest(documentReference, [{ reference: 'https://ailleurs.example/fhir/Practitioner/1' }]), 422, 'not a resource of this node'],
    ['a contained recipient without MSSanté address', 'alpha', () => sendRequest(documentReference, [{ reference: '#x' }], { contained: [{ resourceType: 'Practitioner', id: 'x', telecom: [{ system: 'email', value: 'someone@gmail.com' }] }] }), 422, 'no MSSanté address'],
    ['an unknown medium', 'alpha', () => sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }], { medium: [{ coding: [{ system: 'urn:liaison:channel', code: 'fax' }] }] }), 400, "Unknown channel 'fax'"],
    ['medium internal to someone not on this node', 'alpha', () => sendRequest(documentReference, [{ reference: 'Practitioner/externe' }], { medium: [{ coding: [{ system: 'urn:liaison:channel', code: 'internal' }] }] }), 422, 'not a user or practice of this node'],
    ['a channel but no document', 'alpha', () => ({ ...sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }], { medium: [{ coding: [{ system: 'urn:liaison:channel', code: 'internal' }] }] }), payload: [{ contentString: 'hello' }] }), 422, 'exactly one DocumentReference'],
    ['two documents', 'alpha', () => ({ ...sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }]), payload: [{ contentReference: { reference: `DocumentReference/${documentReference}` } }, { contentReference: { reference: `DocumentReference/${documentReference}` } }] }), 422, 'this one has 2'],
    ['a document of another practice', 'bernard', () => sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }], { sender: { reference: 'Practitioner/bernard' }, subject: undefined }), 422, /DocumentReference\/\S+ does not exist/],
    ['no recipient', 'alpha', () => ({ ...sendRequest(documentReference, []), recipient: undefined }), 422, 'names no recipient'],
    ['a draft carrying a document of another practice', 'bernard', () => sendRequest(documentReference, [], { status: 'draft', sender: { reference: 'Practitioner/bernard' }, subject: undefined }), 422, /DocumentReference\/\S+ does not exist/],
  ];
  for (const [what, who, make, status, message] of cases) {
    it(`${what}: ${status}`, async () => {
      const count = async () => (await body(await node.request('CommunicationRequest?_summary=count'))).total as number;
      const outbox = () => (node.db.prepare('SELECT count(*) AS n FROM document_outbox').get() as { n: number }).n;
      const [requestsBefore, outboxBefore] = [await count(), outbox()];
      const response = await as(who, 'CommunicationRequest', { method: 'POST', json: JSON.parse(JSON.stringify(make())) });
      expect(response.status).toBe(status);
      const outcome = await body(response);
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue[0].diagnostics).toMatch(message);
      expect(await count()).toBe(requestsBefore);
      expect(outbox()).toBe(outboxBefore);
    });
  }

  it('stores a CommunicationRequest that carries no document as a plain record, sending nothing', async () => {
    const reminder = await as('alpha', 'CommunicationRequest', { method: 'POST', json: { resourceType: 'CommunicationRequest', status: 'active', sender: { reference: 'Practitioner/alpha' }, recipient: [{ reference: 'Practitioner/injoignable' }], payload: [{ contentString: 'Rappeler Mme Martin' }] } });
    expect(reminder.status).toBe(201);
    expect((node.db.prepare('SELECT count(*) AS n FROM document_outbox WHERE request_id = ?').get((await body(reminder)).id) as { n: number }).n).toBe(0);
  });

  it('accepts a draft without sending it, and sends it when it becomes active', async () => {
    const draft = await body(await as('alpha', 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }], { status: 'draft' }) }));
    expect((await body(await as('alpha', `Communication?based-on=CommunicationRequest/${draft.id}`))).entry).toBeUndefined();
    const { meta: _meta, ...request } = draft;
    expect((await as('alpha', `CommunicationRequest/${draft.id}`, { method: 'PUT', json: { ...request, status: 'active' } })).status).toBe(200);
    const [communication] = await settledCommunications(node.fhir, tokens.alpha, draft.id);
    expect(communication.status).toBe('completed');
  });
});
