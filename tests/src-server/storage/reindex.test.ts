import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../../src-server/storage/database';
import { INDEX_TABLES } from '../../../src-server/storage/search-index';
import { isIndexCurrent, reindexAll } from '../../../src-server/storage/reindex';
import { Repository } from '../../../src-server/storage/repository';
import { startTestNode, tempDir } from '../../helpers/node';

/** The search index is rebuilt when its definitions change, on start and on demand, to the same rows. */

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function indexRows(db: Db): Record<string, unknown[]> {
  return Object.fromEntries(INDEX_TABLES.map((table) => [table, db.prepare(`SELECT * FROM ${table}`).all().map((row) => JSON.stringify(row)).sort()]));
}

function seed(dir: string): void {
  const db = openDatabase(join(dir, 'liaison.db'));
  const repository = new Repository(db);
  for (let index = 0; index < 30; index++) {
    repository.create('Patient', { resourceType: 'Patient', name: [{ family: `Famille${index}`, given: ['Hélène'] }], birthDate: `19${50 + index}-01-02` });
  }
  const first = repository.create('Observation', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] } });
  repository.update('Observation', first.id, { resourceType: 'Observation', id: first.id, status: 'amended', code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] } });
  db.close();
}

describe('search index rebuild', () => {
  it('rebuilds exactly the rows that incremental indexing wrote', () => {
    const dir = tempDir();
    dirs.push(dir);
    seed(dir);
    const db = openDatabase(join(dir, 'liaison.db'));
    const before = indexRows(db);
    expect(before.idx_string.length).toBeGreaterThan(30);
    const progress: number[] = [];
    expect(reindexAll(db, new Repository(db).searchIndex, ({ done }) => progress.push(done))).toBe(31);
    expect(progress.at(-1)).toBe(31);
    expect(indexRows(db)).toEqual(before);
    expect(isIndexCurrent(db)).toBe(true);
    db.close();
  });

  it('runs on start when the definitions the index was built from changed', async () => {
    const dir = tempDir();
    dirs.push(dir);
    seed(dir);
    const db = openDatabase(join(dir, 'liaison.db'));
    for (const table of INDEX_TABLES) db.exec(`DELETE FROM ${table}`);
    db.prepare("UPDATE node_meta SET value = 'built-from-older-definitions' WHERE key = 'search_index_fingerprint'").run();
    db.close();
    const reported: Array<{ done: number; total: number }> = [];
    const node = await startTestNode({ dataDir: dir, onReindex: (progress) => reported.push(progress) });
    expect(reported.at(-1)).toEqual({ done: 31, total: 31 });
    const found = (await (await node.request('Patient?name=helene&_total=accurate')).json()) as { total: number };
    expect(found.total).toBe(30);
    await node.stop();
  });

  it('is available as `liaison reindex`, with progress output', () => {
    const dir = tempDir();
    dirs.push(dir);
    seed(dir);
    const result = spawnSync('node', ['bin/liaison.js', 'reindex', '--data', dir], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Rebuilding the search index…');
    expect(result.stdout).toContain('31/31 resources (100%)');
    expect(result.stdout).toContain('Search index rebuilt: 31 resources.');
  });
});
