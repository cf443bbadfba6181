/** OperationOutcome construction and the error type every FHIR-facing layer throws. */

export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

/** The subset of the STU3 `issue-type` value set this server emits. */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'not-found'
  | 'not-supported'
  | 'conflict'
  | 'duplicate'
  | 'too-costly'
  | 'too-long'
  | 'throttled'
  | 'transient'
  | 'processing'
  | 'exception'
  | 'informational';

export interface OutcomeIssue {
  severity: IssueSeverity;
  code: IssueCode;
  /** Which refusal of the node's own API it is (`/auth`, `/setup`, `/admin`): the UI words each code. */
  details?: { coding: Array<{ system: string; code: string }> };
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

/** The system of the codes that name the node's own refusals (`/auth`, `/setup`, `/admin`), for screens to word. */
export const REFUSAL_SYSTEM = 'https://liaison.example/fhir/CodeSystem/refusal';

/** The refusals of login, set-up and accounts, each a code the UI puts into French next to the field it names. */
export type RefusalCode =
  | 'setup-code'
  | 'setup-done'
  | 'invalid-request'
  | 'login-invalid'
  | 'login-taken'
  | 'password-too-short'
  | 'password-too-long'
  | 'password-unchanged'
  | 'display-name-missing'
  | 'practice-unknown'
  | 'practice-invalid'
  | 'practitioner-unknown'
  | 'roles-invalid'
  | 'organizations-invalid'
  | 'user-unknown'
  | 'not-local-account'
  | 'identity-invalid'
  | 'bad-credentials'
  | 'local-accounts-off'
  | 'account-disabled'
  | 'password-change-required'
  | 'too-many-attempts'
  | 'join-code'
  | 'office-unreachable'
  | 'office-refused'
  | 'provider-unreachable'
  | 'discovery-invalid'
  | 'issuer-mismatch'
  | 'tls-error';

const REFUSAL_ISSUE_CODES: Record<number, IssueCode> = { 400: 'invalid', 401: 'login', 403: 'forbidden', 404: 'not-found', 409: 'conflict', 422: 'processing', 429: 'throttled', 502: 'transient' };

/** A coded refusal: `diagnostics` in English for logs, `expression` the field it is about. */
export function refusal(status: number, code: RefusalCode, diagnostics: string, expression?: string, headers: Record<string, string> = {}): FhirError {
  return new FhirError(
    status,
    {
      severity: 'error',
      code: REFUSAL_ISSUE_CODES[status] ?? 'processing',
      details: { coding: [{ system: REFUSAL_SYSTEM, code }] },
      diagnostics,
      ...(expression ? { expression: [expression] } : {}),
    },
    headers,
  );
}
