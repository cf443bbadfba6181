import type { Repository } from '../store/repository';
import { channelHeaders, PAYLOAD_TYPES } from './subscription-rules';
import { signatureHeaders } from './signature';
import type { QueuedNotification, SubscriptionStore } from './subscription-store';

/**
 * Delivers queued notifications, off the request path: a POST to the subscription's endpoint, signed, one at a time
 * per subscription (in order), several subscriptions at once. A failure (no answer within the timeout, a refused
 * connection, a status other than 2xx) is retried with exponential backoff; after `maxFailures` consecutive failures
 * the subscription goes to `error` and its queue is dropped. Delivery is at least once: a notification is removed
 * only after a 2xx, so a crash in between sends it again (with the same `webhook-id`).
 */

export interface DeliveryOptions {
  /** How long an endpoint has to answer. */
  timeoutMs: number;
  /** Consecutive failures after which the subscription is in error. */
  maxFailures: number;
  /** The first retry's delay; each next one doubles, up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Subscriptions delivered to at once. */
  concurrency: number;
}

export const DEFAULT_DELIVERY: DeliveryOptions = { timeoutMs: 10_000, maxFailures: 10, backoffMs: 1000, maxBackoffMs: 5 * 60_000, concurrency: 8 };

type Json = Record<string, unknown>;

export class Deliverer {
  /** Subscriptions with a delivery under way, and how to abort it. */
  private readonly inFlight = new Map<string, AbortController>();
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private pumpQueued = false;
  private closed = false;

  constructor(
    private readonly store: SubscriptionStore,
    private readonly repository: Repository,
    private readonly options: DeliveryOptions,
    /** Puts a subscription in error, with the reason. */
    private readonly failed: (subscriptionId: string, reason: string) => void,
  ) {}

  /** Something was queued or finished: look for due notifications soon (coalesced). */
  wake(): void {
    if (this.closed || this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      if (!this.closed) this.pump();
    });
  }

  /** Aborts the deliveries under way (they stay queued for the next start) and waits for them to settle. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const controller of this.inFlight.values()) controller.abort();
    await Promise.allSettled([...this.running]);
  }

  private pump(): void {
    for (const notification of this.store.due(Date.now())) {
      if (this.inFlight.size >= this.options.concurrency) break;
      if (this.inFlight.has(notification.subscriptionId)) continue;
      const controller = new AbortController();
      this.inFlight.set(notification.subscriptionId, controller);
      const delivery = this.deliver(notification, controller.signal).finally(() => {
        this.inFlight.delete(notification.subscriptionId);
        this.running.delete(delivery);
        this.wake();
      });
      this.running.add(delivery);
    }
    this.scheduleNext();
  }

  /** A timer for the next retry that is not due yet. */
  private scheduleNext(): void {
    clearTimeout(this.timer);
    const next = this.store.nextDue();
    if (next === undefined) return;
    this.timer = setTimeout(() => this.wake(), Math.max(0, next - Date.now()));
    this.timer.unref();
  }

  private async deliver(notification: QueuedNotification, signal: AbortSignal): Promise<void> {
    const { subscriptionId } = notification;
    const stored = this.repository.read('Subscription', subscriptionId);
    const subscription = stored && (JSON.parse(stored.json) as Json);
    const record = this.store.record(subscriptionId);
    if (!subscription || subscription.status !== 'active' || !record) {
      this.store.dropQueued(subscriptionId);
      return;
    }
    const channel = (subscription.channel ?? {}) as Json;
    const withPayload = PAYLOAD_TYPES.has(String(channel.payload));
    const version = withPayload ? this.repository.vread(notification.resourceType, notification.resourceId, notification.versionId) : undefined;
    const body = Buffer.from(version?.json ?? '');
    // The same on every retry, and for the same version matched twice: receivers drop what they have seen.
    const id = `${subscriptionId}.${notification.versionId}`;
    const headers = { ...channelHeaders(record.header), ...(withPayload ? { 'content-type': 'application/fhir+json; charset=utf-8' } : {}), ...signatureHeaders(record.secret, id, body) };
    let failure: string | undefined;
    try {
      const response = await fetch(String(channel.endpoint), {
        method: 'POST',
        headers,
        body: withPayload ? body : undefined,
        // A redirect could lead off this machine: it counts as a failure.
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      await response.arrayBuffer();
      if (response.status < 200 || response.status > 299) failure = `the endpoint answered HTTP ${response.status}`;
    } catch (error) {
      failure = describeFailure(error, this.options.timeoutMs);
    }
    // Closing: the database may be gone; the notification stays queued for the next start.
    if (this.closed) return;
    if (failure === undefined) {
      this.store.delivered(notification.seq);
      if (record.failures > 0) this.store.setFailures(subscriptionId, 0);
      return;
    }
    const failures = record.failures + 1;
    this.store.setFailures(subscriptionId, failures);
    if (failures >= this.options.maxFailures) {
      this.store.dropQueued(subscriptionId);
      this.failed(subscriptionId, `Notifications failed ${failures} times in a row; the last time ${failure}`);
      return;
    }
    const delay = Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** notification.attempts);
    // Jitter, so that the subscriptions of a restarted endpoint do not all come back at the same instant.
    this.store.retryAt(notification.seq, Date.now() + Math.round(delay * (0.8 + Math.random() * 0.4)));
  }
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `the endpoint did not answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return `the endpoint could not be reached (${cause?.code ?? cause?.message ?? String(error)})`;
}
