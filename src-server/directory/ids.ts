import { createHash } from 'node:crypto';

/**
 * Resource ids derived from the national identifiers, so that a re-import finds what the last one wrote and every
 * node (and a directory peer) names the same person or site alike. FHIR ids are [A-Za-z0-9-.]{1,64}: a value that
 * does not fit is replaced by a digest of itself.
 */

const SAFE_PART = /^[A-Za-z0-9.-]{1,40}$/;

export const digest = (text: string, length = 16) => createHash('sha1').update(text).digest('hex').slice(0, length);

const idPart = (value: string) => (SAFE_PART.test(value) ? value : `h${digest(value, 24)}`);

/** A person by national id (IDNPS: "8" + RPPS or "0" + ADELI, so the two registers never collide). */
export const practitionerId = (idnps: string) => `pp-${idPart(idnps)}`;

/** A site by the most stable identifier it has: RASS technical id, else FINESS, else SIRET. */
export function organizationId(site: { structureTechnicalId: string; finess: string; siret: string }): string | undefined {
  if (site.structureTechnicalId) return `st-${idPart(site.structureTechnicalId)}`;
  if (site.finess) return `st-finess-${idPart(site.finess)}`;
  if (site.siret) return `st-siret-${idPart(site.siret)}`;
  return undefined;
}

/** An activity: the person's id (so a person's roles are one key range) and a digest of what makes it distinct. */
export const practitionerRoleId = (practitioner: string, activityKey: string[]) => `${practitioner}-${digest(activityKey.join('|'))}`;

export const ID_PREFIXES = { Practitioner: 'pp-', PractitionerRole: 'pp-', Organization: 'st-' } as const;

/** The types an activity import writes. */
export type ImportedType = keyof typeof ID_PREFIXES;
