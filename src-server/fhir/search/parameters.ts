import { readFileSync } from 'node:fs';

/** The official STU3 SearchParameter definitions, indexed by resource type and code. */

export interface SearchParameterDefinition {
  code: string;
  type: 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri';
  expression?: string;
  base: string[];
  target?: string[];
}

interface Bundle {
  entry: Array<{ resource: SearchParameterDefinition & { resourceType: string } }>;
}

let byType: Map<string, Map<string, SearchParameterDefinition>> | undefined;

function load(): Map<string, Map<string, SearchParameterDefinition>> {
  const file = new URL('../../../resources/fhir/search-parameters.json', import.meta.url);
  const bundle = JSON.parse(readFileSync(file, 'utf8')) as Bundle;
  const index = new Map<string, Map<string, SearchParameterDefinition>>();
  for (const { resource } of bundle.entry) {
    if (resource.resourceType !== 'SearchParameter') continue;
    for (const base of resource.base) {
      let forType = index.get(base);
      if (!forType) index.set(base, (forType = new Map()));
      forType.set(resource.code, resource);
    }
  }
  return index;
}

export function searchParameter(resourceType: string, code: string): SearchParameterDefinition | undefined {
  byType ??= load();
  return byType.get(resourceType)?.get(code) ?? byType.get('Resource')?.get(code) ?? byType.get('DomainResource')?.get(code);
}
