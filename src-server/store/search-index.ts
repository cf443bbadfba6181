import type { Statement } from 'better-sqlite3';
import { extractSearchValues, type ExtractedParameter, type IndexValue } from '../fhir/search/extract';
import type { SearchParameters } from '../fhir/search/parameters';
import { sharedRows } from '../fhir/search/shared-rows';
import type { Db } from './database';
import { WORKPLACE_CODES, WorkplaceRows } from './workplace-rows';

/**
 * Writes the search index rows of a version, inside the caller's transaction: a search run right after a write
 * sees it. Rows describe current versions only; replacing a version drops the rows of the one it replaces.
 */

export const INDEX_TABLES = ['idx_string', 'idx_token', 'idx_reference', 'idx_date', 'idx_number', 'idx_quantity', 'idx_uri', 'idx_composite'] as const;

type JsonObject = Record<string, unknown>;

export class SearchIndex {
  private readonly paramIds = new Map<string, number>();
  private readonly findParam: Statement<[string, string], { pid: number }>;
  private readonly insertParam: Statement<[string, string]>;
  private readonly deleteRows: Statement<[number]>[];
  /** Insert statements by table and row count: a write inserts each table's rows in one statement. */
  private readonly inserts = new Map<string, Statement>();
  /** During `deferRows`: the rows written and not inserted yet, by version (a version replaced meanwhile drops its own). */
  private deferred: Map<number, IndexRows> | undefined;
  /** A practitioner's workplace rows (workplace-rows.ts), derived again after the writes that change them. */
  private readonly workplaces: WorkplaceRows;

  constructor(
    private readonly db: Db,
    /** The store's registry of definitions (custom-parameters.ts): rows follow the definitions in force at each write. */
    private readonly parameters: { readonly definitions: SearchParameters },
  ) {
    this.findParam = db.prepare('SELECT pid FROM search_params WHERE resource_type = ? AND code = ?');
    this.insertParam = db.prepare('INSERT INTO search_params (resource_type, code) VALUES (?, ?)');
    this.deleteRows = INDEX_TABLES.map((table) => db.prepare(`DELETE FROM ${table} WHERE vseq = ?`));
    this.workplaces = new WorkplaceRows(db, this);
  }

  /** The definitions in force in the store: what its rows are extracted by, and its queries read. */
  get definitions(): SearchParameters {
    return this.parameters.definitions;
  }

  /** The id of a (resource type, parameter code) pair, created on first use. */
  paramId(resourceType: string, code: string): number {
    const key = `${resourceType}.${code}`;
    let pid = this.paramIds.get(key);
    if (pid === undefined) {
      pid = this.findParam.get(resourceType, code)?.pid ?? Number(this.insertParam.run(resourceType, code).lastInsertRowid);
      this.paramIds.set(key, pid);
    }
    return pid;
  }

  /** Indexes `resource` as version `vseq`, dropping the rows of `replacedVseq`. Call inside a transaction. */
  write(vseq: number, resource: JsonObject, replacedVseq?: number): void {
    const resourceType = resource.resourceType as string;
    this.store(resourceType, vseq, indexRows(extractSearchValues(this.definitions, resource), (code) => this.paramId(resourceType, code), vseq), replacedVseq);
  }

  /**
   * The `idx_reference` rows `resource` has as a version, each as [pid, target_type, target_id, url], without
   * writing them: an earlier version has none in the index, and visibility judges it by them.
   */
  referenceRows(resource: JsonObject): Array<[number, string, string, string]> {
    const [entry] = indexRows(extractSearchValues(this.definitions, resource, 'reference'), (code) => this.paramId(resource.resourceType as string, code));
    const values = entry?.[1] ?? [];
    const rows: Array<[number, string, string, string]> = [];
    for (let at = 0; at < values.length; at += TABLE_OF.reference.columns.length) rows.push([values[at + 1] as number, values[at + 2] as string, values[at + 3] as string, values[at + 4] as string]);
    return rows;
  }

  /** Writes index rows made ahead (`indexRows`, prepared-write.ts) as those of version `vseq`. */
  writeRows(resourceType: string, vseq: number, rows: IndexRows, replacedVseq?: number): void {
    for (const [kind, values] of rows) {
      const width = TABLE_OF[kind].columns.length;
      for (let at = 0; at < values.length; at += width) values[at] = vseq;
    }
    this.store(resourceType, vseq, rows, replacedVseq);
  }

  private store(resourceType: string, vseq: number, rows: IndexRows, replacedVseq: number | undefined): void {
    const workplaces = WorkplaceRows.concerns(resourceType);
    if (workplaces) this.workplaces.written(resourceType, vseq, replacedVseq);
    if (replacedVseq !== undefined) this.remove(replacedVseq);
    if (this.deferred) {
      this.deferred.set(vseq, rows);
      return;
    }
    for (const [kind, values] of rows) this.insertRows(kind, values);
    if (workplaces) this.workplaces.flush();
  }

  /**
   * Runs `work` (inside the caller's transaction) with the index rows of its writes inserted at its end, as many
   * to a statement as SQLite takes: for bulk writers, which search nothing in between (their rows are not there
   * until the end), and do not carry on after a write of theirs failed halfway (its rows would stay waiting).
   * Per-write statements were a good part of a directory import's time.
   */
  deferRows<T>(work: () => T): T {
    if (this.deferred) return work();
    this.deferred = new Map();
    try {
      const result = work();
      this.insertDeferred();
      return result;
    } finally {
      this.deferred = undefined;
      this.workplaces.discard();
    }
  }

  /**
   * Inserts the rows waiting in `deferRows` now (deferring goes on after): before the work reads the index, e.g. a
   * listener of current versions that searches (booking conflicts read the booked times of the index).
   */
  insertDeferred(): void {
    const deferred = this.deferred;
    if (deferred && deferred.size > 0) {
      const byTable = new Map<IndexKind, SqlValue[]>();
      for (const rows of deferred.values()) {
        for (const [kind, values] of rows) {
          const waiting = byTable.get(kind);
          if (waiting) for (const value of values) waiting.push(value);
          else byTable.set(kind, [...values]);
        }
      }
      deferred.clear();
      for (const [kind, values] of byTable) this.insertRows(kind, values);
    }
    this.workplaces.flush();
  }

  /** The ids of a type's parameters, by code (created on first use), for `indexRows` where the database is not. */
  paramIdsOf(resourceType: string, codes: Iterable<string>): Record<string, number> {
    return Object.fromEntries([...codes].map((code) => [code, this.paramId(resourceType, code)]));
  }

  /**
   * Inserts a table's rows (flat values) in statements of up to MAX_ROWS_PER_INSERT rows. One statement per table
   * rather than one per row: a Patient writes about ten rows, and the per-statement cost was a good part of them.
   */
  private insertRows(kind: IndexKind, values: SqlValue[]): void {
    const { table, columns } = TABLE_OF[kind];
    const width = columns.length;
    const step = MAX_ROWS_PER_INSERT * width;
    for (let start = 0; start < values.length; start += step) {
      const chunk = values.length <= step ? values : values.slice(start, start + step);
      const count = chunk.length / width;
      const key = `${kind}:${count}`;
      let statement = this.inserts.get(key);
      if (!statement) {
        const row = `(${columns.map(() => '?').join(', ')})`;
        // OR IGNORE: two values may normalise to the same row (e.g. "Hélène" and "helene" as :exact differ, not as value).
        statement = this.db.prepare(`INSERT OR IGNORE INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: count }, () => row).join(', ')}`);
        this.inserts.set(key, statement);
      }
      statement.run(chunk);
    }
  }

  remove(vseq: number): void {
    // A version written earlier in the same deferRows: its rows are still waiting, and only there.
    if (this.deferred?.delete(vseq)) return;
    for (const statement of this.deleteRows) statement.run(vseq);
  }

  /**
   * The rows of a parameter, as a condition on its index table (columns written by `column`): its own
   * rows, or those of the parameters that hold its values (see shared-rows.ts). It holds only our own integers
   * and names taken from the definitions (checked there), so it is SQL text, not bound values.
   */
  rowsOf(resourceType: string, code: string, column: (name: string) => string = (name) => name): string {
    const shared = sharedRows(this.definitions, resourceType, code);
    const pids = this.pidsOf(resourceType, code);
    const rows = pids.length === 1 ? `${column('pid')} = ${pids[0]}` : `${column('pid')} IN (${pids.join(', ')})`;
    const restriction = shared?.restriction;
    if (!restriction) return rows;
    return `${rows} AND ${column(restriction.column)} IN (${restriction.values.map((value) => `'${value}'`).join(', ')})`;
  }

  /** The parameter ids whose rows `rowsOf` reads. */
  pidsOf(resourceType: string, code: string): number[] {
    const codes = sharedRows(this.definitions, resourceType, code)?.codes ?? [code];
    // A practitioner's addresses and telecoms include their workplaces' (workplace-rows.ts).
    const workplaceCodes = resourceType === 'Practitioner' ? codes.flatMap((own) => (WORKPLACE_CODES[own] ? [WORKPLACE_CODES[own]] : [])) : [];
    return [...codes, ...workplaceCodes].map((other) => this.paramId(resourceType, other));
  }

}

type IndexKind = IndexValue['kind'];
type SqlValue = string | number;

/** A resource's index rows, by table: each table's rows flat, in TABLE_OF's column order, the vseq left at 0. */
export type IndexRows = Array<[IndexKind, SqlValue[]]>;

/** The index rows of a resource's search values as version `vseq` (0: set later); `pidOf` names a parameter of its type by id. */
export function indexRows(parameters: readonly ExtractedParameter[], pidOf: (code: string) => number, vseq = 0): IndexRows {
  const rows = new Map<IndexKind, SqlValue[]>();
  for (const parameter of parameters) {
    const pid = pidOf(parameter.code);
    parameter.values.forEach((value, ord) => {
      const row = rowOf(vseq, pid, value, ord);
      if (!row) return;
      const values = rows.get(value.kind);
      if (values) values.push(...row);
      else rows.set(value.kind, row);
    });
  }
  return [...rows];
}
const MAX_ROWS_PER_INSERT = 32;

const TABLE_OF: Record<IndexKind, { table: string; columns: readonly string[] }> = {
  string: { table: 'idx_string', columns: ['vseq', 'pid', 'part', 'value', 'exact'] },
  token: { table: 'idx_token', columns: ['vseq', 'pid', 'system', 'code', 'text'] },
  reference: { table: 'idx_reference', columns: ['vseq', 'pid', 'target_type', 'target_id', 'url'] },
  date: { table: 'idx_date', columns: ['vseq', 'pid', 'low', 'high'] },
  number: { table: 'idx_number', columns: ['vseq', 'pid', 'value', 'low', 'high'] },
  quantity: { table: 'idx_quantity', columns: ['vseq', 'pid', 'system', 'code', 'unit', 'value', 'low', 'high'] },
  uri: { table: 'idx_uri', columns: ['vseq', 'pid', 'value'] },
  composite: { table: 'idx_composite', columns: ['vseq', 'pid', 'ord', 'first_key', 'parts'] },
};

/** A value's row in its table, in TABLE_OF's column order (undefined: not indexed). */
function rowOf(vseq: number, pid: number, value: IndexValue, ord: number): SqlValue[] | undefined {
  switch (value.kind) {
    case 'string':
      return [vseq, pid, value.part, value.normalized, value.exact];
    case 'token':
      return [vseq, pid, value.system ?? '', value.code ?? '', value.text ?? ''];
    case 'reference':
      return [vseq, pid, value.type ?? '', value.id ?? '', value.url ?? ''];
    case 'date':
      return [vseq, pid, value.low, value.high];
    case 'number':
      return [vseq, pid, value.value, value.low, value.high];
    case 'quantity':
      return [vseq, pid, value.system ?? '', value.code ?? '', value.unit ?? '', value.value, value.low, value.high];
    case 'uri':
      return [vseq, pid, value.value];
    case 'composite':
      return isSearchable(value) ? [vseq, pid, ord, compositeKey(value.parts[0]), JSON.stringify(value.parts)] : undefined;
  }
}

/** A query names a token component by its code or system: a composite whose first token has neither is never found. */
function isSearchable(value: Extract<IndexValue, { kind: 'composite' }>): boolean {
  const first = value.parts[0];
  return first !== undefined && (first.kind !== 'token' || first.code !== null || first.system !== null);
}

/** The lookup key of a composite's first component: what a query can always name exactly. */
export function compositeKey(part: IndexValue): string {
  switch (part.kind) {
    case 'token':
      return part.code ?? '';
    case 'reference':
      return part.id ?? part.url ?? '';
    case 'string':
      return part.normalized;
    case 'uri':
      return part.value;
    default:
      return '';
  }
}
