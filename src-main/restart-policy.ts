/**
 * When to restart the node after it died unexpectedly: with exponential backoff while it keeps crashing soon after
 * starting, and not at all after too many such crashes in a row (a damaged database or a full disk will not heal by
 * retrying; the window then says so and offers to retry). A run that lasted is a fresh start: its crash is the first.
 */

export interface RestartPolicyOptions {
  /** Delay before the first restart. */
  initialDelayMs: number;
  /** The delay doubles per fast crash in a row, up to this. */
  maxDelayMs: number;
  /** A run shorter than this counts as a fast crash. */
  stableAfterMs: number;
  /** Give up after this many fast crashes in a row. */
  maxFastCrashes: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  initialDelayMs: 500,
  maxDelayMs: 15_000,
  stableAfterMs: 60_000,
  maxFastCrashes: 5,
};

export type RestartDecision = { action: 'restart'; delayMs: number; attempt: number } | { action: 'give-up'; fastCrashes: number };

export class RestartPolicy {
  private fastCrashes = 0;

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** Decides after a crash, given how long the crashed run lasted. */
  afterCrash(uptimeMs: number): RestartDecision {
    this.fastCrashes = uptimeMs >= this.options.stableAfterMs ? 1 : this.fastCrashes + 1;
    if (this.fastCrashes > this.options.maxFastCrashes) return { action: 'give-up', fastCrashes: this.fastCrashes - 1 };
    const delayMs = Math.min(this.options.initialDelayMs * 2 ** (this.fastCrashes - 1), this.options.maxDelayMs);
    return { action: 'restart', delayMs, attempt: this.fastCrashes };
  }

  /** Forgets past crashes (the user asked to try again). */
  reset(): void {
    this.fastCrashes = 0;
  }
}
