import { FhirError } from '../fhir/outcome';
import type { SearchEngine } from '../store/search/search';
import type { ChangedResource, ChangeLog } from '../store/change-log';
import { parseCriteria, type Criteria } from './subscription-rules';
import type { QueuedNotification, SubscriptionStore, SubscriptionAccess } from './subscription-store';

/**
 * Turns committed changes into queued notifications: it reads the change log after its durable cursor and runs each
 * active subscription's criteria over the resources that changed (`_id=<those ids>`), through the search engine and
 * with the access of the caller that last wrote it, so a notification goes out exactly when that caller's search would find
 * the resource.
 * A pass that finds notifications queues them and records the cursor in one transaction.
 */

interface ActiveSubscription extends Criteria {
  id: string;
  access: SubscriptionAccess;
  /** Epoch ms after which it notifies no more (`Subscription.end`). */
  end?: number;
}

/** Change-log entries matched in one transaction. */
const BATCH = 500;
/** Ids per search: the largest page a search returns. */
const IDS_PER_SEARCH = 100;

export class SubscriptionMatcher {
  /** The active subscriptions, reloaded when a Subscription changes. */
  private active: ActiveSubscription[] | undefined;
  /** The last change matched, and the last one recorded in the database. */
  private cursor: number;
  private saved: number;

  constructor(
    private readonly log: ChangeLog,
    private readonly store: SubscriptionStore,
    private readonly search: SearchEngine,
    /** A subscription whose criteria no longer run (a custom parameter removed…): put it in error. */
    private readonly failed: (subscriptionId: string, reason: string) => void,
  ) {
    this.cursor = this.saved = store.cursor();
  }

  /** Matches every change committed since the last pass; returns the number of notifications queued. */
  matchPending(): number {
    // Nobody to notify, and no Subscription changed since: the changes are passed over unread. Reading them all
    // held the first start after a directory import (millions of changes) for many seconds.
    if (this.activeSubscriptions().length === 0 && !this.log.typeChangedAfter('Subscription', this.cursor)) {
      this.cursor = this.log.latestSeq();
      return 0;
    }
    let queued = 0;
    for (;;) {
      const changes = this.log.resourcesAfter(this.cursor, BATCH);
      if (changes.length === 0) return queued;
      if (changes.some((change) => change.resource_type === 'Subscription')) this.active = undefined;
      const found = this.notifications(changes);
      const last = changes[changes.length - 1].seq;
      if (found.length > 0) {
        this.store.transaction(() => {
          for (const notification of found) this.store.enqueue(notification.subscriptionId, notification.resourceType, notification.resourceId, notification.versionId, notification.dueAt);
          this.store.setCursor(last);
        });
        this.saved = last;
      }
      this.cursor = last;
      queued += found.length;
    }
  }

  /**
   * Records how far matching went when it queued nothing since: a write that notifies nobody costs no second commit.
   * Changes after the recorded cursor are matched again after a crash, and they had queued nothing.
   */
  saveCursor(): void {
    if (this.saved === this.cursor) return;
    this.store.setCursor(this.cursor);
    this.saved = this.cursor;
  }

  private notifications(changes: ChangedResource[]): QueuedNotification[] {
    const subscriptions = this.activeSubscriptions();
    if (subscriptions.length === 0) return [];
    const changedIds = new Map<string, Set<string>>();
    for (const change of changes) {
      let ids = changedIds.get(change.resource_type);
      if (!ids) changedIds.set(change.resource_type, (ids = new Set()));
      ids.add(change.resource_id);
    }
    const now = Date.now();
    const found: QueuedNotification[] = [];
    for (const subscription of subscriptions) {
      const ids = changedIds.get(subscription.resourceType);
      if (!ids || (subscription.end !== undefined && subscription.end <= now)) continue;
      try {
        for (const match of this.matches(subscription, [...ids])) {
          found.push({ seq: 0, subscriptionId: subscription.id, resourceType: match.resourceType, resourceId: match.id, versionId: match.versionId, attempts: 0, dueAt: now });
        }
      } catch (error) {
        if (!(error instanceof FhirError)) throw error;
        this.failed(subscription.id, `Its criteria no longer run: ${error.message}`);
      }
    }
    return found;
  }

  /** The changed resources the caller that last wrote the subscription would find with its criteria. */
  private *matches(subscription: ActiveSubscription, ids: string[]) {
    for (let start = 0; start < ids.length; start += IDS_PER_SEARCH) {
      const params = new URLSearchParams(subscription.params);
      params.append('_id', ids.slice(start, start + IDS_PER_SEARCH).join(','));
      // In id order, the page is read through the primary key of the changed resources, not the criteria's matches.
      params.set('_sort', '_id');
      params.set('_count', String(IDS_PER_SEARCH));
      const { access } = subscription;
      yield* this.search.search({ resourceType: subscription.resourceType, params, lenient: false, base: access.base, reach: access.reach, caller: access.caller }).matches;
    }
  }

  private activeSubscriptions(): ActiveSubscription[] {
    if (this.active) return this.active;
    const active: ActiveSubscription[] = [];
    let cursor: string | undefined;
    do {
      const params = new URLSearchParams({ status: 'active', _count: '100', _sort: '_id' });
      if (cursor) params.set('_cursor', cursor);
      const page = this.search.search({ resourceType: 'Subscription', params, lenient: false, base: '' });
      for (const stored of page.matches) {
        const resource = JSON.parse(stored.json) as Record<string, unknown>;
        const criteria = parseCriteria(resource.criteria);
        // Only subscriptions written through the API have an access, whose rights say what they may receive.
        const access = this.store.record(stored.id);
        if (!criteria || !access) continue;
        const end = typeof resource.end === 'string' ? Date.parse(resource.end) : undefined;
        active.push({ id: stored.id, access, ...criteria, ...(end !== undefined && !Number.isNaN(end) ? { end } : {}) });
      }
      cursor = page.next;
    } while (cursor);
    return (this.active = active);
  }
}
