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
  readonly issues: OutcomeIssue[];
  readonly headers: Record<string, string>;

  constructor(status: number, issues: OutcomeIssue[] | OutcomeIssue, headers: Record<string, string> = {}) {
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

const issue = (code: IssueCode, diagnostics: string, expression?: string): OutcomeIssue =>
  expression ? { severity: 'error', code, diagnostics, expression: [expression] } : { severity: 'error', code, diagnostics };

export const badRequest = (diagnostics: string, expression?: string) => new FhirError(400, issue('invalid', diagnostics, expression));
export const unauthorized = (diagnostics: string) => new FhirError(401, issue('login', diagnostics), { 'www-authenticate': 'Bearer' });
export const forbidden = (diagnostics: string) => new FhirError(403, issue('forbidden', diagnostics));
export const notFound = (diagnostics: string) => new FhirError(404, issue('not-found', diagnostics));
/** A method the target does not allow: `Allow` lists those it does (RFC 9110 §15.5.6). */
export const methodNotAllowed = (diagnostics: string, allowed: readonly string[]) =>
  new FhirError(405, issue('not-supported', diagnostics), { allow: allowed.join(', ') });
export const conflict = (diagnostics: string) => new FhirError(409, issue('conflict', diagnostics));
export const preconditionFailed = (diagnostics: string) => new FhirError(412, issue('conflict', diagnostics));
export const payloadTooLarge = (diagnostics: string) => new FhirError(413, issue('too-long', diagnostics));
/** An answer in none of the formats the request accepts (`Accept`, `_format`). */
export const notAcceptable = (diagnostics: string) => new FhirError(406, issue('not-supported', diagnostics));
export const unsupportedMediaType = (diagnostics: string) => new FhirError(415, issue('not-supported', diagnostics));
export const unprocessable = (diagnostics: string, expression?: string) => new FhirError(422, issue('processing', diagnostics, expression));
export const notImplemented = (diagnostics: string) => new FhirError(501, issue('not-supported', diagnostics));
/** Something the answer needs is not there yet (503): the client may try again after `retryAfterSeconds`. */
export const serviceUnavailable = (diagnostics: string, retryAfterSeconds: number) =>
  new FhirError(503, issue('transient', diagnostics), { 'retry-after': String(retryAfterSeconds) });

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
export function codedIssue(type: IssueCode, code: RefusalCode, diagnostics: string, expression?: string, parameters?: Readonly<Record<string, RefusalValue | undefined>>): OutcomeIssue {
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
