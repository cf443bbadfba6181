import { unprocessable } from '../fhir/outcome';
import { parseDateRange } from '../fhir/search/dates';
import { parseReference } from '../fhir/search/index-values';

/** Times and references of Appointments and Slots, read the way the booking rules need them. */

type Json = Readonly<Record<string, unknown>>;

/** A time span [start, end), epoch milliseconds, with the instants as written (for messages). */
export interface Period {
  start: number;
  end: number;
  startText: string;
  endText: string;
}

/**
 * The longest a booked appointment may last. The overlap check reads the appointments that start within this span
 * before the new one ends (booked-times.ts): a B-tree finds those directly, whereas an unbounded overlap query would
 * read every earlier appointment of the practitioner. A practice books consultations, acts and surgery blocks;
 * days away are marked on the Schedule (busy-unavailable Slots), not booked as appointments.
 */
export const MAX_APPOINTMENT_MS = 24 * 60 * 60 * 1000;

/** `start`/`end` of a resource: both, or neither (Appointment invariant app-2); start before end. */
export function periodOf(resource: Json, what: string): Period | undefined {
  const startText = typeof resource.start === 'string' ? resource.start : undefined;
  const endText = typeof resource.end === 'string' ? resource.end : undefined;
  if (startText === undefined && endText === undefined) return undefined;
  if (startText === undefined || endText === undefined) throw unprocessable('period-invalid', `${what} needs both start and end, or neither`, startText === undefined ? `${what}.start` : `${what}.end`);
  const start = parseDateRange(startText)?.start;
  const end = parseDateRange(endText)?.start;
  if (start === undefined || end === undefined) throw unprocessable('period-invalid', `${what} has an impossible start or end`, `${what}.start`);
  if (start >= end) throw unprocessable('period-invalid', `${what} must start before it ends (start ${startText}, end ${endText})`, `${what}.end`);
  return { start, end, startText, endText };
}

export const describePeriod = (period: Period) => `from ${period.startText} to ${period.endText}`;

export const overlaps = (a: Pick<Period, 'start' | 'end'>, b: Pick<Period, 'start' | 'end'>) => a.start < b.end && b.start < a.end;

/** The id of a reference to a resource of this node of the given type (relative, or absolute on `base`), else undefined. */
export function localId(reference: unknown, type: string, base: string): string | undefined {
  if (typeof reference !== 'string') return undefined;
  const parsed = parseReference(reference);
  if (!parsed || parsed.type !== type || parsed.id === null) return undefined;
  return parsed.url === null || parsed.url === `${base}/${type}/${parsed.id}` ? parsed.id : undefined;
}

/** The references of a list of Reference elements (`slot`, `participant.actor`…), as written. */
export function referencesIn(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) => (item && typeof item === 'object' && typeof (item as Json).reference === 'string' ? [(item as Json).reference as string] : []));
}
