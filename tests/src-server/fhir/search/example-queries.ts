import fhirpath from 'fhirpath';
import stu3 from 'fhirpath/fhir-context/stu3';
import { readFileSync } from 'node:fs';
import { SHARED_FHIR, type Resource } from '../../../helpers/fhir-data';

/**
 * Search queries built from the official examples, independently of the engine's extraction: each parameter's
 * FHIRPath expression is evaluated with fhirpath.js here, and every value found is turned into the query a client
 * would write for it, by the value's FHIR type. The engine must then find the example with that query, and must
 * not find it with the `negative` query (a clearly different value).
 */

type Json = Record<string, any>;

export interface ParameterDefinition {
  code: string;
  type: 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri';
  expression?: string;
  base: string[];
  target?: string[];
  url: string;
  component?: Array<{ definition: { reference: string }; expression: string }>;
}

/** One query for one value: AND of `[name, value]` pairs. */
export interface ValueQuery {
  positive: Array<[string, string]>;
  /** Undefined when no clearly different value can be made (e.g. a boolean holding both values). */
  negative?: Array<[string, string]>;
}

/** What a parameter yields on a resource: the queries, and the values that cannot be searched (with why). */
export interface ParameterQueries {
  queries: ValueQuery[];
  unsearchable: string[];
}

const definitions = JSON.parse(readFileSync(`${SHARED_FHIR}/search-parameters.json`, 'utf8')) as {
  entry: Array<{ resource: ParameterDefinition & { resourceType: string } }>;
};
const byUrl = new Map<string, ParameterDefinition>();
const byBase = new Map<string, Map<string, ParameterDefinition>>();
for (const { resource } of definitions.entry) {
  if (resource.resourceType !== 'SearchParameter') continue;
  byUrl.set(resource.url, resource);
  for (const base of resource.base) {
    if (!byBase.has(base)) byBase.set(base, new Map());
    byBase.get(base)!.set(resource.code, resource);
  }
}

/** The parameters with an expression that apply to a type: its own, then Resource's and DomainResource's. */
export function parametersFor(resourceType: string): ParameterDefinition[] {
  const domain = ['Binary', 'Bundle', 'Parameters'].includes(resourceType) ? [] : ['DomainResource'];
  const result = new Map<string, ParameterDefinition>();
  for (const base of [resourceType, 'Resource', ...domain]) {
    for (const [code, definition] of byBase.get(base) ?? []) if (!result.has(code)) result.set(code, definition);
  }
  return [...result.values()].filter((definition) => definition.expression && definition.code !== '_id' && definition.code !== '_lastUpdated');
}

/** Component definitions are named by URL; a few STU3 URLs (`…/Observation-code`) exist only as `<Type>-<code>`. */
function componentDefinition(url: string): ParameterDefinition {
  const known = byUrl.get(url);
  if (known) return known;
  const [, type, code] = /\/SearchParameter\/([A-Za-z]+)-(.+)$/.exec(url)!;
  return byBase.get(type)?.get(code) ?? byBase.get('Resource')!.get(code)!;
}

/**
 * STU3 writes FHIR primitive types capitalised in type tests (`as(DateTime)`, `as(Uri)`), which fhirpath.js reads
 * as System types that a FHIR element never is; the FHIR type is meant. And `x.as(T)` is meant per item, as
 * `ofType(T)` (fhirpath.js refuses `as` on several items, e.g. two `Composition.relatesTo.target`).
 */
function fhirTypes(expression: string): string {
  const names: Record<string, string> = { Boolean: 'boolean', String: 'string', Date: 'date', DateTime: 'dateTime', Uri: 'uri', Decimal: 'decimal', Integer: 'integer' };
  return expression
    .replace(/\b(as|is)\((Boolean|String|Date|DateTime|Uri|Decimal|Integer)\)/g, (_all, operator: string, type: string) => `${operator}(${names[type]})`)
    .replace(/\.as\(/g, '.ofType(');
}

/** STU3 bug, fixed as R4 did: `Patient.deceased.exists()` makes a patient with `deceasedBoolean: false` deceased. */
const EXPRESSION_FIXES: Record<string, string> = {
  'http://hl7.org/fhir/SearchParameter/Patient-deceased': 'Patient.deceased.exists() and Patient.deceased != false',
};

/** STU3 bug: DocumentReference `relationship` gives its components (relatesto, relation) swapped expressions. */
const COMPONENT_FIXES: Record<string, string[]> = { 'http://hl7.org/fhir/SearchParameter/DocumentReference-relationship': ['target', 'code'] };

interface Item {
  type: string;
  value: unknown;
}

/** Top-level branches of a union, evaluated one by one: fhirpath.js's union compares items and fails on some. */
function branches(expression: string): string[] {
  const result: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < expression.length; index++) {
    const char = expression[index];
    if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === '|' && depth === 0) {
      result.push(expression.slice(start, index).trim());
      start = index + 1;
    }
  }
  return [...result, expression.slice(start).trim()];
}

function evaluate(input: unknown, expression: string | { base: string; expression: string }, resource: Resource): Item[] {
  if (typeof expression === 'string') return branches(expression).flatMap((branch) => evaluateBranch(input, branch, resource));
  return branches(expression.expression).flatMap((branch) => evaluateBranch(input, { ...expression, expression: branch }, resource));
}

function evaluateBranch(input: unknown, expression: string | { base: string; expression: string }, resource: Resource): Item[] {
  const raw = fhirpath.evaluate(input, expression, { resource }, stu3, { resolveInternalTypes: false }) as unknown[];
  const types = fhirpath.types(raw);
  const items: Item[] = [];
  raw.forEach((item, index) => {
    const data = typeof item === 'object' && item !== null && 'data' in item ? (item as { data: unknown }).data : item;
    if (data === null || data === undefined) return;
    items.push({ type: types[index].replace(/^(FHIR|System)\./, ''), value: data instanceof fhirpath.FP_Decimal ? data.toNumber() : data });
  });
  return items;
}

/** Elements selected by an expression, with the model path a relative component expression is evaluated from. */
function elements(expression: string, resource: Resource): Array<{ value: unknown; path: string }> {
  return branches(expression).flatMap((branch) => {
    const raw = fhirpath.evaluate(resource, branch, { resource }, stu3, { resolveInternalTypes: false }) as Array<{ data: unknown; path: string }>;
    return raw.map((node) => ({ value: node.data, path: node.path }));
  });
}

/** Escapes the separators of search values (`,` `|` `$` `\`) inside one value. */
export const esc = (value: string) => value.replace(/[\\,|$]/g, (char) => `\\${char}`);

const QUANTITIES = new Set(['Quantity', 'SimpleQuantity', 'Age', 'Duration', 'Money', 'Distance', 'Count']);
const NUMBERS = new Set(['decimal', 'integer', 'positiveInt', 'unsignedInt', 'Decimal', 'Integer']);
const DATES = new Set(['date', 'dateTime', 'instant', 'Date', 'DateTime']);

/** A prefix of a string, by code points, long enough to mean something. */
function prefixOf(text: string): string {
  const chars = Array.from(text.trim());
  return chars.slice(0, Math.max(1, Math.ceil(chars.length / 2))).join('');
}

/** A far-away year in the value's own precision: `2017-03-04` → `2517-03-04`. */
function farDate(value: string): string {
  return `${Number(value.slice(0, 4)) + 500}${value.slice(4)}`;
}

/** A number clearly different from `value`, written plainly. */
function farNumber(value: number): string {
  return String(value + 1000 + Math.abs(value) * 3);
}

function quantityQuery(json: Json, number: string): string {
  const code = json.code ?? (json.system ? undefined : json.unit);
  if (json.system === undefined && code === undefined) return number;
  return `${number}|${esc(json.system ?? '')}|${esc(code ?? '')}`;
}

/**
 * The query for one value: `all` are ANDed (a Period is searched as `ge<start>` and `le<end>`, the values that
 * overlap it), under the parameter with `modifier`; `negative` is a clearly different value.
 */
type Built = { all: string[]; modifier?: string; negative?: string } | { unsearchable: string };

const one = (value: string, negative?: string): Built => ({ all: [value], negative });

function build(type: ParameterDefinition['type'], item: Item, definition: ParameterDefinition, base: string, composite = false): Built[] {
  const { value } = item;
  const json = (typeof value === 'object' && value !== null ? value : {}) as Json;
  switch (type) {
    case 'token': {
      if (typeof value === 'boolean') return [one(String(value), String(!value))];
      if (typeof value === 'string' || typeof value === 'number') return [one(esc(String(value)), esc(`${value}-not`))];
      const token = (system: unknown, code: string) => `${system === undefined ? '' : esc(String(system))}|${esc(code)}`;
      const coding = (coding: Json): Built =>
        coding.code === undefined ? { unsearchable: 'Coding without a code' } : one(token(coding.system, coding.code), token(coding.system, `${coding.code}-not`));
      switch (item.type) {
        case 'Coding':
          return [coding(json)];
        case 'CodeableConcept': {
          const built = (json.coding ?? []).map(coding);
          if (json.text !== undefined && !composite) {
            const word = String(json.text).trim().split(/\s+/)[0];
            built.push({ all: [esc(word)], modifier: 'text', negative: esc(`zzq${word}`) });
          }
          if (built.length === 0) return [{ unsearchable: json.text === undefined ? 'CodeableConcept without coding or text' : 'CodeableConcept with a text only, in a composite' }];
          return built;
        }
        case 'Identifier':
          if (json.value === undefined) return [{ unsearchable: 'Identifier without a value' }];
          return [one(token(json.system, json.value), token(json.system, `${json.value}-not`))];
        case 'ContactPoint':
          if (json.value === undefined) return [{ unsearchable: 'ContactPoint without a value' }];
          return [one(esc(json.value), esc(`${json.value}-not`))];
        default:
          return [{ unsearchable: `${item.type} under a token parameter` }];
      }
    }
    case 'string': {
      const text = (text: unknown): Built[] => {
        if (typeof text !== 'string' || text.trim() === '') return [];
        if (composite) return [one(esc(text), esc(`zzq${text}`))];
        // :exact is case sensitive: the value in other case is a different value (unless it has no case).
        const otherCase = text.toUpperCase() !== text ? text.toUpperCase() : text.toLowerCase() !== text ? text.toLowerCase() : `${text}zzq`;
        return [one(esc(prefixOf(text)), esc(`zzq${text}`)), { all: [esc(text)], modifier: 'exact', negative: esc(otherCase) }];
      };
      if (typeof value === 'string') return text(value);
      if (item.type === 'HumanName') return [json.family, ...(json.given ?? []), ...(json.prefix ?? []), ...(json.suffix ?? []), json.text].flatMap(text);
      if (item.type === 'Address') {
        return [...(json.line ?? []), json.city, json.district, json.state, json.postalCode, json.country, json.text].flatMap(text);
      }
      return [{ unsearchable: `${item.type} under a string parameter` }];
    }
    case 'uri':
      if (typeof value !== 'string') return [{ unsearchable: `${item.type} under a uri parameter` }];
      return [one(esc(value), esc(`${value}zzq`))];
    case 'reference': {
      let reference: string | undefined;
      if (typeof json.resourceType === 'string') {
        if (json.id === undefined) return [{ unsearchable: 'resource without an id in place of a reference' }];
        reference = `${json.resourceType}/${json.id}`;
      } else if (typeof value === 'string') reference = value;
      else reference = json.reference;
      if (reference === undefined) return [{ unsearchable: 'Reference without a reference (identifier or display only)' }];
      if (reference.startsWith('#')) return [{ unsearchable: 'reference to a contained resource' }];
      const typed = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?$/.exec(reference);
      if (typed && definition.target && !definition.target.includes(typed[1])) return [{ unsearchable: 'reference to a type the parameter does not target' }];
      const other = reference.replace(/(\/_history\/[^/]+)?$/, 'zzq');
      const built = [one(esc(reference), esc(other))];
      // A relative reference is also found by the absolute URL of this node.
      if (typed && !reference.includes(':') && !composite) built.push(one(esc(`${base}/${reference}`), esc(`${base}/${other}`)));
      return built;
    }
    case 'date': {
      if (typeof value === 'string' && DATES.has(item.type)) return [one(`eq${value}`, `eq${farDate(value)}`)];
      if (composite) return [{ unsearchable: `${item.type} in a composite date component` }];
      const range = (period: Json): Built => {
        const conditions: string[] = [];
        if (period.start !== undefined) conditions.push(`ge${period.start}`);
        if (period.end !== undefined) conditions.push(`le${period.end}`);
        if (conditions.length === 0) return { unsearchable: 'Period without start or end' };
        return { all: conditions, negative: `sa${farDate(period.start ?? period.end)}` };
      };
      if (item.type === 'Period') return [range(json)];
      if (item.type === 'Timing') {
        const built = [...(json.event ?? []).map((event: string) => range({ start: event, end: event }))];
        if (json.repeat?.boundsPeriod) built.push(range(json.repeat.boundsPeriod));
        return built.length ? built : [{ unsearchable: 'Timing without event or bounds' }];
      }
      return [{ unsearchable: `${item.type} under a date parameter` }];
    }
    case 'number': {
      const number = typeof value === 'number' ? value : QUANTITIES.has(item.type) ? json.value : undefined;
      if (typeof number !== 'number' || !(NUMBERS.has(item.type) || QUANTITIES.has(item.type))) return [{ unsearchable: `${item.type} under a number parameter` }];
      return [one(`eq${number}`, `eq${farNumber(number)}`)];
    }
    case 'quantity': {
      if (!QUANTITIES.has(item.type)) return [{ unsearchable: `${item.type} under a quantity parameter` }];
      if (typeof json.value !== 'number') return [{ unsearchable: 'Quantity without a value' }];
      return [one(quantityQuery(json, `eq${json.value}`), quantityQuery(json, `eq${farNumber(json.value)}`))];
    }
    case 'composite':
      throw new Error('composites are built by compositeQueries');
  }
}

/** One query per element the composite selects: the first searchable value of each component, joined by `$`. */
function compositeQueries(definition: ParameterDefinition, resource: Resource, base: string): ParameterQueries {
  const components = definition.component!.map((component, index) => ({
    definition: componentDefinition(component.definition.reference),
    expression: fhirTypes(COMPONENT_FIXES[definition.url]?.[index] ?? component.expression),
  }));
  const result: ParameterQueries = { queries: [], unsearchable: [] };
  for (const element of elements(fhirTypes(definition.expression!), resource)) {
    const parts: Array<{ value: string; negative?: string }> = [];
    let unsearchable: string | undefined;
    for (const component of components) {
      const items = evaluate(element.value, { base: element.path, expression: component.expression }, resource);
      const built = items.flatMap((item) => build(component.definition.type, item, component.definition, base, true));
      const usable = built.find((candidate) => 'all' in candidate && candidate.all.length === 1 && !candidate.modifier);
      if (!usable || !('all' in usable)) {
        // A component without any value means the element has no composite value (`code-value-quantity` on a coded Observation).
        if (built.length > 0) unsearchable = `composite component: ${built.map((candidate) => ('unsearchable' in candidate ? candidate.unsearchable : 'text only')).join(', ')}`;
        break;
      }
      parts.push({ value: usable.all[0], negative: usable.negative });
    }
    if (unsearchable) result.unsearchable.push(unsearchable);
    if (parts.length < components.length) continue;
    const last = parts.length - 1;
    result.queries.push({
      positive: [[definition.code, parts.map((part) => part.value).join('$')]],
      negative: parts[last].negative === undefined ? undefined : [[definition.code, parts.map((part, index) => (index === last ? part.negative : part.value)).join('$')]],
    });
  }
  return result;
}

/** The queries that must find `resource` through `definition`, one per distinct value; `base` is the node's FHIR base. */
export function queriesFor(definition: ParameterDefinition, resource: Resource, base: string): ParameterQueries {
  if (definition.type === 'composite') return compositeQueries(definition, resource, base);
  const result: ParameterQueries = { queries: [], unsearchable: [] };
  let items = evaluate(resource, fhirTypes(EXPRESSION_FIXES[definition.url] ?? definition.expression!), resource);
  // The false of a type test that does not hold (`Condition.abatement.is(Period)`) is no value when another holds.
  if (/\.is\(/.test(definition.expression!) && items.some((item) => item.value === true)) items = items.filter((item) => item.value !== false);
  const booleans = new Set(items.filter((item) => typeof item.value === 'boolean').map((item) => item.value));
  const seen = new Set<string>();
  for (const item of items) {
    for (const built of build(definition.type, item, definition, base)) {
      if ('unsearchable' in built) {
        result.unsearchable.push(built.unsearchable);
        continue;
      }
      const name = built.modifier ? `${definition.code}:${built.modifier}` : definition.code;
      const positive = built.all.map((value): [string, string] => [name, value]);
      const key = JSON.stringify(positive);
      if (seen.has(key)) continue;
      seen.add(key);
      const clash = typeof item.value === 'boolean' && booleans.size > 1;
      result.queries.push({ positive, negative: built.negative === undefined || clash ? undefined : [[name, built.negative]] });
    }
  }
  return result;
}
