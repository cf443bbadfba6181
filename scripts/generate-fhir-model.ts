/**
 * Builds resources/fhir/stu3-model.json, the compact structural model the resource validator loads at runtime,
 * from the official STU3 (3.0.1) StructureDefinition bundles. The product must not read ../shared at runtime,
 * so this script is the only place that touches them.
 *
 *   npx tsx scripts/generate-fhir-model.ts            (reads ../shared/fhir/stu3, or $FHIR_SHARED_DIR)
 *
 * Output is deterministic (sorted keys, no timestamps): regenerating gives a byte-identical file.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sharedDir = resolve(repoRoot, process.env.FHIR_SHARED_DIR ?? '../shared/fhir/stu3');
const outFile = resolve(repoRoot, 'resources/fhir/stu3-model.json');

const EXT_REGEX = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-regex';
const EXT_JSON_TYPE = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-json-type';

interface SdExtension {
  url: string;
  valueString?: string;
}
interface SdType {
  code?: string;
  extension?: SdExtension[];
  _code?: { extension?: SdExtension[] };
}
interface SdElement {
  path: string;
  min?: number;
  max?: string;
  type?: SdType[];
  contentReference?: string;
  isSummary?: boolean;
}
interface StructureDefinition {
  resourceType: 'StructureDefinition';
  id: string;
  type: string;
  kind: 'primitive-type' | 'complex-type' | 'resource' | 'logical';
  abstract: boolean;
  derivation?: 'specialization' | 'constraint';
  baseDefinition?: string;
  fhirVersion?: string;
  snapshot: { element: SdElement[] };
}
interface Bundle {
  entry: Array<{ resource: { resourceType: string } }>;
}

interface ModelElement {
  min: number;
  max: number | '*';
  types?: string[];
  contentReference?: string;
  /** Part of the `_summary=true` view. */
  summary?: true;
}
interface ModelType {
  kind: 'complex-type' | 'resource';
  abstract: boolean;
  base?: string;
  elements: Record<string, ModelElement>;
}
interface ModelPrimitive {
  /** JSON representation: 'boolean' | 'number' | 'string'. */
  jsonType: string;
  /** The StructureDefinition's regex for the value, if it defines one (implicitly anchored). */
  regex?: string;
}
interface FhirModel {
  fhirVersion: string;
  source: string;
  resourceTypes: string[];
  primitiveTypes: Record<string, ModelPrimitive>;
  types: Record<string, ModelType>;
}

function loadDefinitions(file: string): StructureDefinition[] {
  const bundle = JSON.parse(readFileSync(resolve(sharedDir, file), 'utf8')) as Bundle;
  return bundle.entry
    .map((e) => e.resource)
    .filter((r): r is StructureDefinition => r.resourceType === 'StructureDefinition');
}

const extValue = (exts: SdExtension[] | undefined, url: string): string | undefined =>
  exts?.find((e) => e.url === url)?.valueString;

function buildModel(): FhirModel {
  const sds = [...loadDefinitions('profiles-resources.json'), ...loadDefinitions('profiles-types.json')];
  const model: FhirModel = {
    fhirVersion: '',
    source: 'hl7.fhir.core 3.0.1: profiles-resources.json + profiles-types.json (snapshots)',
    resourceTypes: [],
    primitiveTypes: {},
    types: {},
  };
  for (const sd of sds) {
    // Constraint profiles (SimpleQuantity) reuse the base type's paths; elements refer to the base type code.
    if (sd.derivation === 'constraint' || sd.kind === 'logical') continue;
    if (sd.fhirVersion) model.fhirVersion = sd.fhirVersion;
    const elements = sd.snapshot.element;

    if (sd.kind === 'primitive-type') {
      // The literal value's constraints sit on the `<type>.value` element, as extensions on its type.
      const valueType = elements.find((e) => e.path === `${sd.type}.value`)?.type?.[0];
      const jsonType = extValue(valueType?._code?.extension, EXT_JSON_TYPE);
      if (!jsonType) throw new Error(`primitive ${sd.type}: no json type`);
      const regex = extValue(valueType?.extension, EXT_REGEX);
      model.primitiveTypes[sd.type] = regex ? { jsonType, regex } : { jsonType };
      continue;
    }

    const out: Record<string, ModelElement> = {};
    for (const el of elements) {
      if (el.path === sd.type) continue; // the root element carries no type
      if (el.max === '0') continue; // prohibited elements are simply unknown
      const entry: ModelElement = {
        min: el.min ?? 0,
        max: el.max === '*' || el.max === undefined ? '*' : Number(el.max),
      };
      // Reference appears once per targetProfile: keep each code once, in definition order.
      const codes = [...new Set((el.type ?? []).map((t) => t.code).filter((c): c is string => !!c))];
      if (codes.length) entry.types = codes;
      if (el.contentReference) entry.contentReference = el.contentReference;
      if (el.isSummary) entry.summary = true;
      if (!entry.types && !entry.contentReference) throw new Error(`${el.path}: neither type nor contentReference`);
      out[el.path] = entry;
    }
    model.types[sd.type] = {
      kind: sd.kind,
      abstract: sd.abstract,
      ...(sd.baseDefinition ? { base: sd.baseDefinition.replace(/^.*\//, '') } : {}),
      elements: out,
    };
    if (sd.kind === 'resource' && !sd.abstract) model.resourceTypes.push(sd.type);
  }
  model.resourceTypes.sort();
  return model;
}

/** JSON with sorted object keys; one element definition per line keeps diffs of the committed file readable. */
function serialize(value: unknown, indent = '', depth = 0): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  // Flat leaves (element definitions, primitive types) stay on one line.
  const isScalar = (v: unknown) => v === null || typeof v !== 'object';
  const flat = (v: object) => Object.values(v).every((x) => isScalar(x) || (Array.isArray(x) && x.every(isScalar)));
  const inline = depth >= 2 && flat(value);
  if (Array.isArray(value)) {
    if (inline || value.every((v) => typeof v !== 'object')) return JSON.stringify(value);
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + serialize(v, inner, depth + 1)).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(value).sort();
  const obj = value as Record<string, unknown>;
  if (inline) return `{${keys.map((k) => `${JSON.stringify(k)}:${serialize(obj[k], '', depth + 1)}`).join(',')}}`;
  const inner = indent + '  ';
  return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${serialize(obj[k], inner, depth + 1)}`).join(',\n')}\n${indent}}`;
}

const model = buildModel();
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, serialize(model) + '\n');
console.log(
  `wrote ${outFile}: ${model.resourceTypes.length} resource types, ${Object.keys(model.types).length} structures, ` +
    `${Object.keys(model.primitiveTypes).length} primitive types`,
);
