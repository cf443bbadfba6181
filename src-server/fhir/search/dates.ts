import { daysInMonth } from '../calendar';

/**
 * FHIR date/dateTime/instant values as half-open UTC ranges [start, end), the basis of date search semantics:
 * `2017` is the whole year, `2017-03-04T10:00` the whole minute.
 */
export interface DateRange {
  /** Inclusive lower bound, epoch milliseconds. */
  start: number;
  /** Exclusive upper bound, epoch milliseconds. */
  end: number;
}

const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The range a FHIR date-ish value covers, or undefined when it is not a real date (e.g. `2017-02-30`). */
export function parseDateRange(value: string): DateRange | undefined {
  const match = DATE_TIME.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const y = Number(year);
  const mo = month === undefined ? 1 : Number(month);
  const d = day === undefined ? 1 : Number(day);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return undefined;
  const h = hour === undefined ? 0 : Number(hour);
  const mi = minute === undefined ? 0 : Number(minute);
  const s = second === undefined ? 0 : Number(second);
  if (h > 23 || mi > 59 || s > 59) return undefined;
  const ms = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
  const offset = zoneOffsetMinutes(zone);
  if (offset === undefined) return undefined;
  const start = utc(y, mo - 1, d, h, mi, s, ms) - offset * 60_000;
  let end: number;
  if (month === undefined) end = utc(y + 1, 0, 1) - offset * 60_000;
  else if (day === undefined) end = utc(y, mo, 1) - offset * 60_000;
  else if (hour === undefined) end = utc(y, mo - 1, d + 1) - offset * 60_000;
  else if (second === undefined) end = start + 60_000;
  else if (fraction === undefined) end = start + 1000;
  else end = start + 1;
  return { start, end };
}

/** Date.UTC without its quirk of reading years 0–99 as 1900–1999. */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const date = new Date(Date.UTC(2000, 0, 1, hour, minute, second, ms));
  date.setUTCFullYear(year, month, day);
  return date.getTime();
}

function zoneOffsetMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (hours > 14 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes);
}
