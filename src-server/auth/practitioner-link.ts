import type { SearchEngine } from '../store/search/search';

/**
 * Which directory Practitioner a professional is, from the national id the identity provider gives (IDNPS, Pro
 * Santé Connect's `SubjectNameID`). The directory carries it as an IDNPS identifier, or as the RPPS number it is
 * made of (IDNPS = "8" + RPPS for professionals registered in the RPPS).
 */

export const IDNPS_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.1';
export const RPPS_SYSTEM = 'https://rpps.esante.gouv.fr';

export type PractitionerFinder = (idnps: string) => string | undefined;

export function practitionerFinder(search: SearchEngine): PractitionerFinder {
  const byIdentifier = (system: string, value: string) =>
    search.search({ resourceType: 'Practitioner', params: new URLSearchParams({ identifier: `${system}|${value}`, _count: '1' }), lenient: false, base: '' })
      .matches[0]?.id;
  return (idnps) => byIdentifier(IDNPS_SYSTEM, idnps) ?? (idnps.startsWith('8') ? byIdentifier(RPPS_SYSTEM, idnps.slice(1)) : undefined);
}
