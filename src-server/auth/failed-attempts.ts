/**
 * Failed attempts on the token endpoint per client (a wrong secret, or a request over the client's rate): each
 * one's answer is held back twice as long as the one before (100 ms, 200 ms… up to 10 s), until the client has had
 * no failure for a minute. Nothing is locked: anyone may send wrong secrets for a client_id, so a lockout would
 * lock the real client out. Secrets are 256 random bits, so this is not about guessing them: a wrong secret may
 * cost a scrypt, and even a cheap refusal in a tight loop takes event-loop time from other clients; a held-back
 * answer holds the caller's connection instead.
 */

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 10_000;
const QUIET_MS = 60_000;
const MAX_TRACKED = 10_000;

export class FailedAttempts {
  private readonly failures = new Map<string, { count: number; last: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records a failure of `key` (a client_id the node knows, or one key for all unknown ones): the ms to hold its answer back. */
  failed(key: string): number {
    const now = this.now();
    let entry = this.current(key, now);
    if (!entry) {
      if (this.failures.size >= MAX_TRACKED) this.dropQuiet(now);
      entry = { count: 0, last: now };
      this.failures.set(key, entry);
    }
    entry.count++;
    entry.last = now;
    return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(entry.count - 1, 20));
  }

  /** Whether `key` failed within the last minute. */
  recentlyFailed(key: string): boolean {
    return this.current(key, this.now()) !== undefined;
  }

  /** Keys held in memory. */
  get size(): number {
    return this.failures.size;
  }

  private current(key: string, now: number): { count: number; last: number } | undefined {
    const entry = this.failures.get(key);
    if (entry && now - entry.last >= QUIET_MS) {
      this.failures.delete(key);
      return undefined;
    }
    return entry;
  }

  private dropQuiet(now: number): void {
    for (const [key, entry] of this.failures) if (now - entry.last >= QUIET_MS) this.failures.delete(key);
    if (this.failures.size >= MAX_TRACKED) this.failures.clear();
  }
}
