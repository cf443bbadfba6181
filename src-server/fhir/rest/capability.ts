import { searchParametersOf } from '../search/extract';
import { onDefinitionsChanged } from '../search/parameters';
import { resourceTypes } from '../validation/model';
import { LIAISON_VERSION } from '../../version';

/**
 * The CapabilityStatement, derived from what the code implements: the interactions of FhirInteractions, the
 * resource types of the model and the search parameters the search engine serves. Nothing here is aspirational.
 */

const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'create', 'history-instance', 'history-type', 'search-type'];

const cache = new Map<string, object>();
// The statement lists the search parameters in force: a custom SearchParameter changes it.
onDefinitionsChanged(() => cache.clear());

export function capabilityStatement(base: string): object {
  let statement = cache.get(base);
  if (!statement) cache.set(base, (statement = build(base)));
  return statement;
}

function build(base: string): object {
  const origin = base.replace(/\/fhir$/, '');
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-26',
    publisher: 'Liaison',
    kind: 'instance',
    software: { name: 'Liaison', version: LIAISON_VERSION },
    implementation: { description: 'Liaison local FHIR node', url: base },
    fhirVersion: '3.0.1',
    acceptUnknown: 'no',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        security: {
          service: [{ coding: [{ system: 'http://hl7.org/fhir/restful-security-service', code: 'OAuth' }] }],
          description: 'OAuth2 client credentials: POST /oauth/token, then Authorization: Bearer <access_token>',
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [
                { url: 'token', valueUri: `${origin}/oauth/token` },
                { url: 'revoke', valueUri: `${origin}/oauth/revoke` },
              ],
            },
          ],
        },
        resource: resourceTypes().map((type) => ({
          type,
          interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
          versioning: 'versioned-update',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: true,
          conditionalRead: 'full-support',
          conditionalUpdate: true,
          conditionalDelete: 'not-supported',
          searchInclude: ['*', ...referenceCodes(type).map((code) => `${type}:${code}`)],
          searchParam: [
            { name: '_id', type: 'token' },
            { name: '_lastUpdated', type: 'date' },
            ...[...searchParametersOf(type).values()]
              .filter((definition) => definition.expression && definition.code !== '_id' && definition.code !== '_lastUpdated')
              .map((definition) => ({ name: definition.code, type: definition.type })),
          ],
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
      },
    ],
  };
}

function referenceCodes(type: string): string[] {
  return [...searchParametersOf(type).values()].filter((definition) => definition.type === 'reference').map((definition) => definition.code);
}
