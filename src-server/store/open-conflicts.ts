import type { Statement } from 'better-sqlite3';
import type { Db } from './database';

/** A resource whose versions have concurrent leaves (sync), as the repository records it. */
export interface OpenConflict {
  resource_type: string;
  resource_id: string;
  opened_at: string;
}

/** The open conflicts, read in (type, id) order: the repository opens and closes them as it stores versions. */
export class OpenConflicts {
  private readonly page: Statement<[string, string, string, number], OpenConflict>;
  private readonly one: Statement<[string, string], OpenConflict>;

  constructor(db: Db) {
    this.page = db.prepare(
      `SELECT resource_type, resource_id, opened_at FROM open_conflicts
       WHERE resource_type > ? OR (resource_type = ? AND resource_id > ?) ORDER BY resource_type, resource_id LIMIT ?`,
    );
    this.one = db.prepare('SELECT resource_type, resource_id, opened_at FROM open_conflicts WHERE resource_type = ? AND resource_id = ?');
  }

  /** Up to `limit` open conflicts after the resource `afterType/afterId` ('' '' for the first). */
  after(afterType: string, afterId: string, limit: number): OpenConflict[] {
    return this.page.all(afterType, afterType, afterId, limit);
  }

  /** The resource's open conflict, if it has one. */
  of(resourceType: string, id: string): OpenConflict | undefined {
    return this.one.get(resourceType, id);
  }
}
