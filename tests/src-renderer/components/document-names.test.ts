// @vitest-environment happy-dom
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import DocumentsPage from '../../../src-renderer/pages/DocumentsPage.vue';
import { useDocumentsStore } from '../../../src-renderer/stores/documents';
import { bundle, FakeNode, loggedIn, mountInApp, settle } from '../fake-node';

/**
 * Names everywhere (issue 25): the rows of the inbox, the outbox and "Tous les documents" name the patient (with
 * their birth date) and the sender or recipients, from the `_include`s of the lists' own searches and one cached
 * search of the practitioners' roles; what the node leaves out (out of the user's reach) is said in French words,
 * never as `Type/id`.
 */

type Json = Record<string, unknown>;
const included = (resource: Json) => ({ ...resource, __include: true });

const JEANNE = { resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1960-05-04', name: [{ use: 'official', family: 'Dupont', given: ['Jeanne'] }] };
const PAUL = { resourceType: 'Practitioner', id: 'demo-paul-durand', name: [{ family: 'Durand', given: ['Paul'], prefix: ['Dr'] }] };
const AMINA = { resourceType: 'Practitioner', id: 'demo-amina-benali', name: [{ family: 'Benali', given: ['Amina'], prefix: ['Dr'] }] };
const LILAS = { resourceType: 'Organization', id: 'demo-cabinet-des-lilas', name: 'Cabinet des Lilas' };
const PORT = { resourceType: 'Organization', id: 'demo-maison-de-sante-du-port', name: 'Maison de santé du Port' };
const document = (id: string, patient: string, description: string) => ({
  resourceType: 'DocumentReference',
  id,
  status: 'current',
  type: { text: 'Compte rendu de consultation' },
  indexed: '2026-06-02T09:00:00Z',
  subject: { reference: patient },
  description,
  content: [{ attachment: { url: `Binary/b-${id}`, contentType: 'application/pdf' } }],
});
/** Paul's role has the national codes; Amina's only her practice. */
const ROLES = bundle(
  { resourceType: 'PractitionerRole', id: 'r1', active: true, practitioner: { reference: 'Practitioner/demo-paul-durand' }, organization: { reference: 'Organization/demo-cabinet-des-lilas' }, code: [{ coding: [{ code: '10', display: 'Médecin' }] }], specialty: [{ coding: [{ code: 'SM54', display: 'Médecine générale' }] }] },
  { resourceType: 'PractitionerRole', id: 'r2', active: true, practitioner: { reference: 'Practitioner/demo-amina-benali' }, organization: { reference: 'Organization/demo-maison-de-sante-du-port' } },
  included(LILAS),
  included(PORT),
);

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
  node.on('GET', /^\/health$/, { json: { status: 'ok' } });
  node.on('GET', /^\/fhir\/PractitionerRole\?/, { json: ROLES });
});
afterEach(() => vi.unstubAllGlobals());

async function open(tab: string): Promise<VueWrapper> {
  const pinia = await loggedIn(node);
  const { wrapper } = await mountInApp(DocumentsPage, { pinia, path: `/documents?tab=${tab}` });
  await settle();
  return wrapper;
}

const rows = (wrapper: VueWrapper) => wrapper.findAll('.items > li');
const includesOf = (path: RegExp) => node.callsTo('GET', path)[0]?.url.searchParams.getAll('_include');
/** No reference, no id: what a practitioner reads. */
function expectNoReference(wrapper: VueWrapper): void {
  expect(wrapper.text()).not.toMatch(/Patient\/|Practitioner\/|Organization\/|DocumentReference\/|demo-|p-hidden|ghost/);
}

describe('names in the documents screen', () => {
  it('inbox rows name the patient with their birth date and the sender with their trade; a patient or sender out of reach is said in words', async () => {
    node.on('GET', /^\/fhir\/Communication\?recipient=/, {
      json: bundle(
        { resourceType: 'Communication', id: 'm1', status: 'completed', subject: { reference: 'Patient/p1' }, sender: { reference: 'Practitioner/demo-paul-durand' }, recipient: [{ reference: 'Practitioner/demo-claire-martin' }], sent: '2026-06-02T09:30:00Z', payload: [{ contentReference: { reference: 'DocumentReference/d1' } }] },
        { resourceType: 'Communication', id: 'm2', status: 'completed', subject: { reference: 'Patient/p-hidden' }, sender: { reference: 'Practitioner/ghost' }, recipient: [{ reference: 'Practitioner/demo-claire-martin' }], sent: '2026-06-02T10:30:00Z', payload: [{ contentReference: { reference: 'DocumentReference/d2' } }] },
        included(JEANNE),
        included(PAUL),
        included(document('d1', 'Patient/p1', 'Compte rendu du 2 juin')),
        included(document('d2', 'Patient/p-hidden', 'Bilan sanguin')),
      ),
    });
    const wrapper = await open('inbox');

    expect(includesOf(/^\/fhir\/Communication\?/)).toEqual(['Communication:payload', 'Communication:subject', 'Communication:sender']);
    const [first, second] = rows(wrapper);
    expect(first.find('strong').text()).toBe('Compte rendu du 2 juin');
    expect(first.find('[data-patient]').text()).toBe('Patient : DUPONT Jeanne, née le 04/05/1960');
    expect(first.find('p.muted').text()).toMatch(/^De : Dr Paul DURAND \(Médecin — Médecine générale\) · \S/);
    expect(second.find('[data-patient]').text()).toBe('Patient non visible');
    expect(second.find('p.muted').text()).toMatch(/^De : Expéditeur inconnu · \S/);
    expectNoReference(wrapper);
    // The trades of the senders on screen: one search of their roles, for the practitioners the node gave.
    expect(node.callsTo('GET', /^\/fhir\/PractitionerRole\?/).map((call) => call.url.searchParams.get('practitioner'))).toEqual(['Practitioner/demo-paul-durand']);
  });

  it('outbox rows name the patient and every recipient, person or practice, and ask the roles of a practitioner only once', async () => {
    node.on('GET', /^\/fhir\/CommunicationRequest\?requester=/, {
      json: bundle(
        {
          resourceType: 'CommunicationRequest',
          id: 'cr1',
          status: 'active',
          subject: { reference: 'Patient/p1' },
          authoredOn: '2026-06-02T09:30:00Z',
          recipient: [{ reference: 'Practitioner/demo-amina-benali' }, { reference: 'Organization/demo-cabinet-des-lilas' }, { reference: 'Practitioner/ghost' }],
          payload: [{ contentReference: { reference: 'DocumentReference/d1' } }],
        },
        included(JEANNE),
        included(AMINA),
        included(LILAS),
        included(document('d1', 'Patient/p1', 'Compte rendu du 2 juin')),
      ),
    });
    node.on('GET', /^\/fhir\/Communication\?based-on=/, {
      json: bundle({ resourceType: 'Communication', id: 'c1', status: 'completed', basedOn: [{ reference: 'CommunicationRequest/cr1' }], recipient: [{ reference: 'Practitioner/demo-amina-benali' }] }),
    });
    const wrapper = await open('outbox');

    expect(includesOf(/^\/fhir\/CommunicationRequest\?/)).toEqual(['CommunicationRequest:payload', 'CommunicationRequest:subject', 'CommunicationRequest:recipient']);
    const [row] = rows(wrapper);
    expect(row.find('strong').text()).toBe('Compte rendu du 2 juin');
    expect(row.find('[data-patient]').text()).toBe('Patient : DUPONT Jeanne, née le 04/05/1960');
    expect(row.findAll('.deliveries li').map((delivery) => delivery.text())).toEqual(['Dr Amina BENALI (Maison de santé du Port) Remis', 'Cabinet des Lilas En attente', 'Destinataire inconnu En attente']);
    expectNoReference(wrapper);

    // The names are kept for every screen: the outbox read again asks nobody's roles a second time.
    await useDocumentsStore().loadOutbox();
    await settle();
    expect(row.findAll('.deliveries li')[0].text()).toBe('Dr Amina BENALI (Maison de santé du Port) Remis');
    expect(node.callsTo('GET', /^\/fhir\/CommunicationRequest\?/)).toHaveLength(2);
    expect(node.callsTo('GET', /^\/fhir\/PractitionerRole\?/)).toHaveLength(1);
  });

  it('“Tous les documents” names each document’s patient with their birth date, or says the patient is not visible', async () => {
    node.on('GET', /^\/fhir\/DocumentReference\?/, {
      json: bundle(document('d1', 'Patient/p1', 'Compte rendu du 2 juin'), document('d2', 'Patient/p-hidden', 'Bilan sanguin'), included({ ...JEANNE, id: 'p1', gender: 'male', name: [{ family: 'Martin', given: ['LOUIS'] }] })),
    });
    const wrapper = await open('all');

    expect(includesOf(/^\/fhir\/DocumentReference\?/)).toEqual(['DocumentReference:subject']);
    expect(rows(wrapper).map((row) => row.find('[data-patient]').text())).toEqual(['Patient : MARTIN Louis, né le 04/05/1960', 'Patient non visible']);
    expectNoReference(wrapper);
  });
});
