import { MAX_BINARY_BYTES, MAX_ELEMENTS, MAX_JSON_BODY_BYTES, MAX_STRING_BYTES } from '../fhir/limits';
import { searchParametersOf } from '../fhir/search/extract';
import { onDefinitionsChanged } from '../fhir/search/parameters';
import { resourceTypes } from '../fhir/validation/model';
import { LIAISON_VERSION } from '../version';

/**
 * The CapabilityStatement, derived from what the code implements: the interactions of FhirInteractions, the
 * resource types of the model and the search parameters the search engine serves. Nothing here is aspirational.
 */

const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'create', 'history-instance', 'history-type', 'search-type'];

const MIB = 1024 * 1024;
const LIMITS_URL = 'http://liaison.health/fhir/StructureDefinition/input-limits';

/**
 * The input limits (../limits.ts), for people in `rest.documentation` and for programs in an extension whose parts
 * each give the most this node accepts.
 */
const LIMITS_DOCUMENTATION =
  `Input limits: a string element holds at most ${MAX_STRING_BYTES / MIB} MiB (${MAX_STRING_BYTES} bytes of UTF-8), and a resource at most ` +
  `${MAX_ELEMENTS} elements (every object and value of its JSON, arrays aside): a write beyond either is refused with 400 and an ` +
  `OperationOutcome whose issue (too-long, too-costly) names the element. A JSON request body holds at most ` +
  `${MAX_JSON_BODY_BYTES / MIB} MiB (413 beyond). A Binary's content is less than ${MAX_BINARY_BYTES / MIB} MiB (413 otherwise): ` +
  `send it to /fhir/Binary on its own, as the document itself or as FHIR JSON, where it streams; inline base64 data ` +
  `(Binary.content, Attachment.data) is bounded by that limit rather than the string one.`;

const LIMITS_EXTENSION = {
  url: LIMITS_URL,
  extension: [
    { url: 'stringBytes', valueUnsignedInt: MAX_STRING_BYTES },
    { url: 'elements', valueUnsignedInt: MAX_ELEMENTS },
    { url: 'jsonBodyBytes', valueUnsignedInt: MAX_JSON_BODY_BYTES },
    { url: 'binaryBytes', valueUnsignedInt: MAX_BINARY_BYTES - 1 },
  ],
};

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
        extension: [LIMITS_EXTENSION],
        mode: 'server',
        documentation: LIMITS_DOCUMENTATION,
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
