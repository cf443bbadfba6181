import type { Statement } from 'better-sqlite3';
import { extractSearchValues, type IndexValue } from '../fhir/search/extract';
import { sharedRows } from '../fhir/search/shared-rows';
import type { Db } from './database';

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
  private readonly insert: {
    string: Statement;
    token: Statement;
    reference: Statement;
    date: Statement;
    number: Statement;
    quantity: Statement;
    uri: Statement;
    composite: Statement;
  };

  constructor(db: Db) {
    this.findParam = db.prepare('SELECT pid FROM search_params WHERE resource_type = ? AND code = ?');
    this.insertParam = db.prepare('INSERT INTO search_params (resource_type, code) VALUES (?, ?)');
    this.deleteRows = INDEX_TABLES.map((table) => db.prepare(`DELETE FROM ${table} WHERE vseq = ?`));
    // OR IGNORE: two values may normalise to the same row (e.g. "Hélène" and "helene" as :exact differ, not as value).
    this.insert = {
      string: db.prepare('INSERT OR IGNORE INTO idx_string (vseq, pid, part, value, exact) VALUES (?, ?, ?, ?, ?)'),
      token: db.prepare('INSERT OR IGNORE INTO idx_token (vseq, pid, system, code, text) VALUES (?, ?, ?, ?, ?)'),
      reference: db.prepare('INSERT OR IGNORE INTO idx_reference (vseq, pid, target_type, target_id, url) VALUES (?, ?, ?, ?, ?)'),
      date: db.prepare('INSERT OR IGNORE INTO idx_date (vseq, pid, low, high) VALUES (?, ?, ?, ?)'),
      number: db.prepare('INSERT OR IGNORE INTO idx_number (vseq, pid, value, low, high) VALUES (?, ?, ?, ?, ?)'),
      quantity: db.prepare('INSERT OR IGNORE INTO idx_quantity (vseq, pid, system, code, unit, value, low, high) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      uri: db.prepare('INSERT OR IGNORE INTO idx_uri (vseq, pid, value) VALUES (?, ?, ?)'),
      composite: db.prepare('INSERT OR IGNORE INTO idx_composite (vseq, pid, ord, first_key, parts) VALUES (?, ?, ?, ?, ?)'),
    };
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
    if (replacedVseq !== undefined) this.remove(replacedVseq);
    const resourceType = resource.resourceType as string;
    for (const parameter of extractSearchValues(resource)) {
      const pid = this.paramId(resourceType, parameter.code);
      parameter.values.forEach((value, ord) => this.insertValue(vseq, pid, value, ord));
    }
  }

  remove(vseq: number): void {
    for (const statement of this.deleteRows) statement.run(vseq);
  }

  /**
   * The rows of a parameter, as a condition on its index table (columns written by `column`): its own
   * rows, or those of the parameters that hold its values (see shared-rows.ts). It holds only our own integers
   * and names taken from the definitions (checked there), so it is SQL text, not bound values.
   */
  rowsOf(resourceType: string, code: string, column: (name: string) => string = (name) => name): string {
    const shared = sharedRows(resourceType, code);
    if (!shared) return `${column('pid')} = ${this.paramId(resourceType, code)}`;
    const pids = shared.codes.map((other) => this.paramId(resourceType, other));
    const rows = pids.length === 1 ? `${column('pid')} = ${pids[0]}` : `${column('pid')} IN (${pids.join(', ')})`;
    const { restriction } = shared;
    if (!restriction) return rows;
    return `${rows} AND ${column(restriction.column)} IN (${restriction.values.map((value) => `'${value}'`).join(', ')})`;
  }

  private insertValue(vseq: number, pid: number, value: IndexValue, ord: number): void {
    switch (value.kind) {
      case 'string':
        this.insert.string.run(vseq, pid, value.part, value.normalized, value.exact);
        break;
      case 'token':
        this.insert.token.run(vseq, pid, value.system ?? '', value.code ?? '', value.text ?? '');
        break;
      case 'reference':
        this.insert.reference.run(vseq, pid, value.type ?? '', value.id ?? '', value.url ?? '');
        break;
      case 'date':
        this.insert.date.run(vseq, pid, value.low, value.high);
        break;
      case 'number':
        this.insert.number.run(vseq, pid, value.value, value.low, value.high);
        break;
      case 'quantity':
        this.insert.quantity.run(vseq, pid, value.system ?? '', value.code ?? '', value.unit ?? '', value.value, value.low, value.high);
        break;
      case 'uri':
        this.insert.uri.run(vseq, pid, value.value);
        break;
      case 'composite':
        if (isSearchable(value)) this.insert.composite.run(vseq, pid, ord, compositeKey(value.parts[0]), JSON.stringify(value.parts));
        break;
    }
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
