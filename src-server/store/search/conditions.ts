import type { Statement } from 'better-sqlite3';
import type { SearchIndex } from '../search-index';
import { badRequest } from '../../fhir/outcome';
import { parseDateRange, type DateRange } from '../../fhir/search/dates';
import type { IndexValue } from '../../fhir/search/extract';
import { parseReference } from '../../fhir/search/index-values';
import { normalizeString as normalize } from '../../fhir/search/normalize-string';
import { sharedRows } from '../../fhir/search/shared-rows';
import { splitList, unescape, type Filter, type ParameterType } from '../../fhir/search/parse';
import { queryTerms } from '../../fhir/search/text-fields';

/**
 * SQL conditions for search filters. Each condition constrains a current-version key (`vseq` column expression)
 * or a resource id column; every value is a bound parameter, never spliced into the SQL text.
 */

export type SqlValue = string | number;
export interface Clause {
  sql: string;
  values: SqlValue[];
}

/** A row condition that an index returns in vseq order (equality on every lookup column before vseq). */
interface RowCondition extends Clause {
  streams?: boolean;
}

/** Writes a column of an index table into a row condition: bare, or qualified by the table's alias. */
export type Column = (name: string) => string;
const bare: Column = (name) => name;
export const qualified =
  (alias: string): Column =>
  (name) =>
    `${alias}.${name}`;

/**
 * The rows of one index table that a filter selects (`SELECT <alias>.vseq FROM <table> <alias> WHERE <where>`):
 * current versions of one resource type, since a parameter id belongs to one type.
 */
export interface IndexRows {
  table: string;
  /** Values of placeholders in `table` itself (a list of vseqs), bound before those of `where`. */
  tableValues?: SqlValue[];
  /** The rows' vseqs, newest first, when they are known before any SQL (text matches): the page walks them. */
  ordered?: readonly number[];
  /** `ordered` holds only the newest matches: running out of them before the page is full proves nothing. */
  partial?: boolean;
  /** How many rows there are, up to the count the text index was asked to reach (TextMatch.count). */
  counted?: number;
  where: Clause;
  /** True when an index returns these rows in vseq order: a page in write order then reads only its own rows. */
  streams: boolean;
  /**
   * The rows are one range of `idx_string`'s lookup index (pid, value) for each of these parameter ids: the rows of
   * each (pid, value) pair come in vseq order, so a page can read the newest of each of a few pairs rather than every
   * match (write-order.ts). `where.values` are then the range's lower and upper bounds.
   */
  byValue?: readonly number[];
}

/** The columns a condition constrains: the candidate's current version, its id and its type. */
export interface Target {
  vseq: string;
  id: string;
  lastUpdated: string;
  /**
   * Test each candidate on its own, through the index table's key (vseq first), rather than listing every match
   * first: right when candidates come a few at a time (a page's driver rows), wrong when they are a whole type.
   */
  perRow?: boolean;
}

const TABLES: Record<ParameterType, string> = {
  string: 'idx_string',
  token: 'idx_token',
  reference: 'idx_reference',
  date: 'idx_date',
  number: 'idx_number',
  quantity: 'idx_quantity',
  uri: 'idx_uri',
  composite: 'idx_composite',
};

const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
type Prefix = (typeof PREFIXES)[number];
const DAY_MS = 86_400_000;
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the instants whose ISO text has a four-digit year. */
const FIRST_INSTANT = -62_167_219_200_000;
const LAST_INSTANT = 253_402_300_799_999;

export class ConditionBuilder {
  private aliasCount = 0;

  constructor(
    /** Prepares (and caches) a statement: the engine's cache serves conditions too. */
    private readonly prepare: (sql: string) => Statement,
    private readonly index: SearchIndex,
    /** This node's FHIR base: absolute references to it are local references. */
    private readonly base: string,
    /** The caller's access rules: chains and `_has` look only into the resources the caller may see. */
    private readonly visibility?: { clause(resourceType: string, vseq: string): Clause | undefined },
    /** What the text index answered for the request's text filters (textMatchKey → matches). */
    private readonly textMatches?: TextMatches,
    /** The last change committed to the store, as the search reads it (see `rows`). */
    private readonly latestChange?: () => number,
  ) {}

  /** AND of the filters, for resources of `resourceType` whose columns are `target`. */
  all(resourceType: string, filters: Filter[], target: Target): Clause {
    return join(filters.map((filter) => this.filter(resourceType, filter, target)), ' AND ');
  }

  /**
   * The index rows of a filter that can drive a page in write order (a positive filter on one index table), or
   * undefined: `:not`, `:missing`, composites and the filters on resource columns cannot.
   */
  rows(resourceType: string, filter: Filter, column: Column): IndexRows | undefined {
    if (filter.kind === 'chain') return this.chainRows(resourceType, filter, column);
    if (filter.kind === 'text') {
      const matched = this.textVseqs(filter);
      if (matched === undefined) return filter.fallback && this.rows(resourceType, filter.fallback, column);
      // Only current versions are rows. The index drops a version once it applies the change that replaced or deleted
      // it, so when it had applied every change the store holds, the versions it listed are all current; while it
      // lags, each is checked (two more lookups a candidate).
      // The pager walks `ordered` and binds each chunk it reads as the table's list (WriteOrderPager.walkList).
      const current = matched.indexedSeq !== undefined && this.latestChange !== undefined && matched.indexedSeq >= this.latestChange();
      return {
        table: '(SELECT value AS vseq FROM json_each(?))',
        ordered: newestFirst(matched.vseqs),
        partial: matched.partial,
        counted: matched.count,
        where: current ? { sql: '1', values: [] } : { sql: `EXISTS (SELECT 1 FROM resource_versions tv JOIN resources tr ON tr.resource_type = tv.resource_type AND tr.resource_id = tv.resource_id WHERE tv.vseq = ${column('vseq')} AND tr.vseq = tv.vseq)`, values: [] },
        streams: false,
      };
    }
    if (filter.kind !== 'param' || filter.modifier === 'not' || filter.modifier === 'missing' || filter.definition.type === 'composite') return undefined;
    return filter.words ? this.wordRows(resourceType, filter) : this.paramRows(resourceType, filter, column);
  }

  /**
   * A lower and an upper bound on one single-valued date parameter (`date=ge…&date=lt…`, a week of appointments) as
   * one range of its index rows, to drive a page or a count: each bound alone selects about half the rows, and only
   * one column's range can be read, so the range on `low` is closed by the parameter's widest stored value (a row
   * ending after `above` starts after `above − widest`). The filters still test every candidate: the range only finds
   * them. Only for an element a resource holds at most once: with several values, one after the range and one before
   * it would match both filters with no row inside the range.
   */
  dateRangeRows(resourceType: string, filters: Filter[], column: Column): IndexRows[] {
    const bounds = new Map<string, { above?: number; below?: number }>();
    for (const filter of filters) {
      if (filter.kind !== 'param' || filter.definition.type !== 'date' || filter.modifier || filter.values.length !== 1) continue;
      if (!isSingleValued(resourceType, filter.definition.expression) || sharedRows(this.index.definitions, resourceType, filter.code)) continue;
      const test = parseDate(filter.values[0], filter.name);
      if (test.negate || test.all.length !== 1) continue;
      const [[side, operator, bound]] = test.all;
      const pair = bounds.get(filter.code) ?? {};
      // ge/gt: the value ends after a bound; le/lt: it starts before one. Several of either: the tightest.
      if (side === 'high' && operator === '>') pair.above = Math.max(pair.above ?? bound, bound);
      else if (side === 'low' && operator === '<') pair.below = Math.min(pair.below ?? bound, bound);
      bounds.set(filter.code, pair);
    }
    return [...bounds].flatMap(([code, { above, below }]) => {
      if (above === undefined || below === undefined) return [];
      // Through the index on (pid, high - low): one lookup. No rows at all: nothing to drive.
      const widest = (this.prepare(`SELECT max(high - low) AS span FROM idx_date WHERE ${this.index.rowsOf(resourceType, code)}`).get() as { span: number | null }).span;
      if (widest === null) return [];
      const rows = this.index.rowsOf(resourceType, code, column);
      return [{ table: 'idx_date', where: { sql: `${rows} AND ${column('low')} > ? AND ${column('low')} < ? AND ${column('high')} > ?`, values: [above - widest, below, above] }, streams: false }];
    });
  }

  /**
   * A word-prefix filter driving a page: its alternatives as a UNION of index ranges. As an OR, SQLite would gather
   * and de-duplicate every match by primary key first (a MULTI-INDEX OR over a WITHOUT ROWID table), ten times slower.
   */
  private wordRows(resourceType: string, filter: Extract<Filter, { kind: 'param' }>): IndexRows {
    const w = qualified('w');
    const rows = this.index.rowsOf(resourceType, filter.code, w);
    const selects = filter.values.flatMap((value) => wordPrefixMatch(unescape(value), w)).map((match) => ({ sql: `SELECT w.vseq AS vseq FROM idx_string w WHERE ${rows} AND ${match.sql}`, values: match.values }));
    return { table: `(${selects.map((select) => select.sql).join(' UNION ALL ')})`, tableValues: selects.flatMap((select) => select.values), where: { sql: '1', values: [] }, streams: false };
  }

  filter(resourceType: string, filter: Filter, target: Target): Clause {
    switch (filter.kind) {
      case 'id':
        return { sql: `${target.id} IN (${filter.values.map(() => '?').join(', ')})`, values: filter.values.map(unescape) };
      case 'lastUpdated':
        return this.lastUpdated(filter.values, filter.modifier, target);
      case 'chain':
        return this.chain(resourceType, filter, target);
      case 'has':
        return this.has(resourceType, filter, target);
      case 'param':
        return this.param(resourceType, filter, target);
      case 'text': {
        const matched = this.textVseqs(filter);
        // A clause must hold every match; only a page's driver can make do with the newest (see `rows`).
        if (matched?.partial) throw new PartialTextMatches();
        if (matched !== undefined) return { sql: `${target.vseq} IN (SELECT value FROM json_each(?))`, values: [JSON.stringify(matched.vseqs)] };
        if (filter.fallback) return this.param(resourceType, filter.fallback, target);
        throw badRequest('text-search-not-here', `'${filter.name}' is answered by the text index, which this operation does not consult: use it in a search`, filter.name);
      }
    }
  }

  /** What the text index matched for any of the filter's values (undefined when it was not consulted). */
  private textVseqs(filter: Extract<Filter, { kind: 'text' }>): TextMatch | undefined {
    if (!this.textMatches) return undefined;
    if (filter.values.length === 1) return this.textMatches.get(textMatchKey(filter.resourceType, filter.field, filter.values[0]));
    const each: TextMatch[] = [];
    for (const value of filter.values) {
      const matches = this.textMatches.get(textMatchKey(filter.resourceType, filter.field, value));
      if (matches === undefined) return undefined;
      each.push(matches);
    }
    const vseqs = [...new Set(each.flatMap((matches) => matches.vseqs))];
    // Current as of the change the least advanced answer had applied, when every answer said.
    const seqs = each.map((matches) => matches.indexedSeq);
    const indexedSeq = seqs.every((seq) => seq !== undefined) ? Math.min(...seqs) : undefined;
    return { vseqs, partial: each.some((matches) => matches.partial), ...(indexedSeq !== undefined ? { indexedSeq } : {}) };
  }

  private param(resourceType: string, filter: Extract<Filter, { kind: 'param' }>, target: Target): Clause {
    const { definition, modifier, values, code } = filter;
    const table = TABLES[definition.type];
    if (modifier === 'missing') {
      // `:missing=true,false` matches everything; a single value picks the resources without / with a value.
      if (values.includes('true') && values.includes('false')) return { sql: '1', values: [] };
      return this.hasRows(target, table, values[0] === 'true', (column) => ({ sql: this.index.rowsOf(resourceType, code, column), values: [] }));
    }
    if (definition.type === 'composite') return this.composite(resourceType, filter, target);
    return this.hasRows(target, table, modifier === 'not', (column) => this.paramRows(resourceType, filter, column).where);
  }

  /** The target has (or, negated, has not) index rows in `table` meeting `where` (written with the given columns). */
  private hasRows(target: Target, table: string, negate: boolean, where: (column: Column) => Clause): Clause {
    const not = negate ? 'NOT ' : '';
    if (target.perRow) {
      const alias = this.alias();
      // `+` keeps SQLite off the lookup indexes (without statistics it may range-scan one for every candidate):
      // the row is found by the key, vseq first.
      const rows = where((name) => `+${alias}.${name}`);
      return { sql: `${not}EXISTS (SELECT 1 FROM ${table} ${alias} WHERE ${alias}.vseq = ${target.vseq} AND (${rows.sql}))`, values: rows.values };
    }
    const rows = where(bare);
    return { sql: `${target.vseq} ${not}IN (SELECT vseq FROM ${table} WHERE ${rows.sql})`, values: rows.values };
  }

  /** The rows holding a value that matches (`:not` is the caller's negation). */
  private paramRows(resourceType: string, filter: Extract<Filter, { kind: 'param' }>, column: Column): IndexRows {
    const { definition, modifier, values, code } = filter;
    // Each alternative repeats the parameter's rows condition (SearchIndex.rowsOf: its own rows or those of the
    // parameters holding its values), so that SQLite looks every alternative up in the index (a multi-index OR)
    // rather than scanning all the parameter's rows.
    const rows = this.index.rowsOf(resourceType, code, column);
    const alternatives = values.flatMap((value) => (filter.words ? wordPrefixMatch(unescape(value), column) : this.match(definition.type, modifier, value, code, column)));
    const where = join(
      alternatives.map((clause) => ({ sql: `${rows} AND ${clause.sql}`, values: clause.values })),
      ' OR ',
    );
    // Rows of several parameters (a union, see shared-rows.ts) come from several index ranges: not in vseq order.
    const oneParameter = (sharedRows(this.index.definitions, resourceType, code)?.codes.length ?? 1) === 1;
    const streams = oneParameter && alternatives.length === 1 && alternatives[0].streams === true;
    // A plain string match (a prefix: `family=martin`, `address-city=lyon`) is one range of the lookup index.
    const byValue = definition.type === 'string' && modifier === undefined && !filter.words && alternatives.length === 1;
    return { table: TABLES[definition.type], where, streams, ...(byValue ? { byValue: this.index.pidsOf(resourceType, code) } : {}) };
  }

  /** The row conditions (any of which) one value of a parameter puts on its index table. */
  private match(type: ParameterType, modifier: string | undefined, raw: string, name: string, column: Column): RowCondition[] {
    switch (type) {
      case 'string':
        return [stringMatch(modifier, unescape(raw), column)];
      case 'token':
        return [tokenMatch(modifier, raw, name, column)];
      case 'reference':
        return this.referenceMatch(modifier, unescape(raw), name, column);
      case 'date':
        return [dateMatch(raw, name, column)];
      case 'number':
        return [numberMatch(raw, name, column)];
      case 'quantity':
        return [quantityMatch(raw, name, column)];
      case 'uri':
        return uriMatch(modifier, unescape(raw), column);
      case 'composite':
        throw new Error('composite values are matched by composite()');
    }
  }

  /** Local references and URLs stream: the lookup index (pid, target_id, target_type) and (pid, url) end with vseq. */
  private referenceMatch(modifier: string | undefined, value: string, name: string, column: Column): RowCondition[] {
    const reference = readReference(value, this.base, name);
    const local = localReference(this.base, column);
    const c = column;
    switch (reference.kind) {
      case 'local':
        if (modifier && modifier !== reference.type) throw badRequest('reference-invalid', `'${value}' is not a ${modifier} reference`, name);
        return [{ sql: `${c('target_id')} = ? AND ${c('target_type')} = ? AND ${local.sql}`, values: [reference.id, reference.type, ...local.values], streams: true }];
      case 'id':
        // A local resource of any type (or the modifier's) with that id, or a relative reference so written.
        if (modifier) return [{ sql: `${c('target_id')} = ? AND ${c('target_type')} = ? AND ${local.sql}`, values: [reference.id, modifier, ...local.values], streams: true }];
        return [{ sql: `${c('target_id')} = ? AND ${local.sql}`, values: [reference.id, ...local.values] }, byUrl(reference.id, column)];
      case 'url': {
        const clause = byUrl(reference.url, column);
        return [modifier ? { sql: `${clause.sql} AND ${c('target_type')} = ?`, values: [...clause.values, modifier], streams: true } : clause];
      }
    }
  }

  private lastUpdated(values: string[], modifier: string | undefined, target: Target): Clause {
    if (modifier === 'missing') return { sql: values.includes('false') ? '1' : '0', values: [] };
    // A stored instant t is the millisecond [t, t+1): `high op x` is `t op x-1`; ISO instants compare as text, so
    // bounds stay within the four-digit years (`+010000-01-01…` would sort before every stored instant).
    const instant = (ms: number) => new Date(Math.min(Math.max(ms, FIRST_INSTANT), LAST_INSTANT)).toISOString();
    const alternatives = values.map((value) => {
      const test = parseDate(value, '_lastUpdated');
      const sql = test.all.map(([, operator]) => `${target.lastUpdated} ${operator} ?`).join(' AND ');
      return {
        sql: test.negate ? `NOT (${sql})` : sql,
        values: test.all.map(([column, , bound]) => instant(column === 'high' ? bound - 1 : bound)),
      };
    });
    return join(alternatives, ' OR ');
  }

  /** `ref.param=value`: resources whose reference points at a resource of a target type matching the inner filter. */
  private chain(resourceType: string, filter: Extract<Filter, { kind: 'chain' }>, target: Target): Clause {
    return this.hasRows(target, 'idx_reference', false, (column) => this.chainRows(resourceType, filter, column).where);
  }

  /** The reference rows of a chain: their targets' ids come from the inner filter, per target type. */
  private chainRows(resourceType: string, filter: Extract<Filter, { kind: 'chain' }>, column: Column): IndexRows {
    const local = localReference(this.base, column);
    const branches = filter.targetTypes.map((type, index) => {
      const targets = this.matchingIds(type, filter.inner[index]);
      return {
        sql: `(${column('target_type')} = ? AND ${local.sql} AND ${column('target_id')} IN (${targets.sql}))`,
        values: [type, ...local.values, ...targets.values],
      };
    });
    const any = join(branches, ' OR ');
    return { table: 'idx_reference', where: { sql: `${this.index.rowsOf(resourceType, filter.code, column)} AND (${any.sql})`, values: any.values }, streams: false };
  }

  /**
   * `SELECT` of the ids of the current `resourceType` resources matching `filter`. Index rows are current versions
   * of one type, so ids of index-found matches come from their versions by vseq; `resources` has no index on vseq
   * (finding them there scans the type), so other filters read the type's rows.
   */
  private matchingIds(resourceType: string, filter: Filter): Clause {
    const alias = this.alias();
    const inner = this.visibleOnly(resourceType, `${alias}.vseq`, this.filter(resourceType, filter, { vseq: `${alias}.vseq`, id: `${alias}.resource_id`, lastUpdated: `${alias}.last_updated` }));
    if (selectsIndexRows(filter)) return { sql: `SELECT ${alias}.resource_id FROM resource_versions ${alias} WHERE ${inner.sql}`, values: inner.values };
    return { sql: `SELECT ${alias}.resource_id FROM resources ${alias} WHERE ${alias}.resource_type = ? AND ${inner.sql}`, values: [resourceType, ...inner.values] };
  }

  /** The clause, and the caller may see the `resourceType` version `vseq`. */
  private visibleOnly(resourceType: string, vseq: string, clause: Clause): Clause {
    const visible = this.visibility?.clause(resourceType, vseq);
    return visible ? { sql: `(${clause.sql}) AND (${visible.sql})`, values: [...clause.values, ...visible.values] } : clause;
  }

  /** `_has:Type:ref:filter`: resources that a `Type` matching the filter points at through `ref`. */
  private has(resourceType: string, filter: Extract<Filter, { kind: 'has' }>, target: Target): Clause {
    const alias = this.alias();
    const ref = qualified('ref');
    const rows = this.index.rowsOf(filter.sourceType, filter.code, ref);
    const local = localReference(this.base, ref);
    // Index rows describe current versions only, so a referrer's version row (found by key, where `resources` has
    // no key on vseq) is its current one: SQLite can then start from the inner filter's rows.
    const source: Target = { vseq: `${alias}.vseq`, id: `${alias}.resource_id`, lastUpdated: `${alias}.last_updated`, perRow: target.perRow };
    const inner = this.visibleOnly(filter.sourceType, source.vseq, this.filter(filter.sourceType, filter.inner, source));
    const referrers = (condition: string) =>
      `SELECT ref.target_id FROM idx_reference ref JOIN resource_versions ${alias} ON ${alias}.vseq = ref.vseq ` +
      `WHERE ${rows}${condition} AND ref.target_type = ? AND ${local.sql} AND ${alias}.resource_type = ? AND ${inner.sql}`;
    const values = [resourceType, ...local.values, filter.sourceType, ...inner.values];
    // Tested per candidate: its own referrers through the lookup index. Otherwise every referrer is listed first.
    if (target.perRow) return { sql: `EXISTS (${referrers(` AND ref.target_id = ${target.id}`)})`, values };
    return { sql: `${target.id} IN (${referrers('')})`, values };
  }

  /**
   * `first$second[$third]`: candidates come from the first component's key when it can be named exactly (a code, a
   * reference, a URI), else from every value of the parameter; then every component is checked in memory against
   * the stored parts.
   */
  private composite(resourceType: string, filter: Extract<Filter, { kind: 'param' }>, target: Target): Clause {
    const types = (filter.definition.component ?? []).map((component) => this.index.definitions.atUrl(component.definition.reference)?.type);
    const rows = this.index.rowsOf(resourceType, filter.code);
    const keyed = this.prepare(`SELECT vseq, parts FROM idx_composite WHERE ${rows} AND first_key = ?`);
    const all = this.prepare(`SELECT vseq, parts FROM idx_composite WHERE ${rows}`);
    const vseqs = new Set<number>();
    for (const raw of filter.values) {
      const components = splitList(raw, '$');
      if (components.length !== types.length) throw badRequest('search-value-invalid', `'${raw}' must have ${types.length} components separated by '$'`, filter.name);
      const key = this.compositeQueryKey(types[0], components[0], filter.name);
      const found = (key === undefined ? all.all() : keyed.all(key)) as Array<{ vseq: number; parts: string }>;
      for (const row of found) {
        const parts = JSON.parse(row.parts) as IndexValue[];
        if (parts.length === components.length && components.every((component, index) => this.partMatches(parts[index], component, filter.name))) vseqs.add(row.vseq);
      }
    }
    // One bound JSON array rather than a parameter per match: there may be more matches than SQLite takes parameters.
    return { sql: `${target.vseq} IN (SELECT value FROM json_each(?))`, values: [JSON.stringify([...vseqs])] };
  }

  /** The `first_key` (see SearchIndex.compositeKey) that a first component names exactly, if any. */
  private compositeQueryKey(type: ParameterType | undefined, component: string, name: string): string | undefined {
    switch (type) {
      case 'token': {
        const parts = splitList(component, '|');
        return unescape(parts[parts.length - 1]) || undefined;
      }
      case 'reference': {
        const reference = readReference(unescape(component), this.base, name);
        return reference.kind === 'url' ? (parseReference(reference.url)?.id ?? reference.url) : reference.id;
      }
      case 'uri':
        return unescape(component);
      default:
        return undefined;
    }
  }

  /** Whether a stored composite part satisfies one component of the query, by the part's kind. */
  private partMatches(part: IndexValue, component: string, name: string): boolean {
    switch (part.kind) {
      case 'token': {
        const pieces = splitList(component, '|').map(unescape);
        if (pieces.length === 1) return part.code === pieces[0];
        return (pieces[0] === '' ? part.system === null : part.system === pieces[0]) && (pieces[1] === '' || part.code === pieces[1]);
      }
      case 'reference': {
        const reference = readReference(unescape(component), this.base, name);
        const local = part.url === null || part.url === `${this.base}/${part.type}/${part.id}`;
        if (reference.kind === 'local') return local && part.type === reference.type && part.id === reference.id;
        if (reference.kind === 'id') return (local && part.id === reference.id) || part.url === reference.id;
        return part.url === reference.url;
      }
      case 'string':
        return part.normalized.startsWith(normalize(unescape(component)));
      case 'uri':
        return part.value === unescape(component);
      case 'date':
        return testHolds(parseDate(component, name), { low: part.low, high: part.high, value: part.low });
      case 'number':
      case 'quantity': {
        const { test, system, code } = parseNumber(component, name, part.kind);
        if (part.kind === 'quantity' && ((system && part.system !== system) || (code && part.code !== code && part.unit !== code))) return false;
        return testHolds(test, part);
      }
      case 'composite':
        return false;
    }
  }

  private alias(): string {
    return `c${++this.aliasCount}`;
  }
}

/**
 * Date elements a resource holds at most once (FHIR cardinality 0..1), one index row each: a parameter reading one
 * of them on the searched type may take a pair of bounds as one range (dateRangeRows).
 */
const SINGLE_VALUED_DATES: ReadonlySet<string> = new Set(['Appointment.start', 'Slot.start', 'Patient.birthDate', 'Encounter.period']);

/** Whether a parameter's expression reads, on `resourceType`, only one single-valued date element. */
function isSingleValued(resourceType: string, expression: string | undefined): boolean {
  const own = (expression ?? '').split('|').map((path) => path.trim()).filter((path) => path.startsWith(`${resourceType}.`));
  return own.length === 1 && SINGLE_VALUED_DATES.has(own[0]);
}

/** A searched reference, read as the index reads stored ones (parseReference). */
type ReferenceQuery =
  /** `Type/id`, relative or on this node's base. */
  | { kind: 'local'; type: string; id: string }
  /** A bare id: a local resource of any type, or a relative reference so written (`test.html`). */
  | { kind: 'id'; id: string }
  /** Anything else (another server's URL, `urn:…`, a relative path that is not Type/id): matched as written. */
  | { kind: 'url'; url: string };

function readReference(value: string, base: string, name: string): ReferenceQuery {
  const parsed = parseReference(value.startsWith(`${base}/`) ? value.slice(base.length + 1) : value);
  if (!parsed) throw badRequest('reference-invalid', `'${value}' is not a reference (id, Type/id or URL)`, name);
  if (parsed.url === null) return { kind: 'local', type: parsed.type!, id: parsed.id! };
  if (!parsed.url.includes('/') && !/^[a-z][a-z0-9+.-]*:/i.test(parsed.url)) return { kind: 'id', id: parsed.url };
  return { kind: 'url', url: parsed.url };
}

/**
 * Whether a filter's condition is `vseq IN (index rows)`: its matches are then current versions of the type found
 * through an index (`:not`, `:missing=true` and `:missing=true,false` are not).
 */
function selectsIndexRows(filter: Filter): boolean {
  if (filter.kind === 'chain') return true;
  if (filter.kind !== 'param' || filter.modifier === 'not') return false;
  return filter.modifier !== 'missing' || (filter.values.length === 1 && filter.values[0] === 'false');
}

/** How the text matches of one value of a text filter are keyed (see text/text-queries.ts). */
/** What the text index matched for one value of a text filter: vseqs, and whether they are only the newest ones. */
export interface TextMatch {
  vseqs: readonly number[];
  /** Only the newest matches were asked for, and there may be more. */
  partial: boolean;
  /** The matches the index counted as it walked, up to the count asked (the API's default total), when asked. */
  count?: number;
  /** The last change the index had applied when it answered: the vseqs it listed were current versions then. */
  indexedSeq?: number;
}

/** A request's text matches, by textMatchKey. */
export type TextMatches = ReadonlyMap<string, TextMatch>;

/**
 * Thrown when a search needs more of a text filter's matches than it was given (it ran out of the newest before
 * its page was full, or the filter is not the page's driver): ask the text index again for all of them.
 */
export class PartialTextMatches extends Error {
  constructor() {
    super('The search needs every text match, not only the newest');
  }
}

export function textMatchKey(resourceType: string, field: string, value: string): string {
  return `${resourceType}|${field}|${value}`;
}

/** References stored as written (`url`); `url <> ''` lets SQLite use the partial index (pid, url), vseq order. */
function byUrl(url: string, column: Column): RowCondition {
  return { sql: `${column('url')} = ? AND ${column('url')} <> ''`, values: [url], streams: true };
}

/**
 * Index rows of references that point at this node: relative ones, or absolute ones on its base. `Patient/1` on
 * another server is not the local Patient/1.
 */
export function localReference(base: string, column: Column = bare): Clause {
  return { sql: `(${column('url')} = '' OR ${column('url')} = ? || '/' || ${column('target_type')} || '/' || ${column('target_id')})`, values: [base] };
}

function join(clauses: Clause[], operator: string): Clause {
  if (clauses.length === 0) return { sql: '1', values: [] };
  return { sql: clauses.map((clause) => `(${clause.sql})`).join(operator), values: clauses.flatMap((clause) => clause.values) };
}

/** Upper bound of a prefix range over text: every string that starts with `prefix` sorts below it (U+10FFFF is the largest code point). */
function prefixEnd(prefix: string): string {
  return `${prefix}\u{10FFFF}`;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (char) => `\\${char}`);
}

function stringMatch(modifier: string | undefined, value: string, c: Column): RowCondition {
  if (modifier === 'exact') return { sql: `${c('exact')} = ?`, values: [value] };
  const normalized = normalize(value);
  if (modifier === 'contains') return { sql: `${c('value')} LIKE ? ESCAPE '\\'`, values: [`%${escapeLike(normalized)}%`] };
  return { sql: `${c('value')} >= ? AND ${c('value')} < ?`, values: [normalized, prefixEnd(normalized)] };
}

/**
 * Every term of the query begins a word of one stored (normalised) string, after a space, hyphen, apostrophe, dot or
 * comma. Two alternatives, so that neither scans every name: the first term begins the string (a range of the lookup
 * index), or the string has several words, which the partial index `idx_string_inner_words` (migrations.ts) lists
 * apart — its condition is repeated word for word, as SQLite uses a partial index only then. Terms are letters and
 * digits (queryTerms): no GLOB escaping needed.
 */
function wordPrefixMatch(value: string, c: Column): RowCondition[] {
  const [first, ...rest] = queryTerms(value);
  const begins = (terms: string[]) => ({ sql: terms.map(() => ` AND (' ' || ${c('value')}) GLOB ?`).join(''), values: terms.map((term) => `*${WORD_BREAK}${term}*`) });
  const others = begins(rest);
  const all = begins([first, ...rest]);
  return [
    { sql: `${c('value')} >= ? AND ${c('value')} < ?${others.sql}`, values: [first, prefixEnd(first), ...others.values] },
    { sql: `${c('part')} IN ('family', 'given') AND ${c('value')} GLOB '*${WORD_BREAK.replace(/'/g, "''")}*'${all.sql}`, values: all.values },
  ];
}
const WORD_BREAK = "[- '’.,]";

/** A code (with or without its system) streams: the lookup index is (pid, code), then vseq. */
function tokenMatch(modifier: string | undefined, raw: string, name: string, c: Column): RowCondition {
  if (modifier === 'text') {
    const normalized = escapeLike(normalize(unescape(raw)));
    return { sql: `(${c('text')} LIKE ? ESCAPE '\\' OR ${c('text')} LIKE ? ESCAPE '\\')`, values: [`${normalized}%`, `% ${normalized}%`] };
  }
  const parts = splitList(raw, '|');
  if (parts.length > 2) throw badRequest('search-value-invalid', `'${raw}' is not a token (code, system|code, |code or system|)`, name);
  if (parts.length === 1) return { sql: `${c('code')} = ?`, values: [unescape(parts[0])], streams: true };
  const [system, code] = parts.map(unescape);
  if (system === '' && code === '') throw badRequest('search-value-empty', `'${raw}' is an empty token`, name);
  if (code === '') return { sql: `${c('system')} = ?`, values: [system] };
  return { sql: `${c('code')} = ? AND ${c('system')} = ?`, values: [code, system], streams: true };
}

function uriMatch(modifier: string | undefined, value: string, c: Column): RowCondition[] {
  if (modifier === 'below') {
    // The URI itself and those under it as a path: `http://a/b` has `http://a/b/c` below it, not `http://a/bc`.
    const path = value.endsWith('/') ? value : `${value}/`;
    return [
      { sql: `${c('value')} = ?`, values: [value] },
      { sql: `${c('value')} >= ? AND ${c('value')} < ?`, values: [path, prefixEnd(path)] },
    ];
  }
  if (modifier === 'above') {
    // Every stored URI that is a path prefix of the value: `http://a/b/c` is below `http://a/b` and `http://a`.
    const prefixes: string[] = [];
    for (let cut = value.length; cut > 0; cut = value.lastIndexOf('/', cut - 1)) prefixes.push(value.slice(0, cut));
    return [{ sql: `${c('value')} IN (${prefixes.map(() => '?').join(', ')})`, values: prefixes }];
  }
  return [{ sql: `${c('value')} = ?`, values: [value], streams: true }];
}

function readPrefix(raw: string): { prefix: Prefix; rest: string } {
  const candidate = raw.slice(0, 2) as Prefix;
  return PREFIXES.includes(candidate) && !/^[0-9-]/.test(raw) ? { prefix: candidate, rest: raw.slice(2) } : { prefix: 'eq', rest: raw };
}

/**
 * A prefix turned into comparisons on a stored value's columns (`low`/`high` of a range, or `value`), all of which
 * must hold (or, negated, not all). One form serves SQL and the in-memory check of composite parts.
 */
interface RangeTest {
  negate: boolean;
  all: Array<[column: 'low' | 'high' | 'value', operator: '<' | '<=' | '>' | '>=', bound: number]>;
}

/**
 * Date prefixes on a stored range [low, high) against the searched range [start, end), as the spec defines them:
 * eq the searched range contains the stored one; gt/lt the stored range reaches beyond it; sa/eb starts after /
 * ends before; ap overlaps a range widened by 10% of its distance to now (at least a day).
 */
function dateTest(prefix: Prefix, { start, end }: DateRange): RangeTest {
  switch (prefix) {
    case 'eq':
    case 'ne':
      // `low < end` follows from the others (low < high <= end) and bounds the index range scan on low.
      return { negate: prefix === 'ne', all: [['low', '>=', start], ['low', '<', end], ['high', '<=', end]] };
    case 'gt':
      return { negate: false, all: [['high', '>', end]] };
    case 'lt':
      return { negate: false, all: [['low', '<', start]] };
    case 'ge':
      return { negate: false, all: [['high', '>', start]] };
    case 'le':
      return { negate: false, all: [['low', '<', end]] };
    case 'sa':
      return { negate: false, all: [['low', '>=', end]] };
    case 'eb':
      return { negate: false, all: [['high', '<=', start]] };
    case 'ap': {
      const margin = Math.max(DAY_MS, Math.abs(Date.now() - start) * 0.1);
      return { negate: false, all: [['low', '<', end + margin], ['high', '>', start - margin]] };
    }
  }
}

/** Number prefixes: eq within the precision of the searched value, ap within 10% of it. */
function numberTest(prefix: Prefix, searched: { value: number; low: number; high: number }): RangeTest {
  switch (prefix) {
    case 'eq':
    case 'ne':
      return { negate: prefix === 'ne', all: [['value', '>=', searched.low], ['value', '<', searched.high]] };
    case 'gt':
    case 'sa':
      return { negate: false, all: [['value', '>', searched.value]] };
    case 'lt':
    case 'eb':
      return { negate: false, all: [['value', '<', searched.value]] };
    case 'ge':
      return { negate: false, all: [['value', '>=', searched.value]] };
    case 'le':
      return { negate: false, all: [['value', '<=', searched.value]] };
    case 'ap': {
      const margin = Math.abs(searched.value) * 0.1;
      return { negate: false, all: [['value', '>=', searched.value - margin], ['value', '<=', searched.value + margin]] };
    }
  }
}

function testSql(test: RangeTest, columns: Record<'low' | 'high' | 'value', string>): Clause {
  const sql = test.all.map(([column, operator]) => `${columns[column]} ${operator} ?`).join(' AND ');
  return { sql: test.negate ? `NOT (${sql})` : sql, values: test.all.map(([, , bound]) => bound) };
}

function testHolds(test: RangeTest, row: Record<'low' | 'high' | 'value', number>): boolean {
  const holds = test.all.every(([column, operator, bound]) => {
    const value = row[column];
    return operator === '<' ? value < bound : operator === '<=' ? value <= bound : operator === '>' ? value > bound : value >= bound;
  });
  return holds !== test.negate;
}

function parseDate(raw: string, name: string): RangeTest {
  const { prefix, rest } = readPrefix(raw);
  const range = parseDateRange(rest);
  if (!range) throw badRequest('search-date-invalid', `'${raw}' is not a valid date for '${name}' (prefix eq|ne|gt|lt|ge|le|sa|eb|ap, then YYYY[-MM[-DD[Thh:mm[:ss][zone]]]])`, name);
  return dateTest(prefix, range);
}

function dateMatch(raw: string, name: string, c: Column): Clause {
  return testSql(parseDate(raw, name), { low: c('low'), high: c('high'), value: c('low') });
}

/** A decimal's implicit precision range: `100` → [99.5, 100.5), `1.50` → [1.495, 1.505). */
export function precisionRange(text: string): { value: number; low: number; high: number } | undefined {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  const [mantissa, exponent = '0'] = text.toLowerCase().split('e');
  const decimals = (mantissa.split('.')[1] ?? '').length - Number(exponent);
  const half = 0.5 * 10 ** -decimals;
  // Past ~15 significant digits half a unit is below a double's resolution: the range still holds the value itself.
  const ulp = Math.abs(value) * Number.EPSILON || Number.MIN_VALUE;
  return { value, low: Math.min(value - half, value), high: Math.max(value + half, value + ulp) };
}

/** `[prefix]number` and, for quantities, `|system|code` (`number||code` matches a unit written as the code). */
function parseNumber(raw: string, name: string, what: 'number' | 'quantity'): { test: RangeTest; system?: string; code?: string } {
  const [number, system, code, ...extra] = what === 'quantity' ? splitList(raw, '|').map(unescape) : [raw];
  const { prefix, rest } = readPrefix(number);
  const parsed = precisionRange(rest);
  if (!parsed || extra.length > 0) throw badRequest('search-value-invalid', `'${raw}' is not a ${what === 'quantity' ? 'quantity (number|system|code)' : 'number'} for '${name}'`, name);
  return { test: numberTest(prefix, parsed), system: system || undefined, code: code || undefined };
}

function numberMatch(raw: string, name: string, c: Column): Clause {
  return testSql(parseNumber(raw, name, 'number').test, { low: c('value'), high: c('value'), value: c('value') });
}

function quantityMatch(raw: string, name: string, c: Column): Clause {
  const { test, system, code } = parseNumber(raw, name, 'quantity');
  const condition = testSql(test, { low: c('value'), high: c('value'), value: c('value') });
  const sql = [condition.sql];
  const values = [...condition.values];
  if (system) {
    sql.push(`${c('system')} = ?`);
    values.push(system);
  }
  if (code) {
    sql.push(system ? `${c('code')} = ?` : `(${c('code')} = ? OR ${c('unit')} = ?)`);
    values.push(code, ...(system ? [] : [code]));
  }
  return { sql: sql.join(' AND '), values };
}

/** The text index answers newest first already: sorted only when it did not (matches of several values). */
function newestFirst(vseqs: readonly number[]): readonly number[] {
  for (let at = 1; at < vseqs.length; at++) if (vseqs[at] > vseqs[at - 1]) return [...vseqs].sort((a, b) => b - a);
  return vseqs;
}
