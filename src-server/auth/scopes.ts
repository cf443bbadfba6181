import { forbidden } from '../fhir/outcome';
import { resourceTypes } from '../fhir/validation/model';
import type { CallerScopes, ScopeAction } from '../rest/caller';

/**
 * API scopes in Lifen's vocabulary: `<TYPE>_READ`, `<TYPE>_SEARCH`, `<TYPE>_CREATE`, `<TYPE>_UPDATE`
 * (`PATIENT_SEARCH`, `DOCUMENTREFERENCE_CREATE`…), and `*` for every scope (the practice's owner client).
 * A missing scope is a 403 naming it.
 */

export const ALL_SCOPES = '*';
/** A peer node's client: may call `$changes` and `$replicate`; what flows is still bounded by its type scopes and reach. */
export const SYNC_SCOPE = 'SYNC';

/**
 * Lifen's grouped v3 scopes, granted as the scopes they stand for. SEND_TO_EHR's are Lifen's own list; Lifen does not
 * publish SEND_TO_MSS's, so it is what `$send-to-mss` and its follow-up need: the send's three creates, the directory
 * to find recipients (`$search-for-mss`), and the Communications to track it (`$tracking`). docs/lifen-compatibility.md.
 */
export const GROUPED_SCOPES: Readonly<Record<string, readonly string[]>> = {
  SEND_TO_EHR: ['ORGANIZATION_READ', 'BINARY_CREATE', 'COMMUNICATIONREQUEST_CREATE', 'DOCUMENTREFERENCE_CREATE'],
  SEND_TO_MSS: [
    'BINARY_CREATE',
    'DOCUMENTREFERENCE_CREATE',
    'COMMUNICATIONREQUEST_CREATE',
    'PRACTITIONER_READ',
    'PRACTITIONER_SEARCH',
    'ORGANIZATION_READ',
    'ORGANIZATION_SEARCH',
    'COMMUNICATION_READ',
    'COMMUNICATION_SEARCH',
  ],
};

/** Resource types as scopes name them (`DOCUMENTREFERENCE`). */
let scopeTypeNames: ReadonlySet<string> | undefined;

export function scopeName(resourceType: string, action: ScopeAction): string {
  return `${resourceType.toUpperCase()}_${action}`;
}

/** True for `*`, `SYNC`, the grouped scopes and `<TYPE>_<ACTION>` of an STU3 resource type. */
export function isValidScope(scope: string): boolean {
  if (scope === ALL_SCOPES || scope === SYNC_SCOPE || Object.hasOwn(GROUPED_SCOPES, scope)) return true;
  const match = /^([A-Z]+)_(READ|SEARCH|CREATE|UPDATE)$/.exec(scope);
  if (!match) return false;
  scopeTypeNames ??= new Set(resourceTypes().map((type) => type.toUpperCase()));
  return scopeTypeNames.has(match[1]);
}

/**
 * The scopes of a token a client asks for with `scope` (RFC 6749 §3.3): a subset of those it holds, the client's
 * whole grant when it asks for none. `notHeld`: what it asked for beyond its grant (`invalid_scope`, §5.2), unknown
 * scopes included. A grouped scope is held when the client holds it or every scope it stands for.
 */
export function requestedScopes(held: readonly string[], requested: string | null): { scopes: string[] } | { notHeld: string[] } {
  const asked = [...new Set((requested ?? '').split(' ').filter(Boolean))];
  if (asked.length === 0) return { scopes: [...held] };
  const grant = new Scopes(held);
  const holds = (scope: string): boolean =>
    grant.all ? isValidScope(scope) : grant.has(scope) || (Object.hasOwn(GROUPED_SCOPES, scope) && GROUPED_SCOPES[scope].every((one) => grant.has(one)));
  const notHeld = asked.filter((scope) => !holds(scope));
  return notHeld.length > 0 ? { notHeld } : { scopes: asked };
}

/** What a caller was granted, from its token's scopes. */
export class Scopes implements CallerScopes {
  private readonly granted: ReadonlySet<string>;

  constructor(scopes: Iterable<string>) {
    this.granted = new Set([...scopes].flatMap((scope) => [scope, ...(Object.hasOwn(GROUPED_SCOPES, scope) ? GROUPED_SCOPES[scope] : [])]));
  }

  /** Whether `scope` is granted by name (or through a grouped scope); `*` grants every scope but is not checked here. */
  has(scope: string): boolean {
    return this.granted.has(scope);
  }

  get all(): boolean {
    return this.granted.has(ALL_SCOPES);
  }

  allows(resourceType: string, action: ScopeAction): boolean {
    return this.all || this.granted.has(scopeName(resourceType, action));
  }

  /** Throws a 403 naming the scope the caller lacks. */
  require(resourceType: string, action: ScopeAction): void {
    if (!this.allows(resourceType, action)) {
      throw forbidden('scope-missing', `This client lacks the scope ${scopeName(resourceType, action)}`, undefined, { scope: scopeName(resourceType, action) });
    }
  }

  /** Search access (search.ts): chains and `_has` filter on other types, which needs searching them. */
  requireSearch(resourceType: string): void {
    this.require(resourceType, 'SEARCH');
  }

  /** Search access: `_include`/`_revinclude` return only the resources the caller may read. */
  mayRead(resourceType: string): boolean {
    return this.allows(resourceType, 'READ');
  }

  /** Throws a 403 unless the caller holds `scope` (or `*`), naming what needed it. */
  requireNamed(scope: string, what: string): void {
    if (!this.all && !this.granted.has(scope)) throw forbidden('scope-missing', `${what} needs the scope ${scope}, which this client lacks`, undefined, { scope });
  }

  /** Throws a 403 unless the caller holds every scope (`*`), naming what needed it. */
  requireAll(what: string): void {
    if (!this.all) throw forbidden('scope-missing', `${what} needs the scope ${ALL_SCOPES} (every scope), which this client lacks`, undefined, { scope: ALL_SCOPES });
  }
}
