import type { Statement } from 'better-sqlite3';
import { badRequest } from '../fhir/outcome';
import type { FhirOperation, OperationCall } from '../rest/extensions';
import type { FhirResponse } from '../rest/types';
import { compartmentParameters } from '../fhir/search/compartments';
import type { SearchParameters } from '../fhir/search/parameters';
import { localReference, qualified, type Clause } from '../store/search/conditions';
import { Visibility } from '../store/search/visibility';
import { isResourceType, resourceTypes } from '../fhir/validation/model';
import { statementCache, type Db } from '../store/database';
import type { StoredResource } from '../store/repository';
import type { SearchIndex } from '../store/search-index';

/**
 * SQL over one patient's compartment, for the patient operations ($everything, $care-pathway): the current versions
 * that point at the patient through the Patient CompartmentDefinition's parameters, read from the reference index
 * rows, which the lookup index (pid, target_id, target_type) returns in vseq order for each parameter. A UNION of
 * one SELECT per parameter, ordered by vseq, is then a merge of streams: a page reads its own rows, not the
 * patient's whole record.
 */

/** The alias of the reference index row in each SELECT: conditions added to it use `${ROW}.vseq`. */
export const ROW = 'x';

export interface CompartmentQuery {
  index: SearchIndex;
  base: string;
  /** A patient the caller sees (the operations' reach check answered 404 otherwise). */
  patientId: string;
  /** The caller's access rules; undefined: the whole node. */
  visibility?: Visibility;
}

/**
 * One SELECT of `vseq` (and `columns`) per set of index rows linking `resourceType` resources to the patient, each
 * with `where`. The Patient itself comes with the patients that link to it.
 *
 * A resource linked to a patient the caller sees, through the compartment's parameters, is one the caller sees
 * (visibility.ts, "follows its patient"): only the linked Patients pass the access rule, which costs a test per row.
 */
export function compartmentSelects(query: CompartmentQuery, resourceType: string, columns = '', where: Clause[] = []): Clause[] {
  const { index, base, patientId, visibility } = query;
  const visible = resourceType === 'Patient' ? visibility?.clause(resourceType, `${ROW}.vseq`) : undefined;
  const conditions = [...(visible ? [visible] : []), ...where];
  const rest = conditions.map((clause) => ` AND (${clause.sql})`).join('');
  const restValues = conditions.flatMap((clause) => clause.values);
  const selects: Clause[] = [];
  if (resourceType === 'Patient') {
    selects.push({ sql: `SELECT ${ROW}.vseq AS vseq${columns} FROM resources ${ROW} WHERE ${ROW}.resource_type = 'Patient' AND ${ROW}.resource_id = ?${rest}`, values: [patientId, ...restValues] });
  }
  const local = localReference(base, qualified(ROW));
  const rowSets = new Set(referenceCodes(index.definitions, resourceType).map((code) => index.rowsOf(resourceType, code, qualified(ROW))));
  for (const rows of rowSets) {
    selects.push({
      sql: `SELECT ${ROW}.vseq AS vseq${columns} FROM idx_reference ${ROW} WHERE ${rows} AND ${ROW}.target_id = ? AND ${ROW}.target_type = 'Patient' AND ${local.sql}${rest}`,
      values: [patientId, ...local.values, ...restValues],
    });
  }
  return selects;
}

/** The reference parameters that put a `resourceType` resource in a Patient's compartment. */
function referenceCodes(definitions: SearchParameters, resourceType: string): string[] {
  const parameters = definitions.ofType(resourceType);
  return (compartmentParameters('Patient', resourceType) ?? []).filter((code) => parameters.get(code)?.type === 'reference');
}

/** Every type of the Patient compartment, the Patient first. */
export function compartmentTypes(definitions: SearchParameters): readonly string[] {
  let types = inCompartment.get(definitions);
  if (!types) inCompartment.set(definitions, (types = ['Patient', ...resourceTypes().filter((type) => type !== 'Patient' && referenceCodes(definitions, type).length > 0).sort()]));
  return types;
}
const inCompartment = new WeakMap<SearchParameters, readonly string[]>();

/** `_type`: the listed types, each one of `allowed` (else 400, naming `what` they must be), or every allowed type. */
export function requestedTypes(raw: string | null, allowed: readonly string[], what: string): string[] {
  if (raw === null) return [...allowed];
  const types = raw.split(',').map((type) => type.trim()).filter(Boolean);
  for (const type of types) {
    if (!isResourceType(type) || !allowed.includes(type)) throw badRequest(`_type: '${type}' is not ${what}`, '_type');
  }
  return allowed.filter((type) => types.includes(type));
}

/**
 * A GET operation on a Patient (`Patient/<id>/$name`) that reads its compartment: `read` gets the call, the
 * compartment of the patient (whose reading rules the instance-level dispatch already applied) and a statement cache.
 */
export function patientOperation(name: string, db: Db, read: (call: OperationCall, compartment: CompartmentQuery, prepare: (sql: string) => Statement) => FhirResponse): FhirOperation {
  const prepare = statementCache(db, 200);
  return {
    name,
    level: 'instance',
    types: ['Patient'],
    methods: ['GET'],
    run(call) {
      const { request, base, id, interactions } = call;
      const index = interactions.repository.searchIndex;
      return read(call, { index, base, patientId: id!, visibility: new Visibility(index, base, request) }, prepare);
    },
  };
}

/** A version as the operations' queries select it (`v.vseq, v.resource_type, v.resource_id, v.version_id, v.last_updated, v.body`). */
export interface VersionRow {
  vseq: number;
  resource_type: string;
  resource_id: string;
  version_id: string;
  last_updated: string;
  body: string;
}

export function storedOf(row: VersionRow): StoredResource {
  return { resourceType: row.resource_type, id: row.resource_id, versionId: row.version_id, lastUpdated: row.last_updated, json: row.body, vseq: row.vseq };
}
