/**
 * Structural validation of STU3 resources in JSON form against the official StructureDefinitions (see model.ts):
 * known elements, cardinality, JSON shapes, primitive formats (with real calendar dates), nested datatypes,
 * backbone elements, content references and contained/embedded resources.
 * Invariants (FHIRPath constraints) and terminology bindings are deliberately out of scope.
 *
 * Runs on every create/update, so all lookup tables are prebuilt by model.ts and a call allocates little beyond
 * the issues it reports. Recursion is bounded by an explicit depth limit checked before descending. The walk also
 * holds the resource to the input limits (../limits.ts): it counts the elements it visits and measures the strings
 * it checks, so the limits cost no walk of their own.
 */
import { daysInMonth } from '../calendar';
import { MAX_BINARY_BYTES, MAX_ELEMENTS, MAX_STRING_BYTES } from '../limits';
import { codedIssue, FhirError } from '../outcome';
import type { RefusalCode } from '../refusals';
import {
  primitiveDefinitions,
  primitiveExtensionStructure,
  resourceStructure,
  type ElementInfo,
  type Structure,
} from './model';

export interface ValidationIssue {
  severity: 'error' | 'warning';
  code: 'structure' | 'value' | 'required' | 'invalid' | 'too-costly' | 'too-long';
  /** The rule broken, as the node's refusals name it (docs/errors.md). */
  refusal: RefusalCode;
  diagnostics: string;
  /** Location, FHIRPath-like with JSON property names: `Patient.name[0].given[1]`, `Observation.valueQuantity`. */
  expression: string;
}

export interface ValidateOptions {
  /** Maximum JSON nesting (objects and arrays, the resource itself being level 1). Default 64. */
  maxDepth?: number;
}

const DEFAULT_MAX_DEPTH = 64;
const MIB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------------
// Primitive values

/** Returns a diagnostic when the value is not acceptable, undefined when it is. */
type PrimitiveCheck = (value: unknown) => string | undefined;

/** Short, never-throwing rendering of a value for diagnostics. */
const show = (value: unknown): string => {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value !== 'string') return String(value);
  return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value);
};

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;


const digits = (s: string, from: number, count: number): number => {
  let n = 0;
  for (let i = from; i < from + count; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
};

/** The regexes only bound the day by 31 (and STU3's even allow day 00): check it against the real calendar. */
function isCalendarDate(s: string): boolean {
  const at = s.charCodeAt(0) === 45 /* '-' */ ? 1 : 0; // negative years are allowed by the STU3 regex
  if (s.length < at + 10) return true; // year or year-month only
  const year = digits(s, at, 4);
  const month = digits(s, at + 5, 2);
  const day = digits(s, at + 8, 2);
  return day >= 1 && day <= daysInMonth(year, month);
}

const TIME_ZONE = /(?:Z|[+-]\d\d:\d\d)$/;

// STU3 gives no regex for instant; this is the dateTime one with every part mandatory (as R4 spells it out).
const INSTANT =
  /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/;
// STU3's code regex `[^\s]+([\s]?[^\s]+)*` backtracks exponentially on e.g. a long token with a trailing space;
// this accepts the same language in linear time (each repetition must start with the one whitespace).
const CODE = /^\S+(?:\s\S+)*$/;
// No regex in STU3 either: R4's `\S*` (a URI never contains whitespace).
const URI = /^\S*$/;
// Narrative.div: the content model itself (XHTML subset) is not checked, only that it is a div.
const XHTML_DIV = /^\s*<div[\s>/]/;

function anchored(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

function buildPrimitiveChecks(): Map<string, PrimitiveCheck> {
  const checks = new Map<string, PrimitiveCheck>();
  for (const [type, def] of primitiveDefinitions()) {
    const jsonType = def.jsonType;
    let check: PrimitiveCheck;
    if (jsonType === 'boolean') {
      check = (v) => (typeof v === 'boolean' ? undefined : `expected a JSON boolean for ${type}, got ${show(v)}`);
    } else if (jsonType === 'number') {
      const min = type === 'positiveInt' ? 1 : type === 'unsignedInt' ? 0 : INT32_MIN;
      const integral = type !== 'decimal';
      check = (v) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) return `expected a JSON number for ${type}, got ${show(v)}`;
        if (!integral) return undefined;
        if (!Number.isInteger(v)) return `${type} must be a whole number, got ${v}`;
        if (v < min || v > INT32_MAX) return `${type} out of range [${min}, ${INT32_MAX}]: ${v}`;
        return undefined;
      };
    } else {
      const override: Record<string, RegExp> = { code: CODE, instant: INSTANT, uri: URI };
      const pattern = override[type] ?? (def.regex ? anchored(def.regex) : undefined);
      const isDate = type === 'date' || type === 'dateTime' || type === 'instant';
      check = (v) => {
        if (typeof v !== 'string') return `expected a JSON string for ${type}, got ${show(v)}`;
        if (v.length === 0) return `empty string is not a valid ${type} (omit the element instead)`;
        if (pattern && !pattern.test(v)) return `invalid ${type} ${show(v)}`;
        if (isDate && !isCalendarDate(v)) return `${show(v)} is not a real calendar date`;
        // dateTime: "if hours and minutes are specified, a time zone SHALL be populated".
        if (type === 'dateTime' && v.includes('T') && !TIME_ZONE.test(v)) return `dateTime with a time needs a time zone: ${show(v)}`;
        if (type === 'base64Binary' && !isBase64(v)) return `invalid base64Binary ${show(v)}`;
        if (type === 'xhtml' && !XHTML_DIV.test(v)) return `xhtml must be a <div> element, got ${show(v)}`;
        return undefined;
      };
    }
    checks.set(type, check);
  }
  return checks;
}

const isBase64 = (v: string): boolean => base64Bytes(v) >= 0;

/**
 * The bytes base64Binary text decodes to, -1 when it is not base64. No regex in STU3: XML Schema's base64Binary
 * (whitespace allowed, `=` padding only at the end). A plain loop: Binary payloads are large and a regex would
 * backtrack over all of it on failure.
 */
function base64Bytes(v: string): number {
  let count = 0;
  let padding = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (c === 0x3d /* = */) padding++;
    else if (padding > 0) return -1;
    else if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f)) {
      return -1;
    }
    count++;
  }
  return padding <= 2 && count % 4 === 0 ? (count / 4) * 3 - padding : -1;
}

/**
 * Whether a string is over its limit: inline binary data by the bytes it decodes to, any other string by its bytes
 * of UTF-8. Only a string long enough to be over is measured: one UTF-16 unit is at most 3 bytes of UTF-8, and 4
 * characters of base64 at most 3 bytes.
 */
function tooLong(value: string, type: string): boolean {
  if (type === 'base64Binary') return value.length >= (MAX_BINARY_BYTES / 3) * 4 && base64Bytes(value) >= MAX_BINARY_BYTES;
  return value.length > MAX_STRING_BYTES / 3 && Buffer.byteLength(value, 'utf8') > MAX_STRING_BYTES;
}

const primitiveChecks = buildPrimitiveChecks();

// ---------------------------------------------------------------------------------------------------------------
// Walk

type JsonObject = Record<string, unknown>;

interface Walk {
  readonly issues: ValidationIssue[];
  readonly maxDepth: number;
  /** Elements visited so far (MAX_ELEMENTS). */
  elements: number;
  /** Set once the depth or element limit is hit: one 'too-costly' issue, then stop. */
  aborted: boolean;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function report(walk: Walk, code: ValidationIssue['code'], refusal: ValidationIssue['refusal'], expression: string, diagnostics: string): void {
  walk.issues.push({ severity: 'error', code, refusal, diagnostics, expression });
}

/** Primitive types whose bad values are refused as dates (date-invalid), the others as value-invalid. */
const DATE_TYPES: ReadonlySet<string> = new Set(['date', 'dateTime', 'instant', 'time']);

/** Counts one element; past MAX_ELEMENTS, reports (once) where the limit was crossed and stops the walk. */
function counted(walk: Walk, expression: string): boolean {
  if (++walk.elements <= MAX_ELEMENTS) return true;
  if (!walk.aborted) {
    walk.aborted = true;
    report(walk, 'too-costly', 'resource-too-large', expression, `a resource may hold at most ${MAX_ELEMENTS.toLocaleString('en')} elements (objects and values): this one has more`);
  }
  return false;
}

/** True when `depth` is acceptable; otherwise reports (once) and stops the walk. */
function withinDepth(walk: Walk, depth: number, expression: string): boolean {
  if (depth <= walk.maxDepth) return true;
  if (!walk.aborted) {
    walk.aborted = true;
    report(walk, 'too-costly', 'resource-too-large', expression, `nesting deeper than ${walk.maxDepth} levels: not validated further`);
  }
  return false;
}

export function validateResource(resource: unknown, options?: ValidateOptions): ValidationIssue[] {
  const walk: Walk = { issues: [], maxDepth: options?.maxDepth ?? DEFAULT_MAX_DEPTH, elements: 0, aborted: false };
  if (!isObject(resource)) {
    report(walk, 'structure', 'resource-not-object', 'Resource', 'a resource must be a JSON object');
    return walk.issues;
  }
  validateResourceObject(walk, resource, undefined, 1);
  return walk.issues;
}

/** Throws a 400 OperationOutcome with every error of the resource, each pointing at its element. */
export function assertValid(resource: unknown): void {
  const errors = validateResource(resource).filter((issue) => issue.severity === 'error');
  if (errors.length > 0) {
    throw new FhirError(
      400,
      errors.map((issue) => codedIssue(issue.code, issue.refusal, issue.diagnostics, issue.expression)),
    );
  }
}

/** `path` is undefined for the top-level resource, whose expressions start with its type. */
function validateResourceObject(walk: Walk, obj: JsonObject, path: string | undefined, depth: number): void {
  const type = obj.resourceType;
  const here = path ?? 'Resource';
  if (type === undefined) {
    report(walk, 'required', 'resource-type-missing', here, 'missing resourceType');
    return;
  }
  if (typeof type !== 'string') {
    report(walk, 'invalid', 'resource-type-invalid', here, `resourceType must be a string, got ${show(type)}`);
    return;
  }
  const structure = resourceStructure(type);
  if (!structure) {
    report(walk, 'invalid', 'resource-type-invalid', here, `unknown resource type ${show(type)}`);
    return;
  }
  // resourceType is a value of the resource too.
  if (!counted(walk, `${path ?? type}.resourceType`)) return;
  validateObject(walk, obj, structure, path ?? type, depth);
}

function validateObject(walk: Walk, obj: JsonObject, structure: Structure, path: string, depth: number): void {
  if (!counted(walk, path)) return;
  const keys = Object.keys(obj);
  if (keys.length === 0) report(walk, 'structure', 'element-empty', path, 'empty objects are not allowed');
  let choices: string[] | undefined; // choice groups seen, allocated only when there is one

  for (const key of keys) {
    if (walk.aborted) return;
    const info = structure.properties.get(key);
    if (!info) {
      if (key !== 'resourceType' || !structure.isResource) {
        const hint = key === 'resourceType' ? ' (resourceType is only allowed on a resource)' : '';
        report(walk, 'structure', 'element-unknown', `${path}.${key}`, `unknown element '${key}' in ${structure.name}${hint}`);
      }
      continue;
    }
    // A primitive's value and `_name` sibling are checked together, once: from the value when there is one.
    if (info.kind === 'primitive' && key === info.extName && obj[info.name] !== undefined) continue;
    if (info.choice) {
      if (choices?.includes(info.defName)) {
        report(walk, 'structure', 'element-cardinality', `${path}.${key}`, `only one of ${structure.name}.${info.defName} may be given`);
        continue;
      }
      (choices ??= []).push(info.defName);
    }
    if (info.kind === 'primitive') {
      validatePrimitiveElement(walk, obj[info.name], obj[info.extName], info, path, depth);
    } else {
      validateComplexElement(walk, obj[key], info, path, depth);
    }
  }

  if (walk.aborted) return;
  for (const required of structure.required) {
    let present = false;
    for (const name of required.names) {
      if (obj[name] !== undefined) {
        present = true;
        break;
      }
    }
    if (!present) {
      report(walk, 'required', 'element-required', `${path}.${required.label}`, `missing required element ${structure.name}.${required.label}`);
    }
  }
}

function validateComplexElement(walk: Walk, value: unknown, info: ElementInfo, path: string, depth: number): void {
  const here = `${path}.${info.name}`;
  if (!info.isArray) {
    if (Array.isArray(value)) report(walk, 'structure', 'element-cardinality', here, `${info.name} takes a single value, not an array`);
    else validateComplexValue(walk, value, info, here, depth + 1);
    return;
  }
  if (!checkArray(walk, value, info, here)) return;
  if (!withinDepth(walk, depth + 1, here)) return;
  const items = value as unknown[];
  for (let i = 0; i < items.length && !walk.aborted; i++) {
    validateComplexValue(walk, items[i], info, `${here}[${i}]`, depth + 2);
  }
}

/** `depth` is the nesting level the value itself would be at. */
function validateComplexValue(walk: Walk, value: unknown, info: ElementInfo, here: string, depth: number): void {
  if (!isObject(value)) {
    report(walk, 'structure', 'element-wrong-type', here, `expected a ${info.type} object, got ${show(value)}`);
    return;
  }
  if (!withinDepth(walk, depth, here)) return;
  if (info.kind === 'resource') {
    // dom-2: a contained resource has no contained resources of its own.
    if (info.name === 'contained' && value.contained !== undefined) report(walk, 'structure', 'contained-nested', `${here}.contained`, 'a contained resource may not contain resources itself (dom-2)');
    validateResourceObject(walk, value, here, depth);
  } else validateObject(walk, value, info.structure!, here, depth);
}

/** Shared array rules; true when `value` is a usable non-empty array. */
function checkArray(walk: Walk, value: unknown, info: ElementInfo, here: string): boolean {
  if (!Array.isArray(value)) {
    report(walk, 'structure', 'element-cardinality', here, `${info.name} repeats: its value must be an array`);
    return false;
  }
  if (value.length === 0) {
    report(walk, 'structure', 'element-empty', here, `empty arrays are not allowed (omit ${info.name} instead)`);
    return false;
  }
  if (value.length > info.max) report(walk, 'structure', 'element-cardinality', here, `${info.name} allows at most ${info.max} items`);
  return true;
}

/**
 * A primitive element: its value under `name` and/or its id/extensions under `_name`. For repeating elements both
 * are arrays aligned by index, where `null` marks "nothing on this side" (but never on both).
 */
function validatePrimitiveElement(
  walk: Walk,
  value: unknown,
  ext: unknown,
  info: ElementInfo,
  path: string,
  depth: number,
): void {
  const here = `${path}.${info.name}`;
  const extHere = `${path}.${info.extName}`;
  if (!info.isArray) {
    if (value !== undefined) {
      if (Array.isArray(value)) report(walk, 'structure', 'element-cardinality', here, `${info.name} takes a single value, not an array`);
      else checkPrimitive(walk, value, info, here);
    }
    if (ext !== undefined) {
      if (Array.isArray(ext)) report(walk, 'structure', 'element-cardinality', extHere, `${info.extName} takes a single object, not an array`);
      else validatePrimitiveExtension(walk, ext, extHere, depth + 1);
    }
    return;
  }

  const values = value === undefined ? undefined : checkArray(walk, value, info, here) ? (value as unknown[]) : null;
  const exts = ext === undefined ? undefined : checkArray(walk, ext, info, extHere) ? (ext as unknown[]) : null;
  if (values === null || exts === null) return; // shape already reported
  if (values && exts && values.length !== exts.length) {
    report(walk, 'structure', 'primitive-extension-mismatch', extHere, `${info.extName} must have as many items as ${info.name} (${exts.length} vs ${values.length})`);
    return;
  }
  if (!withinDepth(walk, depth + 1, exts ? extHere : here)) return;
  const length = (values ?? exts)!.length;
  for (let i = 0; i < length && !walk.aborted; i++) {
    const v = values ? values[i] : null;
    const e = exts ? exts[i] : null;
    if (v === null && e === null) {
      report(walk, 'structure', 'element-empty', `${values ? here : extHere}[${i}]`, `null values are not allowed in ${info.name}`);
      continue;
    }
    if (v !== null) checkPrimitive(walk, v, info, `${here}[${i}]`);
    if (e !== null) validatePrimitiveExtension(walk, e, `${extHere}[${i}]`, depth + 2);
  }
}

function checkPrimitive(walk: Walk, value: unknown, info: ElementInfo, here: string): void {
  if (value === null) {
    report(walk, 'structure', 'element-empty', here, `null values are not allowed (omit ${info.name} instead)`);
    return;
  }
  if (typeof value === 'object') {
    report(walk, 'structure', 'element-wrong-type', here, `expected a primitive ${info.type}, got ${show(value)}`);
    return;
  }
  if (!counted(walk, here)) return;
  // Before the format checks, which need not run over megabytes.
  if (typeof value === 'string' && tooLong(value, info.type)) {
    report(walk, 'too-long', 'value-too-long', here, tooLongDiagnostics(value, info.type));
    return;
  }
  const problem = primitiveChecks.get(info.type)!(value);
  if (problem) report(walk, 'value', DATE_TYPES.has(info.type) ? 'date-invalid' : 'value-invalid', here, problem);
}

function tooLongDiagnostics(value: string, type: string): string {
  if (type === 'base64Binary') return `inline binary data must decode to less than ${MAX_BINARY_BYTES / MIB} MiB, as any Binary`;
  const bytes = Buffer.byteLength(value, 'utf8');
  return `a string may hold at most ${MAX_STRING_BYTES / MIB} MiB (${MAX_STRING_BYTES.toLocaleString('en')} bytes of UTF-8): this one has ${bytes.toLocaleString('en')}`;
}

const extensionStructure = primitiveExtensionStructure();

function validatePrimitiveExtension(walk: Walk, ext: unknown, here: string, depth: number): void {
  if (!isObject(ext)) {
    report(walk, 'structure', 'element-wrong-type', here, `expected an object with id and/or extension, got ${show(ext)}`);
    return;
  }
  if (!withinDepth(walk, depth, here)) return;
  validateObject(walk, ext, extensionStructure, here, depth);
}
