import type { Statement } from 'better-sqlite3';
import { compartmentParameters } from '../fhir/search/compartments';
import { DATE_MIN } from '../fhir/search/index-values';
import type { SearchParameters } from '../fhir/search/parameters';
import { resourceTypes } from '../fhir/validation/model';
import { statementCache, type Db } from './database';
import type { StoredResource } from './repository';
import type { SearchIndex } from './search-index';
import { localReference, qualified, type Clause } from './search/conditions';
import { Visibility, type Viewer } from './search/visibility';

/**
 * Queries over one patient's compartment, for the patient operations (patients/: `$everything`, `$care-pathway`): the
 * current versions that point at the patient through the Patient CompartmentDefinition's parameters, read from the
 * reference index rows, which the lookup index (pid, target_id, target_type) returns in vseq order for each parameter.
 * A UNION of one SELECT per parameter, ordered by vseq, is then a merge of streams: a page reads its own rows, not the
 * patient's whole record.
 */

/** The alias of the reference index row in each SELECT: conditions added to it use `${ROW}.vseq`. */
const ROW = 'x';

/** Whose compartment, and who reads it. */
export interface CompartmentReader extends Viewer {
  /** A patient the caller sees (the operations' reach check answered 404 otherwise). */
  patientId: string;
  /** This node's FHIR base: absolute references to it are local. */
  base: string;
}

/** A page of the patient's record, newest first (write order, which is lastUpdated order). */
export interface RecordQuery extends CompartmentReader {
  /** The types wanted (of `types()`). */
  types: readonly string[];
  /** Only versions stored before this one (the page before's last). */
  beforeVseq?: number;
  /** Only versions stamped at or after this instant. */
  since?: string;
  /** Only resources whose care date overlaps [start, end) (epoch ms), or that have none. */
  care?: { start: number; end: number };
  /** The `date` parameter that holds a type's care date, when it is not `date` itself. */
  careDateOf: Readonly<Record<string, string>>;
  limit: number;
}

/** A page of Encounters and EpisodesOfCare, newest first by the start of their period. */
export interface PathwayQuery extends CompartmentReader {
  types: readonly string[];
  /** Only those after this (start, vseq) key, going down. */
  after?: readonly [start: number, vseq: number];
  limit: number;
}

/** A version as the queries select it (`v.vseq, v.resource_type, v.resource_id, v.version_id, v.last_updated, v.body`). */
interface VersionRow {
  vseq: number;
  resource_type: string;
  resource_id: string;
  version_id: string;
  last_updated: string;
  body: string;
}

export class PatientCompartment {
  private readonly prepare: (sql: string) => Statement;
  private readonly typesOf = new WeakMap<SearchParameters, readonly string[]>();

  constructor(
    db: Db,
    private readonly index: SearchIndex,
  ) {
    this.prepare = statementCache(db, 200);
  }

  /** Every type of the Patient compartment, the Patient first. */
  types(): readonly string[] {
    const { definitions } = this.index;
    let types = this.typesOf.get(definitions);
    if (!types) this.typesOf.set(definitions, (types = ['Patient', ...resourceTypes().filter((type) => type !== 'Patient' && this.referenceCodes(type).length > 0).sort()]));
    return types;
  }

  /** A page of the record (`limit` versions at most, each with its vseq). */
  record(query: RecordQuery): Array<StoredResource & { vseq: number }> {
    const selects = query.types.flatMap((type) => {
      const where: Clause[] = [];
      if (query.beforeVseq !== undefined) where.push({ sql: `${ROW}.vseq < ?`, values: [query.beforeVseq] });
      if (query.since !== undefined) where.push({ sql: `(SELECT last_updated FROM resource_versions WHERE vseq = ${ROW}.vseq) >= ?`, values: [query.since] });
      const inCare = query.care && this.careDateClause(type, query.careDateOf[type] ?? 'date', query.care);
      if (inCare) where.push(inCare);
      return this.selects(query, type, '', where);
    });
    if (selects.length === 0) return [];
    // A UNION ordered by vseq merges the SELECTs' streams: the page reads about its own rows.
    const sql =
      `SELECT v.vseq, v.resource_type, v.resource_id, v.version_id, v.last_updated, v.body FROM (${selects.map((select) => select.sql).join(' UNION ')} ORDER BY vseq DESC LIMIT ?) c ` +
      'JOIN resource_versions v ON v.vseq = c.vseq ORDER BY v.vseq DESC';
    return (this.prepare(sql).all(...selects.flatMap((select) => select.values), query.limit) as VersionRow[]).map(storedOf);
  }

  /** The resources of these types the versions point at (local references), by type and id, without duplicates. */
  referencedBy(vseqs: readonly number[], types: readonly string[], base: string): Array<{ type: string; id: string }> {
    if (vseqs.length === 0) return [];
    const local = localReference(base, qualified('ref'));
    return this.prepare(
      `SELECT DISTINCT ref.target_type AS type, ref.target_id AS id FROM idx_reference ref WHERE ref.vseq IN (SELECT value FROM json_each(?))
       AND ref.target_type IN (${types.map(() => '?').join(', ')}) AND ${local.sql} ORDER BY 1, 2`,
    ).all(JSON.stringify(vseqs), ...types, ...local.values) as Array<{ type: string; id: string }>;
  }

  /** A page of the pathway, each version with the start of its period (DATE_MIN without one: those come last). */
  pathway(query: PathwayQuery): Array<StoredResource & { vseq: number; start: number }> {
    // The start of the period: the smallest low bound of the `date` rows (the period's, for both types).
    const selects = query.types.flatMap((type) =>
      this.selects(query, type, `, coalesce((SELECT min(d.low) FROM idx_date d WHERE d.vseq = ${ROW}.vseq AND ${this.index.rowsOf(type, 'date', qualified('d'))}), ${DATE_MIN}) AS start`),
    );
    if (selects.length === 0) return [];
    const after = query.after ? { sql: 'WHERE c.start < ? OR (c.start = ? AND c.vseq < ?)', values: [query.after[0], query.after[0], query.after[1]] } : { sql: '', values: [] };
    // The page's keys first, then its bodies: sorting carries only (vseq, start), not every stored resource.
    const sql =
      `SELECT p.vseq, p.start, v.resource_type, v.resource_id, v.version_id, v.last_updated, v.body FROM (` +
      `SELECT c.vseq, c.start FROM (${selects.map((select) => select.sql).join(' UNION ')}) c ${after.sql} ORDER BY c.start DESC, c.vseq DESC LIMIT ?` +
      ') p JOIN resource_versions v ON v.vseq = p.vseq ORDER BY p.start DESC, p.vseq DESC';
    const rows = this.prepare(sql).all(...selects.flatMap((select) => select.values), ...after.values, query.limit) as Array<VersionRow & { start: number }>;
    return rows.map((row) => ({ ...storedOf(row), start: row.start }));
  }

  /**
   * One SELECT of `vseq` (and `columns`) per set of index rows linking `resourceType` resources to the patient, each
   * with `where`. The Patient itself comes with the patients that link to it.
   *
   * A resource linked to a patient the caller sees, through the compartment's parameters, is one the caller sees
   * (visibility.ts, "follows its patient"): only the linked Patients pass the access rule, which costs a test per row.
   */
  private selects(reader: CompartmentReader, resourceType: string, columns = '', where: Clause[] = []): Clause[] {
    const { base, patientId } = reader;
    const visible = resourceType === 'Patient' ? new Visibility(this.index, base, reader).clause(resourceType, `${ROW}.vseq`) : undefined;
    const conditions = [...(visible ? [visible] : []), ...where];
    const rest = conditions.map((clause) => ` AND (${clause.sql})`).join('');
    const restValues = conditions.flatMap((clause) => clause.values);
    const selects: Clause[] = [];
    if (resourceType === 'Patient') {
      selects.push({ sql: `SELECT ${ROW}.vseq AS vseq${columns} FROM resources ${ROW} WHERE ${ROW}.resource_type = 'Patient' AND ${ROW}.resource_id = ?${rest}`, values: [patientId, ...restValues] });
    }
    const local = localReference(base, qualified(ROW));
    const rowSets = new Set(this.referenceCodes(resourceType).map((code) => this.index.rowsOf(resourceType, code, qualified(ROW))));
    for (const rows of rowSets) {
      selects.push({
        sql: `SELECT ${ROW}.vseq AS vseq${columns} FROM idx_reference ${ROW} WHERE ${rows} AND ${ROW}.target_id = ? AND ${ROW}.target_type = 'Patient' AND ${local.sql}${rest}`,
        values: [patientId, ...local.values, ...restValues],
      });
    }
    return selects;
  }

  /** The reference parameters that put a `resourceType` resource in a Patient's compartment. */
  private referenceCodes(resourceType: string): string[] {
    const parameters = this.index.definitions.ofType(resourceType);
    return (compartmentParameters('Patient', resourceType) ?? []).filter((code) => parameters.get(code)?.type === 'reference');
  }

  /**
   * The care dates (parameter `code`) of a type's resources overlap [start, end), or it has none recorded. Undefined
   * when the type has no such date parameter: its resources all stay.
   */
  private careDateClause(resourceType: string, code: string, range: { start: number; end: number }): Clause | undefined {
    if (this.index.definitions.ofType(resourceType).get(code)?.type !== 'date') return undefined;
    const rows = this.index.rowsOf(resourceType, code, qualified('d'));
    return {
      sql: `NOT EXISTS (SELECT 1 FROM idx_date d WHERE d.vseq = ${ROW}.vseq AND ${rows}) OR EXISTS (SELECT 1 FROM idx_date d WHERE d.vseq = ${ROW}.vseq AND ${rows} AND d.high > ? AND d.low < ?)`,
      values: [range.start, range.end],
    };
  }
}

function storedOf(row: VersionRow): StoredResource & { vseq: number } {
  return { resourceType: row.resource_type, id: row.resource_id, versionId: row.version_id, lastUpdated: row.last_updated, json: row.body, vseq: row.vseq };
}
