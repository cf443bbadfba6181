// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import CareTimeline from '../../../src-renderer/components/CareTimeline.vue';
import { usePatientsStore } from '../../../src-renderer/stores/patients';
import { bundle, FakeNode, loggedIn, mountInApp, settle } from '../fake-node';

/**
 * Names where ids remained (issue 25): the care timeline names who wrote a document and who took part in an encounter
 * or an appointment, even when the reference carries no display (a document uploaded by another software, or by the
 * UI before it named its author): they are fetched by `_id`, with their trade, once.
 */

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
  node.on('GET', /^\/health$/, { json: { status: 'ok' } });
});
afterEach(() => vi.unstubAllGlobals());

const subject = { reference: 'Patient/p1' };
const EVENTS = bundle(
  { resourceType: 'Patient', id: 'p1', name: [{ family: 'Lefèvre', given: ['Margaux'] }] },
  { resourceType: 'DocumentReference', id: 'd1', status: 'current', subject, indexed: '2026-06-02T09:00:00Z', description: 'Compte rendu', type: {}, content: [], author: [{ reference: 'Practitioner/demo-claire-martin' }] },
  { resourceType: 'Encounter', id: 'e1', status: 'finished', subject, period: { start: '2026-05-02T09:00:00Z' }, participant: [{ individual: { reference: 'Practitioner/demo-paul-durand' } }] },
  { resourceType: 'Appointment', id: 'a1', status: 'booked', start: '2026-07-02T09:00:00Z', participant: [{ actor: subject }, { actor: { reference: 'Practitioner/demo-claire-martin' } }] },
  { resourceType: 'DocumentReference', id: 'd2', status: 'current', subject, indexed: '2026-04-02T09:00:00Z', description: 'Ancien courrier', type: {}, content: [], author: [{ reference: 'Practitioner/gone' }] },
);

describe('the care timeline names people', () => {
  it('shows each author and participant by name and trade, fetched once by _id, and a practitioner out of reach in words', async () => {
    node.on('GET', /^\/fhir\/Patient\/p1\/\$everything/, { json: EVENTS });
    node.on('GET', /^\/fhir\/Practitioner\?_id=/, {
      json: bundle(
        { resourceType: 'Practitioner', id: 'demo-claire-martin', name: [{ family: 'Martin', given: ['Claire'], prefix: ['Dr'] }] },
        { resourceType: 'Practitioner', id: 'demo-paul-durand', name: [{ family: 'Durand', given: ['Paul'], prefix: ['Dr'] }] },
      ),
    });
    node.on('GET', /^\/fhir\/PractitionerRole\?/, {
      json: bundle({ resourceType: 'PractitionerRole', id: 'r1', active: true, practitioner: { reference: 'Practitioner/demo-claire-martin' }, code: [{ coding: [{ display: 'Médecin' }] }], specialty: [{ coding: [{ display: 'Médecine générale' }] }] }),
    });
    const pinia = await loggedIn(node);
    const patients = usePatientsStore(pinia);
    await patients.loadTimeline('p1');
    const { wrapper } = await mountInApp(CareTimeline, { props: { items: patients.timeline }, pinia });
    await settle();

    expect(wrapper.findAll('li').map((item) => item.find('[data-who]').exists() ? item.find('[data-who]').text() : '')).toEqual([
      'Dr Claire MARTIN (Médecin — Médecine générale)',
      'Dr Claire MARTIN (Médecin — Médecine générale)',
      'Dr Paul DURAND',
      'Professionnel non visible',
    ]);
    const asked = node.callsTo('GET', /^\/fhir\/Practitioner\?/);
    expect(asked).toHaveLength(1);
    expect(asked[0].url.searchParams.get('_id')?.split(',').sort()).toEqual(['demo-claire-martin', 'demo-paul-durand', 'gone']);
    expect(wrapper.text()).not.toMatch(/Practitioner\/|Patient\/|demo-|gone/);
  });
});
