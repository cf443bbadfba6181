/**
 * Tells background work (the outbox, subscriptions, sync) that writes have committed, so it reads the change log
 * at once instead of waiting for its next poll. It carries no data: each listener keeps its own durable cursor in
 * the change log, which stays the one source of what changed.
 */
export class CommitSignal {
  private readonly listeners = new Set<() => void>();

  /** Calls `listener` after every commit of API writes; returns the function that stops it. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own: the commit happened, and the other listeners must still hear of it.
      }
    }
  }
}
