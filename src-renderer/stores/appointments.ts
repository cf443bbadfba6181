import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { fhir } from '../api';
import { matches, resourcesOf } from '../api/fhir-client';
import type { Appointment, Patient, Practitioner, PractitionerRole } from '../api/fhir-types';
import { patientName, practitionerName } from '../format';
import { useNamesStore } from './names';
import { useSessionStore } from './session';

/**
 * A practitioner's calendar: the appointments of a visible range, and booking, moving and cancelling them. The node
 * refuses a booking over the practitioner's busy time with 409 and an OperationOutcome naming the collision; the
 * calendar then keeps the appointment where it was and says so.
 */

export interface CalendarOwner {
  reference: string;
  display: string;
}

export interface NewAppointment {
  practitioner: CalendarOwner;
  patient: Patient;
  start: Date;
  end: Date;
  description?: string;
}

export function actorOf(appointment: Appointment, type: 'Practitioner' | 'Patient'): string | undefined {
  return appointment.participant.find((participant) => participant.actor?.reference?.startsWith(`${type}/`))?.actor?.reference;
}

export const useAppointmentsStore = defineStore('appointments', () => {
  /** Whose calendars the user may open: themselves and their practices' practitioners. */
  const owners = shallowRef<CalendarOwner[]>([]);
  const owner = ref<string>();
  const appointments = shallowRef<Appointment[]>([]);
  const loading = ref(false);
  const error = ref<unknown>();

  async function loadOwners(): Promise<void> {
    const session = useSessionStore();
    const found = new Map<string, CalendarOwner>();
    const self = session.user?.practitionerId;
    if (self) found.set(`Practitioner/${self}`, { reference: `Practitioner/${self}`, display: session.user?.displayName ?? self });
    const practices = session.user?.organizations ?? [];
    if (practices.length > 0) {
      const bundle = await fhir.search<PractitionerRole>('PractitionerRole', { organization: practices.map((id) => `Organization/${id}`).join(','), _include: 'PractitionerRole:practitioner', _count: '100' });
      for (const practitioner of resourcesOf<Practitioner>(bundle, 'Practitioner')) {
        const reference = `Practitioner/${practitioner.id}`;
        if (!found.has(reference)) found.set(reference, { reference, display: practitionerName(practitioner.name) });
      }
    }
    owners.value = [...found.values()];
    owner.value ??= owners.value[0]?.reference;
  }

  async function load(start: Date, end: Date): Promise<void> {
    if (!owner.value) return void (appointments.value = []);
    loading.value = true;
    try {
      const bundle = await fhir.search<Appointment>('Appointment', {
        actor: owner.value,
        date: [`ge${start.toISOString()}`, `lt${end.toISOString()}`],
        _count: '100',
        // The patients by name on the calendar, whatever `display` the appointment was written with.
        _include: 'Appointment:patient',
      });
      useNamesStore().learn(bundle.entry?.map((entry) => entry.resource) ?? []);
      appointments.value = matches(bundle).filter((appointment) => appointment.status !== 'cancelled' && appointment.status !== 'entered-in-error');
      error.value = undefined;
    } catch (caught) {
      error.value = caught;
    } finally {
      loading.value = false;
    }
  }

  async function book({ practitioner, patient, start, end, description }: NewAppointment): Promise<Appointment> {
    const created = await fhir.create<Appointment>({
      resourceType: 'Appointment',
      status: 'booked',
      start: start.toISOString(),
      end: end.toISOString(),
      ...(description ? { description } : {}),
      participant: [
        { actor: { reference: practitioner.reference, display: practitioner.display }, status: 'accepted', required: 'required' },
        { actor: { reference: `Patient/${patient.id}`, display: patientName(patient.name) }, status: 'accepted', required: 'required' },
      ],
    });
    appointments.value = [...appointments.value, created];
    return created;
  }

  async function move(appointment: Appointment, start: Date, end: Date): Promise<Appointment> {
    const saved = await fhir.update<Appointment>({ ...appointment, start: start.toISOString(), end: end.toISOString() });
    appointments.value = appointments.value.map((item) => (item.id === saved.id ? saved : item));
    return saved;
  }

  /** Cancelling is an update (`status: cancelled`): the node deletes nothing. */
  async function cancel(appointment: Appointment): Promise<void> {
    await fhir.update<Appointment>({ ...appointment, status: 'cancelled' });
    appointments.value = appointments.value.filter((item) => item.id !== appointment.id);
  }

  return { owners, owner, appointments, loading, error, loadOwners, load, book, move, cancel };
});
