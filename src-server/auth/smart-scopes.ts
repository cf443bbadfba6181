import { resourceTypes } from '../fhir/validation/model';

/**
 * SMART App Launch's scopes as the node's Lifen scopes, for apps written for SMART (docs/login.md "Apps"):
 * v1 `user/Patient.read` (read and search), `user/Patient.write` (create and update), `user/*.*`; v2 `user/Patient.rs`
 * (`c` create, `r` read, `u` update, `s` search; `d`: the node deletes nothing, so it is not granted). `*` stands for
 * every type the app may ask for. As SMART lets a server grant less than asked, each maps onto what the app holds, and
 * the token answer's `scope` says what was granted. `patient/` scopes map the same way and, with `launch/patient`, ask
 * for a patient context: the user chooses the patient on the consent page, and the grant sees that patient's
 * compartment only (store/search/visibility.ts). `system/` scopes (a backend client) and an EHR launch (`launch`, a
 * context handed over by an EHR) are not offered: refused.
 */

const SMART_SCOPE = /^(user|patient|system)\/(\*|[A-Za-z]+)\.(read|write|\*|[cruds]+)$/;
const V1_ACTIONS: Record<string, readonly string[]> = { read: ['READ', 'SEARCH'], write: ['CREATE', 'UPDATE'], '*': ['READ', 'SEARCH', 'CREATE', 'UPDATE'] };
const V2_ACTIONS: Record<string, string> = { c: 'CREATE', r: 'READ', u: 'UPDATE', s: 'SEARCH' };

/** SMART's request for a patient context in a standalone launch. */
export const LAUNCH_PATIENT_SCOPE = 'launch/patient';

export function isSmartScope(scope: string): boolean {
  return SMART_SCOPE.test(scope) || scope.startsWith('launch');
}

/** Whether a SMART scope asks for a patient context: `launch/patient`, or a `patient/` scope. */
export function asksForPatient(scope: string): boolean {
  return scope === LAUNCH_PATIENT_SCOPE || scope.startsWith('patient/');
}

/** The Lifen scopes a SMART scope grants among those the app holds, or why it cannot be granted. */
export function lifenScopesOf(scope: string, held: readonly string[]): { scopes: string[] } | { refused: string } {
  // A request for a context, granting no scope of its own.
  if (scope === LAUNCH_PATIENT_SCOPE) return { scopes: [] };
  const match = SMART_SCOPE.exec(scope);
  if (!match) return { refused: `${scope.slice(0, 64)}: the node offers the standalone launch only (launch/patient; no EHR launch)` };
  const [, context, type, actions] = match;
  if (context === 'system') return { refused: `${scope.slice(0, 64)}: system/ scopes are for backend clients, which hold client credentials; ask for user/ or patient/ scopes` };
  if (type !== '*' && !resourceTypes().includes(type)) return { refused: `${scope.slice(0, 64)}: unknown resource type` };
  const verbs = V1_ACTIONS[actions] ?? [...actions].flatMap((letter) => (V2_ACTIONS[letter] ? [V2_ACTIONS[letter]] : []));
  const allowed = new Set(held);
  const granted = (type === '*' ? held.map((one) => one.replace(/_[A-Z]+$/, '')) : [type.toUpperCase()])
    .flatMap((typeName) => verbs.map((verb) => `${typeName}_${verb}`))
    .filter((one) => allowed.has(one));
  return { scopes: [...new Set(granted)] };
}

/** For discovery: the v1 and v2 forms of what the node grants. */
export const SMART_SCOPES_SUPPORTED = [
  LAUNCH_PATIENT_SCOPE,
  ...['user', 'patient'].flatMap((context) => ['*.read', '*.write', '*.*', '*.rs', '*.cruds'].map((actions) => `${context}/${actions}`)),
];
