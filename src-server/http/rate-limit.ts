import { FhirError } from '../fhir/outcome';

/**
 * Per-client rate limit: a token bucket holding `rate` calls, refilled at `rate` per second, so a client may burst
 * one second's worth and then sustain its rate. A batch or transaction is one call (one HTTP request). The FHIR API
 * and the token endpoint (oauth-routes.ts) each keep their own buckets.
 */

export const DEFAULT_RATE_LIMIT = 10;
/** Buckets idle this long are full again: dropping them loses nothing and bounds the map. */
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
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one call from the client's bucket, or throws a 429 (OperationOutcome) saying when to retry. */
  take(clientId: string, rate: number): RateLimitState {
    const answer = this.tryTake(clientId, rate);
    if (answer.retryAfter > 0) {
      throw new FhirError(
        429,
        { severity: 'error', code: 'throttled', diagnostics: `Rate limit of ${rate} calls per second exceeded: retry in ${answer.retryAfter} s` },
        { 'retry-after': String(answer.retryAfter), ...rateLimitHeaders(answer) },
      );
    }
    return answer;
  }

  /** Takes one call from the client's bucket when it holds one; otherwise takes nothing and says when to retry. */
  tryTake(clientId: string, rate: number): RateLimitAnswer {
    return this.answer(clientId, rate, true);
  }

  /** Whether the client's bucket holds a call now, taking nothing. */
  peek(clientId: string, rate: number): RateLimitAnswer {
    return this.answer(clientId, rate, false);
  }

  /** Buckets held in memory. */
  get size(): number {
    return this.buckets.size;
  }

  private answer(clientId: string, rate: number, take: boolean): RateLimitAnswer {
    const now = this.now();
    let bucket = this.buckets.get(clientId);
    if (!bucket || now - bucket.at > IDLE_MS) {
      if (this.buckets.size >= MAX_BUCKETS) this.dropIdle(now);
      bucket = { tokens: rate, at: now };
      this.buckets.set(clientId, bucket);
    }
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    if (bucket.tokens < 1) {
      return { limit: rate, remaining: 0, resetSeconds: Math.ceil((rate - bucket.tokens) / rate), retryAfter: Math.max(1, Math.ceil((1 - bucket.tokens) / rate)) };
    }
    if (take) bucket.tokens -= 1;
    return { limit: rate, remaining: Math.floor(bucket.tokens), resetSeconds: Math.ceil((rate - bucket.tokens) / rate), retryAfter: 0 };
  }

  private dropIdle(now: number): void {
    for (const [clientId, bucket] of this.buckets) if (now - bucket.at > IDLE_MS) this.buckets.delete(clientId);
    if (this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
  }
}

/** The `RateLimit-*` headers (IETF draft "RateLimit header fields for HTTP"). */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return { 'ratelimit-limit': String(state.limit), 'ratelimit-remaining': String(state.remaining), 'ratelimit-reset': String(state.resetSeconds) };
}
