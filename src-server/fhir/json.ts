/**
 * Reading parsed FHIR JSON whose shape is not checked yet (a body before validation, a peer's answer, a settings
 * file). Imports nothing: the text index thread uses it too.
 */

export type Json = Record<string, unknown>;

export function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An element's values as a list: a repeating element as it is, a single one wrapped, none empty. */
export function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}
