// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import AppointmentsPage from '../../../src-renderer/pages/AppointmentsPage.vue';
import { bundle, type FakeNode, loggedIn, mountInApp, screenNode, settle } from '../fake-node';

/**
 * The agenda reads what issue 28's node gives (docs/appointments.md, docs/sync.md): an appointment's type colours it
 * when the practice's CodeSystem of types gives the type a colour, and an appointment the node tags with a booking
 * conflict is drawn in red with "Conflit de réservation" and can be moved from its panel — the tag, which the node
 * computes when answering, is not written back.
 */

const CONFLICT = { system: 'http://liaison.health/fhir/CodeSystem/conflict', code: 'booking', display: 'Conflit de réservation / Booking conflict' };
const TYPES = 'http://liaison.health/fhir/CodeSystem/appointment-type/demo-cabinet-des-lilas';

function today(hour: number, minute = 0): string {
  const date = new Date();
  date.setHours(hour, minute, 0, 0);
  return date.toISOString();
}

function appointment(id: string, patient: string, from: [number, number], to: [number, number], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Appointment',
    id,
    status: 'booked',
    start: today(...from),
    end: today(...to),
    participant: [
      { actor: { reference: 'Practitioner/demo-claire-martin' }, status: 'accepted' },
      { actor: { reference: `Patient/${patient}` }, status: 'accepted' },
    ],
    ...extra,
  };
}

const PATIENTS = [
  { __include: true, resourceType: 'Patient', id: 'p1', name: [{ family: 'Dupont', given: ['Jeanne'] }], birthDate: '1960-05-04' },
  { __include: true, resourceType: 'Patient', id: 'p2', name: [{ family: 'Lefèvre', given: ['Margaux'] }], birthDate: '1984-03-12' },
  { __include: true, resourceType: 'Patient', id: 'p3', name: [{ family: 'Bernard', given: ['Louis'] }], birthDate: '1950-07-01' },
];

let node: FakeNode;
beforeEach(() => {
  node = screenNode();
  localStorage.clear();
});
afterEach(() => vi.unstubAllGlobals());

async function openAgenda(appointments: Array<Record<string, unknown>>, types?: Record<string, unknown>) {
  if (types) node.on('GET', /^\/fhir\/CodeSystem\/\$appointment-types\?practice=demo-cabinet-des-lilas$/, { json: types });
  node.on('GET', /^\/fhir\/Appointment\?/, { json: bundle(...appointments, ...PATIENTS) });
  node.on('PUT', /^\/fhir\/Appointment\//, (call) => ({ json: call.body }));
  const { wrapper } = await mountInApp(AppointmentsPage, { pinia: await loggedIn(node), path: '/appointments', attachTo: document.body });
  await vi.waitFor(() => expect(wrapper.findAll('.fc-event')).toHaveLength(appointments.length), { timeout: 5000 });
  return wrapper;
}

describe('the agenda with issue 28’s shapes', () => {
  it('colours an appointment by its type, and leaves one without a known type uncoloured', async () => {
    const wrapper = await openAgenda(
      [
        appointment('a1', 'p1', [9, 0], [9, 15], { appointmentType: { coding: [{ system: TYPES, code: 'vaccination', display: 'Vaccination' }] } }),
        appointment('a2', 'p2', [10, 0], [10, 15], { description: 'Renouvellement' }),
      ],
      {
        resourceType: 'CodeSystem',
        id: 'appointment-type-demo-cabinet-des-lilas',
        url: TYPES,
        concept: [
          {
            code: 'vaccination',
            display: 'Vaccination',
            extension: [
              { url: 'http://liaison.health/fhir/StructureDefinition/appointment-type-duration', valueDuration: { value: 10, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' } },
              { url: 'http://liaison.health/fhir/StructureDefinition/appointment-type-colour', valueString: '#2f6fb3' },
            ],
          },
        ],
      },
    );
    const typed = wrapper.findAll('.fc-event').find((event) => event.text().includes('DUPONT Jeanne'))!;
    expect(typed.text()).toContain('Vaccination');
    expect((typed.element as HTMLElement).style.backgroundColor.replace(/\s/g, '')).toMatch(/^(#2f6fb3|rgb\(47,111,179\))$/);
    const plain = wrapper.findAll('.fc-event').find((event) => event.text().includes('LEFÈVRE Margaux'))!;
    expect(plain.text()).toContain('Renouvellement');
    expect((plain.element as HTMLElement).style.backgroundColor).toBe('');
    // The booking form offers the practice's types, each with its duration.
    await wrapper.find('button[aria-keyshortcuts="N"]').trigger('click');
    await settle();
    await wrapper.find('select[name="type"]').setValue('vaccination');
    await settle();
    expect((wrapper.find('select[name="minutes"]').element as HTMLSelectElement).value).toBe('10');
    wrapper.unmount();
  });

  it('draws a booking conflict in red with its words, and moves one of the two without writing the tag back', async () => {
    const wrapper = await openAgenda([
      appointment('a1', 'p1', [17, 0], [17, 30], { meta: { versionId: '2', tag: [CONFLICT] } }),
      appointment('a2', 'p3', [17, 10], [17, 40], { meta: { versionId: '1', tag: [CONFLICT] } }),
      appointment('a3', 'p2', [11, 0], [11, 15]),
    ]);
    const conflicted = wrapper.findAll('.fc-event.agenda-conflict');
    expect(conflicted.map((event) => event.text())).toEqual([expect.stringContaining('Conflit de réservation'), expect.stringContaining('Conflit de réservation')]);
    expect(conflicted.map((event) => event.attributes('aria-label'))).toEqual([expect.stringMatching(/Conflit de réservation$/), expect.stringMatching(/Conflit de réservation$/)]);
    expect(wrapper.findAll('.fc-event').filter((event) => event.text().includes('LEFÈVRE')).map((event) => event.classes())).toEqual([expect.not.arrayContaining(['agenda-conflict'])]);

    await conflicted.find((event) => event.text().includes('BERNARD'))!.find('.agenda-event-what, .agenda-event').trigger('click');
    await settle();
    const panel = wrapper.find('section[aria-label="Rendez-vous"]');
    expect(panel.find('[data-booking-conflict]').text()).toContain('Conflit de réservation');
    const moved = new Date();
    moved.setHours(17, 30, 0, 0);
    const local = new Date(moved.getTime() - moved.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await panel.find('input[name="newStart"]').setValue(local);
    await panel.find('form.move').trigger('submit');
    await settle();
    const put = node.callsTo('PUT', /Appointment\/a2/)[0].body as Record<string, any>;
    expect([put.start, put.end]).toEqual([today(17, 30), today(18, 0)]);
    expect(put.meta).toEqual({ versionId: '1' });
    wrapper.unmount();
  });
});
