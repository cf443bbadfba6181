import { FhirApiError } from './fhir-client';
import type { OperationOutcome } from './fhir-types';

/**
 * Every refusal of the node names its rule with a code of this system, the field it is about (`issue[0].expression`)
 * and the values its sentence needs (refusal-parameter extensions), so that a screen says it in the user's words, next
 * to that field, with times in the user's time zone (docs/errors.md). The node's English diagnostics are for logs.
 */
export const REFUSAL_SYSTEM = 'https://liaison.example/fhir/CodeSystem/refusal';
export const REFUSAL_PARAMETER_URL = 'https://liaison.example/fhir/StructureDefinition/refusal-parameter';

/** A value of a refusal: an instant is a Date, to be shown in the reader's zone. */
export type RefusalValue = string | number | Date;

export interface Refusal {
  /** `nir-key`, `double-booking`, `password-too-short`…; absent when the node gave none. */
  code?: string;
  /** The field named by the node (`Patient.identifier[0].value`, `admin.password`…). */
  field?: string;
  /** The values the sentence needs, by name (`expected`, `start`…). */
  parameters: Record<string, RefusalValue>;
  status: number;
  /** The node's own words (English): for logs, never shown. */
  detail: string;
  retryAfterSeconds?: number;
}

/** What a refusal says, or undefined when the error is no answer of the node (unreachable, a bug). */
export function refusalOf(error: unknown): Refusal | undefined {
  if (!(error instanceof FhirApiError)) return undefined;
  return { ...refusalIn(error.outcome, error.status, error.detail), retryAfterSeconds: error.retryAfterSeconds };
}

/** What an OperationOutcome says as a refusal: one answered, or one an operation reports inside its answer (`$route`). */
export function refusalIn(outcome: OperationOutcome | undefined, status: number, detail = outcome?.issue.map((issue) => issue.diagnostics).join('; ') ?? ''): Refusal {
  const issue = outcome?.issue[0];
  const code = issue?.details?.coding?.find((coding) => coding.system === REFUSAL_SYSTEM)?.code ?? issue?.details?.coding?.[0]?.code;
  const parameters: Record<string, RefusalValue> = {};
  for (const extension of issue?.extension ?? []) {
    if (extension.url !== REFUSAL_PARAMETER_URL) continue;
    const name = extension.extension?.find((part) => part.url === 'name')?.valueCode;
    const value = extension.extension?.find((part) => part.url === 'value');
    if (!name || !value) continue;
    if (value.valueInstant !== undefined && !Number.isNaN(Date.parse(value.valueInstant))) parameters[name] = new Date(value.valueInstant);
    else if (value.valueInteger !== undefined) parameters[name] = value.valueInteger;
    else if (value.valueString !== undefined) parameters[name] = value.valueString;
  }
  return { code, field: issue?.expression?.[0], parameters, status, detail };
}
