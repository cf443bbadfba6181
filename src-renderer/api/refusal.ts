import { FhirApiError } from './fhir-client';

/**
 * The node's refusals of `/auth`, `/setup` and `/admin` say what went wrong with a code of this system and the field
 * it is about (`issue[0].expression`), so that a screen can say it in words next to that field (docs/login.md).
 */
export const REFUSAL_SYSTEM = 'https://liaison.example/fhir/CodeSystem/refusal';

export interface Refusal {
  /** `password-too-short`, `login-taken`, `bad-credentials`…; absent when the node gave none. */
  code?: string;
  /** The field named by the node (`admin.password`, `login`…). */
  field?: string;
  status: number;
  /** The node's own words (English, for the detail line). */
  detail: string;
  retryAfterSeconds?: number;
}

/** What a refusal says, or undefined when the error is no answer of the node (unreachable, a bug). */
export function refusalOf(error: unknown): Refusal | undefined {
  if (!(error instanceof FhirApiError)) return undefined;
  const issue = error.outcome?.issue[0];
  const code = issue?.details?.coding?.find((coding) => coding.system === REFUSAL_SYSTEM)?.code ?? issue?.details?.coding?.[0]?.code;
  return { code, field: issue?.expression?.[0], status: error.status, detail: error.detail, retryAfterSeconds: error.retryAfterSeconds };
}
