/**
 * Failed credential checks per client: after MAX_FAILURES in a window, the client's credentials are not checked
 * again until the window ends. Secrets are 256 random bits, so this is not about guessing them: each check runs
 * scrypt (tens of milliseconds of CPU), and a loop of wrong secrets must not take the node's CPU.
 */

const MAX_FAILURES = 5;
const WINDOW_MS = 60_000;
const MAX_TRACKED = 10_000;

export class FailedAttempts {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Seconds before this client's credentials are checked again; 0 when they may be checked now. */
  retryAfter(clientId: string): number {
    const entry = this.current(clientId);
    return entry && entry.count >= MAX_FAILURES ? Math.max(1, Math.ceil((entry.since + WINDOW_MS - this.now()) / 1000)) : 0;
  }

  failed(clientId: string): void {
    const entry = this.current(clientId);
    if (entry) entry.count++;
    else {
      if (this.failures.size >= MAX_TRACKED) this.failures.clear();
      this.failures.set(clientId, { count: 1, since: this.now() });
    }
  }

  succeeded(clientId: string): void {
    this.failures.delete(clientId);
  }

  private current(clientId: string): { count: number; since: number } | undefined {
    const entry = this.failures.get(clientId);
    if (entry && this.now() - entry.since >= WINDOW_MS) {
      this.failures.delete(clientId);
      return undefined;
    }
    return entry;
  }
}
