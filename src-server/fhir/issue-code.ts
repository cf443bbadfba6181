/** The issue severities and types of an OperationOutcome (outcome.ts), apart so that the refusal catalogue can name them. */

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
