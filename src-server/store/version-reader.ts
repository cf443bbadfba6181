import type { Statement } from 'better-sqlite3';
import type { Db } from './database';

/**
 * Versions and current resources read by key, on any connection to the store: the node's, or the read-only one of a
 * worker thread (the text index, the directory import), which has no repository.
 */
export class VersionReader {
  private readonly existing: Statement<[string, string], number>;
  private readonly currentOf: Statement<[string, string], { vseq: number; body: string }>;
  private readonly earlierOf: Statement<[string, string, number], { vseq: number }>;
  private readonly bodyOf: Statement<[number], string>;
  private readonly idsBetween: Statement<[string, string, string], string>;

  constructor(db: Db) {
    this.existing = db.prepare<[string, string], number>('SELECT 1 FROM resources WHERE resource_type = ? AND resource_id = ?').pluck();
    this.currentOf = db.prepare('SELECT r.vseq, v.body FROM resources r JOIN resource_versions v ON v.vseq = r.vseq WHERE r.resource_type = ? AND r.resource_id = ?');
    this.earlierOf = db.prepare('SELECT vseq FROM resource_versions WHERE resource_type = ? AND resource_id = ? AND vseq < ?');
    this.bodyOf = db.prepare<[number], string>('SELECT body FROM resource_versions WHERE vseq = ?').pluck();
    this.idsBetween = db.prepare<[string, string, string], string>('SELECT resource_id FROM resources WHERE resource_type = ? AND resource_id >= ? AND resource_id < ?').pluck();
  }

  /** Whether the store has the resource. */
  exists(resourceType: string, id: string): boolean {
    return this.existing.get(resourceType, id) !== undefined;
  }

  /** The resource's current version: its vseq and JSON. */
  current(resourceType: string, id: string): { vseq: number; body: string } | undefined {
    return this.currentOf.get(resourceType, id);
  }

  /** The vseqs of the resource's versions stored before `beforeVseq`, oldest first. */
  earlier(resourceType: string, id: string, beforeVseq: number): number[] {
    return this.earlierOf.all(resourceType, id, beforeVseq).map((row) => row.vseq);
  }

  /** The JSON of a version. */
  body(vseq: number): string | undefined {
    return this.bodyOf.get(vseq) as string | undefined;
  }

  /** The ids of the type's resources that start with `prefix`, in id order, read as they are needed. */
  idsStartingWith(resourceType: string, prefix: string): IterableIterator<string> {
    return this.idsBetween.iterate(resourceType, prefix, `${prefix}\uffff`);
  }
}
