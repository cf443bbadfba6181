import type { Statement } from 'better-sqlite3';
import { badRequest } from '../fhir/outcome';
import type { FhirOperation } from '../rest/extensions';
import { localReference, qualified, type Clause } from '../store/search/conditions';
import { parseDateRange } from '../fhir/search/dates';
import { DATE_MAX, DATE_MIN } from '../fhir/search/index-values';
import type { Db } from '../store/database';
import type { StoredResource } from '../store/repository';
import type { SearchIndex } from '../store/search-index';
import { decodeCursor, encodeCursor, pageBundle } from './paging';
import { readPageCount, readSince } from '../rest/paging-parameters';
import { compartmentSelects, compartmentTypes, patientOperation, requestedTypes, ROW, storedOf, type VersionRow } from './patient-compartment';

/**
 * `GET Patient/<id>/$everything`: the patient's record — the Patient and every resource of its compartment
 * (encounters, episodes of care, documents, messages, appointments…) — newest first (lastUpdated, which is write
 * order), paged by a keyset cursor over the compartment, with the Practitioners and Organizations each page points
 * at. Only what the caller may see: types it has no READ scope for are left out, and every resource passes the
 * access rules (the operation's reach check already answered 404 for a hidden patient).
 *
 * Parameters: `_count`, `_cursor` (from the `next` link), `_since` (changed since an instant), `_type` (some types
 * only), `start`/`end` (care dates, STU3's own: a resource whose care date lies outside is left out; one without a
 * care date stays).
 */

/** The care date of the types whose `date` parameter is not it (or who have none). */
const CARE_DATE_OF: Readonly<Record<string, string>> = { DocumentReference: 'created', Communication: 'sent', CommunicationRequest: 'authored' };
/** Directory resources the record points at, which its reader needs (who wrote, who treats, where). */
const REFERENCED_TYPES = ['Practitioner', 'Organization'];

export function everythingOperation(db: Db): FhirOperation {
  return patientOperation('$everything', db, ({ request, base, id, interactions }, compartment, prepare) => {
    const { query, scopes } = request;
    const count = readPageCount(query.get('_count'));
    const after = decodeCursor(query.get('_cursor'), 1)?.[0];
    const since = readSince(query.get('_since'));
    const care = readCareRange(query.get('start'), query.get('end'));
    const types = requestedTypes(query.get('_type'), compartmentTypes(compartment.index.definitions), 'a type of the Patient compartment').filter((type) => scopes.allows(type, 'READ'));
    const { index } = compartment;
    const selects = types.flatMap((type) => {
      const where: Clause[] = [];
      if (after !== undefined) where.push({ sql: `${ROW}.vseq < ?`, values: [after] });
      if (since !== undefined) where.push({ sql: `(SELECT last_updated FROM resource_versions WHERE vseq = ${ROW}.vseq) >= ?`, values: [since] });
      const inCare = care && careDateClause(index, type, care);
      if (inCare) where.push(inCare);
      return compartmentSelects(compartment, type, '', where);
    });
    let rows: VersionRow[] = [];
    if (selects.length > 0) {
      // A UNION ordered by vseq merges the SELECTs' streams: the page reads about its own rows.
      const sql =
        `SELECT v.vseq, v.resource_type, v.resource_id, v.version_id, v.last_updated, v.body FROM (${selects.map((select) => select.sql).join(' UNION ')} ORDER BY vseq DESC LIMIT ?) c ` +
        'JOIN resource_versions v ON v.vseq = c.vseq ORDER BY v.vseq DESC';
      rows = prepare(sql).all(...selects.flatMap((select) => select.values), count + 1) as VersionRow[];
    }
    const page = rows.slice(0, count).map(storedOf);
    const referenced = referencedDirectory(page, base, prepare, (type, refId) => interactions.repository.read(type, refId)).filter((resource) => scopes.allows(resource.resourceType, 'READ'));
    const next = rows.length > count ? encodeCursor([rows[count - 1].vseq]) : undefined;
    return { status: 200, headers: {}, body: pageBundle({ url: `${base}/Patient/${id}/$everything`, query, matches: page, included: referenced, next }, base) };
  });
}

/** The Practitioners and Organizations the page's resources point at (local references), by type and id. */
function referencedDirectory(page: StoredResource[], base: string, prepare: (sql: string) => Statement, read: (type: string, id: string) => StoredResource | undefined): StoredResource[] {
  if (page.length === 0) return [];
  const local = localReference(base, qualified('ref'));
  const targets = prepare(
    `SELECT DISTINCT ref.target_type AS type, ref.target_id AS id FROM idx_reference ref WHERE ref.vseq IN (SELECT value FROM json_each(?))
     AND ref.target_type IN (${REFERENCED_TYPES.map(() => '?').join(', ')}) AND ${local.sql} ORDER BY 1, 2`,
  ).all(JSON.stringify(page.map((resource) => resource.vseq)), ...REFERENCED_TYPES, ...local.values) as Array<{ type: string; id: string }>;
  return targets.flatMap(({ type, id }) => read(type, id) ?? []);
}

/**
 * The care dates of a type's resources overlap [start, end), or it has none recorded. Undefined when the type has
 * no care date: its resources all stay.
 */
function careDateClause(index: SearchIndex, resourceType: string, range: { start: number; end: number }): Clause | undefined {
  const code = CARE_DATE_OF[resourceType] ?? 'date';
  if (index.definitions.ofType(resourceType).get(code)?.type !== 'date') return undefined;
  const rows = index.rowsOf(resourceType, code, qualified('d'));
  return {
    sql: `NOT EXISTS (SELECT 1 FROM idx_date d WHERE d.vseq = ${ROW}.vseq AND ${rows}) OR EXISTS (SELECT 1 FROM idx_date d WHERE d.vseq = ${ROW}.vseq AND ${rows} AND d.high > ? AND d.low < ?)`,
    values: [range.start, range.end],
  };
}

/** STU3's `start` and `end` (dates): all care from the start of `start` to the end of `end`; undefined without either. */
function readCareRange(start: string | null, end: string | null): { start: number; end: number } | undefined {
  if (start === null && end === null) return undefined;
  const bound = (raw: string | null, name: string) => {
    if (raw === null) return undefined;
    const range = parseDateRange(raw);
    if (!range) throw badRequest(`${name} must be a date (YYYY[-MM[-DD]]), not '${raw}'`, name);
    return range;
  };
  const from = bound(start, 'start');
  const to = bound(end, 'end');
  return { start: from?.start ?? DATE_MIN, end: to?.end ?? DATE_MAX };
}
