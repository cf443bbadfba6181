import type { Statement } from 'better-sqlite3';
import { statementCache, type Db } from '../database';
import { ChangeLog } from '../change-log';
import type { StoredResource } from '../repository';
import type { SearchIndex } from '../search-index';
import { badRequest } from '../../fhir/outcome';
import { compartmentParameters } from '../../fhir/search/compartments';
import { ConditionBuilder, localReference, qualified, type Clause, type IndexRows, type SqlValue, type Target, type TextMatches } from './conditions';
import { parseQuery, type Filter, type IncludeSpec, type ParsedQuery, type SortKey } from '../../fhir/search/parse';
import { Visibility, type Caller, type ReachReference, type Viewer } from './visibility';
import { DEFAULT_WRITE_ORDER, DRIVER, DRIVER_VERSION, WriteOrderPager, type PagePlan, type WriteOrderOptions } from './write-order';

/**
 * The search engine: filters from the search index, the page in keyset order, `_total`, `_include`/`_revinclude`.
 * Every value reaches SQL as a bound parameter; only our own integers (parameter ids) are written into SQL text.
 */

export interface SearchRequest {
  resourceType: string;
  params: URLSearchParams;
  /** `Prefer: handling=lenient`: unknown parameters are ignored (and left out of the self link). */
  lenient: boolean;
  /** This node's FHIR base, to recognise absolute references to local resources. */
  base: string;
  /** `Patient/123/Encounter`: only resources in that compartment. */
  compartment?: { type: string; id: string };
  /** What the caller may see beyond the searched type; unrestricted when absent (the node's own searches). */
  access?: SearchAccess;
  /** Whom the caller acts as (visibility.ts): only the resources they may see match, are counted or included. Absent: every resource. */
  reach?: readonly ReachReference[];
  /** Who the caller is (visibility.ts): of the resources that belong to their creator, only its own match. Absent: all of them. */
  caller?: Caller;
  /** What the text index matched for the query's text filters (text/text-queries.ts); without it they fall back to SQL. */
  textMatches?: TextMatches;
  /** `_total` when the query does not say: `estimate` (the API's searches: counted up to TOTAL_CAP), else none. */
  defaultTotal?: ParsedQuery['total'];
}

/** A version judged by its own content (SearchEngine.isVersionVisible). */
export type JudgedVersion = Pick<StoredResource, 'resourceType' | 'id' | 'json'> & { vseq: number };

/** The caller's rights over other types than the one searched. */
export interface SearchAccess {
  /** Throws (403) unless the caller may search this type: chains and `_has` filter on its resources. */
  requireSearch(resourceType: string): void;
  /** Whether `_include`/`_revinclude` may return resources of this type (others are left out). */
  mayRead(resourceType: string): boolean;
}

export interface SearchResult {
  query: ParsedQuery;
  matches: StoredResource[];
  included: StoredResource[];
  total?: number;
  /** The total was counted up to TOTAL_CAP and there are more (`total` is then TOTAL_CAP). */
  totalCapped?: boolean;
  /** Opaque cursors of the neighbouring pages, when there are some. */
  next?: string;
  previous?: string;
  /** How the page was read: in write order from a filter's index rows (write-order.ts), or over the type's resources. */
  plan: PagePlan | 'resources';
}

const MAX_INCLUDED = 1000;
/**
 * Where `_total=estimate` (the API's default) stops counting: beyond it, an exact count of a broad filter over a
 * million resources (every finished Encounter) would cost more than the page (docs/lifen-compatibility.md, the
 * search benchmark's figures). `_total=accurate` counts them all.
 */
export const TOTAL_CAP = 1000;
const MAX_CACHED_STATEMENTS = 500;
/** Per parameter type: the index table, the column a sort reads (dates: low ascending, high descending), its kind. */
const SORT_COLUMNS = {
  string: ['idx_string', 'value', 'text'],
  token: ['idx_token', 'code', 'text'],
  reference: ['idx_reference', "target_type || '/' || target_id", 'text'],
  date: ['idx_date', 'low/high', 'number'],
  number: ['idx_number', 'value', 'number'],
  quantity: ['idx_quantity', 'value', 'number'],
  uri: ['idx_uri', 'value', 'text'],
} as const;
const MAX_ITERATIONS = 5;
const ROW = 'r';
const MAIN_TARGET: Target = { vseq: `${ROW}.vseq`, id: `${ROW}.resource_id`, lastUpdated: `${ROW}.last_updated` };
/** The main row's columns, each candidate tested on its own (newestWalk). */
const WALK_TARGET: Target = { ...MAIN_TARGET, perRow: true };
/** The columns the other filters constrain when a filter drives the page in write order. */
const DRIVER_TARGET: Target = { vseq: `${DRIVER}.vseq`, id: `${DRIVER_VERSION}.resource_id`, lastUpdated: `${DRIVER_VERSION}.last_updated`, perRow: true };

interface Row {
  vseq: number;
  resource_type: string;
  resource_id: string;
  last_updated: string;
  version_id: string;
  body: string;
  [key: `k${number}`]: string | number;
}

interface Cursor {
  keys: Array<string | number>;
  vseq: number;
  backwards: boolean;
}

/** What can drive a search's page or count (SearchEngine.drivers). */
type Drivers = NonNullable<ReturnType<SearchEngine['drivers']>>;

export class SearchEngine {
  /** Prepared statements by SQL text: the same query shapes come back with other values. */
  private readonly prepare: (sql: string) => Statement;
  private readonly writeOrder: WriteOrderPager | undefined;
  /** Where the store's change log stands: a text index that has applied its last change lists only current versions. */
  private readonly changes: ChangeLog;

  constructor(
    db: Db,
    private readonly index: SearchIndex,
    /** How pages in write order are read; `false` reads every page over the type's resources (tests compare both). */
    writeOrder: WriteOrderOptions | false = DEFAULT_WRITE_ORDER,
  ) {
    this.prepare = statementCache(db, MAX_CACHED_STATEMENTS);
    this.writeOrder = writeOrder ? new WriteOrderPager(this.prepare, writeOrder) : undefined;
    this.changes = new ChangeLog(db);
  }

  /**
   * Refuses (400, 403) what `search` would refuse in the request's parameters and their values, without running it:
   * a page driven by index rows checks only the filters it builds, so a search of no results proves nothing.
   */
  check(request: SearchRequest): void {
    const { query, visibility, conditions } = this.understand(request);
    this.conditionsOn(conditions, visibility, request, query.filters, MAIN_TARGET);
  }

  /** The request's query, checked against what the caller may search, and the builder of its conditions. */
  private understand(request: SearchRequest) {
    const query = parseQuery(this.index.definitions, request.resourceType, request.params, request.lenient);
    if (request.access) for (const type of filteredTypes(query.filters)) request.access.requireSearch(type);
    const visibility = new Visibility(this.index, request.base, request);
    const conditions = new ConditionBuilder((sql) => this.prepare(sql), this.index, request.base, visibility, request.textMatches, () => this.changes.latestSeq());
    return { query, visibility, conditions };
  }

  search(request: SearchRequest): SearchResult {
    const { resourceType } = request;
    const { query, visibility, conditions } = this.understand(request);
    if (request.defaultTotal && !request.params.has('_total')) query.total = request.defaultTotal;
    // Built only when a count or a walk over the type's resources needs it: a text filter's clause carries every
    // match, and a page driven by index rows (most searches) never reads it.
    let filterClause: Clause | undefined;
    const filter = () => {
      if (filterClause) return filterClause;
      const where = [{ sql: `${ROW}.resource_type = ?`, values: [resourceType] }, ...this.conditionsOn(conditions, visibility, request, query.filters, MAIN_TARGET)];
      return (filterClause = joinAnd(where));
    };

    // The filters whose index rows can drive the page and the count, found once for both: finding them reads the
    // text index's list into a table, a date range's widest value.
    let found: { drivers: Drivers | undefined } | undefined;
    const drivers = () => (found ??= { drivers: this.writeOrder && this.drivers(conditions, visibility, request, query.filters) }).drivers;

    const total = query.total === 'accurate' || query.summary === 'count' ? this.count(filter()) : undefined;
    // `_total=estimate` (the API's default): a first page that holds every match is its own count; otherwise counted, up to the cap.
    const estimate = (known?: number) => {
      const counted = query.total !== 'estimate' || total !== undefined ? undefined : (known ?? this.countUpTo(drivers(), filter, TOTAL_CAP + 1));
      return counted !== undefined && counted > TOTAL_CAP ? { total: TOTAL_CAP, totalCapped: true } : { total: total ?? counted };
    };
    if (query.summary === 'count' || query.count === 0) return { query, matches: [], included: [], ...estimate(), plan: 'resources' };

    const sort = query.sort.length > 0 ? query.sort : [{ code: '_lastUpdated', descending: true, type: '_lastUpdated' as const }];
    const keys = sort.map((key) => this.sortExpression(resourceType, key));
    const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, keys.length);
    const backwards = cursor?.backwards ?? false;
    const newestFirst = sort.length === 1 && sort[0].type === '_lastUpdated' && sort[0].descending;
    const inWriteOrder = newestFirst ? this.writeOrderPage(drivers(), cursor, query.count + 1) : undefined;
    const walked = this.writeOrder && newestFirst && !inWriteOrder && !backwards ? this.newestWalk(conditions, visibility, request, query.filters, cursor, query.count + 1, this.writeOrder.options.testBudget) : undefined;
    const { rows, plan } = inWriteOrder ?? walked ?? { rows: this.resourcesPage(filter(), keys, sort, cursor, query.count + 1), plan: 'resources' as const };
    const more = rows.length > query.count;
    const page = rows.slice(0, query.count);
    if (backwards) page.reverse();
    const position = (row: Row, towardsStart: boolean) => encodeCursor({ keys: keys.map((_, index) => row[`k${index}`]), vseq: row.vseq, backwards: towardsStart });
    const first = page[0];
    const last = page[page.length - 1];
    const matches = page.map(stored);
    return {
      query,
      matches,
      included: this.includes(query, matches, request.base, (found) => this.visibleAmong(found.filter((resource) => request.access?.mayRead(resource.resourceType) ?? true), request, request.base)),
      ...estimate(!cursor && !more ? page.length : undefined),
      next: last && (backwards ? cursor !== undefined : more) ? position(last, false) : undefined,
      previous: first && (backwards ? more : cursor !== undefined) ? position(first, true) : undefined,
      plan,
    };
  }

  /**
   * `limit` rows in `-_lastUpdated` order from the index rows of a filter (write-order.ts), or undefined when no
   * filter can drive the page. Its rows carry lastUpdated as `k0`, so cursors work across both forms.
   */
  private writeOrderPage(drivers: Drivers | undefined, cursor: Cursor | undefined, limit: number) {
    if (!drivers) return undefined;
    return this.writeOrder!.page<Row>({ ...drivers, cursor: cursor && { vseq: cursor.vseq, backwards: cursor.backwards }, limit });
  }

  /** The matches, up to `limit`: from a driving filter's index rows when one can (write-order.ts), else over the type's resources. */
  private countUpTo(drivers: Drivers | undefined, filter: () => Clause, limit: number): number {
    return drivers ? this.writeOrder!.count(drivers, limit) : this.count(filter(), limit);
  }

  /** The filters whose index rows can drive a page or a count, and the conditions left for each; undefined when none can. */
  private drivers(conditions: ConditionBuilder, visibility: Visibility, request: SearchRequest, filters: Filter[]) {
    const { resourceType, compartment } = request;
    const drivers: Array<{ filter?: Filter; rows: IndexRows }> = filters.flatMap((filter) => {
      const rows = conditions.rows(resourceType, filter, qualified(DRIVER));
      return rows ? [{ filter, rows }] : [];
    });
    // A pair of date bounds read as one range: no filter of its own, both bounds still test its rows.
    drivers.push(...conditions.dateRangeRows(resourceType, filters, qualified(DRIVER)).map((rows) => ({ rows })));
    if (drivers.length === 0) return undefined;
    const rest = (chosen: number) => {
      const others = filters.filter((filter) => filter !== drivers[chosen].filter);
      const where = this.conditionsOn(conditions, visibility, request, others, DRIVER_TARGET);
      // Filters on the id or lastUpdated read the driver row's version; those that find index rows need only vseq.
      const readsVersion = compartment !== undefined || others.some((filter) => !drivers.some((driver) => driver.filter === filter));
      // Whether anything but the driver decides which rows match: another filter, the compartment, what the caller may see.
      const restricts = others.length > 0 || compartment !== undefined || Visibility.restricts(request, resourceType);
      return { where: joinAnd(where), readsVersion, restricts };
    };
    return { candidates: drivers.map((driver) => driver.rows), rest };
  }

  /**
   * A page newest first when no filter can drive it (`_has`, `:not`, `:missing`): the type's newest resources tested
   * one by one against the filters, at most `budget` of them. Right when matches are common (the practitioners of
   * a profession, national directory: 1 ms, where listing every match first took over a second), and when the type
   * has no more resources than that; when matches are rare among many, the walk gives up (undefined) and the
   * whole-type plan runs.
   */
  private newestWalk(conditions: ConditionBuilder, visibility: Visibility, request: SearchRequest, filters: Filter[], cursor: Cursor | undefined, limit: number, budget: number) {
    const { resourceType } = request;
    const tested = joinAnd(this.conditionsOn(conditions, visibility, request, filters, WALK_TARGET));
    const after = cursor ? keysetClause([`${ROW}.last_updated`], [{ code: '_lastUpdated', descending: true, type: '_lastUpdated' }], cursor) : undefined;
    const sql =
      `SELECT ${ROW}.vseq, ${ROW}.resource_type, ${ROW}.resource_id, ${ROW}.last_updated, v.version_id, v.body, ${ROW}.last_updated AS k0 ` +
      `FROM (SELECT vseq, resource_type, resource_id, last_updated FROM resources ${ROW} WHERE ${ROW}.resource_type = ?${after ? ` AND (${after.sql})` : ''} ` +
      `ORDER BY ${ROW}.last_updated DESC, ${ROW}.vseq DESC LIMIT ?) ${ROW} JOIN resource_versions v ON v.vseq = ${ROW}.vseq ` +
      `WHERE ${tested.sql} ORDER BY ${ROW}.last_updated DESC, ${ROW}.vseq DESC LIMIT ?`;
    const rows = this.prepare(sql).all(resourceType, ...(after?.values ?? []), budget, ...tested.values, limit) as Row[];
    // A short page is the answer when the walk saw every resource of the type (a practice's store, mostly).
    const sawAll = () => !cursor && ((this.prepare('SELECT total FROM resource_counts WHERE resource_type = ?').get(resourceType) as { total: number } | undefined)?.total ?? 0) <= budget;
    return rows.length >= limit || sawAll() ? { rows, plan: 'walk' as const } : undefined;
  }

  /** What a candidate whose columns are `target` must meet: the filters, the compartment, what the reach may see. */
  private conditionsOn(conditions: ConditionBuilder, visibility: Visibility, request: SearchRequest, filters: Filter[], target: Target): Clause[] {
    const where = [conditions.all(request.resourceType, filters, target)];
    if (request.compartment) where.push(this.compartmentClause(request.resourceType, request.compartment, request.base, target));
    const visible = visibility.clause(request.resourceType, target.vseq);
    if (visible) where.push(visible);
    return where;
  }

  /** `limit` rows in the sort order, over the type's resources, keyset-paged from the cursor. */
  private resourcesPage(filter: Clause, keys: string[], sort: SortKey[], cursor: Cursor | undefined, limit: number): Row[] {
    const backwards = cursor?.backwards ?? false;
    const pageWhere = cursor ? joinAnd([filter, keysetClause(keys, sort, cursor)]) : filter;
    const order = sort
      .map((key, index) => `k${index} ${key.descending !== backwards ? 'DESC' : 'ASC'}`)
      .concat(`${ROW}.vseq ${sort[sort.length - 1].descending !== backwards ? 'DESC' : 'ASC'}`)
      .join(', ');
    const sql =
      `SELECT ${ROW}.vseq, ${ROW}.resource_type, ${ROW}.resource_id, ${ROW}.last_updated, v.version_id, v.body` +
      keys.map((expression, index) => `, ${expression} AS k${index}`).join('') +
      ` FROM resources ${ROW} JOIN resource_versions v ON v.vseq = ${ROW}.vseq WHERE ${pageWhere.sql} ORDER BY ${order} LIMIT ?`;
    return this.prepare(sql).all(...pageWhere.values, limit) as Row[];
  }

  /** The resources the filter matches, or `limit` when there are at least that many. */
  private count(filter: Clause, limit?: number): number {
    if (limit === undefined) return (this.prepare(`SELECT count(*) AS total FROM resources ${ROW} WHERE ${filter.sql}`).get(...filter.values) as { total: number }).total;
    const sql = `SELECT count(*) AS total FROM (SELECT 1 FROM resources ${ROW} WHERE ${filter.sql} LIMIT ?)`;
    return (this.prepare(sql).get(...filter.values, limit) as { total: number }).total;
  }

  /** The value a sort key orders by: the smallest indexed value ascending, the largest descending. */
  private sortExpression(resourceType: string, key: SortKey): string {
    if (key.type === '_lastUpdated') return `${ROW}.last_updated`;
    if (key.type === '_id') return `${ROW}.resource_id`;
    const rows = this.index.rowsOf(resourceType, key.code);
    const [table, column, kind] = SORT_COLUMNS[key.type as keyof typeof SORT_COLUMNS];
    const aggregate = key.descending ? 'max' : 'min';
    // Resources without a value sort last either way: below every value descending, above every value ascending.
    const sentinel = kind === 'text' ? (key.descending ? "''" : 'char(1114111)') : key.descending ? '-9e99' : '9e99';
    const value = column === 'low/high' ? (key.descending ? 'high' : 'low') : column;
    return `coalesce((SELECT ${aggregate}(${value}) FROM ${table} WHERE vseq = ${ROW}.vseq AND ${rows}), ${sentinel})`;
  }

  private compartmentClause(resourceType: string, compartment: { type: string; id: string }, base: string, target: Target): Clause {
    const codes = compartmentParameters(compartment.type, resourceType);
    if (codes === undefined) throw badRequest('compartment-invalid', `${resourceType} is not part of the ${compartment.type} compartment`);
    const alternatives: Clause[] = [];
    const referenceCodes = codes.filter((code) => code !== '{def}' && this.index.definitions.ofType(resourceType).get(code)?.type === 'reference');
    if (referenceCodes.length > 0) {
      const local = localReference(base);
      alternatives.push({
        sql: `${target.vseq} IN (SELECT vseq FROM idx_reference WHERE (${anyRows(referenceCodes.map((code) => this.index.rowsOf(resourceType, code)))}) AND target_type = ? AND target_id = ? AND ${local.sql})`,
        values: [compartment.type, compartment.id, ...local.values],
      });
    }
    // The compartment's own resource belongs to it (`{def}`).
    if (resourceType === compartment.type) alternatives.push({ sql: `${target.id} = ?`, values: [compartment.id] });
    if (alternatives.length === 0) return { sql: '0', values: [] };
    return { sql: alternatives.map((clause) => `(${clause.sql})`).join(' OR '), values: alternatives.flatMap((clause) => clause.values) };
  }

  /** Whether the viewer (a request) may see the resource, as its current version stands. */
  isVisible(resource: Pick<StoredResource, 'resourceType' | 'id'>, viewer: Viewer, base: string): boolean {
    const clause = new Visibility(this.index, base, viewer).clause(resource.resourceType, 'probe.vseq');
    if (!clause) return true;
    const sql = `SELECT EXISTS (SELECT 1 FROM resources probe WHERE probe.resource_type = ? AND probe.resource_id = ? AND ${clause.sql}) AS visible`;
    return (this.prepare(sql).get(resource.resourceType, resource.id, ...clause.values) as { visible: number }).visible === 1;
  }

  /**
   * Of these current resources, those the viewer may see, in their order: one query per type rather than one per
   * resource (a week's appointments include some 60 patients each, and each probe builds and runs the rules).
   */
  visibleAmong(resources: StoredResource[], viewer: Viewer, base: string): StoredResource[] {
    const visibility = new Visibility(this.index, base, viewer);
    const hidden = new Set<StoredResource>();
    for (const resourceType of new Set(resources.map((resource) => resource.resourceType))) {
      const clause = visibility.clause(resourceType, 'probe.vseq');
      if (!clause) continue;
      const ofType = resources.filter((resource) => resource.resourceType === resourceType);
      const sql = `SELECT probe.resource_id AS id FROM resources probe WHERE probe.resource_type = ? AND probe.resource_id IN (SELECT value FROM json_each(?)) AND ${clause.sql}`;
      const visible = new Set((this.prepare(sql).all(resourceType, JSON.stringify(ofType.map((resource) => resource.id)), ...clause.values) as Array<{ id: string }>).map((row) => row.id));
      for (const resource of ofType) if (!visible.has(resource.id)) hidden.add(resource);
    }
    return hidden.size === 0 ? resources : resources.filter((resource) => !hidden.has(resource));
  }

  /** Whether a current resource of the type has one of these values for a uri parameter: a yes or no, without a search's cost. */
  hasUri(resourceType: string, code: string, values: readonly string[]): boolean {
    const sql = `SELECT EXISTS (SELECT 1 FROM idx_uri WHERE ${this.index.rowsOf(resourceType, code)} AND value IN (${values.map(() => '?').join(', ')})) AS found`;
    return (this.prepare(sql).get(...values) as { found: number }).found === 1;
  }

  /**
   * Whether the reach may see a version by its own content, current or not (docs/access.md): history and vread
   * show a version as it was, not as its resource is now.
   */
  isVersionVisible(version: JudgedVersion, viewer: Viewer, base: string): boolean {
    return this.versionVisibility(viewer, base)(version);
  }

  /**
   * `isVersionVisible` for the many versions of a history page. Only current versions have index rows, so a
   * version's references are extracted from its body into a table of `idx_reference`'s columns that the condition
   * reads; versions with the same references (and, for the types judged by their id too, the same id) share a verdict.
   */
  versionVisibility(viewer: Viewer, base: string): (version: JudgedVersion) => boolean {
    const clauses = new Map<string, Clause | undefined>();
    const verdicts = new Map<string, boolean>();
    return (version) => {
      const { resourceType } = version;
      if (!clauses.has(resourceType)) clauses.set(resourceType, new Visibility(this.index, base, viewer).clause(resourceType, 'probe.vseq', 'own_rows'));
      const clause = clauses.get(resourceType);
      if (!clause) return true;
      const rows = JSON.stringify(this.index.referenceRows(JSON.parse(version.json) as Record<string, unknown>));
      const key = `${resourceType} ${Visibility.judgesById(resourceType) ? version.id : ''} ${rows}`;
      let verdict = verdicts.get(key);
      if (verdict === undefined) {
        const sql = `WITH probe(vseq) AS (SELECT ?),
          own_rows(vseq, pid, target_type, target_id, url) AS (
            SELECT probe.vseq, json_extract(r.value, '$[0]'), json_extract(r.value, '$[1]'), json_extract(r.value, '$[2]'), json_extract(r.value, '$[3]') FROM probe, json_each(?) r
          )
          SELECT EXISTS (SELECT 1 FROM probe WHERE ${clause.sql}) AS visible`;
        verdicts.set(key, (verdict = (this.prepare(sql).get(version.vseq, rows, ...clause.values) as { visible: number }).visible === 1));
      }
      return verdict;
    };
  }

  /** `_include` and `_revinclude`, iterated (`:iterate`/`:recurse`) up to a bound, keeping only what `keep` accepts. */
  private includes(query: ParsedQuery, matches: StoredResource[], base: string, keep: (found: StoredResource[]) => StoredResource[]): StoredResource[] {
    if (matches.length === 0 || (query.include.length === 0 && query.revinclude.length === 0)) return [];
    const seen = new Set(matches.map(keyOf));
    const included: StoredResource[] = [];
    let frontier = matches;
    for (let round = 0; round < MAX_ITERATIONS && frontier.length > 0 && included.length < MAX_INCLUDED; round++) {
      const found: StoredResource[] = [];
      for (const spec of query.include) if (round === 0 || spec.iterate) found.push(...this.forward(spec, frontier, base));
      for (const spec of query.revinclude) if (round === 0 || spec.iterate) found.push(...this.reverse(spec, frontier, base));
      const unseen: StoredResource[] = [];
      for (const resource of found) {
        if (seen.has(keyOf(resource))) continue;
        seen.add(keyOf(resource));
        unseen.push(resource);
      }
      // Left out before iterating: what a hidden resource points at must not come in through it.
      const fresh = keep(unseen).slice(0, MAX_INCLUDED - included.length);
      included.push(...fresh);
      frontier = fresh;
    }
    return included;
  }

  /** Resources that `sources` of the spec's type point at through its reference parameter(s). */
  private forward(spec: IncludeSpec, sources: StoredResource[], base: string): StoredResource[] {
    const from = sources.filter((resource) => resource.resourceType === spec.sourceType);
    if (from.length === 0) return [];
    const references = this.referenceRows(spec);
    const vseqs = from.map((resource) => resource.vseq);
    const local = localReference(base, qualified('ref'));
    const rows = this
      .prepare(
        `SELECT ${ROW}.vseq, ${ROW}.resource_type, ${ROW}.resource_id, ${ROW}.last_updated, v.version_id, v.body
         FROM idx_reference ref
         JOIN resources ${ROW} ON ${ROW}.resource_type = ref.target_type AND ${ROW}.resource_id = ref.target_id
         JOIN resource_versions v ON v.vseq = ${ROW}.vseq
         WHERE ref.vseq IN (${vseqs.map(() => '?').join(', ')}) AND (${references}) AND ${local.sql}${spec.targetType ? ' AND ref.target_type = ?' : ''}
         GROUP BY ${ROW}.vseq`,
      )
      .all(...vseqs, ...local.values, ...(spec.targetType ? [spec.targetType] : [])) as Row[];
    return rows.map(stored);
  }

  /** Resources of the spec's type that point at `targets` through its reference parameter(s). */
  private reverse(spec: IncludeSpec, targets: StoredResource[], base: string): StoredResource[] {
    const references = this.referenceRows(spec);
    const pairs = targets.filter((resource) => !spec.targetType || resource.resourceType === spec.targetType);
    if (pairs.length === 0) return [];
    const local = localReference(base, qualified('ref'));
    // CROSS JOIN: from the targets to their reference rows by the lookup index, then each row's version by its key
    // (index rows are current versions). Written as an OR of pairs, SQLite walked every resource of the source
    // type instead (300 ms for the roles of 20 practitioners among 300,000).
    const rows = this
      .prepare(
        `SELECT v.vseq, v.resource_type, v.resource_id, v.last_updated, v.version_id, v.body
         FROM (SELECT value ->> 0 AS type, value ->> 1 AS id FROM json_each(?)) target
         CROSS JOIN idx_reference ref ON ref.target_id = target.id AND ref.target_type = target.type
         CROSS JOIN resource_versions v ON v.vseq = ref.vseq
         WHERE (${references}) AND v.resource_type = ? AND ${local.sql}
         GROUP BY v.vseq`,
      )
      .all(JSON.stringify(pairs.map((resource) => [resource.resourceType, resource.id])), spec.sourceType, ...local.values) as Row[];
    return rows.map(stored);
  }

  /** The index rows of the spec's reference parameter, or of every reference parameter of its type (`*`). */
  private referenceRows(spec: IncludeSpec): string {
    const codes = spec.code ? [spec.code] : [...this.index.definitions.ofType(spec.sourceType).values()].filter((definition) => definition.type === 'reference').map((definition) => definition.code);
    return anyRows(codes.map((code) => this.index.rowsOf(spec.sourceType, code, qualified('ref'))));
  }
}

/** The types whose resources chains and `_has` filters look into, at any depth. */
function filteredTypes(filters: Filter[]): Set<string> {
  const types = new Set<string>();
  const visit = (filter: Filter) => {
    if (filter.kind === 'chain') {
      filter.targetTypes.forEach((type) => types.add(type));
      filter.inner.forEach(visit);
    } else if (filter.kind === 'has') {
      types.add(filter.sourceType);
      visit(filter.inner);
    }
  };
  filters.forEach(visit);
  return types;
}

/** Rows of any of several parameters (none: no row). */
function anyRows(rows: string[]): string {
  return rows.length === 0 ? '0' : rows.map((condition) => `(${condition})`).join(' OR ');
}

function stored(row: Row): StoredResource {
  return { resourceType: row.resource_type, id: row.resource_id, versionId: row.version_id, lastUpdated: row.last_updated, json: row.body, vseq: row.vseq };
}

const keyOf = (resource: StoredResource) => `${resource.resourceType}/${resource.id}`;

function joinAnd(clauses: Clause[]): Clause {
  return { sql: clauses.map((clause) => `(${clause.sql})`).join(' AND '), values: clauses.flatMap((clause) => clause.values) };
}

/** Rows strictly after the cursor in the sort order (before it, going backwards), ties broken by vseq. */
function keysetClause(keys: string[], sort: SortKey[], cursor: Cursor): Clause {
  const columns = [...keys, `${ROW}.vseq`];
  const bounds: SqlValue[] = [...cursor.keys, cursor.vseq];
  const descending = [...sort.map((key) => key.descending), sort[sort.length - 1].descending];
  const alternatives: Clause[] = columns.map((column, index) => {
    const operator = descending[index] !== cursor.backwards ? '<' : '>';
    return {
      sql: [...columns.slice(0, index).map((previous) => `${previous} = ?`), `${column} ${operator} ?`].join(' AND '),
      values: [...bounds.slice(0, index), bounds[index]],
    };
  });
  return { sql: alternatives.map((clause) => `(${clause.sql})`).join(' OR '), values: alternatives.flatMap((clause) => clause.values) };
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.keys, cursor.vseq, cursor.backwards ? 1 : 0])).toString('base64url');
}

function decodeCursor(text: string, keyCount: number): Cursor {
  try {
    const [keys, vseq, backwards] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as [unknown, unknown, unknown];
    if (
      Array.isArray(keys) &&
      keys.length === keyCount &&
      keys.every((key) => typeof key === 'string' || typeof key === 'number') &&
      Number.isSafeInteger(vseq) &&
      (backwards === 0 || backwards === 1)
    ) {
      return { keys, vseq: vseq as number, backwards: backwards === 1 };
    }
  } catch {
    // fall through to the error below
  }
  throw badRequest('paging-cursor-invalid', 'Invalid paging cursor: use the links of a search Bundle as they are', '_cursor');
}
