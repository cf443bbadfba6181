import type { BookedTimes } from '../store/booked-times';
import type { Repository } from '../store/repository';
import { localId, MAX_APPOINTMENT_MS, periodOf, referencesIn, type Period } from './times';

/**
 * Whose time an appointment takes (issue 28): every practitioner it names, whichever way — a `Practitioner` actor, a
 * `PractitionerRole` actor (its practitioner), or a Slot of a Schedule whose actor is either. The overlap query
 * (store/booked-times.ts) finds the existing appointments by the same three ways, so the no-overlap rule holds for
 * any mix of them.
 */

type Json = Readonly<Record<string, unknown>>;

/** Reads a resource of this node by type and id (undefined: none); Slots include the derived free ones. */
export type ResourceReader = (type: string, id: string) => Json | undefined;

export function storedReader(repository: Repository): ResourceReader {
  return (type, id) => {
    const stored = repository.read(type, id);
    return stored && (JSON.parse(stored.json) as Json);
  };
}

/** The local practitioners an appointment names, each once. */
export function practitionersOf(appointment: Json, base: string, read: ResourceReader): string[] {
  const participants = Array.isArray(appointment.participant) ? (appointment.participant as Json[]) : [];
  const actors = participants.flatMap((participant) => practitionerBehind((participant.actor as Json | undefined)?.reference, base, read));
  const throughSlots = referencesIn(appointment.slot).flatMap((reference) => {
    const slotId = localId(reference, 'Slot', base);
    const schedule = slotId === undefined ? undefined : read('Schedule', String(scheduleIdOf(read('Slot', slotId), base)));
    return schedule ? referencesIn(schedule.actor).flatMap((actor) => practitionerBehind(actor, base, read)) : [];
  });
  return [...new Set([...actors, ...throughSlots])];
}

/** The Schedule id of a Slot (of this node), if any. */
export function scheduleIdOf(slot: Json | undefined, base: string): string | undefined {
  return slot && localId((slot.schedule as Json | undefined)?.reference, 'Schedule', base);
}

/** The practitioner a reference names: a Practitioner, or a PractitionerRole's practitioner. */
export function practitionerBehind(reference: unknown, base: string, read: ResourceReader): string[] {
  const direct = localId(reference, 'Practitioner', base);
  if (direct !== undefined) return [direct];
  const roleId = localId(reference, 'PractitionerRole', base);
  const role = roleId === undefined ? undefined : read('PractitionerRole', roleId);
  const practitioner = localId((role?.practitioner as Json | undefined)?.reference, 'Practitioner', base);
  return practitioner === undefined ? [] : [practitioner];
}

/**
 * Booked or arrived appointments of the practitioner that overlap `period`, however they name them, but `excludeId`
 * (the appointment being moved): of those that start less than MAX_APPOINTMENT_MS before `period` ends, the ones
 * that end after it starts.
 */
export function overlapping(booked: BookedTimes, practitionerId: string, period: Period, excludeId: string | undefined, base: string): Array<Period & { id: string }> {
  return booked.startingBetween(practitionerId, period.start - MAX_APPOINTMENT_MS, period.end, excludeId, base).flatMap(({ id, body }) => {
    const other = periodOf(JSON.parse(body) as Record<string, unknown>, `Appointment/${id}`);
    return other && other.end > period.start ? [{ id, ...other }] : [];
  });
}
