/**
 * Short-lived values held in memory under a random key, each taken at most once: the hand-off codes of finished
 * logins waiting for their app to exchange them (login-flow.ts). A node restart forgets them, which only means
 * starting the login again.
 */

const MAX_ENTRIES = 10_000;

export class OneTimeStore<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();

  // Read at each call, so that a test moving the clock (vi.spyOn(Date, "now")) moves it here too.
  constructor(private readonly now: () => number = () => Date.now()) {}

  put(key: string, value: T, ttlMs: number): void {
    this.sweep();
    // Memory stays bounded whatever comes: the oldest are dropped first.
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  /** The value, removed: a second take of the same key finds nothing. Expired values are never returned. */
  take(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    return entry.expiresAt > this.now() ? entry.value : undefined;
  }

  /** The value, left in place (a login still waiting for its callback). */
  peek(key: string): T | undefined {
    const entry = this.entries.get(key);
    return entry && entry.expiresAt > this.now() ? entry.value : undefined;
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
