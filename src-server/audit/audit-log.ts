import type { Db } from '../store/database';

/**
 * The audit trail: logins and logouts, token issuance and refusals, denied requests, and every access to the FHIR API (patient data
 * included), each with its caller, action and answer. The admin reads it (`GET /admin/audit`).
 *
 * Reads are the hot path, so events are buffered and written together, in one transaction every FLUSH_MS (or
 * every MAX_BUFFERED events): a crash can lose the last half second of the trail, never a write of data.
 *
 * Accesses, and refusals of a caller the node knows (403), are kept one row each: every access stays traceable.
 * Refusals a flood can repeat at will (no or a bad token, wrong credentials, throttled: `refused`) are counted
 * instead, a row per source, second, event, status and action with its `count`, so that a flood of them costs a few
 * rows a second rather than a row per request. The source is what identifies the caller as far as the node knows
 * it: the network address, with the client when the node knows it (a throttled client). Beyond MAX_ACTIONS actions
 * (or claimed clients) of one source, event and status in one second, the rest are counted together under `*`.
 * A counted row is written once its second is over, so it may follow later rows in the trail; `at` says when.
 */

export type AuditEventName =
  | 'token.issued'
  | 'token.refused'
  | 'token.revoked'
  | 'access'
  | 'access.denied'
  | 'login'
  | 'login.refused'
  | 'authorize.granted'
  | 'authorize.refused'
  | 'logout'
  | 'password.changed'
  | 'practice.changed'
  | 'setup';

export interface AuditRecord {
  seq: number;
  at: string;
  event: AuditEventName;
  clientId?: string;
  /** `GET /fhir/Patient/123`, `POST /oauth/token`; `*` for a source's refusals beyond MAX_ACTIONS in a second. */
  action: string;
  status: number;
  /** How many requests the row stands for: 1, or the refusals of one source in one second. */
  count: number;
  /** The network address of a counted refusal. */
  source?: string;
}

/** Where a refusal came from, as far as the node knows. */
export interface RefusalSource {
  /** The network address of the request. */
  address: string;
  /** The caller the node knows the request is from (a throttled client, a user): part of the source. */
  clientId?: string;
  /** Who the request said it was, unproven (the client_id sent with a wrong secret): a detail, like the action. */
  claimedClientId?: string;
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
/** Actions (with claimed clients) kept apart per source, second, event and status; more are counted under `*`. */
const MAX_ACTIONS = 10;
/** Refusal rows waiting at once: more (refusals from very many addresses) are written at once. */
const MAX_REFUSAL_ROWS = 1000;

/** A row counting refusals: one source, one second, one event, status and action. */
interface RefusalRow {
  second: number;
  at: number;
  name: AuditEventName;
  clientId: string | undefined;
  action: string;
  status: number;
  address: string;
  count: number;
}

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
  /** Refusals being counted, by source, second, event, status and action. */
  private readonly refusals = new Map<string, RefusalRow>();
  /** Actions kept apart this second, per source, event and status. */
  private readonly actionsKept = new Map<string, number>();
  private actionsSecond = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly insertAll;

  constructor(private readonly db: Db) {
    const columns = 'INSERT INTO audit_log (at, event, client_id, action, status) VALUES ';
    const insertOne = db.prepare(`${columns}(?, ?, ?, ?, ?)`);
    // Rows by hundreds per statement: the per-statement cost, not SQLite's, dominated a flush.
    const insertMany = db.prepare(`${columns}${Array.from({ length: ROWS_PER_INSERT }, () => '(?, ?, ?, ?, ?)').join(', ')}`);
    const insertCounted = db.prepare('INSERT INTO audit_log (at, event, client_id, action, status, source, count) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const values: Array<string | number | null> = [];
    const add = (i: number) => values.push(this.times[i], this.names[i], this.clientIds[i] ?? null, `${this.methods[i]} ${this.paths[i]}`, this.statuses[i]);
    this.insertAll = db.transaction((count: number, counted: RefusalRow[]) => {
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
      for (const row of counted) insertCounted.run(row.at, row.name, row.clientId ?? null, row.action, row.status, row.address, row.count);
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
    else this.schedule();
  }

  /** Counts a refusal with the others of its source in the same second (see the header). */
  refused(name: AuditEventName, from: RefusalSource, method: string, path: string, status: number): void {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.actionsSecond) {
      this.actionsSecond = second;
      this.actionsKept.clear();
    }
    const kind = `${second}\n${from.address}\n${from.clientId ?? ''}\n${name}\n${status}`;
    const detailed = `${kind}\n${from.claimedClientId ?? ''}\n${method} ${path}`;
    let row = this.refusals.get(detailed);
    if (!row) {
      const kept = this.actionsKept.get(kind) ?? 0;
      if (kept < MAX_ACTIONS) {
        this.actionsKept.set(kind, kept + 1);
        row = { second, at: now, name, clientId: from.clientId ?? from.claimedClientId, action: `${method} ${path}`, status, address: from.address, count: 0 };
        this.refusals.set(detailed, row);
      } else {
        const others = `${kind}\n*`;
        row = this.refusals.get(others);
        if (!row) {
          row = { second, at: now, name, clientId: from.clientId, action: '*', status, address: from.address, count: 0 };
          this.refusals.set(others, row);
        }
      }
    }
    row.count++;
    if (this.refusals.size >= MAX_REFUSAL_ROWS) this.flush();
    else this.schedule();
  }

  /** Writes the buffered events now, and the refusals counted so far. */
  flush(): void {
    this.write(Number.POSITIVE_INFINITY);
  }

  /** Writes the buffered events and the refusal rows of the seconds before `second`; the others keep counting. */
  private write(second: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.db.open) return;
    const counted: RefusalRow[] = [];
    for (const [key, row] of this.refusals) {
      if (row.second >= second) continue;
      counted.push(row);
      this.refusals.delete(key);
    }
    const count = this.count;
    this.count = 0;
    if (count > 0 || counted.length > 0) this.insertAll(count, counted);
    if (this.refusals.size > 0) this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.write(Math.floor(Date.now() / 1000)), FLUSH_MS);
    // Pending events must not keep the process alive: close() writes them.
    this.timer.unref();
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
      .all(...filters.map(([, value]) => value as string | number), query.count) as Array<{
      seq: number;
      at: number;
      event: AuditEventName;
      client_id: string | null;
      action: string;
      status: number;
      source: string | null;
      count: number;
    }>;
    return rows.map((row) => ({
      seq: row.seq,
      at: new Date(row.at).toISOString(),
      event: row.event,
      ...(row.client_id !== null ? { clientId: row.client_id } : {}),
      action: row.action,
      status: row.status,
      count: row.count,
      ...(row.source !== null ? { source: row.source } : {}),
    }));
  }
}

