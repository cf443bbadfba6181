import type { Statement } from 'better-sqlite3';
import { DIRECTORY_TYPES } from '../fhir/directory';
import type { Db } from './database';

/**
 * The change log read in order, from a sequence on: its one reader (the repository's history aside), which the text
 * indexer, the subscriptions' matcher and sync's change feed each follow from a durable cursor of their own. It takes
 * any connection to the store: the node's, or a read-only one of a worker thread (database.ts `openReader`).
 */

/** A logged change: the version it logged, as stored. */
export interface Change {
  /** The change-log sequence: `_history` order, every follower's cursor. */
  seq: number;
  vseq: number;
  resource_type: string;
  resource_id: string;
  version_id: string;
  /** JSON array of parent version ids. */
  parent_ids: string;
  origin_node: string;
  last_updated: string;
  body: string;
  /** The peer node a replicated version came from. */
  received_from: string | null;
}

/** A change with its resource's current version now (null: none): followers that keep current versions only. */
export interface ChangeAndCurrent extends Change {
  current_vseq: number | null;
}

/** Which resource a change is about, without its version. */
export interface ChangedResource {
  seq: number;
  resource_type: string;
  resource_id: string;
}

/**
 * all: every change; records: all but the directory's; directory: the directory's only. Directory data and patient
 * records flow different ways between sync peers (docs/sync.md).
 */
export type DataKind = 'all' | 'records' | 'directory';

const VERSION_COLUMNS = 'c.seq, c.vseq, v.resource_type, v.resource_id, v.version_id, v.parent_ids, v.origin_node, v.last_updated, v.body, v.received_from';

export class ChangeLog {
  private readonly pages: Record<DataKind, Statement<[number, number], Change>>;
  private readonly withCurrent: Statement<[number, number], ChangeAndCurrent>;
  private readonly resources: Statement<[number, number], ChangedResource>;
  private readonly typeChanged: Statement<[string, number], number>;
  private readonly latest: Statement<[], number>;
  private readonly firstStamp: Statement<[number], string>;

  constructor(db: Db) {
    const select = (where: string) =>
      db.prepare<[number, number], Change>(
        `SELECT ${VERSION_COLUMNS} FROM change_log c JOIN resource_versions v ON v.vseq = c.vseq
         WHERE c.seq > ? ${where} ORDER BY c.seq LIMIT ?`,
      );
    const directory = [...DIRECTORY_TYPES].map((type) => `'${type}'`).join(', ');
    this.pages = {
      all: select(''),
      records: select(`AND c.resource_type NOT IN (${directory})`),
      directory: select(`AND c.resource_type IN (${directory})`),
    };
    this.withCurrent = db.prepare(
      `SELECT ${VERSION_COLUMNS}, r.vseq AS current_vseq
       FROM change_log c JOIN resource_versions v ON v.vseq = c.vseq
       LEFT JOIN resources r ON r.resource_type = v.resource_type AND r.resource_id = v.resource_id
       WHERE c.seq > ? ORDER BY c.seq LIMIT ?`,
    );
    this.resources = db.prepare(
      `SELECT c.seq, c.resource_type, v.resource_id FROM change_log c JOIN resource_versions v ON v.vseq = c.vseq
       WHERE c.seq > ? ORDER BY c.seq LIMIT ?`,
    );
    this.typeChanged = db.prepare<[string, number], number>('SELECT 1 FROM change_log WHERE resource_type = ? AND seq > ? LIMIT 1').pluck();
    this.latest = db.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM change_log').pluck();
    this.firstStamp = db
      .prepare<[number], string>('SELECT v.last_updated FROM change_log c JOIN resource_versions v ON v.vseq = c.vseq WHERE c.seq > ? ORDER BY c.seq LIMIT 1')
      .pluck();
  }

  /** Up to `limit` changes after sequence `afterSeq`, in change-log order. */
  after(afterSeq: number, limit: number, kind: DataKind = 'all'): Change[] {
    return this.pages[kind].all(afterSeq, limit);
  }

  /** The same, each with its resource's current version. */
  afterWithCurrent(afterSeq: number, limit: number): ChangeAndCurrent[] {
    return this.withCurrent.all(afterSeq, limit);
  }

  /** Which resources changed after `afterSeq`, up to `limit` changes, without reading their versions. */
  resourcesAfter(afterSeq: number, limit: number): ChangedResource[] {
    return this.resources.all(afterSeq, limit);
  }

  /** Whether a resource of the type changed after `afterSeq`. */
  typeChangedAfter(resourceType: string, afterSeq: number): boolean {
    return this.typeChanged.get(resourceType, afterSeq) !== undefined;
  }

  /** The last sequence committed (0: none). */
  latestSeq(): number {
    return this.latest.get() as number;
  }

  /** lastUpdated of the first change after `afterSeq`, if any. */
  firstStampAfter(afterSeq: number): string | undefined {
    return this.firstStamp.get(afterSeq) as string | undefined;
  }
}
