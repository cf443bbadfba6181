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
  /** The issue type when it is not the one of its status (REFUSAL_ISSUE_TYPES); two when two paths answer it. */
  readonly issue?: IssueCode | readonly IssueCode[];
  /** When the node answers it, for vendors. */
  readonly when: string;
  /** What `expression` names, when the refusal is about one element. */
  readonly expression?: string;
  /** The values the sentence needs, as refusal-parameter extensions: name → what it holds. */
  readonly parameters?: Readonly<Record<string, string>>;
}

/** The issue types a refusal of `rule` answered with `status` may have. */
export function issueTypesOf(rule: RefusalRule, status: number): readonly IssueCode[] {
  if (rule.issue) return typeof rule.issue === 'string' ? [rule.issue] : rule.issue;
  return [REFUSAL_ISSUE_TYPES[status] ?? 'processing'];
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
  // Requests and the HTTP layer.
  'request-refused': { statuses: [400], when: 'A request Fastify refuses before any route runs (another 4xx status may come with it)' },
  'http-invalid': { statuses: [400], when: 'Bytes that are not an HTTP request' },
  'headers-too-large': { statuses: [431], when: 'A request line and headers larger than the node reads' },
  'url-too-long': { statuses: [414], when: 'A segment of the URL that is too long' },
  'request-timeout': { statuses: [408], when: 'A request that took too long to arrive' },
  'request-too-deep': { statuses: [400], issue: 'too-costly', when: 'A request nested too deeply to be read' },
  'internal-error': { statuses: [500], when: 'An error of the node itself: the request was not completed' },
  'node-stopping': { statuses: [503], when: 'A request arriving while the node stops' },
  'host-not-allowed': { statuses: [403], when: 'A Host header that is not a name of this node (--allowed-host)' },
  'endpoint-unknown': { statuses: [404], when: 'A path with no endpoint' },
  'method-not-allowed': { statuses: [405], when: 'A method the endpoint does not allow (Allow lists those it does)' },
  'format-not-acceptable': { statuses: [406], when: 'An Accept header or _format naming nothing the node writes' },
  'media-type-unsupported': { statuses: [415], when: 'A body of a media type the endpoint does not take (send application/fhir+json)' },
  'charset-unsupported': { statuses: [415], when: 'A body in another character set than UTF-8' },
  'content-encoding-unsupported': { statuses: [415], when: 'A Content-Encoding other than gzip or deflate' },
  'body-form-not-accepted': { statuses: [415], when: 'A form posted where a FHIR JSON resource is expected' },
  'body-invalid': { statuses: [400], when: 'An empty body, a wrong Content-Length, or a body that does not inflate' },
  'body-too-large': { statuses: [413], when: 'A body larger than the endpoint accepts (a document goes to /fhir/Binary on its own)' },
  'json-invalid': { statuses: [400], when: 'A body that is not valid JSON' },
  'xml-invalid': { statuses: [400], when: 'A FHIR XML body that cannot be read (not well-formed, DOCTYPE or entities, not one FHIR resource)' },
  'rate-limited': { statuses: [429], when: 'More calls a second than the caller\'s rate limit (Retry-After says when to try again)', parameters: { seconds: 'seconds to wait (integer)' } },

  // Access.
  'token-missing': { statuses: [401], when: 'A request without a bearer token' },
  'token-invalid': { statuses: [401], when: 'A bearer token that is invalid, expired or revoked' },
  'scope-missing': { statuses: [403], when: 'A client without the scope the call needs', parameters: { scope: 'the scope needed (string, e.g. PATIENT_READ)' } },
  'outside-access': { statuses: [403], when: 'A resource outside the caller\'s access (a patient they do not follow, another practice\'s record)' },
  'admin-only': { statuses: [403], when: 'An admin call by a caller without the admin role' },
  'identity-provider-missing': { statuses: [404], when: 'A provider login while no identity provider is configured' },
  'not-login-session': { statuses: [400], when: 'A logout or session call with a token that is not a user\'s login session' },
  'login-denied': { statuses: [403], issue: 'login', when: 'A login refused at the identity provider' },
  'login-state-invalid': { statuses: [400], issue: 'login', when: 'A login that expired or began in another browser' },
  'login-failed': { statuses: [401], when: 'A login whose answer from the identity provider could not be checked' },

  // Resources, reads and writes.
  'resource-type-unknown': { statuses: [404], when: 'A resource type the node does not know' },
  'resource-not-found': { statuses: [404], when: 'A resource that does not exist, or that the caller may not see' },
  'version-not-found': { statuses: [404], when: 'A version of a resource that does not exist' },
  'id-invalid': { statuses: [400], when: 'A resource id that is not valid (letters, digits, - and ., up to 64)' },
  'id-missing': { statuses: [400], when: 'A PUT whose body has no id', expression: 'id' },
  'id-mismatch': { statuses: [400], when: 'A body whose id differs from the URL\'s (or the matched resource\'s)', expression: 'id' },
  'body-not-resource': { statuses: [400], when: 'A body that is not the resource of the endpoint', expression: 'resourceType' },
  'created-twice': { statuses: [409], when: 'A conditional create made twice by one request' },
  'criteria-empty': { statuses: [400], when: 'A conditional interaction with empty criteria' },
  'criteria-ambiguous': { statuses: [412], when: 'Conditional criteria matching more than one resource' },
  'etag-invalid': { statuses: [400], when: 'An If-Match or If-None-Match that is not an ETag such as W/"<versionId>"' },
  'version-mismatch': { statuses: [412], when: 'An update whose If-Match is not the current version' },
  'directory-read-only': { statuses: [405], when: 'A write of directory data (Practitioner, Organization…), which comes from the directory import or its peer' },
  'write-only-element': { statuses: [400], when: 'A Subscription.channel.header sent on a write that stores it outside the resource' },
  'node-only-extension': { statuses: [400, 422], when: 'An extension or identifier that only the node sets' },
  'bundle-expected': { statuses: [400], when: 'A POST on the FHIR base that is not a Bundle', expression: 'resourceType' },
  'bundle-type-invalid': { statuses: [400], when: 'A Bundle that is not a batch or transaction', expression: 'Bundle.type' },
  'bundle-entry-invalid': { statuses: [400], when: 'A Bundle entry without its method and url, or without the resource its method needs', expression: 'Bundle.entry[n]' },
  'binary-expected': { statuses: [400], when: 'A body sent to the Binary endpoint that is not a Binary', expression: 'resourceType' },
  'base64-invalid': { statuses: [400], when: 'Content that is not base64', expression: 'Binary.content' },
  'binary-members-too-large': { statuses: [413], when: 'A Binary whose members other than content are too large' },
  'binary-too-large': { statuses: [413], when: 'Binary content of 50 MiB or more' },
  'binary-content-pending': { statuses: [503], when: 'A Binary whose content is still on its way from a sync peer', parameters: { seconds: 'seconds to wait (integer)' } },
  'binary-content-missing': { statuses: [404], when: 'A Binary whose content is missing from the binary store' },
  'binary-content-damaged': { statuses: [500], when: 'Stored content that cannot be read (restore it from a backup or a peer)' },
  'reference-unknown': { statuses: [422], when: 'A reference to a resource that does not exist or that the caller may not see' },

  // Validation of resources (one issue per problem, each at its element).
  'resource-not-object': { statuses: [400], issue: 'structure', when: 'A resource that is not a JSON object', expression: 'Resource' },
  'resource-type-missing': { statuses: [400], issue: 'required', when: 'A resource without resourceType' },
  'resource-type-invalid': { statuses: [400], issue: 'invalid', when: 'A resourceType that is not a string, or not a type of FHIR STU3' },
  'element-unknown': { statuses: [400], issue: 'structure', when: 'An element the resource\'s structure does not have', expression: 'the element' },
  'element-required': { statuses: [400], issue: 'required', when: 'A required element missing', expression: 'the element' },
  'element-empty': { statuses: [400], issue: 'structure', when: 'An empty object, an empty array or a null value (omit the element instead)', expression: 'the element' },
  'element-cardinality': { statuses: [400], issue: 'structure', when: 'An array for a single value, a single value where an array is expected, too many items, or two choices of one [x] element', expression: 'the element' },
  'element-wrong-type': { statuses: [400], issue: 'structure', when: 'A value of the wrong JSON type (an object for a primitive, or the reverse)', expression: 'the element' },
  'contained-nested': { statuses: [400], issue: 'structure', when: 'A contained resource that contains resources itself (dom-2)', expression: 'the element' },
  'primitive-extension-mismatch': { statuses: [400], issue: 'structure', when: 'Extensions of a primitive array (_element) that do not match its values', expression: 'the element' },
  'value-invalid': { statuses: [400], issue: 'value', when: 'A primitive value not in its type\'s format (code, uri, id, integer, boolean, base64…)', expression: 'the element' },
  'date-invalid': { statuses: [400], issue: 'value', when: 'A date, dateTime, instant or time that is not valid', expression: 'the element' },
  'value-too-long': { statuses: [400], issue: 'too-long', when: 'A string over 1 MiB, or inline data over the Binary limit', expression: 'the element' },
  'resource-too-large': { statuses: [400], issue: 'too-costly', when: 'A resource with more elements than the node validates, or nested too deeply', expression: 'the element' },

  // Search.
  'search-parameter-unknown': { statuses: [400], when: 'A search parameter the resource type does not have (in strict handling)', expression: 'the parameter', parameters: { parameter: 'the parameter (string)' } },
  'search-parameter-unsupported': { statuses: [400], when: 'A search parameter the node does not support on this operation', expression: 'the parameter' },
  'search-value-invalid': { statuses: [400], when: 'A search value not of its parameter\'s type (token, number, quantity, composite, _total, _summary, :missing)', expression: 'the parameter' },
  'search-value-empty': { statuses: [400], when: 'An empty value in a search parameter', expression: 'the parameter' },
  'search-date-invalid': { statuses: [400], when: 'A search date that is not a date (prefix, then YYYY[-MM[-DD[Thh:mm[:ss][zone]]]])', expression: 'the parameter' },
  'reference-invalid': { statuses: [400], when: 'A reference search value that is not a reference (id, Type/id or URL), or of another type than its modifier', expression: 'the parameter' },
  'count-invalid': { statuses: [400], when: '_count that is not a positive integer', expression: '_count' },
  'count-out-of-bounds': { statuses: [400], when: '_count outside the bounds of the operation', expression: '_count', parameters: { max: 'the highest _count (integer)' } },
  'since-invalid': { statuses: [400], when: '_since that is not an instant', expression: '_since' },
  'sort-invalid': { statuses: [400], when: 'A _sort by a parameter that cannot sort', expression: '_sort' },
  'include-invalid': { statuses: [400], when: 'An _include or _revinclude that is not Type:parameter[:TargetType] of a reference parameter', expression: '_include or _revinclude' },
  'chain-invalid': { statuses: [400], when: 'A chain through a parameter that is not a reference, or towards a type it cannot point at', expression: 'the parameter' },
  'chain-too-deep': { statuses: [400], when: 'A chain of more levels than the node follows', expression: 'the parameter' },
  'has-invalid': { statuses: [400], when: 'A _has that is not _has:Type:reference:parameter towards the searched type', expression: 'the parameter' },
  'compartment-invalid': { statuses: [400], when: 'A type searched in a compartment it is not part of' },
  'system-search-unsupported': { statuses: [400], when: 'A search on the FHIR base (system level)' },
  'paging-cursor-invalid': { statuses: [400], when: 'A paging cursor that is not one of the node\'s links, or two of them', expression: '_cursor' },
  'paging-index-invalid': { statuses: [400], when: 'An _index that is not a non-negative integer, or without its cursor', expression: '_index' },
  'search-body-invalid': { statuses: [400], when: 'A _search body (or $search-for-mss body) that is not a form or a JSON object of search fields' },
  'text-query-too-short': { statuses: [400], when: 'A name, address or text search with too few letters or digits', expression: 'the parameter', parameters: { min: 'the fewest letters or digits (integer)' } },
  'text-query-too-long': { statuses: [400], when: 'A text search of too many words', expression: 'the parameter', parameters: { max: 'the most words (integer)' } },
  'text-search-not-here': { statuses: [400], when: 'A text-index parameter used where the text index is not consulted (subscription criteria…)', expression: 'the parameter' },
  'text-index-not-ready': { statuses: [503], when: 'A name, address, _content or _text search while the text index starts, is rebuilt or does not answer (Retry-After)', parameters: { seconds: 'seconds to wait (integer)' } },
  'type-parameter-invalid': { statuses: [400], when: 'A _type of $everything or the care pathway that is not one of the types it returns', expression: '_type' },
  'date-parameter-invalid': { statuses: [400], when: 'A start or end of $everything that is not a date', expression: 'start or end' },
  'search-parameter-code-invalid': { statuses: [400], when: 'A custom SearchParameter whose code is not letters, digits and dashes', expression: 'SearchParameter.code' },
  'search-parameter-invalid': { statuses: [422], when: 'A custom SearchParameter the node cannot use (type, base, expression, or an official parameter\'s code)', expression: 'SearchParameter.type, base, expression or code' },

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
  'practice-settings-invalid': { statuses: [400], when: 'Practice settings an admin sends (`PUT /admin/practices/<id>`) that are not accepted: only `sharesPatients`, true or false', expression: 'the setting (sharesPatients)' },
  'practice-not-on-node': { statuses: [404], when: 'Settings of a practice none of the node\'s users belongs to' },
  'practice-not-yours': { statuses: [403], when: 'A practice\'s settings changed by an admin who does not belong to that practice (the owner client may change any)' },
  'not-local-account': { statuses: [400, 409], when: 'A password asked of an account that logs in through the identity provider' },
  'identity-invalid': { statuses: [400], when: 'Identity provider settings that are not accepted', expression: 'issuer or clientId' },
  'bad-credentials': { statuses: [401], when: 'A wrong login or password' },
  'local-accounts-off': { statuses: [403], when: 'A password login while local accounts are turned off' },
  'account-disabled': { statuses: [403], issue: ['forbidden', 'login'], when: 'A login to a disabled account' },
  'password-change-required': { statuses: [403], when: 'A call other than changing the password by an account that must change it' },
  'too-many-attempts': { statuses: [429], when: 'Too many wrong passwords from one address (Retry-After says when to try again)', parameters: { seconds: 'seconds to wait (integer)' } },
  'join-code': { statuses: [400, 401], when: 'A code to join an office that is unknown, expired or used', expression: 'code' },
  'office-unreachable': { statuses: [502], when: 'The office node to join does not answer', expression: 'officeUrl' },
  'office-refused': { statuses: [502], when: 'The office node refused to link this node', expression: 'officeUrl' },
  'provider-unreachable': { statuses: [502], issue: ['transient', 'exception'], when: 'The identity provider does not answer', expression: 'issuer' },
  'discovery-invalid': { statuses: [502], when: 'The identity provider has no readable OpenID configuration', expression: 'issuer' },
  'issuer-mismatch': { statuses: [502], when: 'The identity provider names another issuer than the one given', expression: 'issuer' },
  'tls-error': { statuses: [502], when: 'The TLS connection to the identity provider failed', expression: 'issuer' },

  // Accounts, API clients and the directory (/admin).
  'client-unknown': { statuses: [404], when: 'An API client that does not exist (or is no longer active)' },
  'client-name-invalid': { statuses: [400], when: 'A client name that is empty or too long', expression: 'name' },
  'client-scopes-invalid': { statuses: [400], when: 'A client without scopes, or with unknown ones', expression: 'scopes' },
  'client-reference-invalid': { statuses: [400], when: 'A client\'s practitionerId or organization that is not a resource id', expression: 'practitionerId or organization' },
  'app-unknown': { statuses: [404], when: 'An app that is not registered on the node (or no longer)' },
  'app-redirect-uri-invalid': {
    statuses: [400],
    when: 'A redirect URI that is not an exact https:// URI or a loopback http://127.0.0.1 or http://[::1] one, or has a fragment or credentials',
    expression: 'redirectUris',
    parameters: { uri: 'the URI refused, cut at 200 characters (string)' },
  },
  'app-redirect-uris-count': { statuses: [400], when: 'An app with no redirect URI, or more than the node keeps', expression: 'redirectUris', parameters: { max: 'the most an app may register (integer)' } },
  'app-scope-not-allowed': { statuses: [400], when: 'An app asking for a scope only a node or the owner holds (SYNC, *)', expression: 'scopes', parameters: { scope: 'the scopes refused (string)' } },
  'app-kind-invalid': { statuses: [400], when: 'An app registered without saying whether it is public (PKCE only) or confidential (a secret)', expression: 'public' },
  'app-grant-unknown': { statuses: [404], when: 'Taking back an app the user never allowed (or already took back)' },
  'launch-patient-not-followed': {
    statuses: [403],
    when: "A SMART launch's consent page posted back with a patient the user may not see (a forged form): the node's page says it, no code is issued",
  },
  'rate-limit-invalid': { statuses: [400], when: 'A rate limit that is not a number of calls a second within bounds', expression: 'rateLimit' },
  'directory-file-invalid': { statuses: [400], when: 'A directory import without an absolute path of an existing file', expression: 'path' },
  'directory-import-running': { statuses: [409], when: 'A directory import while another runs' },
  'directory-import-unknown': { statuses: [404], when: 'A directory import that did not run since the node started' },
  'directory-archive-invalid': { statuses: [400], when: 'A directory import whose archive mode is not guarded, confirmed or never', expression: 'archive' },
  'directory-archive-unconfirmed': {
    statuses: [409],
    when: 'A directory import or publication that would archive more than 5 % of the directory (a partial file?): nothing was written; the admin confirms it, or imports the file as an update only (in a job\'s or the refresh\'s `refusal`, and answered by POST /admin/directory/refresh/confirm when nothing waits)',
    parameters: { archiving: 'entries it would archive (integer)', active: 'active entries of that type (integer)' },
  },
  'directory-refresh-nothing-waiting': { statuses: [409], when: 'A confirmation of the directory refresh while no publication waits for one' },
  'directory-source-invalid': { statuses: [400], when: 'A directory source or proxy that is not an http(s) URL (or off / none)', expression: 'source or proxy' },

  // The directory's daily refresh (failures kept in its state: GET /admin/directory/refresh, /health; never answers of the node).
  'directory-source-unreachable': { statuses: [502], issue: 'transient', when: 'The extraction service (or the proxy) does not answer, or kept cutting the download' },
  'directory-source-certificate': { statuses: [502], issue: 'security', when: 'The extraction service\'s certificate does not chain to the IGC-Santé root or a system anchor: refused' },
  'directory-proxy-refused': { statuses: [502], issue: 'transient', when: 'The proxy refused to open a tunnel to the extraction service (407, 403…)' },
  'directory-source-answer': { statuses: [502], when: 'The extraction service answered with an error status, or without naming its publication', parameters: { status: 'its HTTP status (integer)' } },
  'directory-download-too-large': { statuses: [502], issue: 'too-long', when: 'A publication larger than the node downloads', parameters: { max: 'the most it downloads, in bytes (integer)' } },
  'directory-zip-corrupt': { statuses: [502], when: 'A downloaded publication that is not a complete ZIP, or whose extraction fails its CRC: nothing was imported, the next check downloads it again' },
  'directory-import-failed': { statuses: [500], when: 'A publication whose import failed for another reason (the report says why)' },

  // Patients (docs/patients.md).
  'nir-format': {
    statuses: [422],
    when: 'An INS whose NIR is not 15 characters (digits, or 2A/2B as the département), or whose month (4th–5th) is none: 01–12, 20–42 and 50–99 (unknown)',
    expression: 'Patient.identifier[n].value',
    parameters: { value: 'the NIR given (string)' },
  },
  'nir-key': {
    statuses: [422],
    when: 'An INS whose NIR has the wrong control key',
    expression: 'Patient.identifier[n].value',
    parameters: { value: 'the NIR given (string)', expected: 'the key its first 13 characters give (string, 2 digits)', given: 'the key given (string)' },
  },
  'nir-sex': {
    statuses: [422],
    when: 'An INS whose NIR begins with 1 (a man) or 2 (a woman) while Patient.gender says the other',
    expression: 'Patient.identifier[n].value',
    parameters: { value: 'the NIR given (string)', digit: 'its first digit (string)', gender: 'Patient.gender (string)' },
  },
  'nir-birth-year': {
    statuses: [422],
    when: 'An INS whose NIR (2nd and 3rd digits) is of another birth year than Patient.birthDate',
    expression: 'Patient.identifier[n].value',
    parameters: { value: 'the NIR given (string)', nirYear: 'the year\'s last two digits in the NIR (string)', birthYear: 'the year of Patient.birthDate (string)' },
  },
  'nir-birth-month': {
    statuses: [422],
    when: 'An INS whose NIR (4th and 5th digits, 01–12) is of another birth month than Patient.birthDate',
    expression: 'Patient.identifier[n].value',
    parameters: { value: 'the NIR given (string)', nirMonth: 'the month in the NIR (string)', birthMonth: 'the month of Patient.birthDate (string)' },
  },
  'ins-value-missing': { statuses: [422], when: 'An INS identifier without a value', expression: 'Patient.identifier[n].value' },
  'ins-status': {
    statuses: [422],
    when: 'An INS on an identity whose trust status is not RECUP or QUAL (an INS comes from the INSi teleservice)',
    expression: 'Patient.identifier',
    parameters: { status: 'the identity status given (string)' },
  },
  'identity-status-without-ins': {
    statuses: [422],
    when: 'An identity status RECUP or QUAL (an INS retrieved from INSi) without the INS',
    expression: 'Patient.extension',
    parameters: { status: 'the identity status given (string)' },
  },
  'identity-status-insi': {
    statuses: [422],
    when: "A user's session of Liaison setting RECUP or QUAL, or changing the INS of such an identity: only software that called INSi sets them",
    expression: 'Patient.extension',
    parameters: { status: 'the identity status given (string)' },
  },
  'identity-document-missing': { statuses: [422], when: "A user's session of Liaison validating an identity (VALI) without naming the identity document checked (validationMode)", expression: 'Patient.extension' },
  'ins-followed-elsewhere': { statuses: [409], when: 'A Patient whose INS a patient followed by another practice already has (that patient is not named)', expression: 'Patient.identifier' },
  'ins-duplicate': { statuses: [409], when: 'A Patient whose INS another patient record already has (one person, one record)', expression: 'Patient.identifier' },
  'ipp-invalid': { statuses: [422], when: 'An IPP (identifier of type PI) without its system or value', expression: 'Patient.identifier[n]' },
  'identity-status-invalid': { statuses: [422], when: 'An identity status given twice, not of the RNIV\'s four, or contradicting Lifen\'s ReliabilityINS', expression: 'Patient.extension' },

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
  'appointment-times-missing': { statuses: [422], when: 'A booked (or other timed) appointment without start and end', expression: 'Appointment.start' },
  'appointment-too-long': { statuses: [422], when: 'A booked appointment longer than 24 hours (mark absences on the Schedule)', expression: 'Appointment.end' },
  'appointment-outside-slots': { statuses: [422], when: 'An appointment not covered by its slots, or with a slot outside it', expression: 'Appointment.slot' },
  'period-invalid': { statuses: [422], when: 'A start without an end (or the reverse), an impossible time, or an end before the start', expression: 'Appointment.start or .end, Slot.start or .end' },
  'slot-unknown': { statuses: [422], when: 'An appointment naming a Slot that does not exist on this node', expression: 'Appointment.slot' },
  'slot-times-missing': { statuses: [422], when: 'A Slot without start and end', expression: 'Slot.start' },
  'slot-held': { statuses: [409], when: 'Freeing or moving a Slot an appointment holds' },
  'schedule-hours-invalid': {
    statuses: [422],
    when: "A Schedule whose opening hours (the schedule-hours extension, docs/appointments.md) are malformed: a day, a time, a period or the time zone that is not one",
    expression: 'Schedule.extension[schedule-hours]',
  },
  'appointment-types-invalid': {
    statuses: [422],
    when: "A practice's appointment types (CodeSystem appointment-type/<practice>) with a concept lacking its duration in minutes or its #rrggbb colour, or under another id than appointment-type-<practice>",
    expression: 'CodeSystem.concept',
  },
  'schedule-admin-only': {
    statuses: [403],
    when: "Writing a practitioner's Schedule (opening hours) or a practice's appointment types without being an admin of the practice",
  },
  'free-slot-search-unsupported': {
    statuses: [400],
    when: 'A search of free Slots (status=free) with a parameter the derived slots do not answer: use schedule, schedule.actor, start, appointment-type, _count, _sort=start',
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
  'channel-not-configured': { statuses: [412], when: 'A Lifen send ($send-to-mss, $send-to-ehr) by a channel this node has not set up (channels.json)', parameters: { channel: 'the channel (string: mssante, dpi)' } },
  'channel-settings-invalid': { statuses: [400], when: 'Channel settings an admin sends (`/admin/channels/<channel>`) that are not accepted: a host, a port, an address…', expression: 'the setting (mssante.host, dpi.mllp…)' },
  'channel-settings-fixed': { statuses: [409], when: 'A change to the channels while a channels.json given at start fixes them (the file wins; edit it, or remove it and restart)' },
  'channel-unknown': { statuses: [404], when: 'A channel that cannot be set up from Réglages (expected mssante, dpi, dmp)', parameters: { channel: 'the channel asked (string)' } },
  'medium-unknown': { statuses: [400], when: 'A medium that is not a channel of the node', expression: 'CommunicationRequest.medium[n]' },
  'medium-unsupported': { statuses: [422], when: 'A Lifen medium the node has no channel for (Apicrypt…)', expression: 'the medium' },
  'recipient-invalid': { statuses: [400], when: 'A recipient that is not a reference, an MSSanté address, an RPPS or a FINESS', expression: 'CommunicationRequest.recipient[n] or recipients' },
  'recipient-unknown': { statuses: [422], when: 'A recipient that is not a resource of this node (or of its directory)', expression: 'CommunicationRequest.recipient[n] or recipients' },
  'recipient-type-invalid': { statuses: [422], when: 'A recipient of a type that cannot receive documents', expression: 'CommunicationRequest.recipient[n]' },
  'recipient-patient': { statuses: [422], when: 'A patient as recipient without medium dmp (a patient receives through the DMP)', expression: 'CommunicationRequest.recipient[n]' },
  'recipient-not-local': { statuses: [422], when: 'medium internal for a recipient that is not a user or practice of this node or of its office', expression: 'CommunicationRequest.recipient[n]' },
  'recipient-address-only': { statuses: [422], when: 'A recipient known by its address only, sent by another channel than MSSanté', expression: 'CommunicationRequest.recipient[n]' },
  'recipient-channel-not-configured': {
    statuses: [412],
    when: 'A recipient whose only channel (or the one medium forces) this node has not set up: refused at send, and answered by $route',
    expression: 'CommunicationRequest.recipient[n] or subject',
    parameters: { recipient: 'the recipient (string, a reference)', channel: 'the channel (string: mssante, dpi, dmp)' },
  },
  'recipient-mailbox-unknown': {
    statuses: [422],
    when: 'A recipient whose chosen mailbox (recipient-details extension) is not one of its MSSanté mailboxes',
    expression: 'CommunicationRequest.recipient[n]',
    parameters: { recipient: 'the recipient (string, a reference)', mailbox: 'the mailbox chosen (string)' },
  },
  'route-body-invalid': { statuses: [400], when: '$route with a body that is not a CommunicationRequest (or a Parameters with one as resource)', expression: 'resourceType' },
  'retry-not-delivery': { statuses: [422], when: '$retry on a Communication that is not a delivery of this node' },
  'retry-delivered': { statuses: [409], when: '$retry on a delivery that did not fail (delivered)', parameters: { status: 'its status (string)' } },
  'retry-other-node': { statuses: [409], when: '$retry on a delivery another node of the office made (it came by sync): its outbox, not this one, attempts it again' },
  'retry-not-allowed': { statuses: [403], when: '$retry by someone other than the sender, their practice\'s staff or a practice-wide caller' },
  'attach-patient-missing': { statuses: [400], when: '$attach without a `patient` parameter that is a Reference to Patient/<id>', expression: 'patient' },
  'attach-patient-unknown': { statuses: [422], when: '$attach to a patient the caller does not follow, or that does not exist (the same answer)', expression: 'patient' },
  'attach-already-attached': { statuses: [409], when: '$attach of a letter already filed in the record of another patient the caller follows (or already copied for another one)' },
  'recipients-missing': { statuses: [422], when: 'A CommunicationRequest with no recipient', expression: 'CommunicationRequest.recipient' },
  'dmp-needs-other-medium': { statuses: [422], when: 'medium dmp only, with recipients other than the patient', expression: 'CommunicationRequest.recipient[n]' },
  'dmp-subject-missing': { statuses: [422], when: 'medium dmp without a Patient of this node as subject', expression: 'CommunicationRequest.subject' },
  'dmp-requirement': { statuses: [422], when: 'A DMP or DPI send whose document has no LOINC type, whose patient has no valid INS, or whose sender has no RPPS', expression: 'CommunicationRequest.payload, subject or sender' },
  'sender-invalid': { statuses: [422], when: 'A send without a sender of this node (Practitioner, PractitionerRole of one, or Organization)', expression: 'CommunicationRequest.sender' },
  'sender-not-allowed': { statuses: [403], when: 'A send as someone other than the caller or their practice' },
  'sender-missing': { statuses: [400], when: 'A Lifen send without sender by a caller who acts for no single practitioner or practice', expression: 'sender' },
  'sender-unknown': { statuses: [422], when: 'A sender-identifier (RPPS) of no Practitioner of this node', expression: 'sender-identifier' },
  'send-document-invalid': { statuses: [422], when: 'A CommunicationRequest without exactly one DocumentReference of this node as payload', expression: 'CommunicationRequest.payload' },
  'document-not-current': { statuses: [422], when: 'A document sent that is not current (superseded or entered in error)', expression: 'CommunicationRequest.payload' },
  'document-without-content': { statuses: [422], when: 'A document sent whose content is not on this node', expression: 'CommunicationRequest.payload' },
  'document-too-large': { statuses: [413], when: 'A document given to a Lifen send over its size limit' },
  'document-empty': { statuses: [400], when: 'An empty document given to a Lifen send', expression: 'the parameter' },
  'subject-mismatch': { statuses: [422], when: 'A send whose subject is not its document\'s patient', expression: 'CommunicationRequest.subject or subject' },
  'context-mismatch': { statuses: [422], when: 'A Lifen send whose context Encounter is not one of the patient\'s', expression: 'context' },
  'context-ambiguous': { statuses: [422], when: 'A $send-to-ehr without context while the DPI serves several organizations', expression: 'context' },
  'content-type-invalid': { statuses: [400], when: 'A content-type parameter that is not a media type', expression: 'content-type' },
  'payload-invalid': { statuses: [400], when: 'A Lifen payload that is not one DocumentReference with its PDF inline', expression: 'payload' },
  'send-immutable': { statuses: [409], when: 'A change to the recipients, document or sender of a CommunicationRequest once sent' },
  'send-identifier-reused': { statuses: [409], when: 'A CommunicationRequest identifier already used by another send' },
  'send-unknown': { statuses: [404], when: 'A Lifen tracking request for a transaction-id of no send the caller may see', expression: 'transaction-id' },
  'delivery-immutable': { statuses: [422], when: 'A change to a delivery the node made, other than marking it read', expression: 'Communication' },
  'delivery-not-completed': { statuses: [409], when: 'Marking read a delivery that is not completed' },
  'not-recipient': { statuses: [403], when: 'Marking read a document one did not receive' },

  // Operations and their parameters.
  'operation-unknown': { statuses: [400], when: 'An operation the node does not support on this type (or the base)' },
  'parameters-invalid': { statuses: [400], when: 'An operation body that is not a Parameters resource with named parameters' },
  'operation-parameter-unknown': { statuses: [400], when: 'A parameter the operation does not take', expression: 'the parameter' },
  'operation-parameter-missing': { statuses: [400], when: 'A parameter the operation needs, missing', expression: 'the parameter' },
  'operation-parameter-repeated': { statuses: [400], when: 'A parameter given more times than the operation takes', expression: 'the parameter' },
  'operation-parameter-invalid': { statuses: [400], when: 'A parameter of the wrong type or form', expression: 'the parameter' },

  // Subscriptions.
  'subscription-status-invalid': { statuses: [422], when: 'A Subscription created in another status than requested or off', expression: 'Subscription.status' },
  'subscription-criteria-invalid': { statuses: [422], when: 'Criteria that are not a valid search of this node', expression: 'Subscription.criteria' },
  'subscription-channel-unsupported': { statuses: [422], when: 'A channel other than rest-hook', expression: 'Subscription.channel.type' },
  'subscription-endpoint-invalid': { statuses: [422], when: 'An endpoint that is not an http URL on this machine without credentials, or is the node itself', expression: 'Subscription.channel.endpoint' },
  'subscription-payload-invalid': { statuses: [422], when: 'A payload other than application/fhir+json or none', expression: 'Subscription.channel.payload' },
  'subscription-header-invalid': { statuses: [422], when: 'A channel header that is not \'Name: value\', or one the node sets', expression: 'Subscription.channel.header' },
  'subscription-secret-unknown': { statuses: [404], when: 'A Subscription not written through this node\'s API (it has no secret here)' },

  // Sync between nodes.
  'peer-unknown': { statuses: [404], when: 'A peer that does not exist' },
  'peer-invalid': { statuses: [400], when: 'A peer without a name, an http(s) URL without credentials, a kind, or this node\'s client id and secret on it', expression: 'name, url, kind, clientId or clientSecret' },
  'directory-source-taken': { statuses: [409], when: 'A second directory peer: a node follows the directory from one source only (its office node or a directory node)', expression: 'kind' },
  'replica-invalid': { statuses: [400], when: 'A $replicate Bundle or version that is not as the protocol has it (ids, parents, origin, meta)' },
  'replica-not-allowed': { statuses: [403], when: 'A version of a type the sender may not replicate here (directory data from an office, owned types)' },
  'replica-deferred': { statuses: [422], when: 'A version this node cannot store yet' },
  'replicate-too-many': { statuses: [413], when: 'More versions in one $replicate than it takes' },
  'sync-cursor-invalid': { statuses: [400], when: 'A $changes cursor that is not one of this node', expression: 'cursor' },
  'sync-data-invalid': { statuses: [400], when: 'A data parameter other than all, records or directory', expression: 'data' },
  'node-id-invalid': { statuses: [400], when: 'A sender that is not a node id', expression: 'sender' },
  'content-in-bundle': { statuses: [400], when: '$content sent inside a Bundle' },
  'content-hash-invalid': { statuses: [400], when: 'A hash that is not the lower-case hex SHA-256 of the content', expression: 'hash' },
  'content-not-awaited': { statuses: [404], when: 'Content that no Binary of this node awaits' },
  'content-mismatch': { statuses: [422], issue: 'value', when: 'Content received that is not the SHA-256 and size expected' },
  'resolve-invalid': { statuses: [400], when: 'A $resolve without the resolved resource and one leaf per version of the conflict', expression: 'resource or leaf' },
  'conflict-changed': { statuses: [409], when: 'A $resolve of a conflict that no longer is, or whose versions changed' },
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
