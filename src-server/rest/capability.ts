import { MAX_BINARY_BYTES, MAX_ELEMENTS, MAX_JSON_BODY_BYTES, MAX_STRING_BYTES } from '../fhir/limits';
import type { SearchParameters } from '../fhir/search/parameters';
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

/** Statements by base, per set of definitions: they list the search parameters in force (custom ones too). */
const cache = new WeakMap<SearchParameters, Map<string, object>>();

export function capabilityStatement(base: string, definitions: SearchParameters): object {
  let byBase = cache.get(definitions);
  if (!byBase) cache.set(definitions, (byBase = new Map()));
  let statement = byBase.get(base);
  if (!statement) byBase.set(base, (statement = build(base, definitions)));
  return statement;
}

function build(base: string, definitions: SearchParameters): object {
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
          searchInclude: ['*', ...referenceCodes(definitions, type).map((code) => `${type}:${code}`)],
          searchParam: [
            { name: '_id', type: 'token' },
            { name: '_lastUpdated', type: 'date' },
            ...[...definitions.ofType(type).values()]
              .filter((definition) => definition.expression && definition.code !== '_id' && definition.code !== '_lastUpdated')
              .map((definition) => ({ name: definition.code, type: definition.type })),
          ],
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
      },
    ],
  };
}

function referenceCodes(definitions: SearchParameters, type: string): string[] {
  return [...definitions.ofType(type).values()].filter((definition) => definition.type === 'reference').map((definition) => definition.code);
}
