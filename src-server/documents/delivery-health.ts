import type { HealthProblem } from '../rest/extensions';
import type { DeliveryOutcome } from '../channels/channel';
import type { OutboxSettings } from './channel-settings';
import type { Outbox } from './outbox';

/**
 * What `/health` says of the document outbox and its channels (docs/documents.md, "Health"). The outbox worker tells
 * it each channel's outcomes, each delivery that gave up, and each look it takes at the outbox; the outbox's table
 * tells what waits. One failed attempt is nothing (a mailbox that does not exist, a relay restarting): a channel is
 * failing after CHANNEL_FAILURES attempts in a row that did not deliver, until one delivers.
 */

/** Attempts in a row that did not deliver before a channel counts as failing. */
export const CHANNEL_FAILURES = 3;
/** How long a delivery that gave up after all its attempts keeps the outbox degraded. */
export const GAVE_UP_WINDOW_MS = 60 * 60_000;
/** A delivery due for longer than this and not taken is overdue: the worker is not keeping up, or not working. */
export const OVERDUE_MS = 5 * 60_000;
/** The worker looks at the outbox at least every few seconds; not for this long means it has stopped. */
export const STALLED_MS = 60_000;

interface Streak {
  failures: number;
  reason: string;
}

export class DeliveryHealth {
  private readonly streaks = new Map<string, Streak>();
  private gaveUp: Array<{ at: number; reason: string }> = [];
  private look: { at: number; error?: string } | undefined;

  /** A channel's outcome for one attempt (not a delivery the loader dropped before any channel was asked). */
  attempted(channel: string, outcome: DeliveryOutcome): void {
    if (outcome.status === 'completed') {
      this.streaks.delete(channel);
      return;
    }
    this.streaks.set(channel, { failures: (this.streaks.get(channel)?.failures ?? 0) + 1, reason: outcome.reason });
  }

  /** A delivery ended after its last attempt. */
  gaveUpOn(reason: string, now = Date.now()): void {
    this.gaveUp = [...this.gaveUp.filter((entry) => now - entry.at < GAVE_UP_WINDOW_MS), { at: now, reason }];
  }

  /** The worker looked at the outbox (and could not read it, with `error`). */
  looked(error?: string, now = Date.now()): void {
    this.look = { at: now, ...(error ? { error } : {}) };
  }

  /** Nothing while the worker has not started: the node does not serve yet. */
  problems(outbox: Outbox, settings: OutboxSettings, now = Date.now()): HealthProblem[] {
    if (!this.look) return [];
    const problems: HealthProblem[] = [];
    const outboxProblem = (reason: string) => problems.push({ part: 'outbox', reason });
    if (this.look.error) outboxProblem(`The document outbox cannot read its queue: ${this.look.error}`);
    else if (now - this.look.at > STALLED_MS) outboxProblem(`The document outbox has not looked for deliveries for ${Math.round((now - this.look.at) / 1000)} s: documents are not sent`);
    const waiting = outbox.waiting(now - OVERDUE_MS, now - settings.attemptTimeoutMs - STALLED_MS);
    if (waiting.overdue > 0) outboxProblem(`${waiting.overdue} document deliveries have been due for more than ${OVERDUE_MS / 60_000} min without being attempted`);
    if (waiting.stuck > 0) outboxProblem(`${waiting.stuck} document delivery attempts have run for more than ${Math.round((settings.attemptTimeoutMs + STALLED_MS) / 1000)} s`);
    const gaveUp = this.gaveUp.filter((entry) => now - entry.at < GAVE_UP_WINDOW_MS);
    if (gaveUp.length > 0) {
      outboxProblem(`${gaveUp.length} document deliveries gave up after ${settings.maxAttempts} attempts in the last hour; the last: ${gaveUp.at(-1)!.reason}`);
    }
    for (const [channel, streak] of this.streaks) {
      if (streak.failures < CHANNEL_FAILURES) continue;
      problems.push({ part: `channel:${channel}`, reason: `The ${channel} channel's last ${streak.failures} delivery attempts failed; the last: ${streak.reason}` });
    }
    return problems;
  }
}
