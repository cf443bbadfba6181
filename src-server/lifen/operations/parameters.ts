import { arrayOf, isJson, type Json } from '../../fhir/json';
import { badRequest } from '../../fhir/outcome';
import type { OperationParameter } from '../../rest/extensions';

/**
 * The parameters of Lifen's v3 operations, checked as an OperationDefinition would have them checked: a body that is
 * not a `Parameters` resource, an unknown parameter, a missing one, one given too often or with a value of another
 * type is a 400 naming it (in `expression`, and in the text), before anything is read or written.
 */

export interface ParameterDefinition {
  name: string;
  /** At least once (1) or optional (0). */
  min: 0 | 1;
  /** At most this many times. */
  max: number;
  /**
   * The value[x] members it takes (`valueString`, `valueReference`…), `resource`, or `part` (with `parts`). A value
   * of another member is refused.
   */
  types: readonly string[];
  /** The parts of a `part` parameter, checked the same way. */
  parts?: readonly ParameterDefinition[];
}

/** One given parameter: its value member and value, or its resource, or its parts. */
export interface GivenParameter {
  name: string;
  /** `valueString`, `resource`, `part`… */
  type: string;
  value: unknown;
  /** Where it was in the body, for refusals that concern its value. */
  path: string;
  parts?: ParameterSet;
}

/** The parameters given, by name, in body order. */
export class ParameterSet {
  constructor(private readonly byName: ReadonlyMap<string, GivenParameter[]>) {}

  all(name: string): GivenParameter[] {
    return this.byName.get(name) ?? [];
  }

  one(name: string): GivenParameter | undefined {
    return this.byName.get(name)?.[0];
  }
}

/** A `Parameters` body checked against the definitions of `operation` (`$send-to-mss`). */
export function readParameters(body: unknown, definitions: readonly ParameterDefinition[], operation: string): ParameterSet {
  if (!isJson(body) || body.resourceType !== 'Parameters') throw badRequest('parameters-invalid', `${operation} takes a Parameters resource as its body`, 'resourceType');
  if (body.parameter !== undefined && !Array.isArray(body.parameter)) throw badRequest('parameters-invalid', 'Parameters.parameter must be an array', 'Parameters.parameter');
  return checkedSet(arrayOf(body.parameter), definitions, operation, 'Parameters.parameter');
}

function checkedSet(elements: unknown[], definitions: readonly ParameterDefinition[], operation: string, path: string): ParameterSet {
  const byName = new Map<string, GivenParameter[]>();
  elements.forEach((element, index) => {
    const where = `${path}[${index}]`;
    if (!isJson(element) || typeof element.name !== 'string') throw badRequest('parameters-invalid', `${where} has no name`, where);
    const definition = definitions.find((candidate) => candidate.name === element.name);
    if (!definition) throw badRequest('operation-parameter-unknown', `Unknown parameter '${element.name}' of ${operation}: it takes ${definitions.map((known) => known.name).join(', ')}`, element.name);
    const given = givenParameter(element, definition, operation, where);
    byName.set(definition.name, [...(byName.get(definition.name) ?? []), given]);
  });
  for (const definition of definitions) {
    const count = byName.get(definition.name)?.length ?? 0;
    if (count < definition.min) throw badRequest('operation-parameter-missing', `${operation} needs the parameter '${definition.name}'`, definition.name);
    if (count > definition.max) throw badRequest('operation-parameter-repeated', `${operation} takes '${definition.name}' at most ${definition.max === 1 ? 'once' : `${definition.max} times`}, not ${count} times`, definition.name);
  }
  return new ParameterSet(byName);
}

function givenParameter(element: Json, definition: ParameterDefinition, operation: string, where: string): GivenParameter {
  const members = Object.keys(element).filter((key) => key.startsWith('value') || key === 'resource' || key === 'part');
  const expected = definition.types.join(' or ');
  if (members.length !== 1 || !definition.types.includes(members[0])) {
    throw badRequest('operation-parameter-invalid', `The parameter '${definition.name}' of ${operation} takes ${expected}${members.length ? `, not ${members.join(' and ')}` : ''}`, definition.name);
  }
  const type = members[0];
  const value = element[type];
  if (type === 'part') {
    if (!Array.isArray(value)) throw badRequest('operation-parameter-invalid', `The parameter '${definition.name}' needs its parts as an array`, definition.name);
    return { name: definition.name, type, value, path: where, parts: checkedSet(value, definition.parts ?? [], operation, `${where}.part`) };
  }
  if (!VALUE_CHECKS[type]?.(value)) throw badRequest('operation-parameter-invalid', `The parameter '${definition.name}' of ${operation} has an invalid ${type}`, definition.name);
  return { name: definition.name, type, value, path: where };
}

const nonEmptyString = (value: unknown) => typeof value === 'string' && value.trim() !== '';

/** The shape each value member must have before the operation reads it. */
const VALUE_CHECKS: Record<string, (value: unknown) => boolean> = {
  valueString: nonEmptyString,
  valueCode: nonEmptyString,
  valueUri: nonEmptyString,
  valueBase64Binary: (value) => typeof value === 'string' && isBase64(value) && value.trim() !== '',
  valueReference: (value) => isJson(value) && nonEmptyString(value.reference),
  valueIdentifier: (value) => isJson(value) && nonEmptyString(value.value) && (value.system === undefined || nonEmptyString(value.system)),
  valueCoding: (value) => isJson(value) && nonEmptyString(value.code),
  valueCodeableConcept: (value) => isJson(value) && arrayOf(value.coding).some((coding) => isJson(coding) && nonEmptyString(coding.code)),
  resource: (value) => isJson(value) && typeof value.resourceType === 'string',
};

/** Base64 text (line breaks allowed). */
export const isBase64 = (text: string) => /^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(text);

/** The text of a string-like value (valueString, valueCode, valueUri), trimmed. */
export function textOf(parameter: GivenParameter | undefined): string | undefined {
  return typeof parameter?.value === 'string' ? parameter.value.trim() : undefined;
}

/** The reference of a valueReference. */
export function referenceOf(parameter: GivenParameter | undefined): string | undefined {
  return parameter?.type === 'valueReference' ? String((parameter.value as Json).reference).trim() : undefined;
}

/** FHIR's primitive types, whose names begin in lower case (`valueString` is a `string`). */
const PRIMITIVES = new Set(['String', 'Code', 'Base64Binary', 'Integer', 'Boolean', 'Uri', 'Id', 'Date', 'DateTime', 'Instant', 'Decimal']);

/** A parameter as its OperationDefinition declares it: its first type, the others named in its documentation. */
export function describedParameter(definition: ParameterDefinition): OperationParameter {
  const types = definition.types.map((type) => {
    if (type === 'resource') return 'Resource';
    const name = type.replace(/^value/, '');
    return PRIMITIVES.has(name) ? name[0].toLowerCase() + name.slice(1) : name;
  });
  const common = { name: definition.name, use: 'in' as const, min: definition.min, max: String(definition.max) };
  if (definition.parts) return { ...common, parts: definition.parts.map(describedParameter) };
  return { ...common, type: types[0], ...(types.length > 1 ? { documentation: `Or as ${types.slice(1).join(', ')}` } : {}) };
}
