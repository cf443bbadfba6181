import { normalizeString } from './normalize-string';
import { arrayOf, type Json } from '../json';

/**
 * What the background text index holds for a resource, field by field, as plain words (lower case, accents
 * folded): the word-prefix matching of the directory (`name`, `address`), and `_content` / `_text`.
 *
 * Lifen's directory semantics: a query's terms must each begin a word of the field, a practitioner's `name` also
 * holds the cities where they work, so that "martin lyon" finds Dr Martin in Lyon, and their `address` the addresses
 * of the sites where they work (as `address-city` and the other address parameters do, store/workplace-rows.ts).
 */

export type TextField = 'name' | 'address' | 'content' | 'text';
const TEXT_FIELDS: readonly TextField[] = ['name', 'address', 'content', 'text'];

/**
 * Types searched through the text index, and its fields for each. The directory has free text (`_content`,
 * `_text`); patients only their names and addresses: indexing every string of each new patient cost a quarter of
 * the create throughput, for a search no practice software makes.
 */
export const TEXT_FIELDS_OF: Readonly<Record<string, readonly TextField[]>> = {
  Practitioner: TEXT_FIELDS,
  Organization: TEXT_FIELDS,
  Patient: ['name', 'address'],
};
export const TEXT_TYPES: ReadonlySet<string> = new Set(Object.keys(TEXT_FIELDS_OF));
const PARAMETER_FIELDS: Readonly<Record<string, TextField>> = { name: 'name', address: 'address', _content: 'content', _text: 'text' };

/** The field a search parameter of a type is answered from, if the text index serves it. */
export function textFieldOf(resourceType: string, code: string): TextField | undefined {
  const field = PARAMETER_FIELDS[code];
  return field && TEXT_FIELDS_OF[resourceType]?.includes(field) ? field : undefined;
}

/** A text query needs two characters (Lifen's `name`): one letter would match a good share of the country. */
export const MIN_QUERY_LENGTH = 2;

export type TextDocument = Partial<Record<TextField, string>>;

/**
 * The text of a resource, field by field. `workplaces` are the addresses of the places a practitioner works at
 * (their active PractitionerRoles' Organizations), which the caller looks up.
 */
export function textDocument(resource: Json, workplaces: readonly unknown[] = []): TextDocument {
  const fields = TEXT_FIELDS_OF[resource.resourceType as string] ?? [];
  const names = [...humanNames(resource.name), ...(typeof resource.name === 'string' ? [resource.name] : []), ...strings(resource.alias)];
  const ownAddresses = arrayOf(resource.address);
  const allAddresses = resource.resourceType === 'Practitioner' ? [...ownAddresses, ...workplaces] : ownAddresses;
  const addresses = allAddresses.flatMap(addressWords);
  const cities = allAddresses.flatMap((address) => strings((address as Json).city));
  return {
    name: words([...names, ...(resource.resourceType === 'Practitioner' ? cities : [])]),
    address: words(addresses),
    ...(fields.includes('content') ? { content: words(allStrings(resource), withoutDigits) } : {}),
    ...(fields.includes('text') ? { text: words([narrative(resource)]) } : {}),
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
function allStrings(value: unknown, key = '', found: string[] = []): string[] {
  if (typeof value === 'string') {
    if (!SKIPPED_KEYS.has(key)) found.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) allStrings(item, key, found);
  } else if (value && typeof value === 'object') {
    for (const name in value) {
      const item = (value as Json)[name];
      if (!(name === 'text' && typeof item === 'object')) allStrings(item, name, found);
    }
  }
  return found;
}
const SKIPPED_KEYS = new Set(['id', 'reference', 'url', 'system', 'resourceType', 'div', 'versionId', 'lastUpdated', 'fullUrl', 'profile']);

function narrative(resource: Json): string {
  const div = (resource.text as Json | undefined)?.div;
  if (typeof div !== 'string') return '';
  return div.replace(/<[^>]*>/g, ' ').replace(/&(?:nbsp|#160);/g, ' ').replace(/&[a-z]+;|&#\d+;/g, ' ');
}

/**
 * What one resource may cost the index, whatever it holds: a word is indexed on its first MAX_WORD_CHARS characters
 * (cut, never refused: `name` and `address` index every prefix of every word, so a word's cost grows with the square
 * of its length, and one word of 200,000 letters took the index's thread down), and a field on its first
 * MAX_FIELD_CHARS characters of distinct words, read from its first MAX_SCANNED_CHARS characters of text. The
 * longest French words and names (hyphenated communes split into words) are under 40 characters; a practitioner's
 * name with the cities of all their sites, or an organisation's `_content`, a few hundred.
 */
export const MAX_WORD_CHARS = 64;
export const MAX_FIELD_CHARS = 4096;
const MAX_SCANNED_CHARS = 16 * MAX_FIELD_CHARS;

/** The distinct words of some texts, normalised: one pass over the joined text (a pass per string cost twice as much). */
function words(texts: readonly string[], keep: (word: string) => boolean = Boolean): string {
  if (texts.length === 0) return '';
  const kept = new Set<string>();
  let length = -1; // of the kept words joined by spaces
  for (const word of splitWords(normalizeString(scanned(texts)))) {
    if (!keep(word)) continue;
    const cut = cutWord(word);
    if (kept.has(cut)) continue;
    length += cut.length + 1;
    if (length > MAX_FIELD_CHARS) break;
    kept.add(cut);
  }
  return [...kept].join(' ');
}

/**
 * The texts joined, up to MAX_SCANNED_CHARS: a field never reads more, however big the resource. Past that, the same
 * text repeated is read once.
 */
function scanned(texts: readonly string[], distinct = false): string {
  let length = 0;
  let count = 0;
  while (count < texts.length && length <= MAX_SCANNED_CHARS) length += texts[count++].length + 1;
  if (length <= MAX_SCANNED_CHARS) return texts.join(' ');
  if (!distinct) return scanned([...new Set(texts)], true);
  const joined = texts.slice(0, count).join(' ');
  // The word the limit cuts is left out, unless it has MAX_WORD_CHARS letters in (all that is indexed of a word).
  const lastBreak = joined.lastIndexOf(' ', MAX_SCANNED_CHARS);
  return joined.slice(0, lastBreak > 0 && MAX_SCANNED_CHARS - lastBreak <= MAX_WORD_CHARS ? lastBreak : MAX_SCANNED_CHARS);
}

/** A word's first MAX_WORD_CHARS characters (a character outside the BMP is not split in two). */
function cutWord(word: string): string {
  if (word.length <= MAX_WORD_CHARS) return word;
  const last = word.charCodeAt(MAX_WORD_CHARS - 1);
  return word.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_WORD_CHARS - 1 : MAX_WORD_CHARS);
}

const DIGIT = /[0-9]/;
/**
 * `_content` leaves out words with digits: identifiers, phone numbers and mailbox names are nearly all unique, so
 * they made four fifths of the index's memory, and they are searched exactly with `identifier` and `telecom`.
 * Postal codes stay searchable with `address`.
 */
const withoutDigits = (word: string) => word !== '' && !DIGIT.test(word);

const WORD_BREAKS = /[^\p{L}\p{N}]+/u;
const ASCII_WORD_BREAKS = /[^a-z0-9]+/;
const PLAIN_ASCII = /^[\x00-\x7f]*$/;

/** Normalised text → words. Folded French is nearly always ASCII, which splits several times faster. */
function splitWords(normalised: string): string[] {
  return normalised.split(PLAIN_ASCII.test(normalised) ? ASCII_WORD_BREAKS : WORD_BREAKS);
}

/** The query's terms, normalised and cut like the documents' words. */
export function queryTerms(query: string): string[] {
  return splitWords(normalizeString(query)).filter(Boolean).map(cutWord);
}


function strings(value: unknown): string[] {
  return arrayOf(value).filter((item): item is string => typeof item === 'string');
}
