import { badRequest, unprocessable } from '../outcome';
import { compileFhirPath } from './fhirpath';
import { isOfficialParameter, type SearchParameterDefinition } from './parameters';
import { isResourceType } from '../validation/model';

/**
 * Custom search parameters: a practice (or a vendor) adds a SearchParameter resource with status `active`, and
 * from then on its base types are indexed and searchable by its code, like the official parameters.
 */

type JsonObject = Record<string, unknown>;
const CUSTOM_TYPES = new Set(['string', 'token', 'reference', 'date', 'number', 'quantity', 'uri']);

/** The definition a SearchParameter resource puts in force, or undefined when it is not active. */
export function customDefinition(resource: JsonObject): SearchParameterDefinition | undefined {
  if (resource.status !== 'active') return undefined;
  const { code, base, type, expression, target, url } = resource as {
    code?: string;
    base?: string[];
    type?: SearchParameterDefinition['type'];
    expression?: string;
    target?: string[];
    url?: string;
  };
  if (!code || !base || !type) return undefined;
  return { code, base, type, expression, target, url };
}

/** Refuses an active SearchParameter the node could not apply, before it is stored. */
export function checkCustomParameter(resource: JsonObject): void {
  const definition = customDefinition(resource);
  if (!definition) return;
  if (!/^[a-z][a-z0-9-]*$/i.test(definition.code)) throw badRequest('search-parameter-code-invalid', `SearchParameter.code '${definition.code}' must be letters, digits and dashes`, 'SearchParameter.code');
  if (!CUSTOM_TYPES.has(definition.type)) throw unprocessable('search-parameter-invalid', `Custom search parameters of type ${definition.type} are not supported`, 'SearchParameter.type');
  if (!definition.expression) throw unprocessable('search-parameter-invalid', 'An active custom SearchParameter needs an expression (FHIRPath)', 'SearchParameter.expression');
  for (const base of definition.base) {
    if (!isResourceType(base)) throw unprocessable('search-parameter-invalid', `SearchParameter.base '${base}' is not a resource type`, 'SearchParameter.base');
    if (isOfficialParameter(base, definition.code)) {
      throw unprocessable('search-parameter-invalid', `${base} already has the official search parameter '${definition.code}'`, 'SearchParameter.code');
    }
    try {
      compileFhirPath(definition.expression, base, 'fhirpath.js');
    } catch (error) {
      throw unprocessable('search-parameter-invalid', `SearchParameter.expression does not compile for ${base}: ${(error as Error).message}`, 'SearchParameter.expression');
    }
  }
}
