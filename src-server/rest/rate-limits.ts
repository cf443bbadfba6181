/**
 * The rate limits every caller meets, as docs/access.md ("Rate limits") defines them: the HTTP layer enforces them
 * (http/rate-limit.ts), the CapabilityStatement declares them (capability.ts). Figures in calls per second.
 */

/** API clients and the owner client, unless the admin set the client's own rate: the seed's (Lifen's) limit. */
export const DEFAULT_RATE_LIMIT = 10;

/**
 * A user of the UI, per user (all their sessions and devices together). The directory searches at each keystroke,
 * up to three calls each (practitioners, organisations, their roles): 15 keys a second, past the fastest typing,
 * make 45 calls a second, and the bucket of 50 takes a burst of 20 keys in a second on top of it.
 */
export const USER_RATE_LIMIT = 50;

export const RATE_LIMITS_DESCRIPTION =
  `Rate limits, per caller (never per address): an API client or the owner client makes ${DEFAULT_RATE_LIMIT} calls a second ` +
  `unless the admin gave it its own rate, a user of the UI ${USER_RATE_LIMIT}; each may burst one second's worth. A batch or ` +
  'transaction costs one call per entry: it is admitted while the caller has calls left and may leave it in debt, which its ' +
  'next calls wait out. Past the limit: 429 with Retry-After and RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset. ' +
  'A sync page ($changes, $replicate) is one call.';
