import { badRequest, notFound } from '../fhir/outcome';
import { extractSearchValues } from '../fhir/search/extract';
import type { SearchParameters } from '../fhir/search/parameters';
import { isResourceType } from '../fhir/validation/model';
import { assertValid } from '../fhir/validation/validate';
import { refuseWriteOnly } from '../fhir/write-only';
import { checkCustomParameter } from '../fhir/search/custom-parameters';
import { indexRows, type IndexRows } from './search-index';

/**
 * The part of a write that needs no database: the checks every resource passes, its JSON and its index rows. A bulk
 * writer (the directory import) runs it in a thread of its own, so that the writer's thread only stores.
 */

type JsonObject = Record<string, unknown>;

/** A resource without meta that passed `checkWrite`, as JSON and index rows. */
export interface PreparedWrite {
  resourceType: string;
  id: string;
  /** The resource's JSON without resourceType and id (they come first in a stored version, then its meta). */
  rest: string;
  rows: IndexRows;
}

/** The checks every write obeys, whatever path it came by. */
export function checkWrite(resourceType: string, resource: JsonObject): void {
  if (!isResourceType(resourceType)) throw notFound('resource-type-unknown', `Unknown resource type '${resourceType}'`);
  if (resource.resourceType !== resourceType) {
    throw badRequest('body-not-resource', 
      `The resource is a ${String(resource.resourceType)}, but it was sent to the ${resourceType} endpoint`,
      'resourceType',
    );
  }
  assertValid(resource);
  refuseWriteOnly(resourceType, resource);
  if (resourceType === 'SearchParameter') checkCustomParameter(resource);
}

/**
 * Checks `resource` and makes its index rows under `definitions` (the store's in force); `pidOf` names a parameter of
 * its type by id (SearchIndex.paramIdsOf). Throws a FhirError when the checks refuse it. The rows do not depend on the
 * meta the store adds (`_lastUpdated` is not extracted), so they hold for the version the write makes. A
 * SearchParameter changes what the store extracts: it is written through Repository.update, not prepared.
 */
export function prepareWrite(resource: JsonObject & { resourceType: string; id: string }, definitions: SearchParameters, pidOf: (code: string) => number): PreparedWrite {
  const { resourceType, id, meta, ...rest } = resource;
  if (meta !== undefined || resourceType === 'SearchParameter') throw new Error(`prepareWrite takes resources without meta, and no SearchParameter (${resourceType}/${id})`);
  checkWrite(resourceType, resource);
  return { resourceType, id, rest: JSON.stringify(rest), rows: indexRows(extractSearchValues(definitions, resource), pidOf) };
}

/** The JSON of a prepared resource, with `meta` when given: what JSON.stringify({ resourceType, id, meta, ...rest }) makes. */
export function preparedJson({ resourceType, id, rest }: PreparedWrite, meta?: { versionId: string; lastUpdated: string }): string {
  const head = `{"resourceType":${JSON.stringify(resourceType)},"id":${JSON.stringify(id)}${meta ? `,"meta":${JSON.stringify(meta)}` : ''}`;
  return rest === '{}' ? `${head}}` : `${head},${rest.slice(1)}`;
}
