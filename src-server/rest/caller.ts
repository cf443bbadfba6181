import type { Caller, ReachReference } from '../store/search/visibility';

/**
 * Who calls, as the FHIR interactions need to know it: what the caller was granted, whom it acts as (its reach) and
 * who it is. rest/ defines it and auth/ implements it (auth/scopes.ts, auth/reach.ts, auth/caller.ts): the HTTP layer
 * turns a token into these, and Bundle entries, operations and write rules inherit them from the request.
 */

export type ScopeAction = 'READ' | 'SEARCH' | 'CREATE' | 'UPDATE';

/** What the caller was granted (Lifen scopes, `*` for all): every interaction checks it; a missing one is a 403 naming it. */
export interface CallerScopes {
  /** Every scope (`*`): the practice's owner client. */
  readonly all: boolean;
  allows(resourceType: string, action: ScopeAction): boolean;
  /** Throws a 403 naming the scope the caller lacks. */
  require(resourceType: string, action: ScopeAction): void;
  /** Search access: chains and `_has` filter on other types, which needs searching them. */
  requireSearch(resourceType: string): void;
  /** Search access: `_include`/`_revinclude` return only the resources the caller may read. */
  mayRead(resourceType: string): boolean;
  /** Throws a 403 unless the caller holds `scope` (or `*`), naming what needed it. */
  requireNamed(scope: string, what: string): void;
  /** Throws a 403 unless the caller holds every scope (`*`), naming what needed it. */
  requireAll(what: string): void;
}

export type { Caller, ReachReference };
