/**
 * The resources the text index could not index, and why: one that makes indexing fail is left out (its earlier
 * versions too) and the index goes on, so a poisoned resource costs its own searches only. The record travels in
 * the snapshot, and a replay from the snapshot's cursor meets the later failures again; `/health` counts it and the
 * admin API lists it (`GET /admin/text-index`). A resource leaves it once a later version of it is indexed.
 */

export interface NotIndexedEntry {
  resourceType: string;
  id: string;
  /** The version that failed (its local sequence). */
  vseq: number;
  reason: string;
  /** When it failed (ISO instant). */
  at: string;
}

/** Entries listed at most: failures past that are only counted (each is one resource, but the record stays small). */
const MAX_LISTED = 1000;
const MAX_REASON_CHARS = 300;

export class NotIndexed {
  private readonly entries = new Map<string, NotIndexedEntry>();
  /** Failures not listed (the list was full). */
  private unlisted = 0;

  record(resourceType: string, id: string, vseq: number, reason: string): void {
    const key = `${resourceType}/${id}`;
    if (!this.entries.has(key) && this.entries.size >= MAX_LISTED) {
      this.unlisted++;
      return;
    }
    this.entries.set(key, { resourceType, id, vseq, reason: reason.slice(0, MAX_REASON_CHARS), at: new Date().toISOString() });
  }

  /** A version of the resource was indexed: it is no longer left out. */
  indexed(resourceType: string, id: string): void {
    if (this.entries.size > 0) this.entries.delete(`${resourceType}/${id}`);
  }

  get count(): number {
    return this.entries.size + this.unlisted;
  }

  list(): NotIndexedEntry[] {
    return [...this.entries.values()];
  }

  toJSON(): SavedNotIndexed {
    return { entries: this.list(), unlisted: this.unlisted };
  }

  /** Restores a snapshot's record (replacing this one's). */
  restore(saved: SavedNotIndexed | undefined): void {
    this.entries.clear();
    this.unlisted = saved?.unlisted ?? 0;
    for (const entry of saved?.entries ?? []) this.entries.set(`${entry.resourceType}/${entry.id}`, entry);
  }
}

export interface SavedNotIndexed {
  entries: NotIndexedEntry[];
  unlisted: number;
}
