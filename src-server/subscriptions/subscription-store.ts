import type { Caller, ReachReference } from '../store/search/visibility';
import type { Db } from '../store/database';

/**
 * The node's own records about subscriptions (migration "subscriptions"): what each one's notifications may carry,
 * its secret and headers, the queue of notifications and the change-log cursor of the matching. Queue and cursor
 * move in one transaction, so a crash neither loses nor repeats a match.
 */

/** Whose access a subscription's notifications follow: the caller that last wrote it. */
export interface SubscriptionAccess {
  /** They carry only what this reach may see. Undefined: every patient's data. */
  reach: readonly ReachReference[] | undefined;
  /** And of the Subscriptions, only those this caller sees. Undefined: all of them. */
  caller: Caller | undefined;
  /** The FHIR base it was written through (its local references). */
  base: string;
}

/** A subscription written through the API, as the node keeps it outside the resource. */
export interface SubscriptionRecord extends SubscriptionAccess {
  subscriptionId: string;
  secret: string;
  /** `channel.header`, sent with every notification and never in the resource (fhir/write-only.ts). */
  header: readonly string[];
  failures: number;
}

export interface QueuedNotification {
  seq: number;
  subscriptionId: string;
  resourceType: string;
  resourceId: string;
  versionId: string;
  attempts: number;
  dueAt: number;
}

const CURSOR_KEY = 'subscriptions_cursor';

export class SubscriptionStore {
  private readonly statements;

  constructor(private readonly db: Db) {
    this.statements = {
      record: db.prepare<[string], RecordRow>('SELECT * FROM subscription_owners WHERE subscription_id = ?'),
      insertRecord: db.prepare('INSERT INTO subscription_owners (subscription_id, reach, caller, base, header, secret) VALUES (?, ?, ?, ?, ?, ?)'),
      // A header left out of the write (NULL) stays as it was.
      updateRecord: db.prepare('UPDATE subscription_owners SET reach = ?, caller = ?, base = ?, header = coalesce(?, header), failures = 0 WHERE subscription_id = ?'),
      setSecret: db.prepare('UPDATE subscription_owners SET secret = ? WHERE subscription_id = ?'),
      setFailures: db.prepare('UPDATE subscription_owners SET failures = ? WHERE subscription_id = ?'),
      cursor: db.prepare<[], { value: string }>(`SELECT value FROM node_meta WHERE key = '${CURSOR_KEY}'`),
      setCursor: db.prepare(`UPDATE node_meta SET value = ? WHERE key = '${CURSOR_KEY}'`),
      enqueue: db.prepare('INSERT INTO subscription_notifications (subscription_id, resource_type, resource_id, version_id, due_at) VALUES (?, ?, ?, ?, ?)'),
      // The oldest notification of each subscription, when due: one in flight per subscription keeps their order.
      due: db.prepare<[number], QueuedRow>(
        `SELECT n.* FROM subscription_notifications n
         WHERE n.seq IN (SELECT min(seq) FROM subscription_notifications GROUP BY subscription_id) AND n.due_at <= ?`,
      ),
      nextDue: db.prepare<[], { due_at: number | null }>('SELECT min(due_at) AS due_at FROM subscription_notifications'),
      delivered: db.prepare('DELETE FROM subscription_notifications WHERE seq = ?'),
      retry: db.prepare('UPDATE subscription_notifications SET attempts = attempts + 1, due_at = ? WHERE seq = ?'),
      drop: db.prepare('DELETE FROM subscription_notifications WHERE subscription_id = ?'),
    };
  }

  /** Undefined for a subscription not written through this node's API (it came by sync or import): it notifies nobody. */
  record(subscriptionId: string): SubscriptionRecord | undefined {
    const row = this.statements.record.get(subscriptionId);
    return (
      row && {
        subscriptionId,
        reach: row.reach === null ? undefined : (JSON.parse(row.reach) as ReachReference[]),
        caller: row.caller === null ? undefined : (JSON.parse(row.caller) as Caller),
        base: row.base,
        secret: row.secret,
        header: row.header === null ? [] : (JSON.parse(row.header) as string[]),
        failures: row.failures,
      }
    );
  }

  /**
   * Records a write of the subscription through the API: who wrote it (its notifications carry what they may see) and
   * its header when the write gave one (else it keeps the one it had). A new one gets its secret.
   */
  recordWrite(subscriptionId: string, access: SubscriptionAccess, header: readonly string[] | undefined, newSecret: () => string): void {
    const reach = access.reach === undefined ? null : JSON.stringify(access.reach);
    const caller = access.caller === undefined ? null : JSON.stringify(access.caller);
    const headerJson = header === undefined ? null : JSON.stringify(header);
    if (this.statements.updateRecord.run(reach, caller, access.base, headerJson, subscriptionId).changes === 0) {
      this.statements.insertRecord.run(subscriptionId, reach, caller, access.base, headerJson, newSecret());
    }
  }

  setSecret(subscriptionId: string, secret: string): void {
    this.statements.setSecret.run(secret, subscriptionId);
  }

  setFailures(subscriptionId: string, failures: number): void {
    this.statements.setFailures.run(failures, subscriptionId);
  }

  cursor(): number {
    return Number(this.statements.cursor.get()?.value ?? 0);
  }

  setCursor(seq: number): void {
    this.statements.setCursor.run(String(seq));
  }

  enqueue(subscriptionId: string, resourceType: string, resourceId: string, versionId: string, dueAt: number): void {
    this.statements.enqueue.run(subscriptionId, resourceType, resourceId, versionId, dueAt);
  }

  due(now: number): QueuedNotification[] {
    return this.statements.due.all(now).map((row) => ({
      seq: row.seq,
      subscriptionId: row.subscription_id,
      resourceType: row.resource_type,
      resourceId: row.resource_id,
      versionId: row.version_id,
      attempts: row.attempts,
      dueAt: row.due_at,
    }));
  }

  /** When the next notification is due (epoch ms), if any is queued. */
  nextDue(): number | undefined {
    return this.statements.nextDue.get()?.due_at ?? undefined;
  }

  delivered(seq: number): void {
    this.statements.delivered.run(seq);
  }

  retryAt(seq: number, dueAt: number): void {
    this.statements.retry.run(dueAt, seq);
  }

  /** Forgets what is queued for a subscription (turned off, or in error). */
  dropQueued(subscriptionId: string): void {
    this.statements.drop.run(subscriptionId);
  }

  /** Runs `work` in one transaction (a matching pass: its notifications and the cursor after them). */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }
}

interface RecordRow {
  subscription_id: string;
  reach: string | null;
  caller: string | null;
  base: string;
  secret: string;
  header: string | null;
  failures: number;
}

interface QueuedRow {
  seq: number;
  subscription_id: string;
  resource_type: string;
  resource_id: string;
  version_id: string;
  attempts: number;
  due_at: number;
}
