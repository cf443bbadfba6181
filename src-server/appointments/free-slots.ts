import { v5 as uuidv5 } from 'uuid';
import { FhirError } from '../fhir/outcome';
import { parseDateRange } from '../fhir/search/dates';
import type { FhirInteractions } from '../rest/extensions';
import type { StoredResource } from '../store/repository';
import type { BookedTimes } from '../store/booked-times';
import { appointmentTypesId, appointmentTypesOf, appointmentTypesUrl, CONSULTATION, DEFAULT_APPOINTMENT_TYPES, type AppointmentType } from './appointment-types';
import { openingHoursOf, openIntervals, type OpeningHours } from './opening-hours';
import type { PracticesOf } from './schedule-rules';
import { periodOf, referencesIn, type Period } from './times';
import { overlapping, practitionerBehind, storedReader } from './whose-time';

/**
 * Free Slots derived from the opening hours (issue 28), computed when asked rather than stored: a schedule's hours
 * less its practitioners' booked appointments (however they are named: whose-time.ts) and its stored busy slots. Each
 * has a deterministic id, a UUIDv5 of the schedule and the start (and the type, for a slot of a type's length), so
 * every node derives the same Slot from the same hours and bookings, and nothing derived is stored or synced until
 * an appointment books one (booking-rules.ts then stores it, busy).
 */

type Json = Readonly<Record<string, unknown>>;

/** The namespace of derived Slot ids (fixed: the same on every node and in every version). */
const SLOT_NAMESPACE = '6f1c2a52-7a0e-4b5e-9d3c-2e7b1f0a8c41';
const MINUTE = 60_000;
const DEFAULT_SLOT_MINUTES = 15;
/** How far past the appointment's start a slot that holds it may have begun: the longest type. */
const LONGEST_SLOT_MS = 480 * MINUTE;
const BUSY_SLOT_STATUSES = 'busy,busy-unavailable,busy-tentative';

/** A schedule that has opening hours, with what deriving its slots needs. */
export interface HoursSchedule {
  id: string;
  lastUpdated: string;
  hours: OpeningHours;
  /** Its planning horizon, when it says one: no slot outside. */
  horizon: { start: number; end: number };
  practitioners: string[];
  /** The practice's types (its CodeSystem, else the default set) and their system. */
  types: { system: string | undefined; list: readonly AppointmentType[] };
}

/** A derived slot's type: the concept of the practice's types it is the length of. */
export interface SlotType {
  system: string | undefined;
  type: AppointmentType;
}

export const isoInstant = (instant: number) => new Date(instant).toISOString().replace('.000Z', 'Z');

export function derivedSlotId(scheduleId: string, start: number, type?: SlotType): string {
  return uuidv5(`${scheduleId}|${isoInstant(start)}${type ? `|${type.system ?? ''}|${type.type.code}` : ''}`, SLOT_NAMESPACE);
}

export class FreeSlots {
  constructor(
    private readonly booked: BookedTimes,
    private readonly practicesOf: PracticesOf,
  ) {}

  /** The schedule's hours and what goes with them; undefined when it has none or is inactive. */
  hoursSchedule(stored: StoredResource, interactions: FhirInteractions, base: string): HoursSchedule | undefined {
    const schedule = JSON.parse(stored.json) as Json;
    // Hours that came unchecked (sync, import) and do not hold offer no slots, rather than failing every search.
    const hours = schedule.active === false ? undefined : unlessInvalid(() => openingHoursOf(schedule));
    if (!hours) return undefined;
    const read = storedReader(interactions.repository);
    const practitioners = [...new Set(referencesIn(schedule.actor).flatMap((actor) => practitionerBehind(actor, base, read)))];
    return {
      id: stored.id,
      lastUpdated: stored.lastUpdated,
      hours,
      horizon: horizonOf(schedule.planningHorizon as Json | undefined),
      practitioners,
      types: this.typesOf(practitioners, interactions),
    };
  }

  /** The types of the first practice of the schedule's practitioners that saved its own, else the default set. */
  private typesOf(practitioners: readonly string[], interactions: FhirInteractions): HoursSchedule['types'] {
    const practices = practitioners.flatMap((practitioner) => this.practicesOf(practitioner));
    for (const practice of practices) {
      const stored = interactions.repository.read('CodeSystem', appointmentTypesId(practice));
      const list = stored && unlessInvalid(() => appointmentTypesOf(JSON.parse(stored.json) as Json, stored.id));
      if (list) return { system: appointmentTypesUrl(practice), list };
    }
    return { system: practices.length > 0 ? appointmentTypesUrl(practices[0]) : undefined, list: DEFAULT_APPOINTMENT_TYPES };
  }

  /** The step of the schedule's slots: its own setting, else the practice's consultation, else 15 minutes. */
  static slotMinutes(schedule: HoursSchedule): number {
    return schedule.hours.slotMinutes ?? schedule.types.list.find((type) => type.code === CONSULTATION)?.minutes ?? DEFAULT_SLOT_MINUTES;
  }

  /** The slots the hours open in [from, to), whether booked or not: from each open time on, a step apart. */
  grid(schedule: HoursSchedule, from: number, to: number, type?: SlotType): Array<{ start: number; end: number }> {
    const step = FreeSlots.slotMinutes(schedule) * MINUTE;
    const length = (type?.type.minutes ?? FreeSlots.slotMinutes(schedule)) * MINUTE;
    const lower = Math.max(from, schedule.horizon.start);
    const upper = Math.min(to, schedule.horizon.end);
    if (lower >= upper) return [];
    const slots: Array<{ start: number; end: number }> = [];
    // Intervals are taken whole (a slot starts on the hours' own grid), then the slots kept that start in range.
    for (const interval of openIntervals(schedule.hours, lower - length, upper + length)) {
      for (let start = interval.start; start + length <= interval.end; start += step) {
        if (start >= lower && start < upper) slots.push({ start, end: start + length });
      }
    }
    return slots;
  }

  /** The free slots of the schedule starting in [from, to), in start order (slotResource makes their JSON: only a page's). */
  free(schedule: HoursSchedule, from: number, to: number, type: SlotType | undefined, interactions: FhirInteractions, base: string): Array<{ start: number; end: number }> {
    const grid = this.grid(schedule, from, to, type);
    if (grid.length === 0) return [];
    const span: Period = { start: grid[0].start, end: grid[grid.length - 1].end, startText: '', endText: '' };
    const busy = [...schedule.practitioners.flatMap((practitioner) => overlapping(this.booked, practitioner, span, undefined, base)), ...this.busySlots(schedule.id, span, interactions, base)];
    return withoutBusy(grid, busy);
  }

  /** A derived slot by its id, for an appointment that books it: among the slots of schedules with hours around the appointment. */
  find(id: string, appointment: Json, interactions: FhirInteractions, base: string): Record<string, unknown> | undefined {
    const period = periodOf(appointment, 'Appointment');
    if (!period) return undefined;
    const coding = codingsOf(appointment.appointmentType);
    for (const stored of allSchedules(interactions, base)) {
      const schedule = this.hoursSchedule(stored, interactions, base);
      if (!schedule) continue;
      const types = [undefined, ...schedule.types.list.filter((type) => coding.some((code) => code.code === type.code && (code.system === undefined || code.system === schedule.types.system))).map((type) => ({ system: schedule.types.system, type }))];
      for (const type of types) {
        const slot = this.grid(schedule, period.start - LONGEST_SLOT_MS, period.end, type).find((candidate) => derivedSlotId(schedule.id, candidate.start, type) === id);
        if (slot) return slotResource(schedule, slot, type);
      }
    }
    return undefined;
  }

  /** The stored Slots of the schedule that are not free, overlapping the span. */
  private busySlots(scheduleId: string, span: Period, interactions: FhirInteractions, base: string): Period[] {
    const params = new URLSearchParams({ schedule: `Schedule/${scheduleId}`, status: BUSY_SLOT_STATUSES, _count: '100' });
    params.append('start', `lt${isoInstant(span.end)}`);
    params.append('start', `ge${isoInstant(span.start - LONGEST_SLOT_MS)}`);
    return everyMatch(interactions, 'Slot', params, base).flatMap((stored) => {
      const slot = periodOf(JSON.parse(stored.json) as Json, `Slot/${stored.id}`);
      return slot && slot.end > span.start ? [slot] : [];
    });
  }
}

/** A planning horizon's bounds, either of which may be open. */
function horizonOf(period: Json | undefined): { start: number; end: number } {
  const bound = (value: unknown) => (typeof value === 'string' ? parseDateRange(value)?.start : undefined);
  return { start: bound(period?.start) ?? Number.NEGATIVE_INFINITY, end: bound(period?.end) ?? Number.POSITIVE_INFINITY };
}

/** What `read` gives, or undefined when what it reads does not hold (a FhirError: a 422 of a write's checks). */
function unlessInvalid<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (error instanceof FhirError) return undefined;
    throw error;
  }
}

/** The slots no busy period overlaps: a walk over both in start order, looking back as far as the longest busy one. */
function withoutBusy(slots: Array<{ start: number; end: number }>, busy: Array<{ start: number; end: number }>): Array<{ start: number; end: number }> {
  if (busy.length === 0) return slots;
  const sorted = [...busy].sort((a, b) => a.start - b.start);
  const longest = Math.max(...sorted.map((period) => period.end - period.start));
  let first = 0;
  return slots.filter((slot) => {
    while (first < sorted.length && sorted[first].start <= slot.start - longest) first++;
    for (let index = first; index < sorted.length && sorted[index].start < slot.end; index++) if (sorted[index].end > slot.start) return false;
    return true;
  });
}

/** A derived slot as Slot JSON: free, of the schedule, its type when it has one. */
export function slotResource(schedule: HoursSchedule, slot: { start: number; end: number }, type: SlotType | undefined): Record<string, unknown> {
  const id = derivedSlotId(schedule.id, slot.start, type);
  return {
    resourceType: 'Slot',
    id,
    meta: { versionId: '1', lastUpdated: schedule.lastUpdated },
    ...(type ? { appointmentType: { coding: [{ ...(type.system ? { system: type.system } : {}), code: type.type.code, display: type.type.display }] } } : {}),
    schedule: { reference: `Schedule/${schedule.id}` },
    status: 'free',
    start: isoInstant(slot.start),
    end: isoInstant(slot.end),
  };
}

/** The codings of a CodeableConcept, as system and code. */
export function codingsOf(concept: unknown): Array<{ system?: string; code: string }> {
  const codings = (concept as Json | undefined)?.coding;
  if (!Array.isArray(codings)) return [];
  return codings.flatMap((coding: Json) => (typeof coding?.code === 'string' ? [{ ...(typeof coding.system === 'string' ? { system: coding.system } : {}), code: coding.code }] : []));
}

/** Every Schedule of the node (the node's own search, page after page). */
export function allSchedules(interactions: FhirInteractions, base: string, params = new URLSearchParams()): StoredResource[] {
  params.set('_count', '100');
  return everyMatch(interactions, 'Schedule', params, base);
}

/** Every match of a search the node runs for itself (no caller: everything), following its pages. */
export function everyMatch(interactions: FhirInteractions, type: string, params: URLSearchParams, base: string): StoredResource[] {
  const matches: StoredResource[] = [];
  for (let cursor: string | undefined = undefined, first = true; first || cursor; first = false) {
    const page = new URLSearchParams(params);
    if (cursor) page.set('_cursor', cursor);
    const result = interactions.searchEngine.search({ resourceType: type, params: page, lenient: false, base });
    matches.push(...result.matches);
    cursor = result.next;
  }
  return matches;
}
