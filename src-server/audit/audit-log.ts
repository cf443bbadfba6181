import type { Db } from '../storage/database';

/**
 * The audit trail: token issuance and refusals, denied requests, and every access to the FHIR API (patient data
 * included), each with its caller, action and answer. The admin reads it (`GET /admin/audit`).
 *
 * Reads are the hot path, so events are buffered and written together, in one transaction every FLUSH_MS (or
 * every MAX_BUFFERED events): a crash can lose the last half second of the trail, never a write of data.
 */

export type AuditEventName = 'token.issued' | 'token.refused' | 'token.revoked' | 'access' | 'access.denied';

export interface AuditEvent {
  event: AuditEventName;
  clientId?: string;
  /** `GET /fhir/Patient/123`, `POST /oauth/token`. */
  action?: string;
  status?: number;
  detail?: string;
}

export interface AuditRecord extends AuditEvent {
  seq: number;
  at: string;
}

export interface AuditQuery {
  /** Only events at or after this instant. */
  since?: string;
  clientId?: string;
  event?: string;
  /** Only events older than this sequence (paging backwards). */
  before?: number;
  count: number;
}

const FLUSH_MS = 500;
const MAX_BUFFERED = 2000;
const ROWS_PER_INSERT = 200;

export class AuditLog {
  /** Events as given, each with its time in epoch ms: formatting waits for the query, off the request path. */
  private buffer: Array<[AuditEvent, number]> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly insertAll;

  constructor(private readonly db: Db) {
    const columns = 'INSERT INTO audit_log (at, event, client_id, action, status, detail) VALUES ';
    const insertOne = db.prepare(`${columns}(?, ?, ?, ?, ?, ?)`);
    // Rows by hundreds per statement: the per-statement cost, not SQLite's, dominated a flush.
    const insertMany = db.prepare(`${columns}${Array.from({ length: ROWS_PER_INSERT }, () => '(?, ?, ?, ?, ?, ?)').join(', ')}`);
    const values: Array<string | number | null> = [];
    const add = ([event, at]: [AuditEvent, number]) => values.push(at, event.event, event.clientId ?? null, event.action ?? null, event.status ?? null, event.detail ?? null);
    this.insertAll = db.transaction((events: Array<[AuditEvent, number]>) => {
      let next = 0;
      for (; next + ROWS_PER_INSERT <= events.length; next += ROWS_PER_INSERT) {
        values.length = 0;
        for (let i = next; i < next + ROWS_PER_INSERT; i++) add(events[i]);
        insertMany.run(values);
      }
      for (; next < events.length; next++) {
        values.length = 0;
        add(events[next]);
        insertOne.run(values);
      }
    });
  }

  record(event: AuditEvent): void {
    this.buffer.push([event, Date.now()]);
    if (this.buffer.length >= MAX_BUFFERED) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      // Pending events must not keep the process alive: close() writes them.
      this.timer.unref();
    }
  }

  /** Writes the buffered events now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0 || !this.db.open) return;
    const events = this.buffer;
    this.buffer = [];
    this.insertAll(events);
  }

  /** Newest first. */
  query(query: AuditQuery): AuditRecord[] {
    this.flush();
    const filters = (
      [
        ['at >= ?', query.since === undefined ? undefined : Date.parse(query.since)],
        ['client_id = ?', query.clientId],
        ['event = ?', query.event],
        ['seq < ?', query.before],
      ] as Array<[string, string | number | undefined]>
    ).filter(([, value]) => value !== undefined);
    const where = filters.length ? `WHERE ${filters.map(([condition]) => condition).join(' AND ')}` : '';
    const rows = this.db
      .prepare(`SELECT * FROM audit_log ${where} ORDER BY seq DESC LIMIT ?`)
      .all(...filters.map(([, value]) => value as string | number), query.count) as Array<{ seq: number; at: number; event: AuditEventName; client_id: string | null; action: string | null; status: number | null; detail: string | null }>;
    return rows.map((row) => ({
      seq: row.seq,
      at: new Date(row.at).toISOString(),
      event: row.event,
      ...(row.client_id !== null ? { clientId: row.client_id } : {}),
      ...(row.action !== null ? { action: row.action } : {}),
      ...(row.status !== null ? { status: row.status } : {}),
      ...(row.detail !== null ? { detail: row.detail } : {}),
    }));
  }
}
