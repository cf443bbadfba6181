import type { Db } from '../store/database';

/**
 * The audit trail's retention (`audit.retentionDays` of the node settings, a year by default): rows older than it are
 * deleted when the node starts and then every day, BATCH_ROWS at a time with the event loop free between batches, so
 * that even a long backlog never holds requests up.
 *
 * Rows are appended in time order, so the purge walks the sequence from its oldest row, in windows of BATCH_ROWS
 * sequence numbers (an index on `at` would cost every insert), and stops at the first window it keeps whole. A row
 * out of order (the clock was set back) only waits for a later purge.
 */

const BATCH_ROWS = 1000;
const DAY_MS = 86_400_000;

export class AuditRetention {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<number> | undefined;
  private stopped = false;
  private readonly bounds;
  private readonly deleteOlder;
  private readonly anyRow;

  constructor(
    private readonly db: Db,
    private readonly retentionDays: number,
    private readonly warn: (message: string) => void,
  ) {
    this.bounds = db.prepare<[], { low: number | null; high: number | null }>('SELECT min(seq) AS low, max(seq) AS high FROM audit_log');
    this.deleteOlder = db.prepare<[number, number, number]>('DELETE FROM audit_log WHERE seq >= ? AND seq < ? AND at < ?');
    this.anyRow = db.prepare<[number, number]>('SELECT 1 FROM audit_log WHERE seq >= ? AND seq < ? LIMIT 1');
    this.timer = setInterval(() => this.purgeInBackground(), DAY_MS);
    this.timer.unref();
  }

  /** A purge nobody waits for: one that fails (a full disk) is said and tried again the next day; the node goes on. */
  purgeInBackground(): void {
    this.purge().catch((error: unknown) => this.warn(`The audit trail could not be purged of its rows older than ${this.retentionDays} days: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Deletes the rows older than the retention; resolves with how many. One purge at a time. */
  purge(): Promise<number> {
    this.running ??= this.purgeInBatches().finally(() => (this.running = undefined));
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async purgeInBatches(): Promise<number> {
    let purged = 0;
    await nextTurn();
    if (this.stopped || !this.db.open) return purged;
    const cutoff = Date.now() - this.retentionDays * DAY_MS;
    const { low, high } = this.bounds.get()!;
    if (low === null || high === null) return purged;
    for (let from = low; from <= high; from += BATCH_ROWS) {
      const deleted = this.deleteOlder.run(from, from + BATCH_ROWS, cutoff).changes;
      purged += deleted;
      if (deleted === 0 && this.anyRow.get(from, from + BATCH_ROWS)) break;
      await nextTurn();
      if (this.stopped || !this.db.open) break;
    }
    return purged;
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
