import type { Db } from '../../src-server/store/database';

/**
 * A stand-in for the database handle that records the SQL (and bound values) the search engine runs, so the
 * benchmark can show `EXPLAIN QUERY PLAN` of exactly what was measured. The engine only calls `prepare` and the
 * statements' `all`/`get`; everything is forwarded to the real handle.
 */

export interface CapturedQuery {
  sql: string;
  values: unknown[];
}

export function capturingDb(db: Db): { db: Db; captured: CapturedQuery[] } {
  const captured: CapturedQuery[] = [];
  const prepare = (sql: string) => {
    const statement = db.prepare(sql);
    const record =
      (method: 'all' | 'get') =>
      (...values: unknown[]) => {
        captured.push({ sql, values });
        return (statement[method] as (...args: unknown[]) => unknown)(...values);
      };
    return { all: record('all'), get: record('get'), pluck: () => statement.pluck() };
  };
  return { db: { prepare } as unknown as Db, captured };
}

/** `EXPLAIN QUERY PLAN` as indented lines, as the sqlite3 shell prints it. */
export function queryPlan(db: Db, query: CapturedQuery): string[] {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.values) as Array<{ id: number; parent: number; detail: string }>;
  const depth = new Map<number, number>([[0, -1]]);
  return rows.map((row) => {
    const level = (depth.get(row.parent) ?? -1) + 1;
    depth.set(row.id, level);
    return `${'  '.repeat(level)}${row.detail}`;
  });
}

/** The SQL with its values written in, for reading (never run: values are bound when measuring). */
export function inlineValues(query: CapturedQuery): string {
  let next = 0;
  return query.sql.replace(/\?/g, () => {
    const value = query.values[next++];
    return typeof value === 'number' ? String(value) : `'${String(value).replace(/'/g, "''")}'`;
  });
}
