import { unprocessable } from '../fhir/outcome';
import { parseDateRange } from '../fhir/search/dates';

/**
 * A practitioner's opening hours, as the `schedule-hours` extension of their Schedule carries them
 * (docs/appointments.md): weekly `availableTime`s and `notAvailable` periods shaped like STU3's PractitionerRole
 * ones, wall-clock times in the schedule's time zone. Parsed once per use; anything malformed is a 422 on write.
 */

export const SCHEDULE_HOURS_URL = 'http://liaison.health/fhir/StructureDefinition/schedule-hours';
export const DEFAULT_TIME_ZONE = 'Europe/Paris';

type Json = Readonly<Record<string, unknown>>;

/** STU3's days-of-week codes, in JavaScript's getUTCDay() order. */
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;
const DAY_MS = 86_400_000;

export interface AvailableTime {
  /** getUTCDay() numbers. */
  days: ReadonlySet<number>;
  /** Minutes after local midnight, [from, to); all day: 0 to 1440. */
  from: number;
  to: number;
}

export interface NotAvailable {
  description: string;
  /** Epoch ms; an open end runs to the end of time. */
  start: number;
  end: number;
}

export interface OpeningHours {
  timeZone: string;
  /** The free slots' length when set (else the practice's consultation duration). */
  slotMinutes?: number;
  available: readonly AvailableTime[];
  notAvailable: readonly NotAvailable[];
}

/** A Schedule's opening hours; undefined when it has none. Throws 422 `schedule-hours-invalid` for a malformed extension. */
export function openingHoursOf(schedule: Json): OpeningHours | undefined {
  const extensions = Array.isArray(schedule.extension) ? (schedule.extension as Json[]) : [];
  const found = extensions.filter((extension) => extension.url === SCHEDULE_HOURS_URL);
  if (found.length === 0) return undefined;
  if (found.length > 1) throw invalid('a Schedule carries its opening hours in one schedule-hours extension');
  const parts = subExtensions(found[0], 'schedule-hours');
  const known = new Set(['timeZone', 'slotMinutes', 'availableTime', 'notAvailable']);
  for (const part of parts) if (!known.has(String(part.url))) throw invalid(`unknown part '${String(part.url)}' (expected ${[...known].join(', ')})`);
  const timeZone = single(parts, 'timeZone', 'valueCode') ?? DEFAULT_TIME_ZONE;
  if (typeof timeZone !== 'string' || !isTimeZone(timeZone)) throw invalid(`'${String(timeZone)}' is not a time zone (IANA, e.g. Europe/Paris)`);
  const slotMinutes = single(parts, 'slotMinutes', 'valuePositiveInt');
  if (slotMinutes !== undefined && (!Number.isInteger(slotMinutes) || (slotMinutes as number) < 5 || (slotMinutes as number) > 480)) throw invalid('slotMinutes is a whole number of minutes from 5 to 480');
  return {
    timeZone,
    ...(slotMinutes !== undefined ? { slotMinutes: slotMinutes as number } : {}),
    available: parts.filter((part) => part.url === 'availableTime').map(availableTime),
    notAvailable: parts.filter((part) => part.url === 'notAvailable').map((part, index) => notAvailable(part, index, timeZone)),
  };
}

function availableTime(extension: Json, index: number): AvailableTime {
  const what = `availableTime[${index}]`;
  const parts = subExtensions(extension, what);
  const days = new Set<number>();
  for (const part of parts.filter((item) => item.url === 'daysOfWeek')) {
    const day = DAYS.indexOf(part.valueCode as (typeof DAYS)[number]);
    if (day < 0) throw invalid(`${what}: daysOfWeek '${String(part.valueCode)}' is not one of ${DAYS.join(', ')}`);
    days.add(day);
  }
  if (days.size === 0) throw invalid(`${what} needs at least one daysOfWeek`);
  const allDay = single(parts, 'allDay', 'valueBoolean');
  const start = single(parts, 'availableStartTime', 'valueTime');
  const end = single(parts, 'availableEndTime', 'valueTime');
  if (allDay === true) {
    if (start !== undefined || end !== undefined) throw invalid(`${what}: an allDay time has no start or end time`);
    return { days, from: 0, to: 1440 };
  }
  const from = minutesOf(start, `${what}.availableStartTime`);
  const to = minutesOf(end, `${what}.availableEndTime`);
  if (from >= to) throw invalid(`${what}: availableStartTime ${String(start)} must come before availableEndTime ${String(end)}`);
  return { days, from, to };
}

function notAvailable(extension: Json, index: number, timeZone: string): NotAvailable {
  const what = `notAvailable[${index}]`;
  const parts = subExtensions(extension, what);
  const description = single(parts, 'description', 'valueString');
  if (typeof description !== 'string' || description.trim() === '') throw invalid(`${what} needs a description`);
  const during = single(parts, 'during', 'valuePeriod') as Json | undefined;
  const start = instantOf(during?.start, 'start', timeZone);
  if (start === undefined) throw invalid(`${what}.during needs a start (a date, or a dateTime with its zone)`);
  if (during?.end === undefined) return { description, start, end: Number.POSITIVE_INFINITY };
  const end = instantOf(during.end, 'end', timeZone);
  if (end === undefined || end <= start) throw invalid(`${what}.during must end after it starts`);
  return { description, start, end };
}

/**
 * A Period bound as an instant. A date is a local day of the schedule: a start at its local midnight, an end at the
 * next one (24–26 December is off from the 24th's morning to the 26th's evening); a dateTime is taken as written.
 */
function instantOf(value: unknown, bound: 'start' | 'end', timeZone: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? parseDateRange(value) : undefined;
  if (date) return wallClock(bound === 'start' ? date.start : date.end, 0, timeZone);
  if (!/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  return parseDateRange(value)?.start;
}

function subExtensions(extension: Json, what: string): Json[] {
  const parts = extension.extension;
  if (!Array.isArray(parts) || parts.some((part) => !part || typeof part !== 'object' || typeof (part as Json).url !== 'string')) {
    throw invalid(`${what} is a complex extension: its parts are extensions with a url`);
  }
  return parts as Json[];
}

/** The value of the one part named `url` (of type `valueKey`), undefined when absent. */
function single(parts: Json[], url: string, valueKey: string): unknown {
  const found = parts.filter((part) => part.url === url);
  if (found.length > 1) throw invalid(`'${url}' appears more than once`);
  if (found.length === 0) return undefined;
  if (!(valueKey in found[0])) throw invalid(`'${url}' takes a ${valueKey}`);
  return found[0][valueKey];
}

function minutesOf(value: unknown, what: string): number {
  const match = typeof value === 'string' ? TIME.exec(value) : null;
  if (!match) throw invalid(`${what} needs a time (HH:MM:SS), got ${JSON.stringify(value)}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

const invalid = (message: string) => unprocessable('schedule-hours-invalid', `Opening hours: ${message}`, 'Schedule.extension');

const formats = new Map<string, Intl.DateTimeFormat>();

function isTimeZone(name: string): boolean {
  try {
    formatOf(name);
    return true;
  } catch {
    return false;
  }
}

function formatOf(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formats.set(timeZone, format);
  }
  return format;
}

const offsets = new Map<string, number>();
const HOUR_MS = 3_600_000;

/**
 * How far the zone's wall clock is ahead of UTC at `instant`, in ms. Zones change offset on the hour (or half
 * hour): one answer per zone and quarter hour is kept, as Intl's formatting costs microseconds a call.
 */
function offsetAt(instant: number, timeZone: string): number {
  const key = `${timeZone}|${Math.floor(instant / (HOUR_MS / 4))}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    if (offsets.size > 100_000) offsets.clear();
    offset = formattedOffset(instant, timeZone);
    offsets.set(key, offset);
  }
  return offset;
}

function formattedOffset(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatOf(timeZone).formatToParts(instant)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant a wall-clock time of a local day is, in the zone: `day` is the local date as a UTC midnight, `minutes`
 * after its midnight. Across a change of offset, the offset after the change is taken (a time skipped in spring
 * lands an hour later).
 */
export function wallClock(day: number, minutes: number, timeZone: string): number {
  const wall = day + minutes * 60_000;
  const first = wall - offsetAt(wall, timeZone);
  const second = wall - offsetAt(first, timeZone);
  return second;
}

/** The local dates (as UTC midnights) a span of instants touches in the zone, with a day to spare on each side. */
export function localDays(from: number, to: number, timeZone: string): number[] {
  const first = Math.floor((from + offsetAt(from, timeZone)) / DAY_MS) * DAY_MS - DAY_MS;
  const last = Math.floor((to + offsetAt(to, timeZone)) / DAY_MS) * DAY_MS + DAY_MS;
  const days: number[] = [];
  for (let day = first; day <= last; day += DAY_MS) days.push(day);
  return days;
}

/**
 * The open intervals of the hours that overlap [from, to), whole (not cut at `from` or `to`, so that the slots laid
 * from their starts are the same whatever range is asked): the weekly times of each local day, less the periods not
 * available, in start order, epoch ms.
 */
export function openIntervals(hours: OpeningHours, from: number, to: number): Array<{ start: number; end: number }> {
  const open: Array<{ start: number; end: number }> = [];
  for (const day of localDays(from, to, hours.timeZone)) {
    const weekday = new Date(day).getUTCDay();
    for (const time of hours.available) {
      if (!time.days.has(weekday)) continue;
      const start = wallClock(day, time.from, hours.timeZone);
      const end = wallClock(day, time.to, hours.timeZone);
      if (start < to && end > from) open.push({ start, end });
    }
  }
  open.sort((a, b) => a.start - b.start);
  // Times that overlap or touch (a morning written twice, 8–12 and 12–14) make one interval: no slot twice.
  const merged: Array<{ start: number; end: number }> = [];
  for (const interval of open) {
    const last = merged[merged.length - 1];
    if (last && interval.start <= last.end) last.end = Math.max(last.end, interval.end);
    else merged.push({ ...interval });
  }
  return subtract(merged, hours.notAvailable);
}

/** The intervals less the spans (both in start order or not): what is left, in start order. */
export function subtract(intervals: Array<{ start: number; end: number }>, spans: ReadonlyArray<{ start: number; end: number }>): Array<{ start: number; end: number }> {
  let left = intervals;
  for (const span of spans) {
    left = left.flatMap((interval) => {
      if (span.end <= interval.start || span.start >= interval.end) return [interval];
      const pieces: Array<{ start: number; end: number }> = [];
      if (span.start > interval.start) pieces.push({ start: interval.start, end: span.start });
      if (span.end < interval.end) pieces.push({ start: span.end, end: interval.end });
      return pieces;
    });
  }
  return left;
}
