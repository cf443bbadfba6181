import type { Db } from '../store/database';
import { readNodeId } from '../store/database';
import { removeSnapshot, saveSnapshot } from './snapshot';
import { TextIndexer } from './text-indexer';

/**
 * `liaison reindex --text`: the text index rebuilt from the whole change log, with the node stopped, and saved as
 * the snapshot the next start loads. Progress counts change-log entries. Resources whose indexing fails are left out
 * and counted (the node's admin API lists them, GET /admin/text-index), as the node's own thread does.
 */
export async function rebuildTextIndex(db: Db, snapshotFolder: string, snapshotKey: Buffer, progress: (done: number, total: number) => void): Promise<{ changes: number; notIndexed: number }> {
  removeSnapshot(snapshotFolder);
  const indexer = new TextIndexer(db);
  const total = indexer.latestSeq();
  let done = 0;
  progress(0, total);
  for (let batch = indexer.applyNext(); batch.count > 0; batch = indexer.applyNext()) {
    done += batch.count;
    progress(done, total);
  }
  await saveSnapshot(snapshotFolder, indexer.indexes, { nodeId: readNodeId(db), cursor: indexer.cursor, notIndexed: indexer.notIndexed.toJSON() }, snapshotKey);
  return { changes: done, notIndexed: indexer.notIndexed.count };
}
