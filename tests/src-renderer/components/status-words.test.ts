// @vitest-environment happy-dom
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import CareTimeline from '../../../src-renderer/components/CareTimeline.vue';
import DocumentsPage from '../../../src-renderer/pages/DocumentsPage.vue';
import { toTimeline } from '../../../src-renderer/stores/patients';
import { bundle, type FakeNode, loggedIn, mountInApp, screenNode, settle } from '../fake-node';

/**
 * Every status shown is a word (issue 25): the care timeline's and the documents screen's statuses and channels are
 * read from their codes into French, and a code the UI has no word for says "Autre (<code>)" rather than leaking raw.
 */

/** The FHIR codes these screens could print as they are. */
const RAW_CODES = /\b(current|superseded|entered-in-error|finished|in-progress|planned|active|booked|fulfilled|noshow|cancelled|completed|internal|mssante|HH|AMB)\b/;

let node: FakeNode;
beforeEach(() => {
  node = screenNode();
});
afterEach(() => vi.unstubAllGlobals());

describe('the care timeline', () => {
  it('shows each status and an encounter’s class as a French word, an unknown one as "Autre (…)"', async () => {
    const items = toTimeline([
      { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'HH' }, period: { start: '2026-03-01T10:00:00+01:00' } } as never,
      { resourceType: 'EpisodeOfCare', id: 'ep', status: 'active', patient: { reference: 'Patient/p1' }, period: { start: '2026-02-01' } } as never,
      { resourceType: 'DocumentReference', id: 'd', status: 'current', indexed: '2026-04-01T08:00:00Z', description: 'Compte rendu', type: {}, content: [] } as never,
      { resourceType: 'Appointment', id: 'a', status: 'booked', start: '2026-05-01T09:00:00Z', participant: [] } as never,
      { resourceType: 'Appointment', id: 'b', status: 'waitlist', start: '2026-05-02T09:00:00Z', participant: [] } as never,
    ]);
    const { wrapper } = await mountInApp(CareTimeline, { props: { items }, pinia: await loggedIn(node) });
    // Newest first: the two appointments, the document, the encounter, the episode.
    expect(wrapper.findAll('li [data-status]').map((status) => status.text())).toEqual(['Autre (waitlist)', 'Réservé', 'Actif', 'Terminée', 'En cours']);
    expect(wrapper.find('[data-class]').text()).toBe('Visite à domicile');
    expect(wrapper.text()).not.toMatch(RAW_CODES);
  });
});

async function open(tab: string): Promise<VueWrapper> {
  const { wrapper } = await mountInApp(DocumentsPage, { pinia: await loggedIn(node), path: `/documents?tab=${tab}` });
  await settle();
  return wrapper;
}

const DOCUMENT = { resourceType: 'DocumentReference', id: 'd1', status: 'current', type: { text: 'Compte rendu de consultation' }, indexed: '2026-06-02T09:00:00Z', description: 'Compte rendu', content: [{ attachment: { url: 'Binary/b1', contentType: 'application/pdf' } }] };
const channel = (code: string) => [{ coding: [{ system: 'urn:liaison:channel', code }] }];

describe('the documents screen', () => {
  it('names each recipient’s channel and a request’s status in words', async () => {
    node.on('GET', /^\/fhir\/CommunicationRequest\?requester=/, {
      json: bundle(
        { resourceType: 'CommunicationRequest', id: 'cr1', status: 'active', authoredOn: '2026-06-02T09:00:00Z', recipient: [{ reference: 'Practitioner/a', display: 'Dr A' }, { reference: 'Practitioner/b', display: 'Dr B' }, { reference: 'Practitioner/c', display: 'Dr C' }], payload: [{ contentReference: { reference: 'DocumentReference/d1' } }] },
        { resourceType: 'CommunicationRequest', id: 'cr2', status: 'cancelled', authoredOn: '2026-06-01T09:00:00Z', recipient: [], payload: [{ contentReference: { reference: 'DocumentReference/d1' } }] },
        { ...DOCUMENT, __include: true },
      ),
    });
    node.on('GET', /^\/fhir\/Communication\?based-on=/, {
      json: bundle(
        { resourceType: 'Communication', id: 'c1', status: 'completed', basedOn: [{ reference: 'CommunicationRequest/cr1' }], recipient: [{ reference: 'Practitioner/a' }], medium: channel('internal') },
        { resourceType: 'Communication', id: 'c2', status: 'in-progress', basedOn: [{ reference: 'CommunicationRequest/cr1' }], recipient: [{ reference: 'Practitioner/b' }], medium: channel('mssante') },
        { resourceType: 'Communication', id: 'c3', status: 'in-progress', basedOn: [{ reference: 'CommunicationRequest/cr1' }], recipient: [{ reference: 'Practitioner/c' }], medium: channel('apicrypt') },
      ),
    });
    const wrapper = await open('outbox');
    expect(wrapper.findAll('[data-channel]').map((span) => span.text())).toEqual(['Messagerie du cabinet', 'MSSanté', 'Autre (apicrypt)']);
    expect(wrapper.findAll('[data-request-status]').map((span) => span.text())).toEqual(['Annulé']);
    expect(wrapper.text()).not.toMatch(RAW_CODES);
  });

  it('says a document’s status and a message not yet delivered in words', async () => {
    node.on('GET', /^\/fhir\/DocumentReference\?/, { json: bundle(DOCUMENT, { ...DOCUMENT, id: 'd2', status: 'entered-in-error' }, { ...DOCUMENT, id: 'd3', status: 'superseded' }) });
    const all = await open('all');
    expect(all.findAll('.items > li .badge').map((badge) => badge.text())).toEqual(['Actif', 'Annulé', 'Remplacé']);
    expect(all.text()).not.toMatch(RAW_CODES);
    all.unmount();

    node.on('GET', /^\/fhir\/Communication\?recipient=/, {
      json: bundle(
        { resourceType: 'Communication', id: 'm1', status: 'completed', sent: '2026-06-02T09:30:00Z', payload: [{ contentReference: { reference: 'DocumentReference/d1' } }] },
        { resourceType: 'Communication', id: 'm2', status: 'in-progress', payload: [{ contentReference: { reference: 'DocumentReference/d1' } }] },
        { ...DOCUMENT, __include: true },
      ),
    });
    const inbox = await open('inbox');
    expect(inbox.findAll('[data-communication-status]').map((badge) => badge.text())).toEqual(['En cours']);
    expect(inbox.text()).not.toMatch(RAW_CODES);
  });
});
