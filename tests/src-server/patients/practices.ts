import { fhirFetch, type TestNode } from '../../helpers/node';
import { clientToken, userToken } from '../../helpers/users';

/**
 * Two practices on one node, as the patient tests need them: practice A (Dr Alpha, a1, and a secretary) and
 * practice B (Dr Bernard, b1), with their directory entries, users logged in, and helpers to call the API as them.
 */

export type Json = Record<string, any>;

export const PRACTICE_A = 'cabinet-lilas';
export const PRACTICE_B = 'msp-port';
export const NIR = 'urn:oid:1.2.250.1.213.1.4.8';
export const IDENTITY_RELIABILITY = 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability';
export const IDENTITY_STATUS = 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status';

export interface Practices {
  /** Calls the API as a1, secretary (of A), b1 or owner; the body parsed when it is JSON. */
  as(who: string, path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; body: Json }>;
  /** Adds an API client with these scopes acting for a practitioner, as `who`. */
  addClient(who: string, scopes: string[], practitionerId: string): Promise<void>;
}

export function setUpPractices(node: TestNode): Practices {
  const { repository } = node;
  for (const [id, family] of [['a1', 'Alpha'], ['b1', 'Bernard']]) repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family }] });
  repository.update('Organization', PRACTICE_A, { resourceType: 'Organization', id: PRACTICE_A, name: 'Cabinet des Lilas' });
  repository.update('Organization', PRACTICE_B, { resourceType: 'Organization', id: PRACTICE_B, name: 'Maison de santé du Port' });
  const tokens: Record<string, string> = {
    owner: node.token,
    a1: userToken(node.db, { userId: 'u-a1', roles: 'practitioner', practitionerId: 'a1', organizations: PRACTICE_A }),
    secretary: userToken(node.db, { userId: 'u-sec', roles: 'staff', practitionerId: null, organizations: PRACTICE_A }),
    b1: userToken(node.db, { userId: 'u-b1', roles: 'practitioner', practitionerId: 'b1', organizations: PRACTICE_B }),
  };
  return {
    async as(who, path, init = {}) {
      const response = await fhirFetch(node.fhir, tokens[who], path, init);
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as Json) : {} };
    },
    async addClient(who, scopes, practitionerId) {
      tokens[who] = await clientToken(node, { scopes, practitionerId });
    },
  };
}

/**
 * A Patient followed by `gp` (`Practitioner/a1`…), with an INS when `nir` is given, without a trust status (as typed
 * in, or sent by software that does not say: a user may write it, unlike RECUP or QUAL, which only software sets).
 */
export function patient(gp: string, fields: Json = {}, nir?: string): Json {
  return {
    resourceType: 'Patient',
    ...(nir ? { identifier: [{ use: 'official', system: NIR, value: nir }] } : {}),
    generalPractitioner: [{ reference: gp }],
    ...fields,
  };
}

export function reliability(status: string): Json {
  return { url: IDENTITY_RELIABILITY, extension: [{ url: 'identityStatus', valueCoding: { system: IDENTITY_STATUS, code: status } }] };
}

/** `Type/id` of a Bundle's entries, in order, of the given search mode. */
export function references(bundle: Json, mode = 'match'): string[] {
  return (bundle.entry ?? []).filter((entry: Json) => entry.search?.mode === mode).map((entry: Json) => `${entry.resource.resourceType}/${entry.resource.id}`);
}
