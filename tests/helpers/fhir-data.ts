import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shared STU3 reference data (read by tests only; the product ships its own copy in resources/). */
export const SHARED_FHIR = process.env.FHIR_SHARED_DIR ?? fileURLToPath(new URL('../../../shared/fhir/stu3/', import.meta.url));

export type Resource = Record<string, unknown> & { resourceType: string; id?: string };

export function readExample(name: string): Resource {
  return JSON.parse(readFileSync(`${SHARED_FHIR}/examples/${name}`, 'utf8')) as Resource;
}

export function readAllExamples(): Resource[] {
  return readFileSync(`${SHARED_FHIR}/examples-all.ndjson`, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Resource);
}

/** The concrete resource types of STU3, read from the official StructureDefinitions, sorted. */
export function concreteResourceTypes(): string[] {
  const bundle = JSON.parse(readFileSync(`${SHARED_FHIR}/profiles-resources.json`, 'utf8')) as {
    entry: Array<{ resource: { resourceType: string; kind?: string; abstract?: boolean; derivation?: string; id: string } }>;
  };
  return bundle.entry
    .map((entry) => entry.resource)
    .filter((resource) => resource.resourceType === 'StructureDefinition' && resource.kind === 'resource' && !resource.abstract)
    .map((resource) => resource.id)
    .sort();
}

/**
 * The codes of the official search parameters that apply to a type (its own and those of Resource/DomainResource),
 * leaving out those without an expression (_text, _content, _query) and `_id`/`_lastUpdated`, which the store serves.
 */
export function officialSearchParameterCodes(resourceType: string): string[] {
  const bundle = JSON.parse(readFileSync(`${SHARED_FHIR}/search-parameters.json`, 'utf8')) as {
    entry: Array<{ resource: { code: string; base: string[]; expression?: string } }>;
  };
  const codes = bundle.entry
    .map((entry) => entry.resource)
    .filter((parameter) => parameter.expression && parameter.base.some((base) => [resourceType, 'Resource', 'DomainResource'].includes(base)))
    .map((parameter) => parameter.code)
    .filter((code) => code !== '_id' && code !== '_lastUpdated');
  return [...new Set(codes)];
}
