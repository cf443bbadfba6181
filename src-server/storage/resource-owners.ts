import type { Db } from './database';

/**
 * Who created each resource of the types that belong to their creator (fhir/search/visibility.ts): recorded once,
 * when a caller creates one through the API, in the write's transaction. The access rules read the table in SQL.
 */
export class ResourceOwners {
  private readonly insert;

  constructor(db: Db) {
    this.insert = db.prepare<[string, string, string, string]>('INSERT OR IGNORE INTO resource_owners (resource_type, resource_id, owner_key, practices) VALUES (?, ?, ?, ?)');
  }

  record(resourceType: string, id: string, owner: { key: string; practiceIds: readonly string[] }): void {
    this.insert.run(resourceType, id, owner.key, owner.practiceIds.join(' '));
  }
}
