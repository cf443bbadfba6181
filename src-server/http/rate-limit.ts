import type { Principal } from '../auth/tokens';
import { codedIssue, FhirError } from '../fhir/outcome';
import { DEFAULT_RATE_LIMIT, USER_RATE_LIMIT } from '../rest/rate-limits';

export { DEFAULT_RATE_LIMIT, USER_RATE_LIMIT };

/**
 * Every caller's rate limit (docs/access.md, "Rate limits", is the one definition; its figures are in
 * rest/rate-limits.ts): a token bucket per caller holding `rate` calls, refilled at `rate` per second, so a caller
 * may burst one second's worth and then sustain its rate. A call is admitted when the bucket holds one; a batch or
 * transaction costs one call per entry and may leave the bucket in debt, which the caller then waits out. The FHIR
 * API and the token endpoint (oauth-routes.ts) each keep their own buckets.
 */

/** Whose bucket a call takes from, and at what rate: the caller, never the address (on 127.0.0.1 all have the same). */
export interface RateKey {
  key: string;
  rate: number;
}

export function rateKeyOf(principal: Principal): RateKey {
  // A user's login session: `user:<id>`, at the UI client's rate when the admin set one (`liaison clients set-rate
  // liaison-ui <calls>`): every user's. An app acting for a user falls to the last line: its key is the app and user
  // pair (`<app client id>|user:<id>`, Principal.clientId), at the app's rate.
  if (principal.role === 'ui') return { key: principal.clientId, rate: principal.rateLimit ?? USER_RATE_LIMIT };
  // An API client or the owner client, by client id, at the rate the admin gave it (`liaison clients set-rate`).
  return { key: principal.clientId, rate: principal.rateLimit ?? DEFAULT_RATE_LIMIT };
}

/** Buckets idle this long and full again are dropped when the map is full: that loses nothing and bounds it. */
const IDLE_MS = 60_000;
const MAX_BUCKETS = 10_000;

export interface RateLimitState {
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
}

export interface RateLimitAnswer extends RateLimitState {
  /** Seconds before the bucket holds a call again; 0 when the call is allowed. */
  retryAfter: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; rate: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one call from the caller's bucket, or throws a 429 (OperationOutcome) saying when to retry. */
  take(key: string, rate: number): RateLimitState {
    const answer = this.tryTake(key, rate);
    if (answer.retryAfter > 0) {
      throw new FhirError(
        429,
        codedIssue('throttled', 'rate-limited', `Rate limit of ${rate} calls per second exceeded: retry in ${answer.retryAfter} s`, undefined, { seconds: answer.retryAfter }),
        { 'retry-after': String(answer.retryAfter), ...rateLimitHeaders(answer) },
      );
    }
    return answer;
  }

  /**
   * Takes `calls` more from a bucket without asking whether it holds them: the rest of an admitted Bundle's entries.
   * The bucket may go into debt; the caller's next calls wait until it holds a call again.
   */
  charge(key: string, rate: number, calls: number): RateLimitState {
    return this.answer(key, rate, calls, true);
  }

  /** Takes one call from the client's bucket when it holds one; otherwise takes nothing and says when to retry. */
  tryTake(clientId: string, rate: number): RateLimitAnswer {
    return this.answer(clientId, rate, 1);
  }

  /** Whether the client's bucket holds a call now, taking nothing. */
  peek(clientId: string, rate: number): RateLimitAnswer {
    return this.answer(clientId, rate, 0);
  }

  /** Buckets held in memory. */
  get size(): number {
    return this.buckets.size;
  }

  private answer(clientId: string, rate: number, calls: number, admitted = false): RateLimitAnswer {
    const now = this.now();
    let bucket = this.buckets.get(clientId);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) this.dropIdle(now);
      bucket = { tokens: rate, at: now, rate };
      this.buckets.set(clientId, bucket);
    }
    bucket.rate = rate;
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    if (bucket.tokens < 1 && !admitted) {
      return { limit: rate, remaining: 0, resetSeconds: Math.ceil((rate - bucket.tokens) / rate), retryAfter: Math.max(1, Math.ceil((1 - bucket.tokens) / rate)) };
    }
    bucket.tokens -= calls;
    return { limit: rate, remaining: Math.max(0, Math.floor(bucket.tokens)), resetSeconds: Math.ceil((rate - bucket.tokens) / rate), retryAfter: 0 };
  }

  private dropIdle(now: number): void {
    // Only buckets full again: one still in debt (a large Bundle's) must be waited out, however long ago it was charged.
    for (const [clientId, bucket] of this.buckets) if (now - bucket.at > IDLE_MS && bucket.tokens + ((now - bucket.at) / 1000) * bucket.rate >= bucket.rate) this.buckets.delete(clientId);
    if (this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
  }
}

/** The `RateLimit-*` headers (IETF draft "RateLimit header fields for HTTP"). */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return { 'ratelimit-limit': String(state.limit), 'ratelimit-remaining': String(state.remaining), 'ratelimit-reset': String(state.resetSeconds) };
}
