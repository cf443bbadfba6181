import type { Db } from '../storage/database';

/**
 * The audit trail: logins and logouts, token issuance and refusals, denied requests, and every access to the FHIR API (patient data
 * included), each with its caller, action and answer. The admin reads it (`GET /admin/audit`).
 *
 * Reads are the hot path, so events are buffered and written together, in one transaction every FLUSH_MS (or
 * every MAX_BUFFERED events): a crash can lose the last half second of the trail, never a write of data.
 */

export type AuditEventName = 'token.issued' | 'token.refused' | 'token.revoked' | 'access' | 'access.denied' | 'login' | 'login.refused' | 'logout';

export interface AuditRecord {
  seq: number;
  at: string;
  event: AuditEventName;
  clientId?: string;
  /** `GET /fhir/Patient/123`, `POST /oauth/token`. */
  action: string;
  status: number;
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
  /**
   * Buffered events as columns, filled in place: recording one is a few stores, with no object per request (the
   * allocation showed in read throughput). The action is kept as method and path, joined at the flush.
   */
  private count = 0;
  private readonly times = new Float64Array(MAX_BUFFERED);
  private readonly statuses = new Int32Array(MAX_BUFFERED);
  private readonly names: AuditEventName[] = new Array(MAX_BUFFERED);
  private readonly clientIds: Array<string | undefined> = new Array(MAX_BUFFERED);
  private readonly methods: string[] = new Array(MAX_BUFFERED);
  private readonly paths: string[] = new Array(MAX_BUFFERED);
  private timer: NodeJS.Timeout | undefined;
  private readonly insertAll;

  constructor(private readonly db: Db) {
    const columns = 'INSERT INTO audit_log (at, event, client_id, action, status) VALUES ';
    const insertOne = db.prepare(`${columns}(?, ?, ?, ?, ?)`);
    // Rows by hundreds per statement: the per-statement cost, not SQLite's, dominated a flush.
    const insertMany = db.prepare(`${columns}${Array.from({ length: ROWS_PER_INSERT }, () => '(?, ?, ?, ?, ?)').join(', ')}`);
    const values: Array<string | number | null> = [];
    const add = (i: number) => values.push(this.times[i], this.names[i], this.clientIds[i] ?? null, `${this.methods[i]} ${this.paths[i]}`, this.statuses[i]);
    this.insertAll = db.transaction((count: number) => {
      let next = 0;
      for (; next + ROWS_PER_INSERT <= count; next += ROWS_PER_INSERT) {
        values.length = 0;
        for (let i = next; i < next + ROWS_PER_INSERT; i++) add(i);
        insertMany.run(values);
      }
      for (; next < count; next++) {
        values.length = 0;
        add(next);
        insertOne.run(values);
      }
    });
  }

  /** Records an answer: positional, so that the request path allocates nothing. */
  record(name: AuditEventName, clientId: string | undefined, method: string, path: string, status: number): void {
    const i = this.count++;
    this.times[i] = Date.now();
    this.names[i] = name;
    this.clientIds[i] = clientId;
    this.methods[i] = method;
    this.paths[i] = path;
    this.statuses[i] = status;
    if (this.count >= MAX_BUFFERED) this.flush();
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
    if (this.count === 0 || !this.db.open) return;
    const count = this.count;
    this.count = 0;
    this.insertAll(count);
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
      .all(...filters.map(([, value]) => value as string | number), query.count) as Array<{ seq: number; at: number; event: AuditEventName; client_id: string | null; action: string; status: number }>;
    return rows.map((row) => ({
      seq: row.seq,
      at: new Date(row.at).toISOString(),
      event: row.event,
      ...(row.client_id !== null ? { clientId: row.client_id } : {}),
      action: row.action,
      status: row.status,
    }));
  }
}

