import { BinaryStore } from './binary-store';
import { CommitSignal } from './commit-signal';
import type { Db } from './database';
import { GroupCommit } from './group-commit';
import { isIndexCurrent, reindexAll, type ReindexProgress } from './reindex';
import { Repository } from './repository';
import { SearchEngine } from './search/search';

/**
 * The store: the one interface the node's modules use of its data (DESIGN §4). Writes go through the repository,
 * inside the group commit's transactions; reads and searches through the repository and the search engine; the
 * change log through its reader (change-log.ts); the core tables through nothing else. A module keeps tables of its
 * own (declared in migrations.ts) on `db`, never the core ones: a test holds every other folder to that.
 *
 * It is synchronous: better-sqlite3 answers in the calling thread, so the write rules run inside the write's
 * transaction and a group commit shares one transaction between the writes that arrive together.
 * docs/architecture.md says what a second, asynchronous engine (PostgreSQL) would change.
 */
export interface Store {
  /** The database, for the tables the modules keep of their own. */
  readonly db: Db;
  /** The one writer, and reads by id, version and history. */
  readonly repository: Repository;
  readonly search: SearchEngine;
  /** Binary content, as content-addressed files next to the database. */
  readonly binaries: BinaryStore;
  /** Writes that arrive together share a transaction, each answered once it commits. */
  readonly groupCommit: GroupCommit;
  /** Rings after each commit of the group commit: background work reads the change log then. */
  readonly commits: CommitSignal;
}

export interface StoreOptions {
  /** Where binary content goes. */
  binaryFolder: string;
  /** The content key (32 bytes): binary content is sealed under it. */
  contentKey: Buffer;
  /** Told how a search index rebuild goes, when the search definitions changed since the last open. */
  onReindex?: (progress: ReindexProgress) => void;
  /** Called after each commit of the group commit, before the commit signal rings. */
  committed?: () => void;
}

/** The store of an open database, ready to serve: its repository opened (openRepository) and the services around it. */
export function openStore(db: Db, options: StoreOptions): Store {
  const repository = openRepository(db, options.onReindex);
  const commits = new CommitSignal();
  return {
    db,
    repository,
    search: new SearchEngine(db, repository.searchIndex),
    binaries: new BinaryStore(options.binaryFolder, options.contentKey),
    groupCommit: new GroupCommit(db, () => {
      options.committed?.();
      commits.notify();
    }),
    commits,
  };
}

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
