import { IDENTIFIER_SYSTEMS } from '../../directory/codes';
import type { ContactPoint } from '../../directory/mailboxes';
import { mssanteMailboxes } from '../../documents/routing';
import type { Json } from '../../fhir/json';
import type { FhirInteractions } from '../../rest/extensions';
import type { StoredResource } from '../../store/repository';

/**
 * Lifen clients name people and structures by their national numbers and mailboxes; the node's directory keeps them
 * as the import wrote them (docs/directory.md). These find the directory resource behind a number or an address.
 */

/** Lifen's RPPS system (docs/lifen-compatibility.md); the node keeps RPPS under the ANS system, and IDNPS = "8" + RPPS. */
export const LIFEN_RPPS_SYSTEM = 'http://lifen.fr/fhir/Identifier/practitioner-rpps';

/** An RPPS number: 11 digits. */
export const isRpps = (text: string) => /^\d{11}$/.test(text);
/** A FINESS number: 9 characters, digits but for Corsica's department (2A, 2B). */
export const isFiness = (text: string) => /^(\d{2}|2[AB])\d{7}$/i.test(text);
/** A mail address, as MSSanté mailboxes are. */
export const isAddress = (text: string) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(text);

type Search = FhirInteractions['searchEngine'];

/** The one resource of a directory type with one of these identifiers (`system|value`), or undefined. */
function findByIdentifier(search: Search, type: string, tokens: string[], base: string): StoredResource | undefined {
  const params = new URLSearchParams({ identifier: tokens.join(','), _count: '1' });
  return search.search({ resourceType: type, params, lenient: false, base }).matches[0];
}

/** The Practitioner with this RPPS (under the ANS system, or as IDNPS). */
export function practitionerByRpps(search: Search, rpps: string, base: string): StoredResource | undefined {
  return findByIdentifier(search, 'Practitioner', [`${IDENTIFIER_SYSTEMS.rpps}|${rpps}`, `${IDENTIFIER_SYSTEMS.idnps}|8${rpps}`], base);
}

/** The Organization with this FINESS (under the FINESS system, or as IDNST = "1" + FINESS). */
export function organizationByFiness(search: Search, finess: string, base: string): StoredResource | undefined {
  return findByIdentifier(search, 'Organization', [`${IDENTIFIER_SYSTEMS.finess}|${finess}`, `${IDENTIFIER_SYSTEMS.idnst}|1${finess}`], base);
}

/**
 * The directory's Practitioner or PractitionerRole that holds this address as an MSSanté mailbox, with that
 * ContactPoint. Not an Organization's: STU3 gives Organization no `telecom` search parameter.
 */
export function mailboxOwner(search: Search, address: string, base: string): { owner: Json; point: ContactPoint } | undefined {
  for (const resourceType of ['Practitioner', 'PractitionerRole']) {
    const params = new URLSearchParams({ telecom: address.replace(/[,|$\\]/g, (character) => `\\${character}`), _count: '10' });
    for (const stored of search.search({ resourceType, params, lenient: false, base }).matches) {
      const owner = JSON.parse(stored.json) as Json;
      const point = mssanteMailboxes(owner).find((candidate) => candidate.value?.toLowerCase() === address.toLowerCase());
      if (point) return { owner, point };
    }
  }
  return undefined;
}

/** A practitioner's PractitionerRoles (where the national import puts personal mailboxes), at most 100. */
export function rolesOf(search: Search, practitionerId: string, base: string): Json[] {
  const params = new URLSearchParams({ practitioner: `Practitioner/${practitionerId}`, _count: '100' });
  return search.search({ resourceType: 'PractitionerRole', params, lenient: false, base }).matches.map((stored) => JSON.parse(stored.json) as Json);
}
