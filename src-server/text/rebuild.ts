import type { Db } from '../storage/database';
import { readNodeId } from '../storage/database';
import { removeSnapshot, saveSnapshot } from './snapshot';
import { TextIndexer } from './text-indexer';

/**
 * `liaison reindex --text`: the text index rebuilt from the whole change log, with the node stopped, and saved as
 * the snapshot the next start loads. Progress counts change-log entries.
 */
export async function rebuildTextIndex(db: Db, snapshotFolder: string, progress: (done: number, total: number) => void): Promise<number> {
  removeSnapshot(snapshotFolder);
  const indexer = new TextIndexer(db);
  const total = indexer.latestSeq();
  let done = 0;
  progress(0, total);
  for (let batch = indexer.applyNext(); batch.count > 0; batch = indexer.applyNext()) {
    done += batch.count;
    progress(done, total);
  }
  await saveSnapshot(snapshotFolder, indexer.indexes, { nodeId: readNodeId(db), cursor: indexer.cursor });
  return done;
}
