/**
 * The STU3 structural model (resources/fhir/stu3-model.json, built by scripts/generate-fhir-model.ts from the
 * official StructureDefinitions), loaded once and compiled into per-structure lookup tables so that validation
 * does map lookups only.
 */
import { readFileSync } from 'node:fs';

interface RawElement {
  min: number;
  max: number | '*';
  types?: string[];
  contentReference?: string;
  summary?: true;
}
interface RawType {
  kind: 'complex-type' | 'resource';
  abstract: boolean;
  base?: string;
  elements: Record<string, RawElement>;
}
export interface PrimitiveDefinition {
  /** JSON representation of the value: 'boolean' | 'number' | 'string'. */
  readonly jsonType: string;
  /** Regex of the StructureDefinition (implicitly anchored), when it defines one. */
  readonly regex?: string;
}
interface RawModel {
  fhirVersion: string;
  resourceTypes: string[];
  primitiveTypes: Record<string, PrimitiveDefinition>;
  types: Record<string, RawType>;
}

export type ElementKind = 'primitive' | 'complex' | 'resource';

/** One JSON property of a structure. Choice elements (`value[x]`) yield one per allowed type (`valueString`, …). */
export interface ElementInfo {
  /** JSON property name, e.g. `birthDate`, `valueQuantity`. */
  readonly name: string;
  /** Name of the `_name` sibling carrying id/extensions of a primitive. */
  readonly extName: string;
  /** Name in the definition, e.g. `deceased[x]`: the required-element and choice-group label. */
  readonly defName: string;
  readonly min: number;
  /** Infinity for `*`. */
  readonly max: number;
  /** JSON arrays are used exactly when max is not 1. */
  readonly isArray: boolean;
  readonly type: string;
  readonly kind: ElementKind;
  /** Set for choice elements: properties sharing it are mutually exclusive. */
  readonly choice: boolean;
  /** Children of a complex datatype, backbone element or content reference (kind 'complex'). */
  readonly structure: Structure | undefined;
}

export interface RequiredElement {
  /** `status`, `value[x]`. */
  readonly label: string;
  /** Any of these JSON properties satisfies it (includes `_x` forms: an extension may stand for a value). */
  readonly names: readonly string[];
}

/** A datatype, a resource, or a backbone element (keyed by its path, e.g. `Patient.contact`). */
export interface Structure {
  readonly name: string;
  readonly isResource: boolean;
  /** Keyed by JSON property name, including `_name` keys of primitive elements (mapped to the same info). */
  readonly properties: ReadonlyMap<string, ElementInfo>;
  readonly required: readonly RequiredElement[];
}

interface MutableStructure extends Structure {
  readonly properties: Map<string, ElementInfo>;
  readonly required: RequiredElement[];
}

const raw = JSON.parse(
  readFileSync(new URL('../../../resources/fhir/stu3-model.json', import.meta.url), 'utf8'),
) as RawModel;

const resourceTypeSet: ReadonlySet<string> = new Set(raw.resourceTypes);
const sortedResourceTypes: readonly string[] = Object.freeze([...raw.resourceTypes].sort());
const primitives: ReadonlyMap<string, PrimitiveDefinition> = new Map(Object.entries(raw.primitiveTypes));

export const fhirVersion = raw.fhirVersion;

export function isResourceType(name: string): boolean {
  return resourceTypeSet.has(name);
}

/** Concrete resource type names, sorted. */
export function resourceTypes(): readonly string[] {
  return sortedResourceTypes;
}

export function primitiveDefinitions(): ReadonlyMap<string, PrimitiveDefinition> {
  return primitives;
}

const structures = new Map<string, MutableStructure>();

/**
 * Top-level elements of a resource type, by definition name (`deceased[x]` stands for `deceasedBoolean`…):
 * the mandatory ones, or those of the `_summary=true` view (marked isSummary, or mandatory).
 */
export function topLevelElements(type: string, which: 'mandatory' | 'summary'): readonly string[] {
  const elements = raw.types[type]?.elements ?? {};
  return Object.entries(elements)
    .filter(([path, element]) => path.indexOf('.') === path.lastIndexOf('.') && (element.min > 0 || (which === 'summary' && element.summary)))
    .map(([path]) => path.slice(path.indexOf('.') + 1));
}

export function getStructure(name: string): Structure | undefined {
  return structures.get(name);
}

/** Structure of a concrete resource type, undefined for anything else (including Resource, DomainResource). */
export function resourceStructure(type: string): Structure | undefined {
  return resourceTypeSet.has(type) ? structures.get(type) : undefined;
}

/** What a `_name` object (id and extensions of a primitive) may hold. */
export function primitiveExtensionStructure(): Structure {
  return structures.get('Element')!;
}

const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function compile(): void {
  // Pass 1: one structure per type and per element path that has children (backbone elements).
  for (const [typeName, type] of Object.entries(raw.types)) {
    const add = (name: string) => {
      if (structures.has(name)) return;
      // Only the root of a resource type is a resource; its backbone elements are not.
      const isResource = type.kind === 'resource' && name === typeName;
      structures.set(name, { name, isResource, properties: new Map(), required: [] });
    };
    add(typeName);
    for (const path of Object.keys(type.elements)) add(path.slice(0, path.lastIndexOf('.')));
  }

  // Pass 2: fill properties, resolving child structures.
  const pending: Array<[{ structure: Structure | undefined }, string]> = [];
  for (const type of Object.values(raw.types)) {
    for (const [path, el] of Object.entries(type.elements)) {
      const parent = structures.get(path.slice(0, path.lastIndexOf('.')))!;
      const defName = path.slice(path.lastIndexOf('.') + 1);
      const isChoice = defName.endsWith('[x]');
      const max = el.max === '*' ? Infinity : el.max;
      const types = el.types ?? [];
      if (!isChoice && types.length > 1) throw new Error(`model: ${path} has several types but is not a choice`);
      const names: string[] = [];
      const variants = el.contentReference ? [''] : types;
      for (const type of variants) {
        const name = isChoice ? defName.slice(0, -3) + upperFirst(type) : defName;
        const kind: ElementKind = el.contentReference
          ? 'complex'
          : type === 'Resource'
            ? 'resource'
            : primitives.has(type)
              ? 'primitive'
              : 'complex';
        const info: ElementInfo = {
          name,
          extName: '_' + name,
          defName,
          min: el.min,
          max,
          isArray: max !== 1,
          type: el.contentReference ? el.contentReference.slice(1) : type,
          kind,
          choice: isChoice,
          structure: undefined,
        };
        parent.properties.set(name, info);
        names.push(name);
        // xhtml (Narrative.div) has no extensions in JSON.
        if (kind === 'primitive' && type !== 'xhtml') {
          parent.properties.set(info.extName, info);
          names.push(info.extName);
        }
        if (kind === 'complex') {
          // Backbone elements (typed BackboneElement/Element) use their own path; others the type or reference.
          const target = el.contentReference
            ? el.contentReference.slice(1)
            : structures.has(path) && (type === 'BackboneElement' || type === 'Element')
              ? path
              : type;
          pending.push([info, target]);
        }
      }
      if (el.min > 0) parent.required.push({ label: defName, names });
    }
  }
  for (const [info, target] of pending) {
    const s = structures.get(target);
    if (!s) throw new Error(`model: no structure ${target}`);
    info.structure = s;
  }
}

compile();
