import { readdirSync, readFileSync } from 'node:fs';

/** The official STU3 CompartmentDefinitions: which search parameters place a resource in a compartment. */

interface CompartmentDefinition {
  code: string;
  resource: Array<{ code: string; param?: string[] }>;
}

let compartments: Map<string, Map<string, string[]>> | undefined;

function load(): Map<string, Map<string, string[]>> {
  const folder = new URL('../../../resources/fhir/compartments/', import.meta.url);
  const result = new Map<string, Map<string, string[]>>();
  for (const file of readdirSync(folder).filter((name) => name.endsWith('.json'))) {
    const definition = JSON.parse(readFileSync(new URL(file, folder), 'utf8')) as CompartmentDefinition;
    const members = new Map<string, string[]>();
    for (const resource of definition.resource) if (resource.param?.length) members.set(resource.code, resource.param);
    result.set(definition.code, members);
  }
  return result;
}

/**
 * The parameters linking `resourceType` to a compartment of type `compartmentType` (e.g. Patient, Encounter):
 * undefined when the type is not in that compartment.
 */
export function compartmentParameters(compartmentType: string, resourceType: string): string[] | undefined {
  compartments ??= load();
  const members = compartments.get(compartmentType);
  if (!members) return undefined;
  return members.get(resourceType) ?? (resourceType === compartmentType ? ['{def}'] : undefined);
}

export function isCompartmentType(type: string): boolean {
  compartments ??= load();
  return compartments.has(type);
}
