import type { AssignedIdentifier, Authority, AuthorIdentity, PatientIdentity, PersonName } from './identities';

/**
 * HL7 v2 data types as text, with the standard delimiters (| ^ ~ \ &): the DPI messages are made of them, and so
 * are the XDS metadata values (patientId, authorPerson, sourcePatientInfo), which IHE writes in HL7 v2 syntax.
 */

const ESCAPES: Record<string, string> = { '\\': '\\E\\', '|': '\\F\\', '^': '\\S\\', '&': '\\T\\', '~': '\\R\\' };

/**
 * Text as an HL7 value (HL7 v2.5 §2.7): the delimiters escaped, and control characters — line breaks, but also the
 * MLLP frame bytes 0x0B and 0x1C, which would cut the message — as hex escapes.
 */
export function escape(text: string | undefined): string {
  if (text === undefined) return '';
  return text.replace(/[\\|^&~\x00-\x1f\x7f]/g, (character) => ESCAPES[character] ?? `\\X${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}\\`);
}

/** Joined, without the trailing empty parts HL7 leaves out. */
export function trimJoin(parts: string[], separator: string): string {
  let end = parts.length;
  while (end > 0 && parts[end - 1] === '') end--;
  return parts.slice(0, end).join(separator);
}

export const components = (parts: string[]) => trimJoin(parts, '^');

/** HD inside a component: its parts are subcomponents. `withNamespace: false` gives IHE's `&oid&ISO`. */
export const hd = (authority: Authority, withNamespace = true) => [withNamespace ? escape(authority.namespace) : '', escape(authority.universalId), authority.type].join('&');

/** CX: an identifier, its assigning authority and (in PAM FR) its type (PI, INS). */
export const cx = (identifier: AssignedIdentifier, options: { type?: string; withNamespace?: boolean } = {}) =>
  components([escape(identifier.value), '', '', hd(identifier.authority, options.withNamespace), options.type ?? '']);

/** XPN: family, first given name, the other given names, prefix, and the name type (L legal, D in use). */
export const xpn = (name: PersonName, type: string) => components([escape(name.family), escape(name.given[0]), escape(name.given.slice(1).join(' ')), '', escape(name.prefix), '', type]);

/** XCN: a professional by national id (IDNPS) under the given authority, with the identifier type code. */
export function xcn(author: AuthorIdentity, authority: { hd: string; identifierType: string }): string {
  const name = [escape(author.name.family), escape(author.name.given[0]), '', '', escape(author.name.prefix)];
  if (!author.idnps) return components(['', ...name]);
  return components([escape(author.idnps), ...name, '', '', authority.hd, 'D', '', '', authority.identifierType]);
}

/** Administrative sex (HL7 table 0001). */
export const administrativeSex = (gender: PatientIdentity['gender']) => ({ male: 'M', female: 'F', other: 'O', unknown: 'U' })[gender ?? 'unknown'] ?? 'U';
