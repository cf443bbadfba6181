import type { Db } from '../../storage/database';
import type { StoredResource } from '../../storage/repository';
import { badRequest } from '../outcome';
import { parseDateRange } from './dates';
import { searchParameter } from './parameters';

/**
 * Search over the current resources of one type. This first engine covers what the REST interactions need
 * (`_id`, `_lastUpdated`, `identifier` for conditional create/update) with keyset paging; every value is a bound
 * SQL parameter. Parameters it does not serve yet answer 400 naming the parameter.
 */

export interface SearchRequest {
  resourceType: string;
  params: URLSearchParams;
  /** `Prefer: handling=lenient`: unknown parameters are ignored (and left out of the self link). */
  lenient: boolean;
}

export interface SearchPage {
  matches: StoredResource[];
  /** Opaque cursor of the next page, when there is one. */
  nextCursor?: string;
  /** The parameters the search really applied, for the `self` link. */
  applied: URLSearchParams;
}

export const DEFAULT_COUNT = 10;
export const MAX_COUNT = 100;

/** Parameters that shape the result or the response format rather than filter. */
const CONTROL_PARAMETERS = new Set(['_count', '_sort', '_cursor', '_format', '_pretty']);
export const SUPPORTED_SEARCH_PARAMETERS = ['_id', '_lastUpdated', 'identifier'] as const;

interface Clause {
  sql: string;
  values: Array<string | number>;
}

export function search(db: Db, request: SearchRequest): SearchPage {
  const { resourceType, params } = request;
  const clauses: Clause[] = [{ sql: 'r.resource_type = ?', values: [resourceType] }];
  const applied = new URLSearchParams();
  for (const [name, value] of params) {
    if (CONTROL_PARAMETERS.has(name)) continue;
    const clause = filterClause(resourceType, name, value);
    if (clause) {
      clauses.push(clause);
      applied.append(name, value);
    } else if (!request.lenient) {
      throw badRequest(
        searchParameter(resourceType, name.split(':')[0])
          ? `Search parameter '${name}' is not supported by this node yet`
          : `Unknown search parameter '${name}' for ${resourceType}`,
        name,
      );
    }
  }
  const count = readCount(params.get('_count'));
  const ascending = readSort(params.get('_sort'));
  if (params.has('_count')) applied.set('_count', String(count));
  if (params.has('_sort')) applied.set('_sort', params.get('_sort') as string);
  const cursor = params.get('_cursor');
  if (cursor !== null) clauses.push(cursorClause(cursor, ascending));

  const direction = ascending ? 'ASC' : 'DESC';
  const sql = `SELECT r.resource_id, v.version_id, v.last_updated, v.body
    FROM resources r JOIN resource_versions v ON v.vseq = r.vseq
    WHERE ${clauses.map((clause) => clause.sql).join(' AND ')}
    ORDER BY r.last_updated ${direction}, r.resource_id ${direction} LIMIT ?`;
  const rows = db.prepare(sql).all(...clauses.flatMap((clause) => clause.values), count + 1) as Array<{
    resource_id: string;
    version_id: string;
    last_updated: string;
    body: string;
  }>;
  const page = rows.slice(0, count);
  const last = page.at(-1);
  return {
    matches: page.map((row) => ({
      resourceType,
      id: row.resource_id,
      versionId: row.version_id,
      lastUpdated: row.last_updated,
      json: row.body,
    })),
    nextCursor: rows.length > count && last ? encodeCursor([last.last_updated, last.resource_id]) : undefined,
    applied,
  };
}

function filterClause(resourceType: string, name: string, value: string): Clause | undefined {
  switch (name) {
    case '_id': {
      const ids = splitOr(value);
      return { sql: `r.resource_id IN (${ids.map(() => '?').join(', ')})`, values: ids };
    }
    case '_lastUpdated':
      return lastUpdatedClause(value);
    case 'identifier':
      return searchParameter(resourceType, 'identifier') ? identifierClause(value) : undefined;
    default:
      return undefined;
  }
}

/** Splits a comma-separated OR list, honouring `\,` escapes. */
function splitOr(value: string): string[] {
  return value.split(/(?<!\\),/).map((part) => part.replace(/\\,/g, ','));
}

const PREFIXES = ['eq', 'ne', 'lt', 'gt', 'le', 'ge', 'sa', 'eb', 'ap'] as const;

function lastUpdatedClause(value: string): Clause {
  const prefix = PREFIXES.find((candidate) => value.startsWith(candidate)) ?? 'eq';
  const raw = value.startsWith(prefix) ? value.slice(2) : value;
  const range = parseDateRange(raw);
  if (!range) throw badRequest(`Invalid date '${raw}' in _lastUpdated`, '_lastUpdated');
  const start = new Date(range.start).toISOString();
  const end = new Date(range.end).toISOString();
  switch (prefix) {
    case 'eq':
    case 'ap':
      return { sql: 'r.last_updated >= ? AND r.last_updated < ?', values: [start, end] };
    case 'ne':
      return { sql: '(r.last_updated < ? OR r.last_updated >= ?)', values: [start, end] };
    case 'lt':
    case 'eb':
      return { sql: 'r.last_updated < ?', values: [start] };
    case 'le':
      return { sql: 'r.last_updated < ?', values: [end] };
    case 'gt':
    case 'sa':
      return { sql: 'r.last_updated >= ?', values: [end] };
    case 'ge':
      return { sql: 'r.last_updated >= ?', values: [start] };
  }
}

/** Token match on `identifier` (and `masterIdentifier`, which the STU3 definitions fold into it). */
function identifierClause(value: string): Clause {
  const alternatives = splitOr(value).map((token) => {
    const bar = token.indexOf('|');
    const system = bar < 0 ? undefined : token.slice(0, bar);
    const code = bar < 0 ? token : token.slice(bar + 1);
    const conditions: string[] = [];
    const values: string[] = [];
    if (code !== '') {
      conditions.push("json_extract(X, '$.value') = ?");
      values.push(code);
    }
    if (system === '') conditions.push("json_extract(X, '$.system') IS NULL");
    else if (system !== undefined) {
      conditions.push("json_extract(X, '$.system') = ?");
      values.push(system);
    }
    if (conditions.length === 0) throw badRequest(`Empty token '${token}' in identifier`, 'identifier');
    return { condition: conditions.join(' AND '), values };
  });
  const parts: string[] = [];
  const values: string[] = [];
  for (const path of ['$.identifier', '$.masterIdentifier']) {
    for (const { condition, values: conditionValues } of alternatives) {
      parts.push(
        `EXISTS (SELECT 1 FROM json_each(v.body, '${path}') i WHERE json_type(v.body, '${path}') = 'array' AND ${condition.replaceAll('X', 'i.value')})`,
        `(json_type(v.body, '${path}') = 'object' AND ${condition.replaceAll('X', `json_extract(v.body, '${path}')`)})`,
      );
      values.push(...conditionValues, ...conditionValues);
    }
  }
  return { sql: `(${parts.join(' OR ')})`, values };
}

function readCount(raw: string | null): number {
  if (raw === null) return DEFAULT_COUNT;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 0) throw badRequest(`_count must be a non-negative integer, not '${raw}'`, '_count');
  return Math.min(count, MAX_COUNT);
}

/** True for ascending order. Only `_lastUpdated` sorts for now. */
function readSort(raw: string | null): boolean {
  if (raw === null || raw === '-_lastUpdated') return false;
  if (raw === '_lastUpdated') return true;
  throw badRequest(`Sorting by '${raw}' is not supported by this node yet`, '_sort');
}

function encodeCursor(position: [string, string]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function cursorClause(cursor: string, ascending: boolean): Clause {
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    position = undefined;
  }
  if (!Array.isArray(position) || position.length !== 2 || !position.every((part) => typeof part === 'string')) {
    throw badRequest('Invalid paging cursor', '_cursor');
  }
  const operator = ascending ? '>' : '<';
  return {
    sql: `(r.last_updated ${operator} ? OR (r.last_updated = ? AND r.resource_id ${operator} ?))`,
    values: [position[0], position[0], position[1]],
  };
}
