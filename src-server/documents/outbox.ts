import type { Db } from '../store/database';
import type { ChannelCode } from '../channels/channel';
import type { Resource } from './references';

/**
 * The durable outbox of document deliveries (table `document_outbox`). An entry is queued in the same transaction
 * as the CommunicationRequest that asks for it, claimed by the worker for one attempt at a time, then finished or
 * rescheduled. A claim left by a crash is released at the next start, and the delivery is attempted again under
 * the same id.
 */

/** Whom a delivery goes to, as stored: a local reference and/or an address, or a contained resource of the request. */
export interface DeliveryRecipient {
  /** `Practitioner/<id>`, `PractitionerRole/<id>`, `Organization/<id>`, `Patient/<id>`. */
  reference?: string;
  /** The MSSanté address, when the channel needs one. */
  address?: string;
  /** A recipient given inside the request (`#id`): copied into the Communication. */
  contained?: Resource;
}

export interface OutboxEntry {
  deliveryId: string;
  requestId: string;
  documentId: string;
  channel: ChannelCode;
  recipient: DeliveryRecipient;
  /** Attempts made, this one included once claimed. */
  attempts: number;
}

interface Row {
  delivery_id: string;
  request_id: string;
  document_id: string;
  channel: ChannelCode;
  recipient: string;
  attempts: number;
}

export class Outbox {
  private readonly statements;

  // Built once: better-sqlite3 makes a new wrapper function on every db.transaction() call.
  private readonly claimInTransaction;

  constructor(db: Db) {
    this.statements = {
      insert: db.prepare(
        `INSERT INTO document_outbox (delivery_id, request_id, document_id, channel, recipient, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING`,
      ),
      release: db.prepare(`UPDATE document_outbox SET claimed_at = NULL, next_attempt_at = ? WHERE state = 'pending' AND claimed_at IS NOT NULL`),
      due: db.prepare<[number, number], Row>(
        `SELECT delivery_id, request_id, document_id, channel, recipient, attempts FROM document_outbox
         WHERE state = 'pending' AND claimed_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`,
      ),
      ofRequest: db.prepare<[string]>('SELECT 1 FROM document_outbox WHERE request_id = ? LIMIT 1'),
      recipientsOf: db.prepare<[string], Pick<Row, 'delivery_id' | 'recipient'>>('SELECT delivery_id, recipient FROM document_outbox WHERE request_id = ?'),
      claim: db.prepare('UPDATE document_outbox SET claimed_at = ?, attempts = attempts + 1 WHERE delivery_id = ?'),
      finish: db.prepare(`UPDATE document_outbox SET state = 'done', claimed_at = NULL, last_error = ? WHERE delivery_id = ?`),
      retry: db.prepare(`UPDATE document_outbox SET state = 'pending', claimed_at = NULL, attempts = 0, next_attempt_at = ?, last_error = NULL WHERE delivery_id = ? AND state = 'done'`),
      reschedule: db.prepare('UPDATE document_outbox SET claimed_at = NULL, next_attempt_at = ?, last_error = ? WHERE delivery_id = ?'),
      nextDue: db.prepare<[], number | null>(`SELECT min(next_attempt_at) FROM document_outbox WHERE state = 'pending' AND claimed_at IS NULL`).pluck(),
      // Over the pending entries only (the partial index's rows): what is done is the bulk of the table.
      waiting: db.prepare<[number, number], { overdue: number | null; stuck: number | null }>(
        `SELECT sum(claimed_at IS NULL AND next_attempt_at <= ?) AS overdue, sum(claimed_at <= ?) AS stuck
         FROM document_outbox WHERE state = 'pending'`,
      ),
    };
    this.claimInTransaction = db.transaction((limit: number, now: number): OutboxEntry[] =>
      this.statements.due.all(now, limit).map((row) => {
        this.statements.claim.run(now, row.delivery_id);
        return {
          deliveryId: row.delivery_id,
          requestId: row.request_id,
          documentId: row.document_id,
          channel: row.channel,
          recipient: JSON.parse(row.recipient) as DeliveryRecipient,
          attempts: row.attempts + 1,
        };
      }),
    );
  }

  /** Queues a delivery (inside the caller's transaction); false when it was already queued. */
  enqueue(entry: Omit<OutboxEntry, 'attempts'>, now = Date.now()): boolean {
    const { changes } = this.statements.insert.run(entry.deliveryId, entry.requestId, entry.documentId, entry.channel, JSON.stringify(entry.recipient), now, now);
    return changes > 0;
  }

  /** Whether deliveries were queued for this CommunicationRequest. */
  hasRequest(requestId: string): boolean {
    return this.statements.ofRequest.get(requestId) !== undefined;
  }

  /** Whom each delivery of a CommunicationRequest goes to, by delivery id (the id of its Communication). */
  recipientsOf(requestId: string): Map<string, DeliveryRecipient> {
    return new Map(this.statements.recipientsOf.all(requestId).map((row) => [row.delivery_id, JSON.parse(row.recipient) as DeliveryRecipient]));
  }

  /** At start: attempts a previous process left unfinished are due again at once. */
  releaseClaims(now = Date.now()): number {
    return this.statements.release.run(now).changes;
  }

  /** Takes up to `limit` due deliveries for an attempt each. */
  claimDue(limit: number, now = Date.now()): OutboxEntry[] {
    return this.claimInTransaction(limit, now);
  }

  /** The delivery is over (delivered, or failed for good with `error`). */
  finish(deliveryId: string, error?: string): void {
    this.statements.finish.run(error ?? null, deliveryId);
  }

  /** A delivery that is over is due again at once, from its first attempt (`$retry`); false when it is not over (or unknown). */
  retry(deliveryId: string, now = Date.now()): boolean {
    return this.statements.retry.run(now, deliveryId).changes > 0;
  }

  reschedule(deliveryId: string, at: number, error: string): void {
    this.statements.reschedule.run(at, error, deliveryId);
  }

  /** Pending deliveries due since before `dueBefore` and not taken, and attempts claimed before `claimedBefore` and still running. */
  waiting(dueBefore: number, claimedBefore: number): { overdue: number; stuck: number } {
    const row = this.statements.waiting.get(dueBefore, claimedBefore)!;
    return { overdue: row.overdue ?? 0, stuck: row.stuck ?? 0 };
  }

  /** When the next unclaimed delivery is due (epoch ms), if any is pending. */
  nextDueAt(): number | undefined {
    return this.statements.nextDue.get() ?? undefined;
  }
}
