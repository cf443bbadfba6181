import { resourceStructure, topLevelElements } from '../validation/model';
import type { Summary } from './parse';

/**
 * `_summary` and `_elements`: the subset of each resource a client asked for. Subsets are tagged SUBSETTED, as
 * the spec asks, so nobody mistakes one for the whole resource.
 */

const SUBSETTED = { system: 'http://hl7.org/fhir/v3/ObservationValue', code: 'SUBSETTED', display: 'subsetted' };
const ALWAYS = ['resourceType', 'id', 'meta'];

export interface Shape {
  summary?: Summary;
  elements?: string[];
}

/** True when the shape returns resources whole. */
export function isWhole(shape: Shape): boolean {
  return (shape.summary === undefined || shape.summary === 'false') && shape.elements === undefined;
}

export function shapeResource(json: string, shape: Shape): string {
  if (isWhole(shape)) return json;
  const resource = JSON.parse(json) as Record<string, unknown> & { resourceType: string };
  let keep: (key: string) => boolean;
  if (shape.summary === 'data') keep = (key) => key !== 'text';
  else {
    const names =
      shape.summary === 'true'
        ? topLevelElements(resource.resourceType, 'summary')
        : [...topLevelElements(resource.resourceType, 'mandatory'), ...(shape.summary === 'text' ? ['text'] : (shape.elements ?? []).map((name) => choiceName(resource.resourceType, name)))];
    keep = elementFilter([...ALWAYS, ...names]);
  }
  const subset: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) if (keep(key)) subset[key] = value;
  const meta = (subset.meta ?? {}) as { tag?: unknown[] };
  subset.meta = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED] };
  return JSON.stringify(subset);
}

/** An `_elements` name as the definition writes it: `value` names the choice `value[x]` (`valueQuantity`…). */
function choiceName(resourceType: string, name: string): string {
  for (const info of resourceStructure(resourceType)?.properties.values() ?? []) if (info.choice && info.defName === `${name}[x]`) return info.defName;
  return name;
}

/** Matches JSON properties against definition names: `name`, its `_name` sibling, and `value[x]` → `valueString`. */
function elementFilter(names: string[]): (key: string) => boolean {
  const exact = new Set<string>();
  const choices: string[] = [];
  for (const name of names) {
    if (name.endsWith('[x]')) choices.push(name.slice(0, -3));
    else exact.add(name);
  }
  return (key) => {
    const bare = key.startsWith('_') ? key.slice(1) : key;
    return exact.has(bare) || choices.some((prefix) => bare.startsWith(prefix) && /^[A-Z]/.test(bare.slice(prefix.length)));
  };
}
