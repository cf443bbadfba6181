import type { FhirExtensions } from '../rest/extensions';
import type { SearchEngine } from '../store/search/search';
import type { CommitSignal } from '../store/commit-signal';
import { ChangeLog } from '../store/change-log';
import type { Db } from '../store/database';
import type { Repository } from '../store/repository';
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

export function startSubscriptions(db: Db, repository: Repository, search: SearchEngine, commits: CommitSignal, options: SubscriptionOptions = {}): Required<FhirExtensions> & { close(): Promise<void> } {
  const store = new SubscriptionStore(db);
  const inError = (subscriptionId: string, reason: string) => {
    const stored = repository.read('Subscription', subscriptionId);
    const subscription = stored && (JSON.parse(stored.json) as Record<string, unknown>);
    store.dropQueued(subscriptionId);
    if (subscription?.status === 'active') repository.update('Subscription', subscriptionId, { ...subscription, status: 'error', error: reason });
  };
  const deliverer = new Deliverer(store, repository, { ...DEFAULT_DELIVERY, ...options.delivery }, inError);
  const matcher = new SubscriptionMatcher(new ChangeLog(db), store, search, inError);
  let closed = false;
  let scheduled = false;
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
  const stopListening = commits.listen(soon);
  const poll = setInterval(() => {
    soon();
    matcher.saveCursor();
  }, options.pollMs ?? 1000);
  poll.unref();
  // After a restart: what was committed while stopped is matched, what was queued is delivered.
  soon();
  deliverer.wake();
  return {
    operations: [secretOperation(store)],
    writeRules: [subscriptionRule(store)],
    async close() {
      closed = true;
      stopListening();
      clearInterval(poll);
      matcher.saveCursor();
      await deliverer.close();
    },
  };
}
