import { normalizeString } from '../fhir/search/normalize';

/**
 * What the background text index holds for a resource, field by field, as plain words (lower case, accents
 * folded): the word-prefix matching of the directory (`name`, `address`), and `_content` / `_text`.
 *
 * Lifen's directory semantics: a query's terms must each begin a word of the field, and a practitioner's `name`
 * also holds the cities where they work, so that "martin lyon" finds Dr Martin in Lyon.
 */

export type TextField = 'name' | 'address' | 'content' | 'text';
export const TEXT_FIELDS: readonly TextField[] = ['name', 'address', 'content', 'text'];

/** Types searched through the text index, and the search parameters it serves for them. */
export const TEXT_TYPES: ReadonlySet<string> = new Set(['Practitioner', 'Organization', 'Patient']);
const PARAMETER_FIELDS: Readonly<Record<string, TextField>> = { name: 'name', address: 'address', _content: 'content', _text: 'text' };

/** The field a search parameter of a type is answered from, if the text index serves it. */
export function textFieldOf(resourceType: string, code: string): TextField | undefined {
  return TEXT_TYPES.has(resourceType) ? PARAMETER_FIELDS[code] : undefined;
}

/** A text query needs two characters (Lifen's `name`): one letter would match a good share of the country. */
export const MIN_QUERY_LENGTH = 2;

type Json = Record<string, unknown>;
export type TextDocument = Record<TextField, string>;

/**
 * The text of a resource, field by field. `cities` are the cities of the places a practitioner works at (their
 * PractitionerRoles' Organizations), which the caller looks up.
 */
export function textDocument(resource: Json, cities: readonly string[] = []): TextDocument {
  const names = [...humanNames(resource.name), ...(typeof resource.name === 'string' ? [resource.name] : []), ...strings(resource.alias)];
  const addresses = arrayOf(resource.address).flatMap(addressWords);
  const ownCities = arrayOf(resource.address).flatMap((address) => strings((address as Json).city));
  return {
    name: words([...names, ...(resource.resourceType === 'Practitioner' ? [...ownCities, ...cities] : [])]),
    address: words(addresses),
    content: words(allStrings(resource)),
    text: words([narrative(resource)]),
  };
}

function humanNames(value: unknown): string[] {
  return arrayOf(value).flatMap((name) => {
    const human = name as Json;
    return [...strings(human.prefix), ...strings(human.given), ...strings(human.family), ...strings(human.text)];
  });
}

function addressWords(value: unknown): string[] {
  const address = value as Json;
  return [...strings(address.line), ...strings(address.city), ...strings(address.district), ...strings(address.postalCode), ...strings(address.state), ...strings(address.text)];
}

/** Every string value of the resource but ids, references, URLs and the stored narrative (which `_text` has). */
function allStrings(value: unknown, key = ''): string[] {
  if (typeof value === 'string') return SKIPPED_KEYS.has(key) ? [] : [value];
  if (Array.isArray(value)) return value.flatMap((item) => allStrings(item, key));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([name, item]) => (name === 'text' && typeof item === 'object' ? [] : allStrings(item, name)));
  return [];
}
const SKIPPED_KEYS = new Set(['id', 'reference', 'url', 'system', 'resourceType', 'div', 'versionId', 'lastUpdated', 'fullUrl', 'profile']);

function narrative(resource: Json): string {
  const div = (resource.text as Json | undefined)?.div;
  if (typeof div !== 'string') return '';
  return div.replace(/<[^>]*>/g, ' ').replace(/&(?:nbsp|#160);/g, ' ').replace(/&[a-z]+;|&#\d+;/g, ' ');
}

function words(texts: readonly string[]): string {
  return [...new Set(texts.flatMap((text) => normalizeString(text).split(/[^\p{L}\p{N}]+/u)).filter(Boolean))].join(' ');
}

/** The query's terms, normalised like the documents. */
export function queryTerms(query: string): string[] {
  return normalizeString(query).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}

function strings(value: unknown): string[] {
  return arrayOf(value).filter((item): item is string => typeof item === 'string');
}
