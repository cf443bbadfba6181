import type { IssueCode } from './issue-code';

/**
 * The catalogue of the node's refusals: one code per rule, kebab-case and stable (vendors and the UI match on them),
 * carried in `issue.details.coding` under REFUSAL_SYSTEM. docs/errors.md is checked against it by a test, and the UI
 * has a French and an English sentence for each. A code is never renamed or given another meaning: add a new one.
 */

export const REFUSAL_SYSTEM = 'https://liaison.example/fhir/CodeSystem/refusal';

/** An issue extension carrying one value the sentence needs: `name` (valueCode) and `value` (string, integer or instant). */
export const REFUSAL_PARAMETER_URL = 'https://liaison.example/fhir/StructureDefinition/refusal-parameter';

export interface RefusalRule {
  /** The HTTP statuses it answers with (nearly always one). */
  readonly statuses: readonly number[];
  /** The issue type when it is not the one of its status (REFUSAL_ISSUE_TYPES). */
  readonly issue?: IssueCode;
  /** When the node answers it, for vendors. */
  readonly when: string;
  /** What `expression` names, when the refusal is about one element. */
  readonly expression?: string;
  /** The values the sentence needs, as refusal-parameter extensions: name → what it holds. */
  readonly parameters?: Readonly<Record<string, string>>;
}

/** The issue type of a refusal by its status, unless its rule says otherwise. */
export const REFUSAL_ISSUE_TYPES: Readonly<Record<number, IssueCode>> = {
  400: 'invalid',
  401: 'login',
  403: 'forbidden',
  404: 'not-found',
  405: 'not-supported',
  406: 'not-supported',
  408: 'transient',
  409: 'conflict',
  410: 'not-found',
  412: 'conflict',
  413: 'too-long',
  414: 'too-long',
  415: 'not-supported',
  422: 'processing',
  429: 'throttled',
  431: 'too-long',
  500: 'exception',
  501: 'not-supported',
  502: 'transient',
  503: 'transient',
};

export const REFUSALS = {
  // Login, set-up and accounts (`/auth`, `/setup`, `/admin`: docs/login.md).
  'setup-code': { statuses: [401], when: 'The set-up code (X-Liaison-Setup-Code) is missing or wrong', expression: 'code' },
  'setup-done': { statuses: [409], when: 'Set-up asked again once a user exists' },
  'invalid-request': { statuses: [400], when: 'A body of /auth, /setup or /admin that is not what the endpoint takes', expression: 'the field' },
  'login-invalid': { statuses: [400], when: 'A login with characters other than letters, digits, dots and dashes', expression: 'login' },
  'login-taken': { statuses: [409], when: 'A login another account already has', expression: 'login' },
  'password-too-short': { statuses: [400], when: 'A password under 12 characters', expression: 'password' },
  'password-too-long': { statuses: [400], when: 'A password over 256 characters', expression: 'password' },
  'password-unchanged': { statuses: [400], when: 'A new password equal to the old one', expression: 'password' },
  'display-name-missing': { statuses: [400], when: 'An account without a display name (or one over 200 characters)', expression: 'displayName' },
  'practice-unknown': { statuses: [400, 422], when: 'A practice not (or no longer) in the directory', expression: 'practice' },
  'practice-invalid': { statuses: [400], when: 'A practice with a malformed FINESS or SIRET', expression: 'practice' },
  'practitioner-unknown': { statuses: [400, 422], when: 'A practitioner not (or no longer) in the directory', expression: 'practitioner' },
  'roles-invalid': { statuses: [400], when: 'An account without a known role', expression: 'roles' },
  'organizations-invalid': { statuses: [400], when: 'Organizations of an account that are not the node\'s', expression: 'organizations' },
  'user-unknown': { statuses: [404], when: 'An account that does not exist' },
  'not-local-account': { statuses: [400, 409], when: 'A password asked of an account that logs in through the identity provider' },
  'identity-invalid': { statuses: [400], when: 'Identity provider settings that are not accepted', expression: 'issuer or clientId' },
  'bad-credentials': { statuses: [401], when: 'A wrong login or password' },
  'local-accounts-off': { statuses: [403], when: 'A password login while local accounts are turned off' },
  'account-disabled': { statuses: [403], when: 'A login to a disabled account' },
  'password-change-required': { statuses: [403], when: 'A call other than changing the password by an account that must change it' },
  'too-many-attempts': { statuses: [429], when: 'Too many wrong passwords from one address (Retry-After says when to try again)', parameters: { seconds: 'seconds to wait (integer)' } },
  'join-code': { statuses: [400, 401], when: 'A code to join an office that is unknown, expired or used', expression: 'code' },
  'office-unreachable': { statuses: [502], when: 'The office node to join does not answer', expression: 'officeUrl' },
  'office-refused': { statuses: [502], when: 'The office node refused to link this node', expression: 'officeUrl' },
  'provider-unreachable': { statuses: [502], when: 'The identity provider does not answer', expression: 'issuer' },
  'discovery-invalid': { statuses: [502], when: 'The identity provider has no readable OpenID configuration', expression: 'issuer' },
  'issuer-mismatch': { statuses: [502], when: 'The identity provider names another issuer than the one given', expression: 'issuer' },
  'tls-error': { statuses: [502], when: 'The TLS connection to the identity provider failed', expression: 'issuer' },

  // Patients (docs/patients.md).
  'nir-format': {
    statuses: [422],
    when: 'An INS whose NIR is not 15 characters (digits, or 2A/2B as the département)',
    expression: 'Patient.identifier[n].value',
    parameters: { value: 'the NIR given (string)' },
  },
  'nir-key': {
    statuses: [422],
    when: 'An INS whose NIR has the wrong control key',
    expression: 'Patient.identifier[n].value',
    parameters: { value: 'the NIR given (string)', expected: 'the key its first 13 characters give (string, 2 digits)', given: 'the key given (string)' },
  },
  'ins-value-missing': { statuses: [422], when: 'An INS identifier without a value', expression: 'Patient.identifier[n].value' },
  'ins-status': {
    statuses: [422],
    when: 'An INS on an identity whose trust status is not RECUP or QUAL (an INS comes from the INSi teleservice)',
    expression: 'Patient.identifier',
    parameters: { status: 'the identity status given (string)' },
  },

  // Appointments (docs/appointments.md).
  'double-booking': {
    statuses: [409],
    when: 'A booked or arrived appointment overlapping another of one of its practitioners',
    expression: 'Appointment.start',
    parameters: {
      start: 'start of the appointment already booked (instant)',
      end: 'its end (instant)',
      appointment: 'its reference, when the caller may see it (string)',
      practitioner: 'the practitioner booked (string, a reference)',
    },
  },
  'slot-taken': {
    statuses: [409],
    when: 'An appointment filling a Slot that is not free',
    expression: 'Appointment.slot',
    parameters: { start: 'start of the slot (instant)', end: 'its end (instant)', status: 'its status (string)' },
  },

  // Sending documents (docs/documents.md).
  'recipient-no-channel': {
    statuses: [422],
    when: 'A recipient no channel reaches: not a user or practice of this node or its office, no MSSanté mailbox, no DPI endpoint',
    expression: 'CommunicationRequest.recipient[n]',
    parameters: { recipient: 'the recipient (string, a reference)' },
  },
  'recipient-no-mailbox': {
    statuses: [422],
    when: 'A recipient sent to by MSSanté (medium mssante) without an MSSanté mailbox',
    expression: 'CommunicationRequest.recipient[n]',
    parameters: { recipient: 'the recipient (string, a reference)', channel: 'the channel asked (string)' },
  },
} as const satisfies Record<string, RefusalRule>;

export type RefusalCode = keyof typeof REFUSALS;

/** The codes a refusal answered with `status` may carry: a code is only used with the statuses its rule lists. */
export type RefusalCodeFor<S extends number> = { [C in RefusalCode]: S extends (typeof REFUSALS)[C]['statuses'][number] ? C : never }[RefusalCode];

/** A value a refusal's sentence needs: an instant (a Date) is shown in the reader's time zone. */
export type RefusalValue = string | number | Date;

/** The values a code's rule declares, each optional (a value the caller may not learn is left out). */
export type RefusalParameters<C extends RefusalCode> = (typeof REFUSALS)[C] extends { parameters: infer P } ? { readonly [K in keyof P]?: RefusalValue } : Record<never, never>;

/** The issue extensions carrying `parameters`, one per value. */
export function parameterExtensions(parameters: Readonly<Record<string, RefusalValue | undefined>>): RefusalParameterExtension[] {
  return Object.entries(parameters).flatMap(([name, value]) => (value === undefined ? [] : [{ url: REFUSAL_PARAMETER_URL, extension: [{ url: 'name', valueCode: name }, valueOf(value)] }]));
}

export interface RefusalParameterExtension {
  url: typeof REFUSAL_PARAMETER_URL;
  extension: [{ url: 'name'; valueCode: string }, { url: 'value'; valueString?: string; valueInteger?: number; valueInstant?: string }];
}

function valueOf(value: RefusalValue): RefusalParameterExtension['extension'][1] {
  if (value instanceof Date) return { url: 'value', valueInstant: value.toISOString() };
  if (typeof value === 'number') return { url: 'value', valueInteger: value };
  return { url: 'value', valueString: value };
}
