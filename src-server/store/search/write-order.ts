import type { Statement } from 'better-sqlite3';
import { PartialTextMatches, type Clause, type IndexRows, type SqlValue } from './conditions';

/**
 * Pages of the default order (newest first) read from the index rows of one filter, the driver, in write order.
 *
 * The repository stamps lastUpdated monotonically, so `vseq DESC` is `lastUpdated DESC, vseq DESC`, and index rows
 * describe current versions only, one resource type per parameter id: the page is the first distinct vseqs of the
 * driver's rows that pass the other filters, without walking the type's resources. How those rows are read:
 * - `stream`: an index returns them in vseq order (equality on every lookup column): the page reads its own rows;
 * - `sort`: fewer than `probeLimit` match (counted through the lookup index): read them all, sort, keep the page;
 * - `walk`: many match: walk the table's primary key (vseq first) newest first, testing each row, for at most
 *   `walkBudget` rows; a walk that runs out before the page is full (matches bunched in the past) sorts instead.
 */

export interface WriteOrderOptions {
  /** Matches counted at most when choosing between sorting and walking. */
  probeLimit: number;
  /** Index rows a walk reads at most before sorting instead. */
  walkBudget: number;
  /**
   * Resources a page that no filter can drive (`_has`, `:not`, `:missing`) tests one by one, newest first, before it
   * is read over the type's resources instead (SearchEngine.newestWalk). Each test costs several lookups: national
   * directory, cold, 2,000 take some 80 ms.
   */
  testBudget: number;
}

export const DEFAULT_WRITE_ORDER: WriteOrderOptions = { probeLimit: 2000, walkBudget: 20_000, testBudget: 2000 };

export type PagePlan = 'stream' | 'values' | 'sort' | 'walk' | 'walk+sort' | 'list';

/**
 * The most (pid, value) pairs a page reads one by one (IndexRows.byValue): a prefix matches a few values (`lyon`,
 * `martin`, `martinez`), a short one thousands (`m`), which are read as any other rows.
 */
const MAX_VALUE_STREAMS = 16;

/** The alias of the driver's index table: the other filters constrain `d.vseq`. */
export const DRIVER = 'd';
/** The alias of the driver row's version, joined only when another filter reads its id or lastUpdated. */
export const DRIVER_VERSION = 'rv';

export interface WriteOrderQuery {
  /** The rows of each filter that can drive the page (aliased DRIVER). */
  candidates: IndexRows[];
  /** The other conditions, for the chosen candidate (its position in `candidates`). */
  rest: (driver: number) => { where: Clause; readsVersion: boolean; restricts: boolean };
  cursor?: { vseq: number; backwards: boolean };
  /** Rows wanted (the page and one more, to know whether there is a next one). */
  limit: number;
}

export interface WriteOrderPage<Row> {
  /** Newest first, or oldest first going backwards. */
  rows: Row[];
  plan: PagePlan;
}

export class WriteOrderPager {
  constructor(
    private readonly prepare: (sql: string) => Statement,
    readonly options: WriteOrderOptions = DEFAULT_WRITE_ORDER,
  ) {}

  page<Row>(query: WriteOrderQuery): WriteOrderPage<Row> {
    // A driver whose matches are already known, in write order (the text index's): walked in JS, chunk by chunk.
    const listed = query.candidates.findIndex((candidate) => candidate.ordered !== undefined);
    if (listed >= 0) return { rows: this.walkList<Row>(query.candidates[listed], query.rest(listed), query), plan: 'list' };
    // A lone prefix is not counted first: the newest rows of each value it matches are the page (valuesPage).
    const lone = query.candidates.length === 1 && query.candidates[0].byValue !== undefined;
    const chosen: { index: number; many?: boolean } = lone ? { index: 0 } : this.chooseDriver(query.candidates);
    const driver = query.candidates[chosen.index];
    const rest = query.rest(chosen.index);
    const byValue = driver.byValue ? this.valuesPage<Row>(driver, rest, query) : undefined;
    if (byValue) return { rows: byValue, plan: 'values' };
    // A lone prefix of too many values is read as any driver: counted now.
    const many = chosen.many ?? this.chooseDriver(query.candidates).many;
    const read = (source: Source, distinct = true) =>
      this.prepare(pageSql(driver, rest, source, query.cursor, distinct)).all(...pageValues(driver, rest, source, query, this.options)) as Row[];
    // Sorting without DISTINCT keeps only the top rows (a bounded sorter, about twice as fast on many matches as
    // the de-duplicating b-tree); a resource with several matching rows then repeats, and only then is the page
    // read again with DISTINCT.
    const sorted = () => {
      const rows = read('sort', false);
      return new Set(rows.map((row) => (row as { vseq: number }).vseq)).size === rows.length ? rows : read('sort');
    };
    if (driver.streams) return { rows: read('stream'), plan: 'stream' };
    if (many) {
      const walked = read('walk');
      if (walked.length >= query.limit) return { rows: walked, plan: 'walk' };
      return { rows: sorted(), plan: 'walk+sort' };
    }
    return { rows: sorted(), plan: 'sort' };
  }

  /**
   * The resources the query matches, or `limit` when there are at least that many: the distinct rows of the driver
   * with the fewest matches that pass the other filters, read through its lookup index until `limit` (a count of
   * every resource of the type testing each would read all of them when matches are fewer than the limit); a text
   * filter that nothing else restricts takes the index's count, or counts its list.
   */
  count(query: Pick<WriteOrderQuery, 'candidates' | 'rest'>, limit: number): number {
    const listed = query.candidates.findIndex((candidate) => candidate.ordered !== undefined);
    // One candidate is the driver without counting it first.
    const index = listed >= 0 ? listed : query.candidates.length === 1 ? 0 : this.chooseDriver(query.candidates).index;
    const candidate = query.candidates[index];
    const rest = query.rest(index);
    if (listed >= 0) {
      const { ordered = [], partial, counted } = candidate;
      // The text filter alone, on rows the caller may all see (a directory type, or the owner): its list is the
      // count. The index drops a version once it is replaced or deleted, so once it has caught up with the change
      // log every vseq it lists is a current match, each once; while it lags, the count is off by the writes not
      // yet indexed (docs/access.md, "The text index"). Testing each candidate's version was most of a default
      // text search's time (national directory: ~20 ms of 29 for name=martin, up to 150 ms cold).
      if (!rest.restricts && counted !== undefined) return Math.min(counted, limit);
      if (!rest.restricts && (!partial || ordered.length >= limit)) return Math.min(ordered.length, limit);
      if (partial) throw new PartialTextMatches();
    }
    const driver: IndexRows = listed >= 0 ? { ...candidate, tableValues: [JSON.stringify(candidate.ordered)] } : candidate;
    const version = rest.readsVersion ? ` CROSS JOIN resource_versions ${DRIVER_VERSION} ON ${DRIVER_VERSION}.vseq = ${DRIVER}.vseq` : '';
    // A list holds each vseq once: DISTINCT only over index rows, where a resource may have several.
    const sql = `SELECT count(*) AS n FROM (SELECT ${listed >= 0 ? '' : 'DISTINCT '}${DRIVER}.vseq FROM ${driver.table} ${DRIVER}${version} WHERE (${driver.where.sql}) AND (${rest.where.sql}) LIMIT ?)`;
    return (this.prepare(sql).get(...(driver.tableValues ?? []), ...driver.where.values, ...rest.where.values, limit) as { n: number }).n;
  }

  /**
   * The page from a driver's known vseqs (newest first): SQL tests a chunk of them against the other filters, the
   * first the size of the page (most searches have no other filter), then doubling until the page is full, so a
   * broad text query reads a few dozen candidates, not thousands.
   */
  private walkList<Row>(driver: IndexRows, rest: { where: Clause; readsVersion: boolean }, query: WriteOrderQuery): Row[] {
    const { cursor } = query;
    let vseqs = driver.ordered ?? [];
    if (cursor) vseqs = vseqs.filter((vseq) => (cursor.backwards ? vseq > cursor.vseq : vseq < cursor.vseq));
    if (cursor?.backwards) vseqs = [...vseqs].reverse();
    const rows: Row[] = [];
    for (let start = 0, size = query.limit; start < vseqs.length && rows.length < query.limit; start += size, size *= 2) {
      const chunk: IndexRows = { ...driver, tableValues: [JSON.stringify(vseqs.slice(start, start + size))] };
      const wanted = { ...query, cursor: undefined, limit: query.limit - rows.length };
      const found = this.prepare(pageSql(chunk, rest, 'sort', undefined, false)).all(...pageValues(chunk, rest, 'sort', wanted, this.options)) as Row[];
      // A list holds each vseq once, so no DISTINCT. pageSql reads newest first; going backwards the page is oldest first.
      rows.push(...(cursor?.backwards ? found.reverse() : found));
    }
    if (rows.length < query.limit && driver.partial) throw new PartialTextMatches();
    return rows;
  }

  /**
   * The candidate with the fewest matches (counted up to probeLimit), a streaming one on a tie: the other filters
   * test the driver's rows one by one, so the fewer the better. A lone streaming candidate is not counted. Past the
   * first, a candidate is counted only until it has more matches than the best so far: a broad chain next to a
   * narrow filter (a practitioner's roles at an organisation) stops after a handful of rows, not probeLimit.
   */
  private chooseDriver(candidates: IndexRows[]): { index: number; many: boolean } {
    if (candidates.length === 1 && candidates[0].streams) return { index: 0, many: false };
    let best = { index: 0, matches: Infinity, streams: false };
    for (const [index, rows] of candidates.entries()) {
      const matches = this.countUpTo(rows, Math.min(this.options.probeLimit, best.matches + 1));
      if (matches < best.matches || (matches === best.matches && rows.streams && !best.streams)) best = { index, matches, streams: rows.streams };
      if (matches === 0) break;
    }
    return { index: best.index, many: best.matches >= this.options.probeLimit };
  }

  /**
   * The page from the newest rows of each (pid, value) pair of a byValue driver, each pair's read in vseq order by
   * the lookup index, merged: some `limit` rows a pair, where a sort read every match (national directory,
   * `family=MARTIN`: 23,000 rows, 9 ms, after a walk of the newest 20,000 index rows had found too few). Undefined
   * when the range holds more than MAX_VALUE_STREAMS pairs.
   */
  private valuesPage<Row>(driver: IndexRows, rest: { where: Clause; readsVersion: boolean }, query: WriteOrderQuery): Row[] | undefined {
    // Each pair found by one seek past the previous one, not by reading the rows between: the range's lower bound
    // (where.values[0]) moved past the value found.
    const [low, high] = driver.where.values;
    const nextValue = this.prepare(`SELECT ${DRIVER}.value AS value FROM ${driver.table} ${DRIVER} WHERE ${DRIVER}.pid = ? AND (${driver.where.sql}) ORDER BY ${DRIVER}.value LIMIT 1`).pluck();
    const pairs: Array<[number, string]> = [];
    for (const pid of driver.byValue ?? []) {
      for (let value = nextValue.get(pid, low, high) as string | undefined; value !== undefined; ) {
        if (pairs.length === MAX_VALUE_STREAMS) return undefined;
        pairs.push([pid, value]);
        // Normalised values hold no U+0000: the smallest string above the value is the value followed by it.
        value = nextValue.get(pid, `${value}\u0000`, high) as string | undefined;
      }
    }
    if (pairs.length === 0) return [];
    const { cursor } = query;
    const direction = cursor?.backwards ? 'ASC' : 'DESC';
    const version = rest.readsVersion ? ` CROSS JOIN resource_versions ${DRIVER_VERSION} ON ${DRIVER_VERSION}.vseq = ${DRIVER}.vseq` : '';
    // Equality on pid and value: the lookup index returns the pair's rows in vseq order, so DISTINCT and LIMIT stop
    // early; a resource may hold a value twice (two names), and the pairs' pages may share resources (UNION).
    const arm =
      `SELECT vseq FROM (SELECT DISTINCT ${DRIVER}.vseq AS vseq FROM ${driver.table} ${DRIVER}${version} WHERE ${DRIVER}.pid = ? AND ${DRIVER}.value = ? ` +
      `AND (${driver.where.sql}) AND (${rest.where.sql})${cursor ? ` AND ${DRIVER}.vseq ${cursor.backwards ? '>' : '<'} ?` : ''} ORDER BY ${DRIVER}.vseq ${direction} LIMIT ?)`;
    const sql =
      `SELECT v.vseq, v.resource_type, v.resource_id, v.last_updated, v.version_id, v.body, v.last_updated AS k0 ` +
      `FROM (${pairs.map(() => arm).join(' UNION ')} ORDER BY vseq ${direction} LIMIT ?) page JOIN resource_versions v ON v.vseq = page.vseq ORDER BY page.vseq ${direction}`;
    const values = pairs.flatMap(([pid, value]) => [pid, value, ...driver.where.values, ...rest.where.values, ...(cursor ? [cursor.vseq] : []), query.limit]);
    return this.prepare(sql).all(...values, query.limit) as Row[];
  }

  private countUpTo(rows: IndexRows, limit: number): number {
    const sql = `SELECT count(*) AS n FROM (SELECT 1 FROM ${rows.table} ${DRIVER} WHERE ${rows.where.sql} LIMIT ?)`;
    return (this.prepare(sql).get(...(rows.tableValues ?? []), ...rows.where.values, limit) as { n: number }).n;
  }
}

type Source = 'stream' | 'sort' | 'walk';

/**
 * The page's vseqs first, then their bodies: joining the bodies before the LIMIT would read every match's. The
 * driver table is the outer loop (CROSS JOIN keeps SQLite from walking resource_versions instead).
 */
function pageSql(driver: IndexRows, rest: { where: Clause; readsVersion: boolean }, source: Source, cursor: WriteOrderQuery['cursor'], distinct: boolean): string {
  const direction = cursor?.backwards ? 'ASC' : 'DESC';
  const after = cursor?.backwards ? '>' : '<';
  // Sorting: `+` keeps SQLite off the primary key (vseq first), which it could walk to avoid the sort; the walk
  // reads that key on purpose, newest first, through a subquery that bounds the rows read.
  const vseq = source === 'sort' ? `+${DRIVER}.vseq` : `${DRIVER}.vseq`;
  const from =
    source === 'walk'
      ? `(SELECT * FROM ${driver.table}${cursor ? ` WHERE vseq ${after} ?` : ''} ORDER BY vseq ${direction} LIMIT ?) ${DRIVER}`
      : `${driver.table} ${DRIVER}`;
  const version = rest.readsVersion ? ` CROSS JOIN resource_versions ${DRIVER_VERSION} ON ${DRIVER_VERSION}.vseq = ${DRIVER}.vseq` : '';
  const conditions = [`(${driver.where.sql})`, `(${rest.where.sql})`];
  if (cursor && source !== 'walk') conditions.push(`${vseq} ${after} ?`);
  return (
    `SELECT v.vseq, v.resource_type, v.resource_id, v.last_updated, v.version_id, v.body, v.last_updated AS k0 ` +
    `FROM (SELECT ${distinct ? 'DISTINCT ' : ''}${DRIVER}.vseq AS vseq FROM ${from}${version} WHERE ${conditions.join(' AND ')} ORDER BY ${vseq} ${direction} LIMIT ?) page ` +
    `JOIN resource_versions v ON v.vseq = page.vseq ORDER BY page.vseq ${direction}`
  );
}

/** The values of pageSql's placeholders, in the order it writes them. */
function pageValues(driver: IndexRows, rest: { where: Clause }, source: Source, query: WriteOrderQuery, options: WriteOrderOptions): SqlValue[] {
  const cursor = query.cursor ? [query.cursor.vseq] : [];
  const walk = source === 'walk' ? [...cursor, options.walkBudget] : [];
  return [...(driver.tableValues ?? []), ...walk, ...driver.where.values, ...rest.where.values, ...(source === 'walk' ? [] : cursor), query.limit];
}
