/** References as the document flow reads them: local `Type/id` (relative, or absolute on this node's base). */

import { arrayOf, isJson, type Json } from '../fhir/json';

export { arrayOf, isJson };
export type { Json };
export type Resource = Json & { resourceType: string; id?: string };

export interface LocalRef {
  type: string;
  id: string;
}

const LOCAL = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;

/** `Type/id`, or `<base>/Type/id`; undefined for anything else (another server, a version, `#contained`). */
export function localRef(reference: unknown, base: string): LocalRef | undefined {
  if (typeof reference !== 'string') return undefined;
  const relative = reference.startsWith(`${base}/`) ? reference.slice(base.length + 1) : reference;
  const match = LOCAL.exec(relative);
  return match ? { type: match[1], id: match[2] } : undefined;
}

export const refText = (ref: LocalRef) => `${ref.type}/${ref.id}`;

/** The reference text of a Reference element, if it has one. */
export function referenceOf(element: unknown): string | undefined {
  const reference = isJson(element) ? element.reference : undefined;
  return typeof reference === 'string' ? reference : undefined;
}

/**
 * The people and practices a recipient stands for, as the access rules know them (Practitioner, Organization): a
 * PractitionerRole stands for its practitioner and its organization.
 */
export function partiesOf(resource: Resource, base: string): LocalRef[] {
  if (resource.resourceType === 'Practitioner' || resource.resourceType === 'Organization') return resource.id ? [{ type: resource.resourceType, id: resource.id }] : [];
  if (resource.resourceType !== 'PractitionerRole') return [];
  return [localRef(referenceOf(resource.practitioner), base), localRef(referenceOf(resource.organization), base)].filter(
    (ref): ref is LocalRef => ref !== undefined && (ref.type === 'Practitioner' || ref.type === 'Organization'),
  );
}

/**
 * Whom a sender stands for: a Practitioner or an Organization itself, a PractitionerRole's practitioner (the person
 * acting in that role). Undefined for anything else, or a role that names no local practitioner.
 */
export function actingParty(resource: Resource, base: string): LocalRef | undefined {
  if (resource.resourceType === 'PractitionerRole') return partiesOf(resource, base).find((party) => party.type === 'Practitioner');
  return partiesOf(resource, base)[0];
}

