import { DIRECTORY_TYPES } from '../fhir/directory';
import { FHIR_FORMATS } from '../fhir/formats';
import { MAX_BINARY_BYTES, MAX_ELEMENTS, MAX_JSON_BODY_BYTES, MAX_STRING_BYTES } from '../fhir/limits';
import { type SearchParameterDefinition, type SearchParameters } from '../fhir/search/parameters';
import { modifiersOf } from '../fhir/search/parse';
import { textFieldOf } from '../fhir/search/text-fields';
import { resourceTypes } from '../fhir/validation/model';
import { LIAISON_VERSION } from '../version';
import type { FhirOperation, OperationParameter } from './extensions';
import { DEFAULT_RATE_LIMIT, RATE_LIMITS_DESCRIPTION, USER_RATE_LIMIT } from './rate-limits';

/**
 * The CapabilityStatement, derived from what the code implements: the interactions of the routes (directory types
 * read-only), the resource types of the model, the search parameters and modifiers the search parser accepts (the
 * store's custom SearchParameters included), the operations of the modules with their OperationDefinitions, the
 * formats of fhir/formats.ts. Nothing here is aspirational: a test checks it against a running node both ways.
 */

const READ_INTERACTIONS = ['read', 'vread', 'history-instance', 'history-type', 'search-type'];
const WRITE_INTERACTIONS = ['update', 'create'];
const OPERATION_DEFINITION_URL = 'http://liaison.health/fhir/OperationDefinition';
/** Search modifiers (STU3 SearchModifierCode), which STU3's searchParam cannot carry: one extension per modifier. */
const MODIFIER_URL = 'http://liaison.health/fhir/StructureDefinition/search-modifier';

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

const RATE_LIMITS_EXTENSION = {
  url: 'http://liaison.health/fhir/StructureDefinition/rate-limits',
  extension: [
    { url: 'clientCallsPerSecond', valueDecimal: DEFAULT_RATE_LIMIT },
    { url: 'userCallsPerSecond', valueDecimal: USER_RATE_LIMIT },
  ],
};

/**
 * The statements of one node (its operations), by base and per set of definitions: they list the search parameters
 * in force (custom ones too), so another set of definitions is another statement.
 */
export class CapabilityStatements {
  private readonly cache = new WeakMap<SearchParameters, Map<string, object>>();
  private readonly operations: OperationEntry[];

  constructor(operations: readonly FhirOperation[]) {
    this.operations = operationEntries(operations);
  }

  of(base: string, definitions: SearchParameters): object {
    let byBase = this.cache.get(definitions);
    if (!byBase) this.cache.set(definitions, (byBase = new Map()));
    let statement = byBase.get(base);
    if (!statement) byBase.set(base, (statement = build(base, definitions, this.operations)));
    return statement;
  }
}

function build(base: string, definitions: SearchParameters, operations: readonly OperationEntry[]): object {
  const origin = base.replace(/\/fhir$/, '');
  return {
    resourceType: 'CapabilityStatement',
    contained: operations.map((operation) => operation.definition),
    status: 'active',
    date: '2026-12-07',
    publisher: 'Liaison',
    kind: 'instance',
    software: { name: 'Liaison', version: LIAISON_VERSION },
    implementation: { description: 'Liaison local FHIR node', url: base },
    fhirVersion: '3.0.1',
    acceptUnknown: 'no',
    format: FHIR_FORMATS.flatMap((format) => [format.mediaType, format.code]),
    rest: [
      {
        extension: [LIMITS_EXTENSION],
        mode: 'server',
        documentation: `${LIMITS_DOCUMENTATION} Search: the modifiers each parameter takes are its extensions ${MODIFIER_URL}; reference parameters chain (subject.name=…, subject:Patient.name=…) and answer _has; _include and _revinclude take :iterate.`,
        security: {
          service: [{ coding: [{ system: 'http://hl7.org/fhir/restful-security-service', code: 'OAuth' }] }],
          description:
            'OAuth2: client credentials for the office\'s software (POST the client id and secret to the token endpoint), and the authorization code flow with PKCE (S256) and OpenID Connect for the apps an admin registered, acting for the user who logged in and allowed them (discovery at /.well-known/openid-configuration); then send Authorization: Bearer <access_token>. SMART App Launch, standalone (discovery at /fhir/.well-known/smart-configuration): user/ and patient/ scopes, v1 and v2, granted as the Lifen scopes they stand for; with launch/patient the user picks the patient on the consent page, the token answer carries patient, and the token sees that patient\'s compartment only. ' +
            'A scope parameter (space-separated Lifen scopes) asks for a token narrower than the client\'s grant; one beyond it is invalid_scope. Only GET metadata needs no token. ' +
            RATE_LIMITS_DESCRIPTION,
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [
                { url: 'authorize', valueUri: `${origin}/authorize` },
                { url: 'token', valueUri: `${origin}/oauth/token` },
                { url: 'revoke', valueUri: `${origin}/oauth/revoke` },
              ],
            },
            RATE_LIMITS_EXTENSION,
          ],
        },
        resource: resourceTypes().map((type) => resourceCapability(type, definitions)),
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
        operation: operations.map(({ code }) => ({ name: code, definition: { reference: `#${code}` } })),
      },
    ],
  };
}

function resourceCapability(type: string, definitions: SearchParameters): object {
  const writable = !DIRECTORY_TYPES.has(type);
  const parameters = [...definitions.ofType(type).values()];
  return {
    type,
    ...(writable ? {} : { documentation: 'A directory resource: written by the directory import and sync only, read-only through the API.' }),
    interaction: [...READ_INTERACTIONS, ...(writable ? WRITE_INTERACTIONS : [])].map((code) => ({ code })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: writable,
    conditionalCreate: writable,
    conditionalRead: 'full-support',
    conditionalUpdate: writable,
    conditionalDelete: 'not-supported',
    searchInclude: ['*', ...parameters.filter(isReference).map((definition) => `${type}:${definition.code}`)],
    ...optional('searchRevInclude', revIncludes(type, definitions)),
    searchParam: parameters.filter((definition) => isSearchable(type, definition)).map((definition) => searchParam(type, definition)),
  };
}

/** Whether the node searches by the parameter: one it extracts (an expression), or one the text index answers. */
function isSearchable(type: string, definition: SearchParameterDefinition): boolean {
  return definition.expression !== undefined || textFieldOf(type, definition.code) !== undefined;
}

function searchParam(type: string, definition: SearchParameterDefinition): object {
  const modifiers = definition.expression === undefined ? [] : modifiersOf(definition);
  return {
    ...(modifiers.length ? { extension: modifiers.map((modifier) => ({ url: MODIFIER_URL, valueCode: modifier })) } : {}),
    name: definition.code,
    ...(definition.url ? { definition: definition.url } : {}),
    type: definition.type,
    ...(textFieldOf(type, definition.code) ? { documentation: TEXT_DOCUMENTATION } : {}),
  };
}

/** The modifiers are in the extensions (`type`: `:[type]`, one of the definition's targets); this is what they do not say. */
const TEXT_DOCUMENTATION = 'Every word of the value begins a word of the resource (accents and case ignored), from the text index; with a modifier, matched in SQL instead.';

/** `Source:parameter` for each reference parameter of another type that may point at this one, and `Source:*`. */
function revIncludes(type: string, definitions: SearchParameters): string[] {
  const found: string[] = [];
  for (const source of resourceTypes()) {
    for (const definition of definitions.ofType(source).values()) {
      if (isReference(definition) && definition.target?.includes(type)) found.push(`${source}:${definition.code}`);
    }
  }
  return found;
}

/** FHIR JSON has no empty arrays: the member is left out. */
const optional = (name: string, values: readonly string[]) => (values.length ? { [name]: values } : {});

const isReference = (definition: SearchParameterDefinition) => definition.type === 'reference';

/** The operations by name (one OperationDefinition each), their levels, types and methods merged. */
interface OperationEntry {
  /** Without its dollar: `everything`. */
  code: string;
  definition: object;
}

function operationEntries(operations: readonly FhirOperation[]): OperationEntry[] {
  const byName = new Map<string, FhirOperation[]>();
  for (const operation of operations) byName.set(operation.name, [...(byName.get(operation.name) ?? []), operation]);
  return [...byName].map(([name, group]) => {
    const code = name.slice(1);
    const levels = new Set(group.map((operation) => operation.level));
    const types = group.some((operation) => operation.level !== 'system' && !operation.types) ? [] : [...new Set(group.flatMap((operation) => operation.types ?? []))];
    const methods = [...new Set(group.flatMap((operation) => operation.methods))];
    const { description, base } = group[0].definition;
    const parameters = new Map<string, OperationParameter>();
    for (const operation of group) for (const parameter of operation.definition.parameters) parameters.set(`${parameter.use} ${parameter.name}`, parameter);
    return {
      code,
      definition: {
        resourceType: 'OperationDefinition',
        id: code,
        url: `${OPERATION_DEFINITION_URL}/${code}`,
        name: code.replace(/(^|-)(.)/g, (_match, _dash: string, letter: string) => letter.toUpperCase()),
        status: 'active',
        kind: 'operation',
        description: `${description} ${methods.join(' or ')} ${name}.`,
        // Idempotent in an OperationDefinition means "may be invoked by GET": a read-only operation that needs a
        // body (POST only, like $route) is not.
        idempotent: group.every((operation) => (operation.readOnly && operation.methods.includes('GET')) || !operation.methods.includes('POST')),
        code,
        ...(base ? { base: { reference: base } } : {}),
        ...(types.length ? { resource: types } : {}),
        system: levels.has('system'),
        type: levels.has('type'),
        instance: levels.has('instance'),
        ...(parameters.size ? { parameter: [...parameters.values()].map(parameterOf) } : {}),
      },
    };
  });
}

function parameterOf(parameter: OperationParameter): object {
  const { parts, ...rest } = parameter;
  return { ...rest, ...(parts ? { part: parts.map(parameterOf) } : {}) };
}
