/** OperationOutcome construction and the error type every FHIR-facing layer throws. */

import type { IssueCode, IssueSeverity } from './issue-code';
import { parameterExtensions, REFUSAL_ISSUE_TYPES, REFUSAL_SYSTEM, type RefusalCode, type RefusalCodeFor, type RefusalParameterExtension, type RefusalParameters, type RefusalValue } from './refusals';

export { REFUSAL_SYSTEM, type RefusalCode } from './refusals';

export type { IssueCode, IssueSeverity } from './issue-code';

export interface OutcomeIssue {
  severity: IssueSeverity;
  code: IssueCode;
  /** Which refusal of the node it is (fhir/refusals.ts, docs/errors.md): the UI words each code. */
  details?: { coding: Array<{ system: string; code: string }> };
  /** The values the refusal's sentence needs (REFUSAL_PARAMETER_URL). */
  extension?: RefusalParameterExtension[];
  diagnostics: string;
  /** FHIRPath locations of the element the issue is about. */
  expression?: string[];
}

/** An issue of a refusal: always coded, so that no refusal leaves the node without its rule's code. */
export interface CodedIssue extends OutcomeIssue {
  details: { coding: Array<{ system: string; code: string }> };
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Array<OutcomeIssue & { location?: string[] }>;
}

export function operationOutcome(issues: OutcomeIssue[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    // STU3 clients read `location` (XPath-ish) more often than `expression`: give both.
    issue: issues.map((issue) => (issue.expression ? { ...issue, location: issue.expression } : issue)),
  };
}

/** An error that answers with an HTTP status and an OperationOutcome. */
export class FhirError extends Error {
  readonly status: number;
  readonly issues: CodedIssue[];
  readonly headers: Record<string, string>;

  constructor(status: number, issues: CodedIssue[] | CodedIssue, headers: Record<string, string> = {}) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.map((issue) => issue.diagnostics).join('; '));
    this.status = status;
    this.issues = list;
    this.headers = headers;
  }

  get outcome(): OperationOutcome {
    return operationOutcome(this.issues);
  }

  /** The issues with the elements they point at, for reports and logs: `Patient.address[0].city: …; …`. */
  get located(): string {
    return this.issues.map((issue) => (issue.expression ? `${issue.expression.join(', ')}: ${issue.diagnostics}` : issue.diagnostics)).join('; ');
  }
}

/**
 * The refusals by status, each naming its rule: a code of the catalogue (fhir/refusals.ts) that the rule lists with this
 * status, the English diagnostics for logs and vendors, the element it is about, and the values its sentence needs.
 */
type Refuse<S extends number> = <C extends RefusalCodeFor<S>>(code: C, diagnostics: string, expression?: string, parameters?: RefusalParameters<C>) => FhirError;

const refuse =
  <S extends number>(status: S, type: IssueCode, headers?: Record<string, string>): Refuse<S> =>
  (code, diagnostics, expression, parameters) =>
    new FhirError(status, codedIssue(type, code, diagnostics, expression, parameters), headers);

export const badRequest = refuse(400, 'invalid');
export const unauthorized = refuse(401, 'login', { 'www-authenticate': 'Bearer' });
export const forbidden = refuse(403, 'forbidden');
export const notFound = refuse(404, 'not-found');
/** A method the target does not allow: `Allow` lists those it does (RFC 9110 §15.5.6). */
export const methodNotAllowed = (code: RefusalCodeFor<405>, diagnostics: string, allowed: readonly string[]) =>
  new FhirError(405, codedIssue('not-supported', code, diagnostics), { allow: allowed.join(', ') });
export const conflict = refuse(409, 'conflict');
export const preconditionFailed = refuse(412, 'conflict');
export const payloadTooLarge = refuse(413, 'too-long');
/** An answer in none of the formats the request accepts (`Accept`, `_format`). */
export const notAcceptable = refuse(406, 'not-supported');
export const unsupportedMediaType = refuse(415, 'not-supported');
export const unprocessable = refuse(422, 'processing');
export const notImplemented = refuse(501, 'not-supported');
/** Something the answer needs is not there yet (503): the client may try again after `retryAfterSeconds`. */
export const serviceUnavailable = (code: RefusalCodeFor<503>, diagnostics: string, retryAfterSeconds: number) =>
  new FhirError(503, codedIssue('transient', code, diagnostics, undefined, { seconds: retryAfterSeconds }), { 'retry-after': String(retryAfterSeconds) });

/** A coded refusal: `diagnostics` in English for logs and vendors, `expression` the field it is about, `parameters` the values its sentence needs. */
export function refusal<S extends number, C extends RefusalCodeFor<S>>(
  status: S,
  code: C,
  diagnostics: string,
  expression?: string,
  extra: { parameters?: RefusalParameters<C>; headers?: Record<string, string> } = {},
): FhirError {
  return new FhirError(status, codedIssue(REFUSAL_ISSUE_TYPES[status] ?? 'processing', code, diagnostics, expression, extra.parameters), extra.headers);
}

/** One issue of a refusal, coded (the validator's issues keep their own issue type). */
export function codedIssue(type: IssueCode, code: RefusalCode, diagnostics: string, expression?: string, parameters?: Readonly<Record<string, RefusalValue | undefined>>): CodedIssue {
  const extension = parameters ? parameterExtensions(parameters) : [];
  return {
    severity: 'error',
    code: type,
    details: { coding: [{ system: REFUSAL_SYSTEM, code }] },
    diagnostics,
    ...(expression ? { expression: [expression] } : {}),
    ...(extension.length > 0 ? { extension } : {}),
  };
}
