import type { Db } from './database';

/**
 * Who created a resource through the API, for the types whose creator counts (store/search/visibility.ts): a
 * Subscription belongs to its creator, a Binary is its uploader's to name first. Recorded once, in the write's
 * transaction (a refused write leaves no record), beside the versions rather than in them: versions travel unchanged
 * between sync peers, and this is a fact of this node's API. A resource imported, replicated from a peer (but a Binary
 * a peer's client with a reach pushes: its creator is that client), or written before the table existed has no creator
 * here. The access rules read the table in SQL.
 */
export class ResourceOwners {
  private readonly insert;
  private readonly owner;

  constructor(db: Db) {
    this.insert = db.prepare<[string, string, string, string]>('INSERT OR IGNORE INTO resource_owners (resource_type, resource_id, owner_key, practices) VALUES (?, ?, ?, ?)');
    this.owner = db.prepare<[string, string], { owner_key: string | null }>('SELECT owner_key FROM resource_owners WHERE resource_type = ? AND resource_id = ?');
  }

  record(resourceType: string, id: string, owner: { key: string; practiceIds: readonly string[] }): void {
    this.insert.run(resourceType, id, owner.key, owner.practiceIds.join(' '));
  }

  /** The key of the caller who created it (FhirRequest.caller.key); undefined when unknown. */
  creatorOf(resourceType: string, id: string): string | undefined {
    return this.owner.get(resourceType, id)?.owner_key ?? undefined;
  }
}
