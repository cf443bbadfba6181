import { conflict, refusal, unprocessable } from '../fhir/outcome';
import type { CompletedWrite, PendingWrite, WriteRule } from '../rest/extensions';
import type { Repository } from '../store/repository';
import type { BookedTimes, BookingStatuses } from '../store/booked-times';
import type { FreeSlots } from './free-slots';
import { overlapping, practitionersOf, storedReader, type ResourceReader } from './whose-time';
import { describePeriod, localId, MAX_APPOINTMENT_MS, overlaps, periodOf, referencesIn, type Period } from './times';

/**
 * No double booking (issue 7). Inside the write's transaction:
 * - a booked or arrived Appointment may not overlap another booked or arrived appointment of one of its
 *   practitioners (409 naming it); a move excludes the appointment itself;
 * - the Slots an appointment fills must be free, and become busy with it; cancelling (or any status that no longer
 *   holds them) frees them again;
 * - a Slot held by an appointment cannot be freed or moved under it.
 */

type Json = Readonly<Record<string, unknown>>;

/** Appointment statuses that occupy the practitioners' time: only these block, and only these are checked. */
export const BLOCKING_STATUSES: ReadonlySet<string> = new Set(['booked', 'arrived']);
/** Appointment statuses that keep their slots busy: a past appointment (fulfilled, noshow) still used its slot. */
export const HOLDING_STATUSES: ReadonlySet<string> = new Set([...BLOCKING_STATUSES, 'fulfilled', 'noshow']);
export const BOOKING_STATUSES: BookingStatuses = { blocking: BLOCKING_STATUSES, holding: HOLDING_STATUSES };

/** Statuses whose appointment may lack start and end (invariant app-3). */
const UNTIMED_STATUSES = new Set(['proposed', 'cancelled']);

export function bookingRules(booked: BookedTimes, derived: FreeSlots): WriteRule[] {
  return [
    { types: ['Appointment'], before: (write) => checkAppointment(write, booked, derived), after: (write) => updateSlots(write, derived) },
    { types: ['Slot'], before: (write) => checkSlot(write, booked) },
  ];
}

function checkAppointment(write: PendingWrite, booked: BookedTimes, derived: FreeSlots): void {
  const { resource, base } = write;
  const status = String(resource.status);
  const period = periodOf(resource, 'Appointment');
  if (!period && !UNTIMED_STATUSES.has(status)) throw unprocessable('appointment-times-missing', `A ${status} appointment needs a start and an end`, 'Appointment.start');
  // Only an appointment that holds its slots touches them: a proposal may name slots still to be made.
  if (!HOLDING_STATUSES.has(status)) return;
  const read = readerOf(write, derived);
  const slotPeriods = slotsOf(resource, base).map((id) => {
    const json = read('Slot', id);
    if (!json) throw unprocessable('slot-unknown', `Slot/${id} does not exist`, 'Appointment.slot');
    const slotPeriod = periodOf(json, `Slot/${id}`);
    if (!slotPeriod) throw unprocessable('slot-times-missing', `Slot/${id} has no start and end`, 'Appointment.slot');
    return { id, status: String(json.status), period: slotPeriod };
  });
  if (period && slotPeriods.length > 0) checkWithinSlots(period, slotPeriods);
  const heldBefore = new Set(heldSlots(write.previousResource, base));
  for (const slot of slotPeriods) {
    if (slot.status !== 'free' && !heldBefore.has(slot.id)) {
      const parameters = { start: new Date(slot.period.start), end: new Date(slot.period.end), status: slot.status };
      throw refusal(409, 'slot-taken', `Slot/${slot.id} (${describePeriod(slot.period)}) is already ${slot.status}`, 'Appointment.slot', { parameters });
    }
  }
  if (!period || !BLOCKING_STATUSES.has(status)) return;
  if (period.end - period.start > MAX_APPOINTMENT_MS) throw unprocessable('appointment-too-long', 'A booked appointment lasts 24 hours at most: mark longer absences on the Schedule', 'Appointment.end');
  // An appointment already in a booking conflict (docs/sync.md) may still be edited (the patient arrived): only a new overlap is refused.
  const known = new Set(write.id === undefined ? [] : write.interactions.repository.conflicts.bookingsOf(write.id).flatMap((row) => [row.appointment_a, row.appointment_b]));
  for (const practitionerId of practitionersOf(resource, base, read)) {
    const [collision] = overlapping(booked, practitionerId, period, write.id, base).filter((other) => !known.has(other.id));
    if (collision) {
      const seen = write.interactions.searchEngine.isVisible({ resourceType: 'Appointment', id: collision.id }, write.request, base);
      // An appointment the caller may not see is not named: that the time is taken is all it may learn.
      const which = seen ? `Appointment/${collision.id}` : 'another appointment';
      const parameters = { start: new Date(collision.start), end: new Date(collision.end), practitioner: `Practitioner/${practitionerId}`, ...(seen ? { appointment: which } : {}) };
      throw refusal(409, 'double-booking', `Practitioner/${practitionerId} is already booked ${describePeriod(collision)} (${which}): this appointment ${describePeriod(period)} overlaps it`, 'Appointment.start', { parameters });
    }
  }
}

/** The overlap query as the rules ask it, where the bench and sync's booking conflicts find it. */
export { overlapping };

/** The appointment happens in its slots: they cover its time without a gap, and each one is used. */
function checkWithinSlots(period: Period, slots: Array<{ id: string; period: Period }>): void {
  const sorted = [...slots].sort((a, b) => a.period.start - b.period.start);
  let coveredUntil = period.start;
  for (const slot of sorted) {
    if (!overlaps(slot.period, period)) throw unprocessable('appointment-outside-slots', `Slot/${slot.id} (${describePeriod(slot.period)}) is outside the appointment ${describePeriod(period)}`, 'Appointment.slot');
    if (slot.period.start > coveredUntil) break;
    coveredUntil = Math.max(coveredUntil, slot.period.end);
  }
  if (coveredUntil < period.end) throw unprocessable('appointment-outside-slots', `The appointment ${describePeriod(period)} is not covered by its slots`, 'Appointment.slot');
}

/**
 * After the version is stored: the slots it now holds become busy, those it let go become free. A derived slot
 * (free-slots.ts) is stored when first booked, under its own id: a read of it, and the overlap query, then find it.
 */
function updateSlots(write: CompletedWrite, derived: FreeSlots): void {
  const { resource, base } = write;
  const read = readerOf(write, derived);
  const before = new Set(heldSlots(write.previousResource, base));
  const now = new Set(heldSlots(resource, base));
  for (const id of now) if (!before.has(id)) setSlotStatus(write.interactions.repository, read, id, 'busy');
  for (const id of before) if (!now.has(id)) setSlotStatus(write.interactions.repository, read, id, 'free');
}

function setSlotStatus(repository: Repository, read: ResourceReader, id: string, status: 'busy' | 'free'): void {
  const slot = read('Slot', id);
  if (!slot) return;
  const { meta: _meta, ...json } = slot;
  if (json.status !== status) repository.update('Slot', id, { ...json, status });
}

/** Reads the resources an appointment names: a Slot not stored may be a derived free one of a schedule's hours. */
function readerOf(write: PendingWrite, derived: FreeSlots): ResourceReader {
  const stored = storedReader(write.interactions.repository);
  return (type, id) => stored(type, id) ?? (type === 'Slot' ? derived.find(id, write.resource, write.interactions, write.base) : undefined);
}

function checkSlot(write: PendingWrite, booked: BookedTimes): void {
  const period = periodOf(write.resource, 'Slot');
  if (!period) throw unprocessable('slot-times-missing', 'A Slot needs a start and an end', 'Slot.start');
  const previous = write.previousResource;
  if (!previous || write.id === undefined) return;
  const freed = previous.status === 'busy' && write.resource.status !== 'busy';
  const moved = previous.start !== write.resource.start || previous.end !== write.resource.end;
  if (!freed && !moved) return;
  const [holder] = booked.holdersOf(write.id, write.base);
  if (holder) throw conflict('slot-held', `Slot/${write.id} is held by Appointment/${holder}: cancel or move the appointment first`);
}

/** The local Slots an appointment references; another server's slot cannot be booked here (422). */
function slotsOf(appointment: Json, base: string): string[] {
  return [
    ...new Set(
      referencesIn(appointment.slot).map((reference) => {
        const id = localId(reference, 'Slot', base);
        if (id === undefined) throw unprocessable('slot-unknown', `'${reference}' is not a Slot of this node`, 'Appointment.slot');
        return id;
      }),
    ),
  ];
}

/** The slots a version of an appointment keeps busy. */
function heldSlots(appointment: Json | undefined, base: string): string[] {
  if (!appointment || !HOLDING_STATUSES.has(String(appointment.status))) return [];
  return referencesIn(appointment.slot).flatMap((reference) => localId(reference, 'Slot', base) ?? []);
}
