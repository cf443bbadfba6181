import type { Db } from './database';

/**
 * Folds the WAL back into the database once writes have paused. Checkpoints under load are SQLite's automatic
 * ones, rare on purpose (database.ts: every 50,000 pages), so a burst leaves a WAL file of up to 200 MB, and a
 * database file that is not complete on its own, until the node stops. A quiet moment is the cheap time to
 * truncate it: the practice's backups then copy one complete file.
 */
export class QuietCheckpoint {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    /** How long without a write before checkpointing. */
    private readonly quietMs = 5000,
  ) {}

  /** A write was committed: checkpoint once `quietMs` pass without another. */
  written(): void {
    if (this.timer) {
      this.timer.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        if (this.db.open) this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // Only an opportunity: the automatic checkpoints and the one at close still fold the WAL back.
      }
    }, this.quietMs);
    // A pending checkpoint must not keep the process alive: close() checkpoints anyway.
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
