// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DocumentReference } from '../../../src-renderer/api/fhir-types';
import SendDocument from '../../../src-renderer/components/SendDocument.vue';
import DocumentsPage from '../../../src-renderer/pages/DocumentsPage.vue';
import { useDocumentsStore } from '../../../src-renderer/stores/documents';
import { refusal } from '../../../src-server/fhir/outcome';
import { bundle, FakeNode, loggedIn, mountInApp, settle } from '../fake-node';

/**
 * A send never fails silently (issue 26), in the screens: the send panel says how the node will reach each recipient
 * (`$route`), lets the user choose among a recipient's mailboxes and sends to the one chosen, and asks nothing of the
 * node for a recipient no channel reaches; the outbox says why a delivery failed with a "Réessayer" that asks
 * `$retry`; the inbox shows the sender's cover message.
 */

type Json = Record<string, any>;
const DETAILS = 'http://lifen.fr/fhir/StructureDefinition/communicationrequest-recipient-details';
const document = { resourceType: 'DocumentReference', id: 'd1', status: 'current', description: 'Compte rendu', subject: { reference: 'Patient/p1' }, content: [] } as unknown as DocumentReference;
const routeOf = (reference: string, parts: Json[]) => ({ name: 'recipient', part: [{ name: 'reference', valueReference: { reference } }, ...parts] });

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
  node.on('GET', /^\/health$/, { json: { status: 'ok' } });
  node.on('GET', /^\/fhir\/PractitionerRole\?/, { json: bundle() });
});
afterEach(() => vi.unstubAllGlobals());

const sendButton = (wrapper: Awaited<ReturnType<typeof mountInApp>>['wrapper']) => wrapper.findAll('button').find((button) => button.text() === 'Envoyer')!;

describe('the send panel', () => {
  it('says per recipient the channel, lets a mailbox be chosen among several, and sends to it', async () => {
    const pinia = await loggedIn(node);
    node.on('POST', /^\/fhir\/CommunicationRequest\/\$route$/, {
      json: {
        resourceType: 'Parameters',
        parameter: [
          routeOf('Practitioner/near', [{ name: 'channel', valueCoding: { system: 'urn:liaison:channel', code: 'internal' } }]),
          routeOf('Practitioner/far', [
            { name: 'channel', valueCoding: { system: 'urn:liaison:channel', code: 'mssante' } },
            { name: 'address', valueString: 'cabinet@far.mssante.fr' },
            { name: 'mailbox', valueString: 'cabinet@far.mssante.fr' },
            { name: 'mailbox', valueString: 'hopital@far.mssante.fr' },
          ]),
        ],
      },
    });
    node.on('POST', /^\/fhir\/CommunicationRequest$/, { status: 201, json: { resourceType: 'CommunicationRequest', id: 'cr1', status: 'active' } });
    useDocumentsStore().draftRecipients = [
      { reference: 'Practitioner/near', display: 'Dr Paul AUBERT' },
      { reference: 'Practitioner/far', display: 'Dr Marc LOIN' },
    ];
    const { wrapper } = await mountInApp(SendDocument, { props: { document }, pinia });
    await settle();
    expect(wrapper.findAll('[data-reach]').map((line) => line.text())).toEqual(['Envoi par la messagerie de Liaison', 'Envoi par messagerie sécurisée de santé (MSSanté), à cabinet@far.mssante.fr']);
    await wrapper.get('[data-mailbox]').setValue('hopital@far.mssante.fr');
    await settle();
    await wrapper.get('[data-cover-message]').setValue('Cher confrère, pour avis.');
    await sendButton(wrapper).trigger('click');
    await settle();
    const [sent] = node.callsTo('POST', /^\/fhir\/CommunicationRequest$/);
    const body = sent.body as Json;
    expect(body.recipient[1].extension).toEqual([{ url: DETAILS, valueContactPoint: { system: 'email', value: 'hopital@far.mssante.fr' } }]);
    expect(body.payload[1]).toEqual({ contentString: 'Cher confrère, pour avis.' });
    expect(wrapper.emitted('sent')).toHaveLength(1);
  });

  it('says why no channel reaches a recipient, in French, and sends nothing', async () => {
    const pinia = await loggedIn(node);
    const refused = refusal(422, 'recipient-no-channel', 'No channel reaches Practitioner/far', 'CommunicationRequest.recipient[0]', { parameters: { recipient: 'Practitioner/far' } });
    node.on('POST', /^\/fhir\/CommunicationRequest\/\$route$/, { json: { resourceType: 'Parameters', parameter: [routeOf('Practitioner/far', [{ name: 'outcome', resource: refused.outcome }])] } });
    useDocumentsStore().draftRecipients = [{ reference: 'Practitioner/far', display: 'Dr Rose INJOIGNABLE' }];
    const { wrapper } = await mountInApp(SendDocument, { props: { document }, pinia });
    await settle();
    expect(wrapper.get('[data-reach-refused]').text()).toMatch(/^Ce destinataire n’est joignable par aucun moyen d’envoi/);
    await sendButton(wrapper).trigger('click');
    await settle();
    expect(wrapper.get('[data-unreachable]').text()).toMatch(/^Envoi impossible : Dr Rose INJOIGNABLE ne peut être joint/);
    expect(node.callsTo('POST', /^\/fhir\/CommunicationRequest$/)).toHaveLength(0);
    expect(wrapper.text()).not.toMatch(/No channel reaches/);
  });
});

describe('the documents screen', () => {
  it('says why a delivery failed, in words, and Réessayer asks the node to retry it', async () => {
    node.on('GET', /^\/fhir\/CommunicationRequest\?requester=/, {
      json: bundle({ resourceType: 'CommunicationRequest', id: 'cr1', status: 'active', recipient: [{ reference: 'Practitioner/far' }], payload: [{ contentReference: { reference: 'DocumentReference/d1' } }] }),
    });
    node.on('GET', /^\/fhir\/Communication\?based-on=/, {
      json: bundle({
        resourceType: 'Communication',
        id: 'c1',
        status: 'entered-in-error',
        basedOn: [{ reference: 'CommunicationRequest/cr1' }],
        recipient: [{ reference: 'Practitioner/far' }],
        medium: [{ coding: [{ system: 'urn:liaison:channel', code: 'mssante' }] }],
        notDoneReason: { extension: [{ url: 'https://liaison.example/fhir/StructureDefinition/delivery-failure-detail', valueString: '550 mailbox unknown' }], coding: [{ system: 'urn:liaison:delivery-failure', code: 'refused' }], text: 'Envoi refusé…' },
      }),
    });
    node.on('POST', /^\/fhir\/Communication\/c1\/\$retry$/, { json: { resourceType: 'Communication', id: 'c1', status: 'in-progress', recipient: [{ reference: 'Practitioner/far' }] } });
    const pinia = await loggedIn(node);
    const { wrapper } = await mountInApp(DocumentsPage, { pinia, path: '/documents?tab=outbox' });
    await settle();
    const failure = wrapper.get('[data-failure]');
    expect(failure.get('.problem').text()).toBe('Refusé par le destinataire : son adresse n’existe pas ou n’accepte pas ce document.');
    expect(failure.get('[data-technical-detail]').text()).toContain('550 mailbox unknown');
    await failure.findAll('button').find((button) => button.text() === 'Réessayer')!.trigger('click');
    await settle();
    expect(node.callsTo('POST', /^\/fhir\/Communication\/c1\/\$retry$/)).toHaveLength(1);
    expect(wrapper.find('[data-failure]').exists()).toBe(false);
    expect(wrapper.get('.deliveries .badge').text()).toBe('En cours');
  });

  it('shows the cover message of a received document', async () => {
    node.on('GET', /^\/fhir\/Communication\?recipient=/, {
      json: bundle({ resourceType: 'Communication', id: 'm1', status: 'completed', recipient: [{ reference: 'Practitioner/demo-claire-martin' }], sent: '2026-06-02T09:30:00Z', payload: [{ contentReference: { reference: 'DocumentReference/d1' } }, { contentString: 'Cher confrère, pour avis.' }] }),
    });
    const pinia = await loggedIn(node);
    const { wrapper } = await mountInApp(DocumentsPage, { pinia, path: '/documents?tab=inbox' });
    await settle();
    expect(wrapper.get('[data-cover-message]').text()).toBe('Message : Cher confrère, pour avis.');
  });
});
