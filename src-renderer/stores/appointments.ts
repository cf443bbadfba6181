import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { fhir } from '../api';
import { linkOf, matches, resourcesOf } from '../api/fhir-client';
import { typesOf, withoutConflictTags, type AppointmentType } from '../agenda/appointment-look';
import type { Appointment, Bundle, CodeSystem, Coding, Patient, Practitioner, PractitionerRole } from '../api/fhir-types';
import { patientName, practitionerName } from '../format';
import { useNamesStore } from './names';
import { useSessionStore } from './session';

/**
 * The practice's calendars: whose agendas the user may open, which of them are shown side by side (remembered per
 * user on this computer), the appointments of the visible range for those, and booking, moving and cancelling. The
 * node refuses a booking over a practitioner's busy time with 409 and an OperationOutcome naming the collision; the
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
  /** The practice's appointment type, when it has types (docs/appointments.md). */
  type?: Coding;
}

/** Side by side at most: past six a day's columns are too narrow to read a name. */
export const MAX_SHOWN = 6;
/** Statuses that hold a practitioner's time (docs/appointments.md, "Which appointments block"). */
const HOLDING = new Set<Appointment['status']>(['booked', 'arrived']);

export function actorOf(appointment: Appointment, type: 'Practitioner' | 'Patient'): string | undefined {
  return appointment.participant.find((participant) => participant.actor?.reference?.startsWith(`${type}/`))?.actor?.reference;
}

/** Every Practitioner the appointment names (an appointment with two practitioners shows in both columns). */
export function practitionersOf(appointment: Appointment): string[] {
  return appointment.participant.map((participant) => participant.actor?.reference).filter((reference): reference is string => !!reference?.startsWith('Practitioner/'));
}

export type AgendaView = 'day' | 'week';

/** What the user last chose to see, kept on this computer per user: `shown` calendars and the `view`. */
interface AgendaChoice {
  shown?: string[];
  view?: AgendaView;
}

const choiceKey = (userId: string) => `liaison.agenda.${userId}`;

function remembered(userId: string | undefined): AgendaChoice {
  if (!userId) return {};
  try {
    const value = JSON.parse(localStorage.getItem(choiceKey(userId)) ?? '{}') as AgendaChoice;
    return {
      shown: Array.isArray(value.shown) ? value.shown.filter((item): item is string => typeof item === 'string') : undefined,
      view: value.view === 'week' ? 'week' : value.view === 'day' ? 'day' : undefined,
    };
  } catch {
    return {};
  }
}

/** Every page of a search, following its `next` links (the node gives at most 100 a page). */
async function allPages<T extends Appointment>(first: Bundle<T>): Promise<Bundle<T>[]> {
  const pages = [first];
  for (let next = linkOf(first, 'next'); next; next = linkOf(pages[pages.length - 1], 'next')) pages.push(await fhir.page<T>(next));
  return pages;
}

export const useAppointmentsStore = defineStore('appointments', () => {
  /** Whose calendars the user may open: themselves and their practices' practitioners. */
  const owners = shallowRef<CalendarOwner[]>([]);
  /** The calendars shown side by side, in the order of `owners`. */
  const shown = shallowRef<string[]>([]);
  const view = ref<AgendaView>('day');
  const appointments = shallowRef<Appointment[]>([]);
  /** The practices' appointment types; none where the node has none (then no colours and no type to choose). */
  const types = shallowRef<AppointmentType[]>([]);
  const loading = ref(false);
  const error = ref<unknown>();
  /**
   * The last load asked for: only its answer is kept. An earlier one that ends after it (another range, or the same
   * range asked again as the page comes back) would otherwise say "loaded" while the last one is still on its way.
   */
  let lastLoad = 0;

  async function loadOwners(): Promise<void> {
    const session = useSessionStore();
    const found = new Map<string, CalendarOwner>();
    const self = session.user?.practitionerId;
    if (self) found.set(`Practitioner/${self}`, { reference: `Practitioner/${self}`, display: session.user?.displayName ?? self });
    const practices = session.user?.organizations ?? [];
    if (practices.length > 0) {
      const bundle = await fhir.search<PractitionerRole>('PractitionerRole', { organization: practices.map((id) => `Organization/${id}`).join(','), _include: 'PractitionerRole:practitioner', _count: '100' });
      // By family name, as a practice lists its practitioners.
      const byName = (practitioner: Practitioner) => `${practitioner.name?.[0]?.family ?? ''} ${practitioner.name?.[0]?.given?.join(' ') ?? ''}`;
      const colleagues = resourcesOf<Practitioner>(bundle, 'Practitioner').sort((a, b) => byName(a).localeCompare(byName(b), 'fr'));
      for (const practitioner of colleagues) {
        const reference = `Practitioner/${practitioner.id}`;
        if (!found.has(reference)) found.set(reference, { reference, display: practitionerName(practitioner.name) });
      }
    }
    owners.value = [...found.values()];
    const known = new Set(owners.value.map((candidate) => candidate.reference));
    const choice = remembered(session.user?.id);
    const kept = choice.shown?.filter((reference) => known.has(reference));
    view.value = choice.view ?? view.value;
    // First time: a practitioner sees their own agenda, a secretary the practice's (as many as fit).
    const chosen = kept?.length ? kept : self ? [`Practitioner/${self}`] : owners.value.slice(0, MAX_SHOWN).map((candidate) => candidate.reference);
    // Unchanged, the same array: the agenda reloads when it changes.
    if (chosen.join() !== shown.value.join()) shown.value = chosen;
    // Saved, or the defaults until an admin saves them (docs/appointments.md): one place says what they are.
    types.value = (await Promise.all(practices.map((id) => fhir.operation<CodeSystem>(`CodeSystem/$appointment-types?practice=${encodeURIComponent(id)}`).then(typesOf, () => [])))).flat();
  }

  function remember(): void {
    const userId = useSessionStore().user?.id;
    if (userId) localStorage.setItem(choiceKey(userId), JSON.stringify({ shown: shown.value, view: view.value } satisfies AgendaChoice));
  }

  /** Shows these calendars (in the order of `owners`), remembered for this user on this computer. */
  function show(references: string[]): void {
    const wanted = new Set(references);
    shown.value = owners.value.map((candidate) => candidate.reference).filter((reference) => wanted.has(reference)).slice(0, MAX_SHOWN);
    remember();
  }

  /** The day or the week, remembered likewise. */
  function showView(chosen: AgendaView): void {
    view.value = chosen;
    remember();
  }

  /** The shown practitioners' appointments starting in [start, end): one search each, at once, every page. */
  async function load(start: Date, end: Date): Promise<void> {
    const asked = ++lastLoad;
    if (shown.value.length === 0) {
      appointments.value = [];
      loading.value = false;
      return;
    }
    loading.value = true;
    try {
      const pages = await Promise.all(
        shown.value.map(async (practitioner) =>
          allPages(
            await fhir.search<Appointment>('Appointment', {
              actor: practitioner,
              date: [`ge${start.toISOString()}`, `lt${end.toISOString()}`],
              _count: '100',
              // The patients by name (and birth date, for the printed day), whatever `display` the appointment was written with.
              _include: 'Appointment:patient',
              // Every page is read: a count would be work for nothing.
              _total: 'none',
            }),
          ),
        ),
      );
      if (asked !== lastLoad) return;
      const bundles = pages.flat();
      useNamesStore().learn(bundles.flatMap((bundle) => bundle.entry?.map((entry) => entry.resource) ?? []));
      const byId = new Map<string, Appointment>();
      for (const appointment of bundles.flatMap((bundle) => matches(bundle))) {
        if (appointment.status !== 'cancelled' && appointment.status !== 'entered-in-error') byId.set(appointment.id!, appointment);
      }
      appointments.value = [...byId.values()];
      error.value = undefined;
    } catch (caught) {
      if (asked === lastLoad) error.value = caught;
    } finally {
      if (asked === lastLoad) loading.value = false;
    }
  }

  async function book({ practitioner, patient, start, end, description, type }: NewAppointment): Promise<Appointment> {
    const created = await fhir.create<Appointment>({
      resourceType: 'Appointment',
      status: 'booked',
      ...(type ? { appointmentType: { coding: [type], text: type.display } } : {}),
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
    const saved = await fhir.update<Appointment>({ ...withoutConflictTags(appointment), start: start.toISOString(), end: end.toISOString() });
    appointments.value = appointments.value.map((item) => (item.id === saved.id ? saved : item));
    return saved;
  }

  /** Cancelling is an update (`status: cancelled`): the node deletes nothing. */
  async function cancel(appointment: Appointment): Promise<void> {
    await fhir.update<Appointment>({ ...withoutConflictTags(appointment), status: 'cancelled' });
    appointments.value = appointments.value.filter((item) => item.id !== appointment.id);
  }

  /**
   * The patient's appointments that hold someone's time over [start, end), asked of the node (the user may not see
   * every calendar on screen): `Appointment?patient=…&date=…` from a day before, since `date` is the start.
   */
  async function patientBusy(patient: string, start: Date, end: Date): Promise<Appointment[]> {
    const bundle = await fhir.search<Appointment>('Appointment', { patient, date: [`ge${new Date(start.getTime() - 86_400_000).toISOString()}`, `lt${end.toISOString()}`], _count: '100' });
    return matches(bundle).filter(
      (appointment) => HOLDING.has(appointment.status) && !!appointment.start && !!appointment.end && new Date(appointment.start) < end && new Date(appointment.end) > start,
    );
  }

  return { owners, shown, view, appointments, types, loading, error, loadOwners, show, showView, load, book, move, cancel, patientBusy };
});
