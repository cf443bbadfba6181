import type { Db } from './database';
import { isIndexCurrent, reindexAll, type ReindexProgress } from './reindex';
import { Repository } from './repository';

/**
 * The repository of an open database, ready to write: its custom SearchParameters in force, and its search index
 * built from the current definitions — rebuilt first if they changed since it was written, or marked current for a
 * new database. Every writer opens the store this way (the node, the directory import): rows written under other
 * definitions, or a new database left unmarked, would otherwise be rebuilt in full by the next start.
 */
export function openRepository(db: Db, onReindex?: (progress: ReindexProgress) => void): Repository {
  const repository = new Repository(db);
  if (!isIndexCurrent(db, repository.definitions)) reindexAll(db, repository.searchIndex, onReindex);
  return repository;
}
