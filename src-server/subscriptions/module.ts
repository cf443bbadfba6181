import type { NodeModule } from '../rest/extensions';
import { ChangeLog } from '../store/change-log';
import type { Store } from '../store/store';
import { DEFAULT_DELIVERY, Deliverer, type DeliveryOptions } from './delivery';
import { SubscriptionMatcher } from './matcher';
import { secretOperation, subscriptionRule } from './subscription-rules';
import { SubscriptionStore } from './subscription-store';

/**
 * STU3 Subscriptions with the rest-hook channel (docs/subscriptions.md): the write rule and `$secret` for the API,
 * and the background work: after each commit (a poll catches the writes made outside the API), the matcher queues
 * notifications from the change log, and the deliverer sends them.
 */

export interface SubscriptionOptions {
  delivery?: Partial<DeliveryOptions>;
  /** How often the change log is read when no commit rang (writes by import, sync, the node itself). */
  pollMs?: number;
  /** Told of a matching pass that failed (it is tried again at the next commit or poll). */
  onError?: (error: unknown) => void;
}

export function subscriptionsModule(store: Store, options: SubscriptionOptions = {}): NodeModule {
  const { repository, commits } = store;
  const subscriptions = new SubscriptionStore(store.db);
  const inError = (subscriptionId: string, reason: string) => {
    const stored = repository.read('Subscription', subscriptionId);
    const subscription = stored && (JSON.parse(stored.json) as Record<string, unknown>);
    subscriptions.dropQueued(subscriptionId);
    if (subscription?.status === 'active') repository.update('Subscription', subscriptionId, { ...subscription, status: 'error', error: reason });
  };
  const deliverer = new Deliverer(subscriptions, repository, { ...DEFAULT_DELIVERY, ...options.delivery }, inError);
  const matcher = new SubscriptionMatcher(new ChangeLog(store.db), subscriptions, store.search, inError);
  let closed = false;
  let scheduled = false;
  let stopListening = () => {};
  let poll: NodeJS.Timeout | undefined;
  const match = () => {
    scheduled = false;
    if (closed) return;
    try {
      if (matcher.matchPending() > 0) deliverer.wake();
    } catch (error) {
      options.onError?.(error);
    }
  };
  // Off the request path: after the commit's callers were answered.
  const soon = () => {
    if (scheduled || closed) return;
    scheduled = true;
    setImmediate(match);
  };
  return {
    operations: [secretOperation(subscriptions)],
    writeRules: [subscriptionRule(subscriptions)],
    start() {
      stopListening = commits.listen(soon);
      poll = setInterval(() => {
        soon();
        matcher.saveCursor();
      }, options.pollMs ?? 1000);
      poll.unref();
      // After a restart: what was committed while stopped is matched, what was queued is delivered.
      soon();
      deliverer.wake();
    },
    async close() {
      closed = true;
      stopListening();
      clearInterval(poll);
      matcher.saveCursor();
      await deliverer.close();
    },
  };
}
