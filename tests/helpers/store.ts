import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src-server/store/database';
import type { Repository } from '../../src-server/store/repository';
import { openRepository } from '../../src-server/store/store';
import { tempDir } from './node';

/** A store of its own, opened as every writer opens it (openRepository), for tests of the store's parts without a node. */
export interface TestStore {
  db: Db;
  repository: Repository;
  /** Closes the database and removes its folder. */
  close(): void;
}

export function openTestStore(prefix: string): TestStore {
  const dir = tempDir(prefix);
  const db = openDatabase(join(dir, 'store.sqlite'));
  return {
    db,
    repository: openRepository(db),
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
