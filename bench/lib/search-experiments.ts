import { parseDateRange } from '../../src-server/fhir/search/dates';
import { searchParametersOf } from '../../src-server/fhir/search/extract';
import { normalizeString } from '../../src-server/fhir/search/normalize';
import type { SearchEngine } from '../../src-server/fhir/search/search';
import type { Db } from '../../src-server/storage/database';
import type { SearchIndex } from '../../src-server/storage/search-index';
import { queryPlan } from './query-capture';
import { percentiles, querySequence, type Percentiles, type Shape } from './search-shapes';

/**
 * Alternatives to the engine's SQL, measured on the same store with the same queries, to size the schema and
 * query changes the benchmark recommends. Nothing here is used by the node: the rewrites cover only the single
 * filters of the benchmark's shapes (token, reference, date, string prefix, chains of them).
 *
 * The engine pages every search by walking the type's `resources_by_type_updated` index newest first and testing
 * each row against `r.vseq IN (SELECT vseq FROM idx_… WHERE …)`: SQLite first materialises the whole IN list (cost
 * proportional to the matches: 184k for Encounter?status=finished), then walks the type until the page is full
 * (cost proportional to the type's size when fewer than 20 match: all 600k Observations for one patient's).
 * Chains resolve ids with `resources.vseq IN (…)`, which no index serves: a scan of the whole target type.
 *
 * The rewrite ("write order") pages by `vseq` instead: vseq is the write order, as `lastUpdated` is stamped at
 * write time, so `vseq DESC` gives the same pages as `_lastUpdated DESC, vseq DESC` (checked below, page by page).
 * Equality filters then stream from the index table itself, whose lookup index already ends with vseq
 * (`(pid, target_id, target_type) + vseq`), and stop after 21 rows; bodies come from resource_versions by rowid.
 * That relies on the index describing current versions only (SearchIndex's contract).
 */

type SqlValue = string | number;
interface Sql {
  sql: string;
  values: SqlValue[];
}

/** Index rows of one filter: `SELECT <alias>.vseq FROM <table> <alias> WHERE <where>` lists the matching current versions. */
interface Rows {
  alias: string;
  table: 'idx_token' | 'idx_reference' | 'idx_date' | 'idx_string';
  where: string;
  values: SqlValue[];
  /**
   * True when an index returns the rows of this filter in vseq order (equality on every column before vseq):
   * the page streams, 21 rows read. Otherwise the rows come in value order and a page needs a plan (see Plan).
   */
  streams: boolean;
  /** The index that finds this filter's rows by value. */
  lookupIndex: string;
}

/**
 * How a filter whose rows do not come in vseq order is paged:
 * - `sort`: read every match through the lookup index, sort, keep 21 (cost grows with the matches);
 * - `walk`: walk the parameter's rows newest first and test each (cost grows with rows walked per match); through
 *   the index table's primary key (vseq, pid, …) when `walkIndex` is unset (every parameter's rows interleaved),
 *   else through an index on (pid, vseq);
 * - `adaptive`: count the matches through the lookup index up to PROBE; fewer: `sort`, else `walk` (which then
 *   finds 21 matches in about 21 × rows / PROBE rows if matches are spread over time) for at most WALK_BUDGET
 *   rows, then `sort` (matches bunched in the past: `Appointment?date=lt2018`).
 */
export type Plan = 'sort' | 'walk' | 'adaptive';

export interface RewriteOptions {
  plan: Plan;
  /** Per index table, an index on (pid, vseq) to walk one parameter's rows newest first. */
  walkIndex?: Partial<Record<Rows['table'], string>>;
  /** An index on idx_token (pid, code, vseq): code-only tokens (`status=finished`) then stream too. */
  tokenCodeIndex?: string;
  /** Add the bound a date `eq` implies on the column its range reads (`low < end`), which the engine leaves out. */
  boundedDateEq: boolean;
}

export const PROBE = 2000;
/** Index rows a walk reads at most before falling back to reading and sorting the matches. */
export const WALK_BUDGET = 20_000;

interface PageRow {
  vseq: number;
  resource_id: string;
}

export class WriteOrderRewriter {
  private aliases = 0;

  constructor(
    private readonly db: Db,
    private readonly index: SearchIndex,
    private readonly options: RewriteOptions,
    /** This node's FHIR base: references count when relative or absolute on it (as the engine's localReference). */
    private readonly base: string,
  ) {}

  private local(alias: string): string {
    return `(${alias}.url = '' OR ${alias}.url = ? || '/' || ${alias}.target_type || '/' || ${alias}.target_id)`;
  }

  /**
   * The first page (count + 1 rows, as the engine asks) of `resourceType?name=value`, newest write first, and the
   * statements that made it (a probe not included).
   */
  execute(resourceType: string, name: string, value: string, count: number): { rows: PageRow[]; statements: Sql[] } {
    this.aliases = 0;
    const rows = this.rows(resourceType, name, value);
    const statements: Sql[] = [];
    const run = (query: Sql) => {
      statements.push(query);
      return { rows: this.db.prepare(query.sql).all(...query.values) as PageRow[], statements };
    };
    if (rows.streams) return run(this.pageSql(rows, `${rows.table} ${rows.alias}`, rows.where, [], count));
    const adaptive = this.options.plan === 'adaptive';
    if ((adaptive ? this.probe(rows) : this.options.plan) === 'walk') {
      const walked = run(this.walkSql(rows, count, adaptive ? WALK_BUDGET : undefined));
      // A walk cut short by its budget (matches all old, say) falls back to reading and sorting them.
      if (!adaptive || walked.rows.length > count) return walked;
    }
    // Sorting: without DISTINCT SQLite keeps only the top rows (a bounded sorter, 2x faster on 60k matches than
    // the de-duplicating b-tree); a parameter with several matching values in one resource then repeats it, and
    // only that page is read again with DISTINCT.
    const sortFrom = `${rows.table} ${rows.alias} INDEXED BY ${rows.lookupIndex}`;
    const sorted = run(this.pageSql(rows, sortFrom, rows.where, [], count, false));
    if (new Set(sorted.rows.map((row) => row.vseq)).size === sorted.rows.length) return sorted;
    return run(this.pageSql(rows, sortFrom, rows.where, [], count));
  }

  /** The page's vseqs first, then their bodies: joining the bodies before the LIMIT would read every match's. */
  private pageSql(rows: Rows, from: string, where: string, sourceValues: SqlValue[], count: number, distinct = true): Sql {
    const a = rows.alias;
    return {
      sql:
        `SELECT v.vseq, v.resource_type, v.resource_id, v.last_updated, v.version_id, v.body ` +
        `FROM (SELECT ${distinct ? 'DISTINCT ' : ''}${a}.vseq AS vseq FROM ${from} WHERE ${where} ORDER BY ${a}.vseq DESC LIMIT ?) page ` +
        `JOIN resource_versions v ON v.vseq = page.vseq ORDER BY page.vseq DESC`,
      values: [...sourceValues, ...rows.values, count + 1],
    };
  }

  /** Walks the parameter's rows newest first (at most `budget` of them), testing each. */
  private walkSql(rows: Rows, count: number, budget: number | undefined): Sql {
    const a = rows.alias;
    const walkIndex = this.options.walkIndex?.[rows.table];
    const limit = budget === undefined ? '' : ` LIMIT ${budget}`;
    if (walkIndex) {
      const source = `(SELECT * FROM ${rows.table} INDEXED BY ${walkIndex} WHERE pid = ? ORDER BY vseq DESC${limit}) ${a}`;
      return this.pageSql(rows, source, rows.where, [rows.values[0]], count);
    }
    // Without an index on (pid, vseq) the walk reads the table's own key (vseq, pid, …): every parameter's rows.
    if (budget !== undefined) return this.pageSql(rows, `(SELECT * FROM ${rows.table} ORDER BY vseq DESC${limit}) ${a}`, rows.where, [], count);
    // `+column` keeps SQLite off every index, so it walks the key.
    return this.pageSql(rows, `${rows.table} ${a}`, rows.where.replace(new RegExp(`\\b${a}\\.`, 'g'), `+${a}.`), [], count);
  }

  private probe(rows: Rows): 'sort' | 'walk' {
    const { n } = this.db
      .prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM ${rows.table} ${rows.alias} INDEXED BY ${rows.lookupIndex} WHERE ${rows.where} LIMIT ${PROBE})`)
      .get(...rows.values) as { n: number };
    return n < PROBE ? 'sort' : 'walk';
  }

  private rows(resourceType: string, name: string, value: string): Rows {
    const dot = name.indexOf('.');
    if (dot >= 0) return this.chain(resourceType, name.slice(0, dot), name.slice(dot + 1), value);
    const definition = searchParametersOf(resourceType).get(name);
    if (!definition) throw new Error(`No parameter ${resourceType}.${name}`);
    const pid = this.index.paramId(resourceType, name);
    const a = `i${++this.aliases}`;
    switch (definition.type) {
      case 'token': {
        const [system, code] = value.includes('|') ? value.split('|') : [undefined, value];
        if (system !== undefined) {
          return { alias: a, table: 'idx_token', where: `${a}.pid = ? AND ${a}.code = ? AND ${a}.system = ?`, values: [pid, code, system], streams: true, lookupIndex: 'idx_token_lookup' };
        }
        const byCode = this.options.tokenCodeIndex;
        return { alias: a, table: 'idx_token', where: `${a}.pid = ? AND ${a}.code = ?`, values: [pid, code], streams: byCode !== undefined, lookupIndex: byCode ?? 'idx_token_lookup' };
      }
      case 'reference': {
        const [type, id] = value.split('/');
        return {
          alias: a,
          table: 'idx_reference',
          where: `${a}.pid = ? AND ${a}.target_id = ? AND ${a}.target_type = ? AND ${this.local(a)}`,
          values: [pid, id, type, this.base],
          streams: true,
          lookupIndex: 'idx_reference_lookup',
        };
      }
      case 'string': {
        const normalized = normalizeString(value);
        return { alias: a, table: 'idx_string', where: `${a}.pid = ? AND ${a}.value >= ? AND ${a}.value < ?`, values: [pid, normalized, `${normalized}\uffff`], streams: false, lookupIndex: 'idx_string_lookup' };
      }
      case 'date': {
        const prefix = /^(ge|lt|gt|le|eq)/.exec(value)?.[1] ?? 'eq';
        const range = parseDateRange(value.replace(/^(ge|lt|gt|le|eq)/, ''));
        if (!range) throw new Error(`Bad date ${value}`);
        const [where, values, lookupIndex]: [string, number[], string] =
          prefix === 'ge'
            ? [`${a}.high > ?`, [range.start], 'idx_date_by_high']
            : prefix === 'gt'
              ? [`${a}.high > ?`, [range.end], 'idx_date_by_high']
              : prefix === 'lt'
                ? [`${a}.low < ?`, [range.start], 'idx_date_by_low']
                : prefix === 'le'
                  ? [`${a}.low < ?`, [range.end], 'idx_date_by_low']
                  : this.options.boundedDateEq
                    ? [`${a}.low >= ? AND ${a}.low < ? AND ${a}.high <= ?`, [range.start, range.end, range.end], 'idx_date_by_low']
                    : [`${a}.low >= ? AND ${a}.high <= ?`, [range.start, range.end], 'idx_date_by_low'];
        return { alias: a, table: 'idx_date', where: `${a}.pid = ? AND ${where}`, values: [pid, ...values], streams: false, lookupIndex };
      }
      default:
        throw new Error(`The rewrite does not cover ${definition.type} parameters`);
    }
  }

  /**
   * `ref[:Type].rest=value`: references to the current `Type` resources matching `rest=value`, their ids found
   * through resource_versions by vseq (the engine's `resources.vseq IN (…)` has no index: it scans the type).
   */
  private chain(resourceType: string, head: string, rest: string, value: string): Rows {
    const [code, typeModifier] = head.split(':');
    const definition = searchParametersOf(resourceType).get(code);
    if (!definition || definition.type !== 'reference') throw new Error(`${resourceType}.${code} is not a reference`);
    const nextCode = rest.split(/[.:]/)[0];
    const targets = typeModifier ? [typeModifier] : (definition.target ?? []).filter((type) => searchParametersOf(type).has(nextCode));
    if (targets.length !== 1) throw new Error(`The rewrite covers chains to one type, not ${targets.join(', ')}`);
    const pid = this.index.paramId(resourceType, code);
    const a = `i${++this.aliases}`;
    const inner = this.rows(targets[0], rest, value);
    const t = `t${this.aliases}`;
    return {
      alias: a,
      table: 'idx_reference',
      where:
        `${a}.pid = ? AND ${a}.target_type = ? AND ${this.local(a)} AND ${a}.target_id IN ` +
        `(SELECT ${t}.resource_id FROM ${inner.table} ${inner.alias} JOIN resource_versions ${t} ON ${t}.vseq = ${inner.alias}.vseq WHERE ${inner.where})`,
      values: [pid, targets[0], this.base, ...inner.values],
      // One target id (an identifier) streams from the lookup index like a plain reference; SQLite sorts when the
      // IN list holds several, and the probe says whether to sort or walk.
      streams: false,
      lookupIndex: 'idx_reference_lookup',
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------

export interface ExperimentContext {
  db: Db;
  engine: SearchEngine;
  index: SearchIndex;
  shapes: Shape[];
  seed: number;
  repeats: number;
  shapeSeconds: number;
  page: number;
  base: string;
  log: (message: string) => void;
  /** The SQL the engine runs for a query, for its plan. */
  engineSql: (shape: Shape, params: Record<string, string>) => { sql: string; values: unknown[] } | undefined;
}

export interface ShapeOutcome extends Percentiles {
  samples: number;
  /** Queries whose first page differs from the engine's (ids in order), out of those compared. */
  differentPages?: number;
  compared?: number;
  plan?: string[];
}

const COMPARED_QUERIES = 20;

type Runner = (shape: Shape, params: Record<string, string>) => string[];

/** Lets signal handlers run between queries (the benchmark cleans up on Ctrl-C). */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs each shape's query sequence, timing each query. `prepare` does untimed set-up for a query and returns the
 * timed part, which returns the page's ids.
 */
async function timeShapes(
  context: ExperimentContext,
  prepare: (shape: Shape, params: Record<string, string>) => () => string[],
  withPlan?: (shape: Shape, params: Record<string, string>) => string[],
): Promise<Record<string, ShapeOutcome>> {
  const run: Runner = (shape, params) => prepare(shape, params)();
  const outcomes: Record<string, ShapeOutcome> = {};
  for (const [shapeIndex, shape] of context.shapes.entries()) {
    const next = querySequence(shape, shapeIndex, context.seed);
    for (let n = 0; n < 3; n++) run(shape, next());
    const samples: number[] = [];
    const deadline = performance.now() + context.shapeSeconds * 1000;
    const compare = querySequence(shape, shapeIndex, context.seed);
    let differentPages = 0;
    let compared = 0;
    for (let n = 0; n < context.repeats && performance.now() < deadline; n++) {
      const timed = prepare(shape, next());
      const started = performance.now();
      timed();
      samples.push(performance.now() - started);
      await breathe();
    }
    // Same pages as the engine? (outside the timed loop)
    for (let n = 0; n < COMPARED_QUERIES; n++) {
      const params = compare();
      const ours = run(shape, params);
      const engines = engineIds(context, shape, params);
      compared++;
      if (ours.join() !== engines.join()) differentPages++;
    }
    const figures = percentiles(samples);
    outcomes[shape.name] = { ...figures, samples: samples.length, differentPages, compared, ...(withPlan ? { plan: withPlan(shape, compare()) } : {}) };
  }
  return outcomes;
}

function engineIds(context: ExperimentContext, shape: Shape, params: Record<string, string>): string[] {
  const result = context.engine.search({
    resourceType: shape.resourceType,
    params: new URLSearchParams({ ...params, _count: String(context.page) }),
    lenient: false,
    base: context.base,
  });
  return result.matches.map((match) => match.id);
}

/** Each experiment, in order; the store keeps the indexes an experiment adds (later ones build on them). */
export async function runExperiments(context: ExperimentContext): Promise<Array<{ name: string; description: string; schema: string[]; shapes: Record<string, ShapeOutcome> }>> {
  const { db, log } = context;
  const results: Array<{ name: string; description: string; schema: string[]; shapes: Record<string, ShapeOutcome> }> = [];
  const report = (name: string, description: string, schema: string[], shapes: Record<string, ShapeOutcome>) => {
    results.push({ name, description, schema, shapes });
    for (const [shape, outcome] of Object.entries(shapes)) {
      log(
        `experiment ${name} ${shape}: p50 ${outcome.p50} ms, p95 ${outcome.p95} ms, max ${outcome.max} ms` +
          (outcome.compared ? `; ${outcome.compared - (outcome.differentPages ?? 0)}/${outcome.compared} pages identical to the engine's` : ''),
      );
    }
  };
  const rewrite = (options: RewriteOptions) => {
    const rewriter = new WriteOrderRewriter(db, context.index, options, context.base);
    const execute = (shape: Shape, params: Record<string, string>) => {
      const [[name, value]] = Object.entries(params);
      return rewriter.execute(shape.resourceType, name, value, context.page);
    };
    return {
      run: (shape: Shape, params: Record<string, string>) => () => execute(shape, params).rows.slice(0, context.page).map((row) => row.resource_id),
      plan: (shape: Shape, params: Record<string, string>) => execute(shape, params).statements.flatMap((statement) => queryPlan(db, statement)),
    };
  };

  // 1. The engine's own SQL with one fix in conditions.ts: a date `eq` also bounds the column its index reads.
  //    Today `low >= start AND high <= end` reads idx_date_by_low from start to the end of time.
  {
    const dated = context.shapes.filter((shape) => shape.name.includes('date-month'));
    // The engine's SQL is captured outside the timing (its parsing and SQL building, ~0.1 ms, are left out).
    const run = (shape: Shape, params: Record<string, string>) => {
      const query = context.engineSql(shape, params)!;
      const pattern = 'low >= ? AND high <= ?';
      if (!query.sql.includes(pattern)) throw new Error(`The engine's date eq SQL changed: ${query.sql}`);
      const sql = query.sql.replace(pattern, 'low >= ? AND low < ? AND high <= ?');
      const at = query.sql.slice(0, query.sql.indexOf(pattern)).split('?').length - 1;
      const values = [...query.values.slice(0, at + 1), query.values[at + 1], ...query.values.slice(at + 1)];
      return () => (db.prepare(sql).all(...values) as Array<{ resource_id: string }>).slice(0, context.page).map((row) => row.resource_id);
    };
    report(
      'engine+bounded-date-eq',
      'the engine as is, but a date eq (a month) reads [start, end) of the low index: low >= start AND low < end AND high <= end',
      [],
      await timeShapes({ ...context, shapes: dated }, run),
    );
  }
  // 2. The write-order rewrite, no schema change: equality filters stream; code-only tokens, dates and chains
  //    probe then sort or walk the index table's primary key.
  {
    const { run, plan } = rewrite({ plan: 'adaptive', boundedDateEq: true });
    report(
      'write-order',
      `engine SQL rewritten to page by vseq (write order) from the index tables, no schema change; filters that cannot stream count their matches up to ${PROBE}: fewer are read and sorted, more walk the index table newest first`,
      [],
      await timeShapes(context, run, plan),
    );
  }
  // 3. The rewrite with indexes in write order per parameter: code-only tokens stream, walks read one parameter.
  {
    const schema = [
      'CREATE INDEX bench_idx_token_by_code ON idx_token (pid, code, vseq)',
      'CREATE INDEX bench_idx_date_by_pid ON idx_date (pid, vseq)',
      'CREATE INDEX bench_idx_reference_by_pid ON idx_reference (pid, vseq)',
    ];
    const started = performance.now();
    for (const statement of schema) db.exec(statement);
    db.exec('ANALYZE bench_idx_token_by_code; ANALYZE bench_idx_date_by_pid; ANALYZE bench_idx_reference_by_pid');
    log(`experiment indexes built in ${Math.round(performance.now() - started)} ms`);
    const { run, plan } = rewrite({
      plan: 'adaptive',
      boundedDateEq: true,
      tokenCodeIndex: 'bench_idx_token_by_code',
      walkIndex: { idx_date: 'bench_idx_date_by_pid', idx_reference: 'bench_idx_reference_by_pid' },
    });
    report(
      'write-order+indexes',
      'the rewrite, with code-only tokens streaming through (pid, code, vseq) and walks through (pid, vseq) indexes of idx_date and idx_reference',
      schema,
      await timeShapes(context, run, plan),
    );
    for (const statement of schema) db.exec(`DROP INDEX ${statement.split(' ')[2]}`);
  }
  // 3. The engine unchanged, with an index on resources (vseq): does SQLite's planner fix it alone?
  {
    const schema = ['CREATE UNIQUE INDEX bench_resources_by_vseq ON resources (vseq)'];
    for (const statement of schema) db.exec(statement);
    db.exec('ANALYZE bench_resources_by_vseq');
    const run = (shape: Shape, params: Record<string, string>) => () => engineIds(context, shape, params);
    // Slow plans: a quarter of the time budget is enough for their percentiles.
    const outcomes = await timeShapes({ ...context, shapeSeconds: context.shapeSeconds / 4 }, run, (shape, params) => {
      const query = context.engineSql(shape, params);
      return query ? queryPlan(db, query) : [];
    });
    for (const outcome of Object.values(outcomes)) {
      delete outcome.differentPages;
      delete outcome.compared;
    }
    report('engine+resources_by_vseq', 'the engine as is, with a unique index on resources (vseq)', schema, outcomes);
    db.exec('DROP INDEX bench_resources_by_vseq');
  }
  return results;
}
