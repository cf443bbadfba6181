import { readFileSync } from 'node:fs';

/**
 * The SearchParameter definitions, indexed by resource type and code: the official STU3 ones and the node's own
 * (resources/liaison: links the access rules follow), plus the custom ones a practice added (active SearchParameter
 * resources of its store).
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

/** The files of built-in definitions, relative to the project root: their content is part of the index fingerprint. */
export const BUILT_IN_DEFINITION_FILES = ['resources/fhir/search-parameters.json', 'resources/liaison/search-parameters.json'];

let official: SearchParameterDefinition[] | undefined;
let builtIn: SearchParameters | undefined;

function officialDefinitions(): SearchParameterDefinition[] {
  return (official ??= BUILT_IN_DEFINITION_FILES.flatMap((path) => {
    const bundle = JSON.parse(readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8')) as Bundle;
    return bundle.entry.map((entry) => entry.resource).filter((resource) => resource.resourceType === 'SearchParameter');
  }));
}

/** STU3 resource types that derive from Resource directly, so the DomainResource parameters do not apply. */
const NOT_DOMAIN_RESOURCES = new Set(['Binary', 'Bundle', 'Parameters']);

/**
 * The definitions in force in one store: the built-in ones and the store's custom SearchParameters (the store keeps
 * one of these per open database, store/custom-parameters.ts). Immutable: another set of custom definitions is
 * another instance, so what is derived from one (extraction plans, shared rows, the CapabilityStatement) is cached
 * by instance and never stale. Stores without custom definitions share `SearchParameters.builtIn()`.
 */
export class SearchParameters {
  private readonly byType = new Map<string, Map<string, SearchParameterDefinition>>();
  private readonly byUrl = new Map<string, SearchParameterDefinition>();
  private readonly ofTypes = new Map<string, ReadonlyMap<string, SearchParameterDefinition>>();

  private constructor(readonly custom: readonly SearchParameterDefinition[]) {
    for (const resource of [...officialDefinitions(), ...custom]) {
      if (resource.url) this.byUrl.set(resource.url, resource);
      for (const base of resource.base) {
        let forType = this.byType.get(base);
        if (!forType) this.byType.set(base, (forType = new Map()));
        forType.set(resource.code, resource);
      }
    }
  }

  /** The built-in definitions alone. */
  static builtIn(): SearchParameters {
    return (builtIn ??= new SearchParameters([]));
  }

  /** The built-in definitions with these custom ones. */
  static withCustom(custom: readonly SearchParameterDefinition[]): SearchParameters {
    return custom.length === 0 ? SearchParameters.builtIn() : new SearchParameters(custom);
  }

  /** The parameter of that code for the type: its own, or one it inherits from Resource or DomainResource. */
  parameter(resourceType: string, code: string): SearchParameterDefinition | undefined {
    return this.byType.get(resourceType)?.get(code) ?? this.byType.get('Resource')?.get(code) ?? this.byType.get('DomainResource')?.get(code);
  }

  /** Every parameter of a type (code → definition): its own, then those of Resource and DomainResource it inherits. */
  ofType(resourceType: string): ReadonlyMap<string, SearchParameterDefinition> {
    let result = this.ofTypes.get(resourceType);
    if (result) return result;
    const inherited = [this.byType.get('Resource'), NOT_DOMAIN_RESOURCES.has(resourceType) ? undefined : this.byType.get('DomainResource')];
    const own = new Map<string, SearchParameterDefinition>(this.byType.get(resourceType));
    for (const parameters of inherited) {
      for (const [code, definition] of parameters ?? []) if (!own.has(code)) own.set(code, definition);
    }
    this.ofTypes.set(resourceType, (result = own));
    return result;
  }

  /**
   * The definition at a canonical URL. Some STU3 composites name components by a URL that no definition carries
   * (`…/SearchParameter/Observation-code`, whose definition is the shared `clinical-code`): those resolve by the
   * `<Type>-<code>` naming convention.
   */
  atUrl(url: string): SearchParameterDefinition | undefined {
    const known = this.byUrl.get(url);
    if (known) return known;
    const match = /\/SearchParameter\/([A-Za-z]+)-(.+)$/.exec(url);
    return match ? this.parameter(match[1], match[2]) : undefined;
  }
}

/** True when an official STU3 parameter of that code applies to the type (custom ones may not replace it). */
export function isOfficialParameter(resourceType: string, code: string): boolean {
  return officialDefinitions().some((definition) => definition.code === code && [resourceType, 'Resource', 'DomainResource'].some((base) => definition.base.includes(base)));
}
