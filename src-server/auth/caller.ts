import type { Caller } from '../store/search/visibility';
import type { Principal } from './tokens';

/**
 * Who a principal is for the resources that belong to their creator (store/search/visibility.ts): a user
 * (`user:<id>`) or an API client, its practices, and whether it is their admin. The owner client has none: it sees
 * and manages them all. Kept per principal object, which TokenStore caches: this runs on every call.
 */
const callers = new WeakMap<Principal, Caller>();

export function callerOf(principal: Principal): Caller | undefined {
  if (principal.role === 'owner') return undefined;
  let caller = callers.get(principal);
  if (!caller) {
    caller = { key: principal.clientId, practiceIds: principal.party?.organizationIds ?? [], admin: principal.admin };
    callers.set(principal, caller);
  }
  return caller;
}
