import type { Statement } from 'better-sqlite3';
import { DIRECTORY_TYPES } from '../fhir/directory';
import type { Db } from './database';
import type { ChangeRow } from '../sync/protocol';

/**
 * The change log read as a feed of versions, from a sequence on: what `$changes` serves and what a push sends.
 * Directory data and patient records are read apart, because they flow different ways (docs/sync.md).
 */

/** all: every version; records: all but the directory's; directory: the directory's only. */
export type DataKind = 'all' | 'records' | 'directory';

export interface FeedRow extends ChangeRow {
  received_from: string | null;
}

export class ChangeFeed {
  private readonly pages: Record<DataKind, Statement<unknown[], FeedRow>>;
  private readonly latest: Statement<[], number>;

  constructor(db: Db) {
    const select = (where: string) =>
      db.prepare<unknown[], FeedRow>(
        `SELECT c.seq, v.resource_type, v.resource_id, v.version_id, v.parent_ids, v.origin_node, v.last_updated, v.body, v.received_from
         FROM change_log c JOIN resource_versions v ON v.vseq = c.vseq
         WHERE c.seq > ? ${where} ORDER BY c.seq LIMIT ?`,
      );
    const directory = [...DIRECTORY_TYPES].map((type) => `'${type}'`).join(', ');
    this.pages = {
      all: select(''),
      records: select(`AND c.resource_type NOT IN (${directory})`),
      directory: select(`AND c.resource_type IN (${directory})`),
    };
    this.latest = db.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM change_log').pluck();
  }

  /** Up to `limit` versions after change-log sequence `afterSeq`, in change-log order. */
  page(afterSeq: number, limit: number, kind: DataKind): FeedRow[] {
    return this.pages[kind].all(afterSeq, limit);
  }

  latestSeq(): number {
    return this.latest.get() as number;
  }
}
