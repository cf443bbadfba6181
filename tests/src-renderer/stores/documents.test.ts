// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DocumentReference, Patient } from '../../../src-renderer/api/fhir-types';
import { useDocumentsStore } from '../../../src-renderer/stores/documents';
import { bundle, FakeNode, loggedIn } from '../fake-node';

let node: FakeNode;
beforeEach(async () => {
  node = new FakeNode().install();
  await loggedIn(node);
});
afterEach(() => vi.unstubAllGlobals());

const PATIENT: Patient = { resourceType: 'Patient', id: 'p1', name: [{ family: 'Dupont', given: ['Jeanne'] }] };
const DOCUMENT: DocumentReference = { resourceType: 'DocumentReference', id: 'd1', status: 'current', type: { text: 'CR' }, indexed: '2026-01-01T00:00:00Z', subject: { reference: 'Patient/p1' }, description: 'CR', content: [{ attachment: { url: 'Binary/b1', contentType: 'application/pdf' } }] };

describe('the documents store', () => {
  it('uploads a PDF as a Binary, then a DocumentReference about the patient pointing at it', async () => {
    node.on('POST', /^\/fhir\/Binary$/, { status: 201, json: { resourceType: 'Binary', id: 'b1', contentType: 'application/pdf' } });
    node.on('POST', /^\/fhir\/DocumentReference$/, (call) => ({ status: 201, json: { ...(call.body as object), id: 'd1' } }));
    const documents = useDocumentsStore();
    const file = new File(['%PDF-1.4 test'], 'cr.pdf', { type: 'application/pdf' });
    await documents.upload({ file, patient: PATIENT, typeCode: '11488-4', typeLabel: 'Compte rendu de consultation', description: 'CR du jour' });

    expect(node.calls.map((call) => `${call.method} ${call.url.pathname}`)).toContain('POST /fhir/Binary');
    expect(node.callsTo('POST', /Binary/)[0].headers.get('content-type')).toBe('application/pdf');
    expect(node.callsTo('POST', /DocumentReference/)[0].body).toMatchObject({
      status: 'current',
      subject: { reference: 'Patient/p1' },
      author: [{ reference: 'Practitioner/demo-claire-martin', display: 'Dr Claire Martin' }],
      type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
      description: 'CR du jour',
      content: [{ attachment: { url: 'Binary/b1', contentType: 'application/pdf', title: 'cr.pdf', size: 13 } }],
    });
    expect(documents.documents[0].id).toBe('d1');
  });

  it('sends with a CommunicationRequest naming the recipients and carrying the document', async () => {
    node.on('POST', /^\/fhir\/CommunicationRequest$/, (call) => ({ status: 201, json: { ...(call.body as object), id: 'cr1' } }));
    const documents = useDocumentsStore();
    documents.draftRecipients = [{ reference: 'Practitioner/pp-1', display: 'Dr A' }];
    await documents.send(DOCUMENT, [{ reference: 'Practitioner/pp-1', display: 'Dr A' }, { reference: 'Organization/st-2' }]);
    expect(node.callsTo('POST', /CommunicationRequest/)[0].body).toMatchObject({
      status: 'active',
      subject: { reference: 'Patient/p1' },
      recipient: [{ reference: 'Practitioner/pp-1', display: 'Dr A' }, { reference: 'Organization/st-2' }],
      payload: [{ contentReference: { reference: 'DocumentReference/d1' } }],
      requester: { agent: { reference: 'Practitioner/demo-claire-martin' } },
    });
    expect(documents.outbox[0].deliveries.map((delivery) => delivery.status)).toEqual(['pending', 'pending']);
    expect(documents.draftRecipients).toEqual([]);
  });

  it('shows each recipient’s delivery from the Communications based on the request', async () => {
    node.on('GET', /^\/fhir\/CommunicationRequest\?requester=Practitioner%2Fdemo-claire-martin/, {
      json: bundle({ resourceType: 'CommunicationRequest', id: 'cr1', status: 'active', recipient: [{ reference: 'Practitioner/a' }, { reference: 'Practitioner/b' }, { reference: 'Practitioner/c' }], payload: [{ contentReference: { reference: 'DocumentReference/d1' } }] }, { ...DOCUMENT, __include: true }),
    });
    node.on('GET', /^\/fhir\/Communication\?based-on=CommunicationRequest%2Fcr1/, {
      json: bundle(
        { resourceType: 'Communication', id: 'c1', status: 'completed', basedOn: [{ reference: 'CommunicationRequest/cr1' }], recipient: [{ reference: 'Practitioner/a' }], medium: [{ coding: [{ system: 'urn:liaison:channel', code: 'mssante' }] }] },
        { resourceType: 'Communication', id: 'c2', status: 'entered-in-error', basedOn: [{ reference: 'CommunicationRequest/cr1' }], recipient: [{ reference: 'Practitioner/b' }] },
      ),
    });
    const documents = useDocumentsStore();
    await documents.loadOutbox();
    expect(documents.error).toBeUndefined();
    expect(documents.outbox[0].document?.id).toBe('d1');
    expect(documents.outbox[0].deliveries.map((delivery) => [delivery.recipient.reference, delivery.status, delivery.channel])).toEqual([
      ['Practitioner/a', 'completed', 'mssante'],
      ['Practitioner/b', 'failed', undefined],
      ['Practitioner/c', 'pending', undefined],
    ]);
  });

  it("files a letter of another practice: its copy (`related-ref`) shows it filed; $attach sends the version seen", async () => {
    const letter = { ...DOCUMENT, id: 'd2', meta: { versionId: 'v7' }, subject: { reference: 'Patient/elsewhere' } };
    const message = { resourceType: 'Communication', id: 'm2', status: 'completed', payload: [{ contentReference: { reference: 'DocumentReference/d2' } }] };
    node.on('GET', /^\/fhir\/Communication\?recipient=Practitioner%2Fdemo-claire-martin/, { json: bundle(message, { ...letter, __include: true }) });
    node.on('GET', /^\/fhir\/DocumentReference\?related-ref=DocumentReference%2Fd2/, { json: bundle() });
    const documents = useDocumentsStore();
    await documents.loadInbox();
    expect(documents.inbox[0].filed).toBeUndefined();

    const copy = { ...DOCUMENT, id: 'copy', subject: { reference: 'Patient/p1' }, context: { related: [{ ref: { reference: 'DocumentReference/d2' } }] } };
    node.on('POST', /^\/fhir\/DocumentReference\/d2\/\$attach$/, { status: 201, json: copy });
    await documents.attach(documents.inbox[0], PATIENT);
    const call = node.callsTo('POST', /\$attach/)[0];
    expect(call.headers.get('if-match')).toBe('W/"v7"');
    expect(call.body).toEqual({ resourceType: 'Parameters', parameter: [{ name: 'patient', valueReference: { reference: 'Patient/p1' } }] });
    expect(documents.inbox[0].filed).toEqual({ patient: { reference: 'Patient/p1' }, document: copy });
    expect(documents.inbox[0].document?.id).toBe('d2');

    // Loaded again, the copy the node made shows the letter filed.
    node.on('GET', /^\/fhir\/DocumentReference\?related-ref=DocumentReference%2Fd2/, { json: bundle(copy, { ...PATIENT, __include: true }) });
    await documents.loadInbox();
    expect(documents.inbox[0].filed?.document.id).toBe('copy');
  });

  it('lists the inbox addressed to the user and marks a message read by its `received` instant', async () => {
    const message = { resourceType: 'Communication', id: 'm1', meta: { versionId: 'v1' }, status: 'completed', recipient: [{ reference: 'Practitioner/demo-claire-martin' }], payload: [{ contentReference: { reference: 'DocumentReference/d1' } }] };
    node.on('GET', /^\/fhir\/Communication\?recipient=Practitioner%2Fdemo-claire-martin/, { json: bundle(message, { ...DOCUMENT, __include: true }) });
    node.on('PUT', /^\/fhir\/Communication\/m1$/, (call) => ({ json: call.body }));
    const documents = useDocumentsStore();
    await documents.loadInbox();
    expect(documents.inbox[0].document?.description).toBe('CR');
    await documents.markRead(documents.inbox[0]);
    expect((node.callsTo('PUT', /Communication\/m1/)[0].body as { received: string }).received).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(documents.inbox[0].communication.received).toBeDefined();
  });
});
