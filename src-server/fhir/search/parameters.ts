import { readFileSync } from 'node:fs';

/**
 * The SearchParameter definitions in force, indexed by resource type and code: the official STU3 ones and the
 * node's own (resources/liaison: links the access rules follow), plus the custom ones the practice added (active
 * SearchParameter resources of the store).
 */

export interface SearchParameterDefinition {
  code: string;
  type: 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri';
  expression?: string;
  base: string[];
  target?: string[];
  /** Canonical URL, by which composite parameters name their components. */
  url?: string;
  /** Composite parameters: each component's definition and its expression relative to the composite's elements. */
  component?: Array<{ definition: { reference: string }; expression: string }>;
}

interface Bundle {
  entry: Array<{ resource: SearchParameterDefinition & { resourceType: string } }>;
}

interface Index {
  byType: Map<string, Map<string, SearchParameterDefinition>>;
  byUrl: Map<string, SearchParameterDefinition>;
}

let index: Index | undefined;
let official: SearchParameterDefinition[] | undefined;
let custom: readonly SearchParameterDefinition[] = [];
const ofType = new Map<string, Map<string, SearchParameterDefinition>>();
const changeListeners: Array<() => void> = [];

/** The files of built-in definitions, relative to the project root: their content is part of the index fingerprint. */
export const BUILT_IN_DEFINITION_FILES = ['resources/fhir/search-parameters.json', 'resources/liaison/search-parameters.json'];

function officialDefinitions(): SearchParameterDefinition[] {
  return BUILT_IN_DEFINITION_FILES.flatMap((path) => {
    const bundle = JSON.parse(readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8')) as Bundle;
    return bundle.entry.map((entry) => entry.resource).filter((resource) => resource.resourceType === 'SearchParameter');
  });
}

function load(): Index {
  official ??= officialDefinitions();
  const byType = new Map<string, Map<string, SearchParameterDefinition>>();
  const byUrl = new Map<string, SearchParameterDefinition>();
  for (const resource of [...official, ...custom]) {
    if (resource.url) byUrl.set(resource.url, resource);
    for (const base of resource.base) {
      let forType = byType.get(base);
      if (!forType) byType.set(base, (forType = new Map()));
      forType.set(resource.code, resource);
    }
  }
  return { byType, byUrl };
}

export function searchParameter(resourceType: string, code: string): SearchParameterDefinition | undefined {
  const { byType } = (index ??= load());
  return byType.get(resourceType)?.get(code) ?? byType.get('Resource')?.get(code) ?? byType.get('DomainResource')?.get(code);
}

/** STU3 resource types that derive from Resource directly, so the DomainResource parameters do not apply. */
const NOT_DOMAIN_RESOURCES = new Set(['Binary', 'Bundle', 'Parameters']);

/** Every parameter of a type (code → definition): its own, then those of Resource and DomainResource it inherits. */
export function parametersOfType(resourceType: string): ReadonlyMap<string, SearchParameterDefinition> {
  let result = ofType.get(resourceType);
  if (result) return result;
  const { byType } = (index ??= load());
  const inherited = [byType.get('Resource'), NOT_DOMAIN_RESOURCES.has(resourceType) ? undefined : byType.get('DomainResource')];
  result = new Map<string, SearchParameterDefinition>(byType.get(resourceType));
  for (const parameters of inherited) {
    for (const [code, definition] of parameters ?? []) if (!result.has(code)) result.set(code, definition);
  }
  ofType.set(resourceType, result);
  return result;
}

/** True when an official STU3 parameter of that code applies to the type (custom ones may not replace it). */
export function isOfficialParameter(resourceType: string, code: string): boolean {
  official ??= officialDefinitions();
  return official.some((definition) => definition.code === code && [resourceType, 'Resource', 'DomainResource'].some((base) => definition.base.includes(base)));
}

export function customParameters(): readonly SearchParameterDefinition[] {
  return custom;
}

/** Puts a new set of custom definitions in force; whoever caches derived plans hears of it. */
export function setCustomParameters(definitions: readonly SearchParameterDefinition[]): void {
  custom = definitions;
  index = undefined;
  ofType.clear();
  for (const listener of changeListeners) listener();
}

export function onDefinitionsChanged(listener: () => void): void {
  changeListeners.push(listener);
}

/**
 * The definition at a canonical URL. Some STU3 composites name components by a URL that no definition carries
 * (`…/SearchParameter/Observation-code`, whose definition is the shared `clinical-code`): those resolve by the
 * `<Type>-<code>` naming convention.
 */
export function searchParameterByUrl(url: string): SearchParameterDefinition | undefined {
  const { byUrl } = (index ??= load());
  const known = byUrl.get(url);
  if (known) return known;
  const match = /\/SearchParameter\/([A-Za-z]+)-(.+)$/.exec(url);
  return match ? searchParameter(match[1], match[2]) : undefined;
}
