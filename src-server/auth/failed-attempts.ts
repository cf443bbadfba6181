import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Failed attempts per key: on the token endpoint per client (a wrong secret, or a request over the client's rate),
 * on local logins per source address (a wrong password, auth/password-login.ts). Each one's answer is held back
 * twice as long as the one before (100 ms, 200 ms… up to 10 s), until the key has had no failure for a minute.
 * Nothing is locked: anyone may send wrong secrets for a client_id or a login, so a lockout would lock the real
 * client or person out. A wrong secret may cost a scrypt, and even a cheap refusal in a tight loop takes event-loop
 * time from other callers; a held-back answer holds the caller's connection instead (and, for passwords, bounds how
 * fast one source can guess).
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

  /** Records a failure of `key` and waits its hold-back (the timer keeps no stopping process alive): its length in ms. */
  async holdBack(key: string): Promise<number> {
    const delay = this.failed(key);
    await sleep(delay, undefined, { ref: false });
    return delay;
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
