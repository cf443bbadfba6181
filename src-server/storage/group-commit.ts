import type { Db } from './database';

/**
 * Group commit: the writes of the requests that arrive together share one SQLite transaction, each inside its own
 * savepoint. A commit costs the same for one write or fifty (the WAL pages of every index it touched), so under
 * load this multiplies write throughput. Each caller is answered only once the shared transaction has committed:
 * an acknowledged write is as durable as with a transaction of its own. A failing write rolls back to its
 * savepoint and fails alone.
 */
export class GroupCommit {
  private queue: Array<{ work: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }> = [];
  private readonly runBatch;

  constructor(
    db: Db,
    /** Called after each shared transaction commits. */
    private readonly committed: () => void = () => {},
  ) {
    // better-sqlite3 turns a transaction function called inside another transaction into a savepoint.
    const savepoint = db.transaction((work: () => unknown) => work());
    this.runBatch = db.transaction((batch: GroupCommit['queue']) =>
      batch.map(({ work }) => {
        try {
          return { ok: true as const, value: savepoint(work) };
        } catch (error) {
          return { ok: false as const, error };
        }
      }),
    );
  }

  /** Runs `work` (synchronous writes) in the next shared transaction; settles after that transaction commits. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    let outcomes: ReturnType<typeof this.runBatch>;
    try {
      outcomes = this.runBatch(batch);
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing of the batch is stored.
      for (const entry of batch) entry.reject(error);
      return;
    }
    this.committed();
    outcomes.forEach((outcome, index) => (outcome.ok ? batch[index].resolve(outcome.value) : batch[index].reject(outcome.error)));
  }
}
