import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src-server/store/database';
import { INDEX_TABLES } from '../../../src-server/store/search-index';
import { reindexAll } from '../../../src-server/store/reindex';
import { Repository } from '../../../src-server/store/repository';
import { tempDir } from '../../helpers/node';

/** Repository.bulk: the index rows of its writes go in at its end, and must be those of ordinary writes. */

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function store(): { db: Db; repository: Repository } {
  const dir = tempDir();
  dirs.push(dir);
  const db = openDatabase(join(dir, 'liaison.db'));
  return { db, repository: new Repository(db) };
}

const rowsOf = (db: Db) => INDEX_TABLES.flatMap((table) => db.prepare(`SELECT * FROM ${table}`).all().map((row) => `${table} ${JSON.stringify(row)}`)).sort();
const organization = (id: string, name: string) => ({ resourceType: 'Organization', id, name, active: true, telecom: [{ system: 'phone', value: '0478000000' }] });

describe('bulk writes', () => {
  it('index what they write as ordinary writes do, even a resource written twice in the same bulk', () => {
    const { db, repository } = store();
    repository.bulk(() => {
      for (let index = 0; index < 100; index++) repository.update('Organization', `org-${index}`, organization(`org-${index}`, `Cabinet ${index}`));
      repository.update('Organization', 'org-7', organization('org-7', 'Maison de santé'));
    });
    const written = rowsOf(db);
    expect(written.some((row) => row.includes('"cabinet 7"'))).toBe(false);
    expect(written.some((row) => row.includes('"maison de sante"'))).toBe(true);
    reindexAll(db, repository.searchIndex);
    expect(rowsOf(db)).toEqual(written);
    db.close();
  });

  it('write nothing, index rows included, when the work fails', () => {
    const { db, repository } = store();
    expect(() =>
      repository.bulk(() => {
        repository.update('Organization', 'org-1', organization('org-1', 'Cabinet'));
        throw new Error('stopped');
      }),
    ).toThrow('stopped');
    expect(repository.read('Organization', 'org-1')).toBeUndefined();
    expect(rowsOf(db)).toEqual([]);
    // The next write is indexed at once again.
    repository.update('Organization', 'org-2', organization('org-2', 'Cabinet'));
    expect(rowsOf(db).length).toBeGreaterThan(0);
    db.close();
  });
});
