/**
 * The forms of dates, numbers and references shared by the index (extract.ts) and the query side, so that a stored
 * value and a searched value are compared in the same form; strings have theirs in normalize-string.ts.
 */
import { isResourceType } from '../validation/model';

/** Bounds of an open date range end (the limits of ECMAScript dates), in epoch ms. */
export const DATE_MIN = -8.64e15;
export const DATE_MAX = 8.64e15;

/**
 * The implicit precision range of a number as written: 100 → [99.5, 100.5), 1.5 → [1.45, 1.55), 2e3 → [1500, 2500).
 * Only the JavaScript number is known here, so trailing zeros of the JSON text (1.50) are already lost.
 */
export function numberRange(value: number): { low: number; high: number } {
  if (!Number.isFinite(value)) return { low: value, high: value };
  const text = String(value);
  const exponentAt = text.search(/e/i);
  const mantissa = exponentAt < 0 ? text : text.slice(0, exponentAt);
  const exponent = exponentAt < 0 ? 0 : Number(text.slice(exponentAt + 1));
  const dot = mantissa.indexOf('.');
  const decimals = (dot < 0 ? 0 : mantissa.length - dot - 1) - exponent;
  const half = 0.5 * 10 ** -decimals;
  return { low: value - half, high: value + half };
}

export interface ParsedReference {
  type: string | null;
  id: string | null;
  url: string | null;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const HISTORY = /\/_history\/[^/]*$/;

/**
 * A literal reference in its index form: `Patient/1` → type + id; `http://x/fhir/Patient/1` → type + id + url;
 * anything else (`urn:uuid:…`, canonical URLs that do not end in Type/id, `#contained`) → url only.
 * A version suffix (`/_history/2`) is dropped.
 */
export function parseReference(reference: string): ParsedReference | undefined {
  const value = reference.trim().replace(HISTORY, '');
  if (value === '') return undefined;
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(value);
  const parts = value.split('/');
  if (parts.length >= 2) {
    const type = parts[parts.length - 2];
    const id = parts[parts.length - 1];
    if (isResourceType(type) && ID.test(id) && (absolute || parts.length === 2)) {
      return { type, id, url: absolute ? value : null };
    }
  }
  return { type: null, id: null, url: value };
}
