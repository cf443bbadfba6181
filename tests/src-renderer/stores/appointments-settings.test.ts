// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FhirApiError } from '../../../src-renderer/api/fhir-client';
import type { Appointment } from '../../../src-renderer/api/fhir-types';
import { useAppointmentsStore } from '../../../src-renderer/stores/appointments';
import { useSettingsStore } from '../../../src-renderer/stores/settings';
import { bundle, FakeNode, loggedIn, outcome } from '../fake-node';

let node: FakeNode;
beforeEach(async () => {
  node = new FakeNode().install();
  await loggedIn(node);
});
afterEach(() => vi.unstubAllGlobals());

const OWNER = { reference: 'Practitioner/demo-claire-martin', display: 'Dr Claire Martin' };

describe('the appointments store', () => {
  it('offers the user’s own calendar and those of their practice’s practitioners', async () => {
    node.on('GET', /^\/fhir\/PractitionerRole\?organization=Organization%2Fdemo-cabinet-des-lilas/, {
      json: bundle({ resourceType: 'Practitioner', id: 'demo-paul-durand', name: [{ family: 'Durand', given: ['Paul'], prefix: ['Dr'] }] }),
    });
    const appointments = useAppointmentsStore();
    await appointments.loadOwners();
    expect(appointments.owners).toEqual([OWNER, { reference: 'Practitioner/demo-paul-durand', display: 'Dr Paul DURAND' }]);
    // A practitioner's first agenda is their own; what they choose to see is remembered for them on this computer.
    expect(appointments.shown).toEqual([OWNER.reference]);
    appointments.show(['Practitioner/demo-paul-durand', OWNER.reference]);
    appointments.showView('week');
    expect(appointments.shown).toEqual([OWNER.reference, 'Practitioner/demo-paul-durand']);
    const again = useAppointmentsStore();
    again.shown = [];
    again.view = 'day';
    await again.loadOwners();
    expect([again.shown, again.view]).toEqual([[OWNER.reference, 'Practitioner/demo-paul-durand'], 'week']);
  });

  it('books with the practitioner and the patient as participants, and reads the range by actor and date', async () => {
    node.on('POST', /^\/fhir\/Appointment$/, (call) => ({ status: 201, json: { ...(call.body as object), id: 'a1' } }));
    node.on('GET', /^\/fhir\/Appointment\?/, { json: bundle({ resourceType: 'Appointment', id: 'x', status: 'cancelled', participant: [] }, { resourceType: 'Appointment', id: 'y', status: 'booked', participant: [] }) });
    const appointments = useAppointmentsStore();
    appointments.shown = [OWNER.reference];
    await appointments.load(new Date('2026-12-01T00:00:00Z'), new Date('2026-12-08T00:00:00Z'));
    expect(node.callsTo('GET', /Appointment\?/)[0].url.search).toBe('?actor=Practitioner%2Fdemo-claire-martin&date=ge2026-12-01T00%3A00%3A00.000Z&date=lt2026-12-08T00%3A00%3A00.000Z&_count=100&_include=Appointment%3Apatient&_total=none');
    expect(appointments.appointments.map((appointment) => appointment.id)).toEqual(['y']);

    await appointments.book({ practitioner: OWNER, patient: { resourceType: 'Patient', id: 'p1', name: [{ family: 'Dupont', given: ['Jeanne'] }] }, start: new Date('2026-12-02T09:00:00Z'), end: new Date('2026-12-02T09:20:00Z'), description: 'Vaccin' });
    expect(node.callsTo('POST', /Appointment/)[0].body).toEqual({
      resourceType: 'Appointment',
      status: 'booked',
      start: '2026-12-02T09:00:00.000Z',
      end: '2026-12-02T09:20:00.000Z',
      description: 'Vaccin',
      participant: [
        { actor: { reference: 'Practitioner/demo-claire-martin', display: 'Dr Claire Martin' }, status: 'accepted', required: 'required' },
        { actor: { reference: 'Patient/p1', display: 'DUPONT Jeanne' }, status: 'accepted', required: 'required' },
      ],
    });
  });

  it('passes the node’s refusal of a taken slot on, with its words, and changes nothing', async () => {
    node.on('POST', /^\/fhir\/Appointment$/, { status: 409, json: outcome('Dr Claire Martin is already booked from 09:00 to 09:20') });
    const appointments = useAppointmentsStore();
    const refusal = appointments.book({ practitioner: OWNER, patient: { resourceType: 'Patient', id: 'p1' }, start: new Date(), end: new Date() });
    await expect(refusal).rejects.toBeInstanceOf(FhirApiError);
    await expect(refusal).rejects.toMatchObject({ status: 409, detail: 'Dr Claire Martin is already booked from 09:00 to 09:20' });
    expect(appointments.appointments).toEqual([]);
  });

  it('cancels with an update to status cancelled', async () => {
    node.on('PUT', /^\/fhir\/Appointment\/a1$/, (call) => ({ json: call.body }));
    const appointments = useAppointmentsStore();
    const appointment: Appointment = { resourceType: 'Appointment', id: 'a1', status: 'booked', participant: [] };
    appointments.appointments = [appointment];
    await appointments.cancel(appointment);
    expect(node.callsTo('PUT', /Appointment\/a1/)[0].body).toMatchObject({ status: 'cancelled' });
    expect(appointments.appointments).toEqual([]);
  });
});

describe('the settings store', () => {
  it('lists API clients (not the owner), creates one and revokes it', async () => {
    node.on('GET', /^\/admin\/clients$/, { json: { clients: [{ clientId: 'owner', role: 'owner', name: 'owner', scopes: ['*'] }, { clientId: 'c1', role: 'client', name: 'Agenda', scopes: ['APPOINTMENT_READ'], createdAt: '2026-01-01T00:00:00Z' }] } });
    node.on('POST', /^\/admin\/clients$/, { status: 201, json: { client_id: 'c2', client_secret: 'shown-once' } });
    node.on('DELETE', /^\/admin\/clients\/c1$/, { json: { clientId: 'c1' } });
    const settings = useSettingsStore();
    await settings.loadClients();
    expect(settings.clientsState).toBe('ready');
    expect(settings.clients.map((client) => client.clientId)).toEqual(['c1']);
    expect(await settings.createClient({ name: 'Scanner', scopes: ['BINARY_CREATE'] })).toEqual({ client_id: 'c2', client_secret: 'shown-once' });
    expect(node.callsTo('POST', /admin\/clients/)[0].body).toEqual({ name: 'Scanner', scopes: ['BINARY_CREATE'] });
    await settings.revokeClient('c1');
    expect(node.callsTo('DELETE', /admin\/clients\/c1/)).toHaveLength(1);
  });

  it('says “admins only” on 403', async () => {
    node.on('GET', /^\/admin\/clients$/, { status: 403, json: outcome('Only an admin may manage API clients') });
    const settings = useSettingsStore();
    await settings.loadClients();
    expect(settings.clientsState).toBe('forbidden');
  });
});
