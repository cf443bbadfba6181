/**
 * FHIRPath evaluation for search indexing: plain JSON values tagged with their FHIR type.
 *
 * Two engines give the same results: fhirpath.js with the STU3 model (any expression; its `resolve()` replaced by
 * one that never fetches), and a walker over the STU3 structure model for the plain paths that make up almost all
 * search parameters (`Patient.name`, `Observation.value.as(Quantity)`, `Patient.telecom.where(system='email')`),
 * several times faster because it builds no FHIRPath nodes. The walker is used only for what it fully
 * understands; tests check both engines agree on every branch of every parameter over the official examples.
 */
import fhirpath, { type UserInvocationTable } from 'fhirpath';
import stu3 from 'fhirpath/fhir-context/stu3';
import { getStructure, resourceStructure, type ElementInfo, type Structure } from '../validation/model';
import { parseReference } from './index-values';

/** One item an expression selected. */
export interface FhirValue {
  /** FHIR type name (`HumanName`, `dateTime`, `Patient`…) or FHIRPath system type (`System.Boolean`). */
  readonly type: string;
  /** The JSON value: an object for complex types, a string, number or boolean for primitives. */
  readonly value: unknown;
  /** Model path of the element (`Observation.component`, `Quantity`), the base of a relative expression on it. */
  readonly path: string | undefined;
}

/**
 * Evaluates on `input` (the resource, or an element of it when the expression was compiled with a base);
 * `resource` is the enclosing resource, for `%resource` and contained references.
 */
export type FhirPathEvaluator = (input: object, resource: object) => FhirValue[];

// --- fhirpath.js boundary: its internal node and type objects are untyped. ---

interface ResourceNodeLike {
  data: unknown;
  path: string | null;
  getTypeInfo(): { namespace: string; name: string };
  constructor: { makeResNode(ctx: unknown, data: unknown, ...rest: null[]): unknown };
}

interface EvaluationContext {
  vars?: { resource?: unknown };
  processedVars?: { resource?: unknown };
  dataRoot?: unknown;
}

function isResourceNode(item: unknown): item is ResourceNodeLike {
  return typeof item === 'object' && item !== null && typeof (item as ResourceNodeLike).getTypeInfo === 'function';
}

/**
 * `resolve()` without I/O: a literal reference resolves to a stub `{resourceType, id}` of the type its text names
 * (enough for `where(resolve() is Patient)`), a `#id` reference to the contained resource. Anything else resolves
 * to nothing.
 */
function resolveOffline(this: EvaluationContext, inputs: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const input of inputs) {
    if (!isResourceNode(input)) continue;
    const data = input.data;
    const reference =
      typeof data === 'string' ? data : typeof data === 'object' && data !== null ? (data as { reference?: unknown }).reference : undefined;
    if (typeof reference !== 'string') continue;
    let target: unknown;
    if (reference.startsWith('#')) {
      const root = (this.vars?.resource ?? this.processedVars?.resource ?? this.dataRoot) as { contained?: unknown } | undefined;
      const contained = Array.isArray(root?.contained) ? (root.contained as Array<{ id?: unknown }>) : [];
      target = contained.find((resource) => resource.id === reference.slice(1));
    } else {
      const parsed = parseReference(reference);
      if (parsed?.type) target = { resourceType: parsed.type, id: parsed.id };
    }
    if (target) out.push(input.constructor.makeResNode(this, target, null, null, null, null));
  }
  return out;
}

const OPTIONS: { async: false; resolveInternalTypes: false; userInvocationTable: UserInvocationTable } = {
  async: false,
  resolveInternalTypes: false,
  userInvocationTable: { resolve: { fn: resolveOffline, arity: { 0: [] }, internalStructures: true } },
};

function toFhirValue(item: unknown): FhirValue | undefined {
  if (isResourceNode(item)) {
    // A primitive that only carries extensions (`_birthDate`) has no value to index.
    if (item.data === null || item.data === undefined) return undefined;
    const info = item.getTypeInfo();
    return {
      type: info.namespace === 'FHIR' ? info.name : `System.${info.name}`,
      value: plain(item.data),
      path: item.path ?? undefined,
    };
  }
  if (item === null || item === undefined) return undefined;
  const [type] = fhirpath.types([item]);
  return { type: type.startsWith('FHIR.') ? type.slice(5) : type, value: plain(item), path: undefined };
}

/** Numbers come back as FP_Decimal objects, dates as FP_DateTime…: back to JSON values. */
function plain(data: unknown): unknown {
  if (data instanceof fhirpath.FP_Decimal) return data.toNumber();
  if (typeof data === 'object' && data !== null && !Array.isArray(data) && Object.getPrototypeOf(data) !== Object.prototype) {
    return String(data);
  }
  return data;
}

export type Engine = 'auto' | 'fhirpath.js';

/**
 * Compiles an expression evaluated on inputs at `base`: a resource type (the input is a resource) or an element
 * path (`Observation.component`). 'auto' takes the walker when it can. Throws on a syntax error; evaluation errors
 * on odd data yield no values.
 */
export function compileFhirPath(expression: string, base: string, engine: Engine = 'auto'): FhirPathEvaluator {
  const rewritten = stu3SearchExpression(expression);
  return (engine === 'auto' ? compileWalker(rewritten, base) : undefined) ?? compileWithFhirpathJs(rewritten, base);
}

/** True when 'auto' evaluates this expression with the walker. */
export function walkerHandles(expression: string, base: string): boolean {
  return compileWalker(stu3SearchExpression(expression), base) !== undefined;
}

const SYSTEM_CASE_FHIR_PRIMITIVES: Record<string, string> = {
  Boolean: 'boolean',
  String: 'string',
  Date: 'date',
  DateTime: 'dateTime',
  Time: 'time',
  Decimal: 'decimal',
  Integer: 'integer',
  Uri: 'uri',
};

/**
 * STU3 search expressions in today's FHIRPath, as fhirpath.js reads it:
 * - they use `as(T)` as a filter over collections (`Medication.ingredient.item.as(CodeableConcept)` on several
 *   ingredients), where FHIRPath 1.0+ requires a singleton and fhirpath.js throws: `ofType(T)` is that filter;
 * - they write FHIR primitive types capitalised (`Patient.deceased.as(DateTime)`, `ConceptMap.source.as(Uri)`),
 *   which fhirpath.js reads as System types that a FHIR `dateTime` is not: type tests name the FHIR type instead.
 */
export function stu3SearchExpression(expression: string): string {
  return expression
    .replace(/\.as\(/g, '.ofType(')
    .replace(
      /\b(as|is|ofType)(\(\s*|\s+)(Boolean|String|Date|DateTime|Time|Decimal|Integer|Uri)\b/g,
      (_match, operator: string, separator: string, type: string) => `${operator}${separator}${SYSTEM_CASE_FHIR_PRIMITIVES[type]}`,
    );
}

function compileWithFhirpathJs(expression: string, base: string): FhirPathEvaluator {
  const compiled = fhirpath.compile(resourceStructure(base) ? expression : { base, expression }, stu3, OPTIONS);
  return (input, resource) => {
    let raw: unknown[];
    try {
      raw = compiled(input, { resource });
    } catch {
      return [];
    }
    const out: FhirValue[] = [];
    for (const item of raw) {
      const value = toFhirValue(item);
      if (value) out.push(value);
    }
    return out;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The walker: `Root.a.b`, `.ofType(Type)` and `.where(child = 'literal')` steps over the structure model.

type Step = { name: string } | { as: string } | { where: string; equals: string };

const STEP = /^(?:ofType\(\s*([A-Za-z]+)\s*\)|where\(\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*'([^'\\]*)'\s*\)|([A-Za-z][A-Za-z0-9]*))(?:\.|$)/;

function parseSteps(expression: string): Step[] | undefined {
  const steps: Step[] = [];
  let rest = expression.trim();
  while (rest !== '') {
    const match = STEP.exec(rest);
    if (!match) return undefined;
    const [whole, asType, whereName, equals, name] = match;
    // An identifier followed by '(' is a function call the walker does not know.
    if (name !== undefined && rest[name.length] === '(') return undefined;
    steps.push(asType !== undefined ? { as: asType } : whereName !== undefined ? { where: whereName, equals } : { name });
    rest = rest.slice(whole.length);
    if (whole.endsWith('.') && rest === '') return undefined;
  }
  return steps;
}

/** How the data was typed by the model, one per possible element (several for a choice). */
interface Variant {
  /** JSON property name (`valueQuantity`). */
  json: string;
  info: ElementInfo;
}

const typeParents = (stu3 as unknown as { type2Parent: Record<string, string> }).type2Parent;

/** FHIR type inheritance as fhirpath.js sees it (Age is a Quantity, code is a string…). */
function isA(type: string, ancestor: string): boolean {
  for (let current: string | undefined = type; current !== undefined; current = typeParents[current]) {
    if (current === ancestor) return true;
  }
  return false;
}

function variantsOf(structure: Structure, name: string): Variant[] {
  const variants: Variant[] = [];
  for (const [json, info] of structure.properties) {
    if (json === info.name && info.defName.replace(/\[x\]$/, '') === name) variants.push({ json, info });
  }
  return variants;
}

type Operation = { get: Variant[] } | { where: string; equals: string };

function compileWalker(expression: string, base: string): FhirPathEvaluator | undefined {
  const steps = parseSteps(expression);
  const root = getStructure(base);
  if (!steps || !root) return undefined;
  // On a resource, a leading type name is a type filter that the branch selection already applied.
  const first = steps[0];
  if (resourceStructure(base) && 'name' in first && (first.name === base || first.name === 'Resource' || first.name === 'DomainResource')) {
    steps.shift();
  }
  const operations: Operation[] = [];
  let structure: Structure | undefined = root;
  let current: Variant[] | undefined;
  for (const step of steps) {
    if ('name' in step) {
      if (!structure) return undefined; // past a choice, a primitive or a resource: leave it to fhirpath.js
      current = variantsOf(structure, step.name);
      if (current.length === 0) return undefined;
      operations.push({ get: current });
    } else if ('as' in step) {
      if (!current || current.some((variant) => variant.info.kind === 'resource')) return undefined;
      const previous = operations.at(-1);
      if (!previous || !('get' in previous)) return undefined;
      current = current.filter((variant) => isA(variant.info.type, step.as));
      previous.get = current;
    } else {
      // Only a single-valued primitive child compares like fhirpath.js's `=` without collection rules.
      const child = structure && variantsOf(structure, step.where);
      if (!child || child.length !== 1 || child[0].info.kind !== 'primitive' || child[0].info.isArray) return undefined;
      operations.push({ where: child[0].json, equals: step.equals });
    }
    structure = current && current.length === 1 && current[0].info.kind === 'complex' ? current[0].info.structure : undefined;
  }
  const resultType = (variant: Variant | undefined, value: unknown): string =>
    variant === undefined
      ? base
      : variant.info.kind === 'resource'
        ? String((value as { resourceType?: unknown }).resourceType)
        : variant.info.type.includes('.')
          ? 'BackboneElement' // a content reference (`Questionnaire.item.item`)
          : variant.info.type;
  const resultPath = (variant: Variant | undefined, value: unknown): string =>
    variant === undefined ? base : (variant.info.structure?.name ?? resultType(variant, value));
  return (input) => {
    let items: Array<{ value: unknown; variant: Variant | undefined }> = [{ value: input, variant: undefined }];
    for (const operation of operations) {
      const next: typeof items = [];
      if ('get' in operation) {
        for (const { value } of items) {
          if (typeof value !== 'object' || value === null) continue;
          for (const variant of operation.get) {
            const child = (value as Record<string, unknown>)[variant.json];
            if (Array.isArray(child)) {
              for (const entry of child) if (entry !== null && entry !== undefined) next.push({ value: entry, variant });
            } else if (child !== null && child !== undefined) next.push({ value: child, variant });
          }
        }
      } else {
        for (const item of items) {
          if ((item.value as Record<string, unknown>)[operation.where] === operation.equals) next.push(item);
        }
      }
      items = next;
    }
    return items.map(({ value, variant }) => ({ type: resultType(variant, value), value, path: resultPath(variant, value) }));
  };
}
