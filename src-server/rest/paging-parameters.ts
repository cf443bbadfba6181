import { badRequest } from '../fhir/outcome';
import { DEFAULT_COUNT, MAX_COUNT } from '../fhir/search/parse';

/** `_count` of a history or an operation's page: a positive integer, at most MAX_COUNT. */
export function readPageCount(raw: string | null): number {
  if (raw === null) return DEFAULT_COUNT;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw badRequest('count-invalid', `_count must be a positive integer, not '${raw}'`, '_count');
  return Math.min(Number(raw), MAX_COUNT);
}

/** `_since`: an instant (a date and a time), as ISO 8601 UTC; undefined without one. */
export function readSince(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  const date = new Date(raw);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(raw) || Number.isNaN(date.getTime())) throw badRequest('since-invalid', `_since must be an instant, not '${raw}'`, '_since');
  return date.toISOString();
}
