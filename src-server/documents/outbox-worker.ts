import type { CommitSignal } from '../store/commit-signal';
import type { Db } from '../store/database';
import type { Repository } from '../store/repository';
import type { DeliveryOutcome } from '../channels/channel';
import type { ChannelRegistry } from './channel-registry';
import type { OutboxSettings } from './channel-settings';
import { completed, failed, type FailureCode } from './communications';
import type { DeliveryHealth } from './delivery-health';
import type { DeliveryLoader } from './delivery-loader';
import type { Outbox, OutboxEntry } from './outbox';
import type { Json } from './references';

/**
 * Works the outbox off: woken after each commit of API writes (a new request is delivered at once), and by a timer
 * for retries that come due. Each attempt runs the entry's channel, then records the outcome and the Communication's
 * new state in one transaction, through the repository (a background write: no user's reach or write rules apply).
 * A retry waits `firstRetryMs`, doubling up to `maxDelayMs`; after `maxAttempts` the delivery ends
 * `entered-in-error`. An attempt cut short by a stop or a crash is made again at the next start, under the same
 * delivery id.
 */

type Outcome = DeliveryOutcome | { status: 'failed'; reason: string; code: FailureCode };

export interface OutboxWorkerOptions {
  db: Db;
  repository: Repository;
  outbox: Outbox;
  loader: DeliveryLoader;
  channels: ChannelRegistry;
  commits: CommitSignal;
  settings: OutboxSettings;
  /** Told of each channel's outcomes and each look at the outbox, for `/health`. */
  health: DeliveryHealth;
  /** Deliveries attempted at the same time. */
  concurrency?: number;
  /** Longest sleep between two looks at the outbox. */
  pollMs?: number;
}

/** How long a stop waits for attempts under way before leaving them to the next start. */
const STOP_WAIT_MS = 5_000;

export class OutboxWorker {
  private readonly running = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopListening: (() => void) | undefined;
  private closed = false;
  private pumpScheduled = false;
  private readonly concurrency: number;
  private readonly pollMs: number;

  constructor(private readonly options: OutboxWorkerOptions) {
    this.concurrency = options.concurrency ?? 4;
    this.pollMs = options.pollMs ?? 5_000;
  }

  start(): void {
    this.options.outbox.releaseClaims();
    // Off the request path: the commit signal rings before the writes' callers are answered, for every write.
    this.stopListening = this.options.commits.listen(() => {
      if (this.pumpScheduled) return;
      this.pumpScheduled = true;
      setImmediate(() => {
        this.pumpScheduled = false;
        this.pump();
      });
    });
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopListening?.();
    clearTimeout(this.timer);
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(this.running.values()), new Promise((resolve) => (waited = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(waited);
  }

  /**
   * Starts attempts for the due entries while there is room, then sleeps until the next one is due. A database that
   * cannot be read (a full disk, a lock held too long) is reported and tried again after `pollMs`: the worker goes on.
   */
  private pump(): void {
    if (this.closed) return;
    let delay = this.pollMs;
    try {
      const room = this.concurrency - this.running.size;
      if (room > 0) {
        for (const entry of this.options.outbox.claimDue(room)) {
          this.running.set(entry.deliveryId, this.attempt(entry).finally(() => {
            this.running.delete(entry.deliveryId);
            this.pump();
          }));
        }
      }
      const due = this.options.outbox.nextDueAt();
      if (due !== undefined) delay = Math.min(this.pollMs, Math.max(0, due - Date.now()));
      this.options.health.looked();
    } catch (error) {
      this.options.health.looked((error as Error).message);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), delay);
    this.timer.unref();
  }

  private async attempt(entry: OutboxEntry): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.deliver(entry);
    } catch (error) {
      outcome = { status: 'retry', reason: `The ${entry.channel} channel failed: ${(error as Error).message}` };
    }
    // Stopped meanwhile: the claim stays, and the next start attempts the delivery again.
    if (this.closed) return;
    try {
      this.record(entry, outcome);
    } catch (error) {
      // Nothing of the outcome was stored (one transaction): attempt the delivery again later rather than leave it claimed.
      try {
        this.options.outbox.reschedule(entry.deliveryId, Date.now() + retryDelay(entry.attempts, this.options.settings), `Recording the outcome failed: ${(error as Error).message}`);
      } catch {
        // The database is gone (stopping): the claim is released at the next start.
      }
    }
  }

  private async deliver(entry: OutboxEntry): Promise<Outcome> {
    const { health, settings } = this.options;
    const channel = this.options.channels.get(entry.channel);
    if (!channel) {
      const outcome = { status: 'failed', code: 'not-configured', reason: `The ${entry.channel} channel is not configured on this node (see docs/documents.md, channels.json)` } as const;
      health.attempted(entry.channel, outcome);
      return outcome;
    }
    const loaded = await this.options.loader.load(entry);
    if ('problem' in loaded) return { status: 'failed', code: loaded.code, reason: loaded.problem };
    const delivering = channel.deliver(loaded.delivery).catch((error: Error): DeliveryOutcome => ({ status: 'retry', reason: `The ${entry.channel} channel failed: ${error.message}` }));
    const outcome = await withTimeout(delivering, settings.attemptTimeoutMs, `The ${entry.channel} channel did not answer within ${settings.attemptTimeoutMs} ms`);
    // An attempt the node's stop cut short says nothing of the channel.
    if (!this.closed) health.attempted(entry.channel, outcome);
    return outcome;
  }

  /** The outcome, in the outbox and on the Communication, together. */
  private record(entry: OutboxEntry, outcome: Outcome): void {
    const { outbox, settings } = this.options;
    const now = Date.now();
    this.options.db.transaction(() => {
      if (outcome.status === 'completed') {
        this.updateCommunication(entry, (communication) => completed(communication, new Date(now).toISOString(), outcome.received));
        outbox.finish(entry.deliveryId);
      } else if (outcome.status === 'failed') {
        this.updateCommunication(entry, (communication) => failed(communication, entry.channel, 'code' in outcome ? outcome.code : 'refused', outcome.reason));
        outbox.finish(entry.deliveryId, outcome.reason);
      } else if (entry.attempts >= settings.maxAttempts) {
        const reason = `Gave up after ${entry.attempts} attempts: ${outcome.reason}`;
        this.updateCommunication(entry, (communication) => failed(communication, entry.channel, 'gave-up', reason));
        outbox.finish(entry.deliveryId, reason);
        this.options.health.gaveUpOn(reason, now);
      } else {
        outbox.reschedule(entry.deliveryId, now + retryDelay(entry.attempts, settings), outcome.reason);
      }
    })();
  }

  private updateCommunication(entry: OutboxEntry, change: (communication: Json) => Json): void {
    const current = this.options.repository.read('Communication', entry.deliveryId);
    if (!current) return;
    const { meta: _meta, ...communication } = JSON.parse(current.json) as Json;
    this.options.repository.update('Communication', entry.deliveryId, change(communication), current.versionId);
  }
}

/** firstRetryMs, doubling with each attempt, capped, with up to 10% jitter so that retries of one outage spread out. */
export function retryDelay(attempts: number, settings: OutboxSettings): number {
  const delay = Math.min(settings.maxDelayMs, settings.firstRetryMs * 2 ** Math.min(attempts - 1, 30));
  return Math.round(delay * (1 + Math.random() * 0.1));
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T | { status: 'retry'; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ status: 'retry'; reason: string }>((resolve) => (timer = setTimeout(() => resolve({ status: 'retry', reason: message }), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
