import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src-server/store/database';
import { GroupCommit } from '../../../src-server/store/group-commit';
import { tempDir, useTestNode } from '../../helpers/node';

/** Writes arriving together share one commit; each is answered once it is durable, and fails alone. */

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function setup() {
  const dir = tempDir();
  dirs.push(dir);
  const file = join(dir, 'liaison.db');
  const db = openDatabase(file);
  db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
  const observer = new Database(file, { readonly: true });
  return { db, observer, group: new GroupCommit(db) };
}

describe('GroupCommit', () => {
  it('runs the writes of one tick in one transaction, each settling only once it is committed', async () => {
    const { db, observer, group } = setup();
    const insert = db.prepare('INSERT INTO notes (text) VALUES (?)');
    const countFromOutside = () => (observer.prepare('SELECT count(*) AS n FROM notes').get() as { n: number }).n;
    let seenInsideSecond = -1;
    const first = group.run(() => insert.run('a'));
    const second = group.run(() => {
      // The second write sees the first: they share the open transaction.
      seenInsideSecond = (db.prepare('SELECT count(*) AS n FROM notes').get() as { n: number }).n;
      return insert.run('b');
    });
    expect(countFromOutside()).toBe(0);
    await first;
    // Settled means committed: another connection sees both.
    expect(countFromOutside()).toBe(2);
    await second;
    expect(seenInsideSecond).toBe(1);
    db.close();
    observer.close();
  });

  it('rolls back a failing write alone, to its savepoint', async () => {
    const { db, observer, group } = setup();
    const insert = db.prepare('INSERT INTO notes (text) VALUES (?)');
    const results = await Promise.allSettled([
      group.run(() => insert.run('kept 1')),
      group.run(() => {
        insert.run('rolled back');
        throw new Error('refused');
      }),
      group.run(() => insert.run('kept 2')),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('refused');
    expect(observer.prepare('SELECT text FROM notes ORDER BY id').all()).toEqual([{ text: 'kept 1' }, { text: 'kept 2' }]);
    db.close();
    observer.close();
  });

  it('runs a write that asks to be alone in a transaction of its own, after the shared one, and rolls it back whole when it fails', async () => {
    const { db, observer } = setup();
    const commits: string[][] = [];
    const group = new GroupCommit(db, () => commits.push((observer.prepare('SELECT text FROM notes ORDER BY id').all() as Array<{ text: string }>).map((row) => row.text)));
    const insert = db.prepare('INSERT INTO notes (text) VALUES (?)');
    const results = await Promise.allSettled([
      group.run(() => insert.run('page'), { alone: true }),
      group.run(() => insert.run('shared 1')),
      group.run(() => {
        insert.run('failed page');
        throw new Error('refused');
      }, { alone: true }),
      group.run(() => insert.run('shared 2')),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    // Two commits, the shared writes first: the failed page committed nothing and left nothing.
    expect(commits).toEqual([['shared 1', 'shared 2'], ['shared 1', 'shared 2', 'page']]);
    db.close();
    observer.close();
  });
});

describe('concurrent writes over HTTP', () => {
  const node = useTestNode();

  it('are each answered for themselves: 49 created, 1 refused, all 49 stored', async () => {
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        node().request('Patient', { method: 'POST', json: index === 17 ? { resourceType: 'Patient', birthDate: '1974-13-45' } : { resourceType: 'Patient', name: [{ family: `P${index}` }] } }),
      ),
    );
    expect(responses.filter((response) => response.status === 201)).toHaveLength(49);
    expect(responses[17].status).toBe(400);
    const found = (await (await node().request('Patient?_total=accurate&_count=0')).json()) as { total: number };
    expect(found.total).toBe(49);
  });
});
