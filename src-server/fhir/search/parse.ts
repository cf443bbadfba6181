import { MIN_QUERY_LENGTH, queryTerms, textFieldOf, type TextField } from './text-fields';
import { badRequest } from '../outcome';
import { DIRECTORY_TYPES } from '../directory';
import { targetsOf } from './expressions';
import type { SearchParameterDefinition, SearchParameters } from './parameters';

/**
 * Parses a FHIR search query into filters and result controls, checking every name against the type's search
 * parameters. Unknown names and modifiers are errors (400), or ignored under `Prefer: handling=lenient`.
 */

export type ParameterType = SearchParameterDefinition['type'];

/** One filter: `name[:modifier]=v1,v2` (OR), a chain `ref[:Type].param=…`, or a reverse chain `_has:…`. */
export type Filter =
  | {
      kind: 'param';
      name: string;
      code: string;
      definition: SearchParameterDefinition;
      modifier?: string;
      values: string[];
      /** Lifen's word-prefix matching in SQL (WORD_PREFIX): every term of a value begins a word of one stored string. */
      words?: boolean;
    }
  | { kind: 'id'; name: string; values: string[] }
  | { kind: 'lastUpdated'; name: string; modifier?: string; values: string[] }
  | { kind: 'chain'; name: string; code: string; definition: SearchParameterDefinition; targetTypes: string[]; inner: Filter[] }
  | { kind: 'has'; name: string; sourceType: string; code: string; inner: Filter }
  /**
   * Answered by the background text index (text/): word-prefix `name`/`address` of the directory and patients,
   * `_content`, `_text`. `fallback` is the SQL filter used where the text index was not consulted.
   */
  | { kind: 'text'; name: string; resourceType: string; field: TextField; values: string[]; fallback?: Extract<Filter, { kind: 'param' }> };

export interface IncludeSpec {
  sourceType: string;
  /** Undefined for `*`: every reference parameter of the source type. */
  code?: string;
  targetType?: string;
  iterate: boolean;
}

export interface SortKey {
  code: string;
  descending: boolean;
  type: ParameterType | '_id' | '_lastUpdated';
}

export type Summary = 'true' | 'text' | 'data' | 'count' | 'false';

export interface ParsedQuery {
  filters: Filter[];
  count: number;
  sort: SortKey[];
  cursor?: string;
  total: 'none' | 'estimate' | 'accurate';
  summary?: Summary;
  elements?: string[];
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  /** The parameters as understood, for the `self` link (unknown ones dropped under lenient handling). */
  applied: URLSearchParams;
}

export const DEFAULT_COUNT = 10;
export const DEFAULT_DIRECTORY_COUNT = 100;
export const MAX_COUNT = 100;
/** Response format parameters, handled by the HTTP layer. */
const FORMAT_PARAMETERS = new Set(['_format', '_pretty']);
const MODIFIERS: Record<ParameterType, readonly string[]> = {
  string: ['exact', 'contains', 'missing'],
  token: ['text', 'not', 'missing'],
  reference: ['missing'],
  date: ['missing'],
  number: ['missing'],
  quantity: ['missing'],
  uri: ['above', 'below', 'missing'],
  composite: ['missing'],
};
/** `_id` and `_lastUpdated`, searched on the resources table itself, take fewer modifiers than their types. */
const RESOURCE_MODIFIERS: ReadonlyMap<string, readonly string[]> = new Map([
  ['_id', []],
  ['_lastUpdated', ['missing']],
]);
const MAX_CHAIN_DEPTH = 4;
/**
 * String parameters matched the Lifen way without the text index, so that they see a write as soon as it returns:
 * every term of the query begins a word of one of the parameter's strings (case and accents ignored), and a query
 * needs two letters or digits. Patient `name` is the text index's.
 */
const WORD_PREFIX: Readonly<Record<string, ReadonlySet<string>>> = { Patient: new Set(['family', 'given']) };

export function parseQuery(definitions: SearchParameters, resourceType: string, params: URLSearchParams, lenient: boolean): ParsedQuery {
  const query: ParsedQuery = {
    filters: [],
    count: DIRECTORY_TYPES.has(resourceType) ? DEFAULT_DIRECTORY_COUNT : DEFAULT_COUNT,
    sort: [],
    total: 'none',
    include: [],
    revinclude: [],
    applied: new URLSearchParams(),
  };
  const refuse = (message: string, name: string) => {
    if (!lenient) throw badRequest('search-parameter-unknown', message, name, { parameter: name });
  };
  for (const [name, value] of params) {
    if (FORMAT_PARAMETERS.has(name)) continue;
    try {
      if (!applyControl(definitions, query, resourceType, name, value)) query.filters.push(parseFilter(definitions, resourceType, name, value, 0));
      query.applied.append(name, value);
    } catch (error) {
      if (error instanceof UnknownParameter) refuse(error.message, name);
      else throw error;
    }
  }
  return query;
}

/** An unknown parameter or modifier: refused, or ignored under lenient handling. Bad values are always refused. */
class UnknownParameter extends Error {}

function applyControl(definitions: SearchParameters, query: ParsedQuery, resourceType: string, name: string, value: string): boolean {
  switch (name) {
    case '_count': {
      const count = Number(value);
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(count)) throw badRequest('count-invalid', `_count must be a non-negative integer, not '${value}'`, '_count');
      query.count = Math.min(count, MAX_COUNT);
      return true;
    }
    case '_sort':
      query.sort = value.split(',').map((key) => parseSortKey(definitions, resourceType, key.trim()));
      return true;
    case '_cursor':
      query.cursor = value;
      return true;
    case '_total':
      if (value !== 'none' && value !== 'estimate' && value !== 'accurate') throw badRequest('search-value-invalid', `_total must be none, estimate or accurate, not '${value}'`, '_total');
      query.total = value;
      return true;
    case '_summary':
      if (!['true', 'text', 'data', 'count', 'false'].includes(value)) throw badRequest('search-value-invalid', `_summary must be true, text, data, count or false, not '${value}'`, '_summary');
      query.summary = value as Summary;
      return true;
    case '_elements':
      query.elements = value.split(',').map((element) => element.trim()).filter(Boolean);
      return true;
    case '_include':
    case '_include:iterate':
    case '_include:recurse':
      query.include.push(parseInclude(definitions, value, name !== '_include', resourceType, false));
      return true;
    case '_revinclude':
    case '_revinclude:iterate':
    case '_revinclude:recurse':
      query.revinclude.push(parseInclude(definitions, value, name !== '_revinclude', resourceType, true));
      return true;
    default:
      return false;
  }
}

function parseSortKey(definitions: SearchParameters, resourceType: string, key: string): SortKey {
  const descending = key.startsWith('-');
  const code = descending ? key.slice(1) : key;
  if (code === '_id' || code === '_lastUpdated') return { code, descending, type: code };
  const definition = definitions.ofType(resourceType).get(code);
  if (!definition || definition.type === 'composite') throw badRequest('sort-invalid', `Cannot sort ${resourceType} by '${code}'`, '_sort');
  return { code, descending, type: definition.type };
}

function parseInclude(definitions: SearchParameters, value: string, iterate: boolean, resourceType: string, reverse: boolean): IncludeSpec {
  const name = reverse ? '_revinclude' : '_include';
  // `*` alone names the searched type's references; resources pointing back have to name their type (`Type:*`).
  if (value === '*' && reverse) throw badRequest('include-invalid', `_revinclude must name the type of the resources to add: Type:parameter or Type:*, not '*'`, name);
  if (value === '*') return { sourceType: resourceType, iterate };
  const [sourceType, code, targetType, ...rest] = value.split(':');
  if (!sourceType || !code || rest.length > 0) throw badRequest('include-invalid', `${name} must be Type:parameter[:TargetType], not '${value}'`, name);
  if (code === '*') return { sourceType, iterate, targetType };
  const definition = definitions.ofType(sourceType).get(code);
  if (!definition || definition.type !== 'reference') throw badRequest('include-invalid', `${name}: ${sourceType} has no reference parameter '${code}'`, name);
  if (targetType && !(definition.target ?? []).includes(targetType)) throw badRequest('include-invalid', `${name}: ${sourceType}.${code} cannot point at ${targetType}`, name);
  return { sourceType, code, targetType, iterate };
}

function parseFilter(definitions: SearchParameters, resourceType: string, name: string, value: string, depth: number): Filter {
  if (depth > MAX_CHAIN_DEPTH) throw badRequest('chain-too-deep', `'${name}' chains more than ${MAX_CHAIN_DEPTH} levels`, name);
  if (name.startsWith('_has:')) return parseHas(definitions, resourceType, name, value, depth);
  const dot = name.indexOf('.');
  if (dot >= 0) return parseChain(definitions, resourceType, name, dot, value, depth);
  const [code, modifier, ...extra] = name.split(':');
  if (extra.length > 0) throw new UnknownParameter(`Invalid parameter name '${name}'`);
  const values = splitList(value, ',');
  if (values.some((item) => item === '')) throw badRequest('search-value-empty', `Empty value in '${name}=${value}'`, name);
  if (code === '_id' || code === '_lastUpdated') {
    if (modifier && !RESOURCE_MODIFIERS.get(code)!.includes(modifier)) throw new UnknownParameter(`Unknown modifier ':${modifier}' on ${code}`);
    return code === '_id' ? { kind: 'id', name, values } : { kind: 'lastUpdated', name, modifier, values };
  }
  const field = modifier === undefined ? textFieldOf(resourceType, code) : undefined;
  if (field === 'content' || field === 'text') return { kind: 'text', name, resourceType, field, values };
  const definition = definitions.ofType(resourceType).get(code);
  if (!definition) throw new UnknownParameter(`Unknown search parameter '${code}' for ${resourceType}`);
  if (!definition.expression) throw new UnknownParameter(`Search parameter '${code}' is not supported by this node`);
  if (modifier !== undefined && !isModifierAllowed(definition, modifier)) {
    throw new UnknownParameter(`Modifier ':${modifier}' is not supported on ${definition.type} parameter '${code}'`);
  }
  if (modifier === 'missing' && values.some((item) => item !== 'true' && item !== 'false')) {
    throw badRequest('search-value-invalid', `:missing takes true or false, not '${value}'`, name);
  }
  const filter: Extract<Filter, { kind: 'param' }> = { kind: 'param', name, code, definition, modifier, values };
  if (modifier === undefined && WORD_PREFIX[resourceType]?.has(code)) {
    for (const item of values) {
      if (queryTerms(unescape(item)).join('').length < MIN_QUERY_LENGTH) throw badRequest('text-query-too-short', `'${name}' needs at least ${MIN_QUERY_LENGTH} letters or digits, not '${item}'`, name, { min: MIN_QUERY_LENGTH });
    }
    filter.words = true;
  }
  return field ? { kind: 'text', name, resourceType, field, values, fallback: filter } : filter;
}

/** The modifiers a parameter takes (STU3 SearchModifierCode: `type` for `ref:Type`), as the CapabilityStatement declares them. */
export function modifiersOf(definition: SearchParameterDefinition): string[] {
  const own = RESOURCE_MODIFIERS.get(definition.code);
  if (own) return [...own];
  return [...MODIFIERS[definition.type], ...(definition.type === 'reference' && definition.target?.length ? ['type'] : [])];
}

function isModifierAllowed(definition: SearchParameterDefinition, modifier: string): boolean {
  if (MODIFIERS[definition.type].includes(modifier)) return true;
  // `ref:Type` restricts a reference parameter to one of its target types.
  return definition.type === 'reference' && (definition.target ?? []).includes(modifier);
}

/** `subject:Patient.name=peter`, `subject.organization.name=x`: a filter on the referenced resources. */
function parseChain(definitions: SearchParameters, resourceType: string, name: string, dot: number, value: string, depth: number): Filter {
  const head = name.slice(0, dot);
  const [code, typeModifier] = head.split(':');
  const definition = definitions.ofType(resourceType).get(code);
  if (!definition) throw new UnknownParameter(`Unknown search parameter '${code}' for ${resourceType}`);
  if (definition.type !== 'reference') throw badRequest('chain-invalid', `'${code}' is not a reference parameter: it cannot be chained`, name);
  const rest = name.slice(dot + 1);
  // The types the reference really points at (an Observation's `patient` is a Patient, not a Group): the chain looks
  // only into those, and needs only their search scopes.
  const targets = [...(targetsOf(definition) ?? [])];
  const candidates = typeModifier ? [typeModifier] : targets;
  if (typeModifier && !targets.includes(typeModifier)) throw badRequest('chain-invalid', `${resourceType}.${code} cannot point at ${typeModifier}`, name);
  const nextCode = rest.split(/[.:]/)[0];
  const targetTypes = candidates.filter((type) => nextCode === '_id' || nextCode === '_lastUpdated' || definitions.ofType(type).has(nextCode));
  if (targetTypes.length === 0) throw new UnknownParameter(`None of the types ${resourceType}.${code} points at has a parameter '${nextCode}'`);
  return {
    kind: 'chain',
    name,
    code,
    definition,
    targetTypes,
    inner: targetTypes.map((type) => parseFilter(definitions, type, rest, value, depth + 1)),
  };
}

/** `_has:Observation:patient:code=1234`: resources that an Observation with that code points at through `patient`. */
function parseHas(definitions: SearchParameters, resourceType: string, name: string, value: string, depth: number): Filter {
  const [, sourceType, code, ...rest] = name.split(':');
  if (!sourceType || !code || rest.length === 0) throw badRequest('has-invalid', `_has must be _has:Type:reference:parameter, not '${name}'`, name);
  const definition = definitions.ofType(sourceType).get(code);
  if (!definition || definition.type !== 'reference') throw new UnknownParameter(`${sourceType} has no reference parameter '${code}'`);
  if (!(definition.target ?? []).includes(resourceType)) throw badRequest('has-invalid', `${sourceType}.${code} cannot point at ${resourceType}`, name);
  return { kind: 'has', name, sourceType, code, inner: parseFilter(definitions, sourceType, rest.join(':'), value, depth + 1) };
}

/**
 * Splits on a separator (`,` `|` `$`), honouring `\` escapes: `\<separator>` stays in the part, unescaped; other
 * escapes are kept for the next split (see `unescape`).
 */
export function splitList(value: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < value.length; index++) {
    const char = value[index];
    if (char === '\\' && index + 1 < value.length) {
      const next = value[++index];
      current += next === separator ? next : `\\${next}`;
    } else if (char === separator) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

/** Removes the remaining `\` escapes of a value once it is split. */
export function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}
