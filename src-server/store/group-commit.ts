import type { Db } from './database';

/**
 * Group commit: the writes of the requests that arrive together share one SQLite transaction, each inside its own
 * savepoint. A commit costs the same for one write or fifty (the WAL pages of every index it touched), so under
 * load this multiplies write throughput. Each caller is answered only once the shared transaction has committed:
 * an acknowledged write is as durable as with a transaction of its own. A failing write rolls back to its
 * savepoint and fails alone.
 *
 * A write alone in its transaction runs without a savepoint (rolling back the transaction undoes it just the
 * same), and a large write (a page of sync) can ask for a transaction of its own: a long savepoint is costly. SQLite
 * keeps it in memory as a list of 1 KiB chunks, walked from its start each time a multi-row statement inside it ends
 * (the search index inserts its rows so): a page of 1,000 replicated Patients measured 2.8 times slower in one.
 */

interface QueuedWrite {
  work: () => unknown;
  alone: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class GroupCommit {
  private queue: QueuedWrite[] = [];
  private readonly runShared;
  private readonly runAlone;

  constructor(
    db: Db,
    /** Called after each transaction commits. */
    private readonly committed: () => void = () => {},
  ) {
    // better-sqlite3 turns a transaction function called inside another transaction into a savepoint.
    const savepoint = db.transaction((work: () => unknown) => work());
    this.runShared = db.transaction((batch: QueuedWrite[]): Outcome[] =>
      batch.map(({ work }) => {
        try {
          return { ok: true, value: savepoint(work) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
    this.runAlone = db.transaction((write: QueuedWrite): Outcome[] => [{ ok: true, value: write.work() }]);
  }

  /**
   * Runs `work` (synchronous writes) in the next shared transaction, or with `alone` in a transaction of its own
   * right after it; settles after that transaction commits.
   */
  run<T>(work: () => T, { alone = false }: { alone?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ work, alone, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  private flush(): void {
    const queue = this.queue;
    this.queue = [];
    const shared = queue.filter((write) => !write.alone);
    if (shared.length > 0) this.commit(shared);
    for (const write of queue) if (write.alone) this.commit([write]);
  }

  private commit(batch: QueuedWrite[]): void {
    let outcomes: Outcome[];
    try {
      outcomes = batch.length === 1 ? this.runAlone(batch[0]) : this.runShared(batch);
    } catch (error) {
      // The commit itself failed (disk full, I/O error), or the only write did: nothing of the batch is stored.
      for (const write of batch) write.reject(error);
      return;
    }
    this.committed();
    outcomes.forEach((outcome, index) => (outcome.ok ? batch[index].resolve(outcome.value) : batch[index].reject(outcome.error)));
  }
}
