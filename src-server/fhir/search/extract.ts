/**
 * Search index extraction: for a resource, the values of every standard STU3 search parameter of its type, in the
 * form the index tables store. It runs inside every write transaction, so each type's plan (the union branches of
 * each definition that apply to the type, compiled once) is cached, and values are mapped from plain JSON by the
 * FHIR datatype of the element, following the STU3 search page.
 */
import { parseDateRange } from './dates';
import { compileFhirPath, type Engine, type FhirPathEvaluator, type FhirValue } from './fhirpath';
import { DATE_MAX, DATE_MIN, numberRange, parseReference } from './index-values';
import { normalizeString } from './normalize-string';
import { branchesFor, componentExpressions, expressionOf, splitUnion, STORE_PARAMETERS, targetsOf } from './expressions';
import type { SearchParameterDefinition, SearchParameters } from './parameters';
import { sharedRows, STRING_PARTS } from './shared-rows';
import { resourceStructure } from '../validation/model';

export type IndexValue =
  /** `part`: the HumanName/Address part the value is (`family`, `city`…), '' for a plain string. */
  | { kind: 'string'; normalized: string; exact: string; part: string }
  | { kind: 'token'; system: string | null; code: string | null; text: string | null }
  | { kind: 'reference'; type: string | null; id: string | null; url: string | null }
  | { kind: 'date'; low: number; high: number }
  | { kind: 'number'; value: number; low: number; high: number }
  | { kind: 'quantity'; value: number; low: number; high: number; system: string | null; code: string | null; unit: string | null }
  | { kind: 'uri'; value: string }
  | { kind: 'composite'; parts: IndexValue[] };

export interface ExtractedParameter {
  code: string;
  type: SearchParameterDefinition['type'];
  values: IndexValue[];
}

type ParameterType = SearchParameterDefinition['type'];
type Json = Record<string, unknown>;

/** Bounds of an open quantity range (Range without low or high, comparators). */
export const QUANTITY_MIN = -Number.MAX_VALUE;
export const QUANTITY_MAX = Number.MAX_VALUE;


interface Branch {
  evaluate: FhirPathEvaluator;
  /** `X.is(T)` branches test a type: only a `true` means something (see abatement-boolean). */
  typeTest: boolean;
}

interface Component {
  /** Identifies the component's values on an element: several composites share components (`code`). */
  key: string;
  type: ParameterType;
  branches: string[];
  targets: ReadonlySet<string> | undefined;
  /** Compiled per base path of the composite's elements. */
  compiled: Map<string, FhirPathEvaluator[]>;
  engine: Engine;
}

/** One resource being extracted. */
interface Extraction {
  resource: Json;
  resourceType: string;
  /** Component values per element and component key, computed once for all the composites using them. */
  componentValues: Map<unknown, Map<string, Collector>>;
}

interface ParameterPlan {
  code: string;
  type: ParameterType;
  branches: Branch[];
  /** Reference parameters: the resource types a reference may point to (an `Observation.patient` is not a Group). */
  targets: ReadonlySet<string> | undefined;
  components: Component[] | undefined;
}

/** Plans by engine and type, derived from one set of definitions (another set is another instance). */
const plansOf = new WeakMap<SearchParameters, Record<Engine, Map<string, ParameterPlan[]>>>();

/**
 * Every standard search parameter of the resource's type (its own, plus those of Resource/DomainResource, but not
 * `_id` and `_lastUpdated`, which the store has) with at least one value. Parameters without an expression
 * (`_text`, `_content`, `_query`…) are skipped. Values are de-duplicated. Never throws.
 */
export function extractSearchValues(definitions: SearchParameters, resource: Record<string, unknown>, onlyType?: ParameterType): ExtractedParameter[] {
  return extractSearchValuesUsing('auto', definitions, resource, onlyType);
}

/**
 * The same with a chosen FHIRPath engine: 'fhirpath.js' is the reference the fast path is tested against. With
 * `onlyType`, only the parameters of that type (the references an earlier version is judged by, visibility.ts).
 */
export function extractSearchValuesUsing(engine: Engine, definitions: SearchParameters, resource: Record<string, unknown>, onlyType?: ParameterType): ExtractedParameter[] {
  const resourceType = resource.resourceType;
  if (typeof resourceType !== 'string' || !resourceStructure(resourceType)) return [];
  let plans = plansOf.get(definitions);
  if (!plans) plansOf.set(definitions, (plans = { auto: new Map(), 'fhirpath.js': new Map() }));
  let typePlans = plans[engine].get(resourceType);
  if (!typePlans) plans[engine].set(resourceType, (typePlans = planType(definitions, resourceType, engine)));
  const extraction: Extraction = { resource, resourceType, componentValues: new Map() };
  const result: ExtractedParameter[] = [];
  for (const plan of typePlans) {
    if (onlyType !== undefined && plan.type !== onlyType) continue;
    const values = extractParameter(plan, extraction);
    if (values.length > 0) result.push({ code: plan.code, type: plan.type, values });
  }
  return result;
}

/**
 * The values of one parameter evaluated from its own expression, even when other parameters' rows hold them (the
 * index never writes those): what shared-rows.ts promises to be equal to, for tests that hold it to that.
 */
export function extractParameterValues(definitions: SearchParameters, resource: Record<string, unknown>, code: string): IndexValue[] {
  const resourceType = resource.resourceType;
  if (typeof resourceType !== 'string' || !resourceStructure(resourceType)) return [];
  const plan = planType(definitions, resourceType, 'auto', code)[0];
  return plan ? extractParameter(plan, { resource, resourceType, componentValues: new Map() }) : [];
}

// ---------------------------------------------------------------------------------------------------------------
// Plans

/** The plans of the parameters a type writes rows for, or of the one parameter `only`, whether it writes or not. */
function planType(definitions: SearchParameters, resourceType: string, engine: Engine, only?: string): ParameterPlan[] {
  const result: ParameterPlan[] = [];
  for (const [code, definition] of definitions.ofType(resourceType)) {
    if (only !== undefined && code !== only) continue;
    const expression = expressionOf(definition);
    // Parameters whose values another parameter's rows already hold are not written twice (see shared-rows.ts).
    if (STORE_PARAMETERS.has(code) || !expression || (only === undefined && sharedRows(definitions, resourceType, code))) continue;
    const branches = branchesFor(expression, resourceType).flatMap((branch): Branch[] => {
      try {
        return [{ evaluate: compileFhirPath(branch, resourceType, engine), typeTest: TYPE_TEST.test(branch) }];
      } catch {
        return []; // an expression fhirpath.js cannot parse indexes nothing rather than breaking every write
      }
    });
    const components = definition.type === 'composite' ? componentsOf(definitions, definition, engine) : undefined;
    if (branches.length === 0 || (definition.type === 'composite' && !components)) continue;
    result.push({ code, type: definition.type, branches, targets: targetsOf(definition), components });
  }
  return result;
}

const TYPE_TEST = /(\.is\(\s*[A-Za-z.]+\s*\)|\sis\s+[A-Za-z.]+)\s*$/;

function componentsOf(definitions: SearchParameters, definition: SearchParameterDefinition, engine: Engine): Component[] | undefined {
  const components: Component[] = [];
  for (const { reference, expression } of componentExpressions(definition)) {
    const componentDefinition = definitions.atUrl(reference);
    if (!componentDefinition || componentDefinition.type === 'composite') return undefined;
    components.push({
      key: `${reference} ${expression}`,
      type: componentDefinition.type,
      branches: splitUnion(expression),
      targets: targetsOf(componentDefinition),
      compiled: new Map(),
      engine,
    });
  }
  return components.length > 0 ? components : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

function extractParameter(plan: ParameterPlan, extraction: Extraction): IndexValue[] {
  const { resource } = extraction;
  const out = new Collector();
  try {
    for (const branch of plan.branches) {
      for (const item of branch.evaluate(resource, resource)) {
        if (branch.typeTest && item.value !== true) continue;
        if (plan.components) addComposites(plan.components, item, extraction, out);
        else mapValue(plan.type, item, resource, plan.targets, out);
      }
    }
  } catch {
    // Odd data must never fail a write: what could be mapped before the error is kept.
  }
  return out.values;
}

/** One composite value per combination of the component values found on the same element. */
function addComposites(components: Component[], element: FhirValue, extraction: Extraction, out: Collector): void {
  let combinations: Array<{ parts: IndexValue[]; key: string }> = [{ parts: [], key: 'c' }];
  for (const component of components) {
    const values = componentValues(component, element, extraction);
    if (values.values.length === 0) return;
    combinations = combinations.flatMap(({ parts, key }) =>
      values.values.map((part, i) => ({ parts: [...parts, part], key: `${key}\u0001${values.keys[i]}` })),
    );
  }
  for (const { parts, key } of combinations) out.addKeyed({ kind: 'composite', parts }, key);
}

function componentValues(component: Component, element: FhirValue, extraction: Extraction): Collector {
  const { resource } = extraction;
  let memo = extraction.componentValues.get(element.value);
  if (!memo) extraction.componentValues.set(element.value, (memo = new Map()));
  const known = memo.get(component.key);
  if (known) return known;
  const base = element.value === resource ? extraction.resourceType : element.path;
  const values = new Collector();
  if (base !== undefined) {
    let evaluators = component.compiled.get(base);
    if (!evaluators) {
      evaluators = component.branches.flatMap((branch) => {
        try {
          return [compileFhirPath(branch, base, component.engine)];
        } catch {
          return [];
        }
      });
      component.compiled.set(base, evaluators);
    }
    for (const evaluate of evaluators) {
      for (const item of evaluate(element.value as object, resource)) mapValue(component.type, item, resource, component.targets, values);
    }
  }
  memo.set(component.key, values);
  return values;
}

/** De-duplicates index values by content. */
class Collector {
  readonly values: IndexValue[] = [];
  /** keyOf(values[i]), kept for the composites built from these values. */
  readonly keys: string[] = [];
  private readonly seen = new Set<string>();

  add(value: IndexValue): void {
    this.addKeyed(value, keyOf(value));
  }

  addKeyed(value: IndexValue, key: string): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.values.push(value);
    this.keys.push(key);
  }
}

function keyOf(value: IndexValue): string {
  switch (value.kind) {
    case 'string':
      return `s\u0000${value.part}\u0000${value.exact}`;
    case 'token':
      return `t\u0000${value.system}\u0000${value.code}\u0000${value.text}`;
    case 'reference':
      return `r\u0000${value.type}\u0000${value.id}\u0000${value.url}`;
    case 'date':
      return `d\u0000${value.low}\u0000${value.high}`;
    case 'number':
      return `n\u0000${value.value}`;
    case 'quantity':
      return `q\u0000${value.value}\u0000${value.low}\u0000${value.high}\u0000${value.system}\u0000${value.code}\u0000${value.unit}`;
    case 'uri':
      return `u\u0000${value.value}`;
    case 'composite':
      return `c${value.parts.map((part) => `\u0001${keyOf(part)}`).join('')}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Mapping a FHIR value to index values, by parameter type and datatype (STU3 search page)

function mapValue(type: ParameterType, item: FhirValue, resource: Json, targets: ReadonlySet<string> | undefined, out: Collector): void {
  switch (type) {
    case 'string':
      return mapString(item, out);
    case 'token':
      return mapToken(item, out);
    case 'reference':
      return mapReference(item, resource, targets, out);
    case 'date':
      return mapDate(item, out);
    case 'number':
      return mapNumber(item, out);
    case 'quantity':
      return mapQuantity(item, out);
    case 'uri':
      return mapUri(item, out);
    case 'composite':
      return; // a composite inside a composite does not occur in STU3
  }
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const strs = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const obj = (value: unknown): Json | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
const objs = (value: unknown): Json[] => (Array.isArray(value) ? value.map(obj).filter((v): v is Json => v !== undefined) : []);
/** Normalised display texts, which repeat across parameters and resources (bounded: cleared when full). */
const normalizedTexts = new Map<string, string | null>();
const textOf = (value: unknown): string | null => {
  const text = str(value);
  if (text === undefined) return null;
  let normalized = normalizedTexts.get(text);
  if (normalized === undefined) {
    if (normalizedTexts.size >= 10_000) normalizedTexts.clear();
    normalizedTexts.set(text, (normalized = normalizeString(text) || null));
  }
  return normalized;
};

function addString(value: unknown, part: string, out: Collector): void {
  const exact = str(value);
  if (exact === undefined) return;
  const normalized = normalizeString(exact);
  if (normalized !== '') out.add({ kind: 'string', normalized, exact, part });
}

/** A string parameter over a HumanName or an Address indexes each part, marked with its name (see shared-rows.ts). */
function mapString(item: FhirValue, out: Collector): void {
  const value = obj(item.value);
  if (!value) return addString(item.value, '', out);
  for (const part of STRING_PARTS[item.type] ?? []) {
    const texts = value[part];
    if (Array.isArray(texts)) for (const text of texts) addString(text, part, out);
    else addString(texts, part, out);
  }
}

function addToken(system: unknown, code: unknown, text: string | null, out: Collector): void {
  const s = str(system) ?? null;
  const c = str(code) ?? null;
  if (s !== null || c !== null || text !== null) out.add({ kind: 'token', system: s, code: c, text });
}

function mapToken(item: FhirValue, out: Collector): void {
  const value = item.value;
  if (typeof value === 'boolean') return addToken(null, String(value), null, out);
  if (typeof value === 'string') return addToken(null, value, null, out);
  if (typeof value === 'number') return addToken(null, String(value), null, out);
  const json = obj(value);
  if (!json) return;
  switch (item.type) {
    case 'Coding':
      return addToken(json.system, json.code, textOf(json.display), out);
    case 'CodeableConcept':
      for (const coding of objs(json.coding)) addToken(coding.system, coding.code, textOf(coding.display), out);
      return addToken(null, null, textOf(json.text), out);
    case 'Identifier':
      return addToken(json.system, json.value, textOf(obj(json.type)?.text), out);
    case 'ContactPoint':
      if (str(json.value) === undefined) return;
      return addToken(json.system, json.value, null, out);
  }
}

function mapReference(item: FhirValue, resource: Json, targets: ReadonlySet<string> | undefined, out: Collector): void {
  const value = item.value;
  let parsed: { type: string | null; id: string | null; url: string | null } | undefined;
  if (typeof value === 'string') parsed = parseReference(value);
  else {
    const json = obj(value);
    if (!json) return;
    if (typeof json.resourceType === 'string') {
      // A resource in place of a reference (Bundle.entry[0].resource for `composition`).
      parsed = { type: json.resourceType, id: str(json.id) ?? null, url: null };
    } else {
      const reference = str(json.reference);
      if (reference === undefined) return; // identifier- or display-only references point nowhere we can index
      parsed = reference.startsWith('#') ? containedReference(reference, resource) : parseReference(reference);
    }
  }
  if (!parsed) return;
  if (targets && parsed.type !== null && !targets.has(parsed.type)) return;
  out.add({ kind: 'reference', type: parsed.type, id: parsed.id, url: parsed.url });
}

/** `#id`: a contained resource, known by its type and local URL. */
function containedReference(reference: string, resource: Json): { type: string | null; id: null; url: string } {
  const id = reference.slice(1);
  const contained = objs(resource.contained).find((candidate) => candidate.id === id);
  return { type: str(contained?.resourceType) ?? null, id: null, url: reference };
}

function mapDate(item: FhirValue, out: Collector): void {
  const value = item.value;
  if (typeof value === 'string') {
    const range = parseDateRange(value);
    if (range) out.add({ kind: 'date', low: range.start, high: range.end });
    return;
  }
  const json = obj(value);
  if (!json) return;
  const range = item.type === 'Timing' ? timingRange(json) : item.type === 'Period' ? periodRange(json) : undefined;
  if (range) out.add({ kind: 'date', low: range[0], high: range[1] });
}

/** [start, end) of a Period; a missing end is open. Undefined for an empty or impossible period. */
function periodRange(period: Json): [number, number] | undefined {
  const start = str(period.start);
  const end = str(period.end);
  if (start === undefined && end === undefined) return undefined;
  const low = start === undefined ? DATE_MIN : parseDateRange(start)?.start;
  const high = end === undefined ? DATE_MAX : parseDateRange(end)?.end;
  return low === undefined || high === undefined ? undefined : [low, high];
}

/** A Timing's outer limits: its events and its bounds period (the repeat rules inside them do not narrow it). */
function timingRange(timing: Json): [number, number] | undefined {
  let low = Infinity;
  let high = -Infinity;
  const widen = (range: [number, number] | undefined) => {
    if (!range) return;
    low = Math.min(low, range[0]);
    high = Math.max(high, range[1]);
  };
  for (const event of strs(timing.event)) {
    const range = parseDateRange(event);
    widen(range && [range.start, range.end]);
  }
  const bounds = obj(obj(timing.repeat)?.boundsPeriod);
  if (bounds) widen(periodRange(bounds));
  return low <= high ? [low, high] : undefined;
}

function mapNumber(item: FhirValue, out: Collector): void {
  if (typeof item.value === 'number') {
    if (Number.isFinite(item.value)) out.add({ kind: 'number', value: item.value, ...numberRange(item.value) });
    return;
  }
  // Quantities under a number parameter (Encounter `length` is a Duration, RiskAssessment `probability` may be
  // a Range) are searched by their numbers.
  const json = obj(item.value);
  const quantity = json && (QUANTITY_TYPES.has(item.type) ? quantityOf(json) : item.type === 'Range' ? rangeOf(json) : undefined);
  if (quantity) out.add({ kind: 'number', value: quantity.value, low: quantity.low, high: quantity.high });
}

const QUANTITY_TYPES = new Set(['Quantity', 'SimpleQuantity', 'Age', 'Duration', 'Money', 'Distance', 'Count']);

function mapQuantity(item: FhirValue, out: Collector): void {
  const json = obj(item.value);
  const quantity = json && (QUANTITY_TYPES.has(item.type) ? quantityOf(json) : item.type === 'Range' ? rangeOf(json) : undefined);
  if (quantity) out.add(quantity);
}

/**
 * A Range as one quantity spanning [low, high) (a missing end is open); its value, unit and system are those of
 * the low end, or of the high end when there is no low.
 */
function rangeOf(json: Json): QuantityValue | undefined {
  const low = obj(json.low) && quantityOf(obj(json.low) as Json);
  const high = obj(json.high) && quantityOf(obj(json.high) as Json);
  const reference = low ?? high;
  if (!reference) return undefined;
  return { ...reference, low: low ? low.low : QUANTITY_MIN, high: high ? high.high : QUANTITY_MAX };
}

type QuantityValue = Extract<IndexValue, { kind: 'quantity' }>;

/** A Quantity with a numeric value; its comparator opens the range on one side. */
function quantityOf(json: Json): QuantityValue | undefined {
  const value = json.value;
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  let { low, high } = numberRange(value);
  const comparator = json.comparator;
  if (comparator === '<' || comparator === '<=') low = QUANTITY_MIN;
  if (comparator === '>' || comparator === '>=') high = QUANTITY_MAX;
  return {
    kind: 'quantity',
    value,
    low,
    high,
    system: str(json.system) ?? null,
    code: str(json.code) ?? null,
    unit: str(json.unit) ?? null,
  };
}

function mapUri(item: FhirValue, out: Collector): void {
  const value = str(item.value);
  if (value !== undefined) out.add({ kind: 'uri', value });
}
