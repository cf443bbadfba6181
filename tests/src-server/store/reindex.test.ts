import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encryptDatabaseFile, openDatabase, type Db } from '../../../src-server/store/database';
import { migrations } from '../../../src-server/store/migrations';
import { INDEX_TABLES } from '../../../src-server/store/search-index';
import { definitionsOf } from '../../../src-server/store/custom-parameters';
import { isIndexCurrent, reindexAll } from '../../../src-server/store/reindex';
import { Repository } from '../../../src-server/store/repository';
import { startTestNode, tempDir } from '../../helpers/node';
import { keyEnv, testDatabaseKey } from '../../helpers/data-key';

/** The search index is rebuilt when its definitions change, on start and on demand, to the same rows. */

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function indexRows(db: Db): Record<string, unknown[]> {
  return Object.fromEntries(INDEX_TABLES.map((table) => [table, db.prepare(`SELECT * FROM ${table}`).all().map((row) => JSON.stringify(row)).sort()]));
}

function seed(dir: string): void {
  const db = openDatabase(join(dir, 'liaison.db'), { key: testDatabaseKey(dir) });
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
    const db = openDatabase(join(dir, 'liaison.db'), { key: testDatabaseKey(dir) });
    const before = indexRows(db);
    expect(before.idx_string.length).toBeGreaterThan(30);
    const progress: number[] = [];
    expect(reindexAll(db, new Repository(db).searchIndex, ({ done }) => progress.push(done))).toBe(31);
    expect(progress.at(-1)).toBe(31);
    expect(indexRows(db)).toEqual(before);
    expect(isIndexCurrent(db, definitionsOf(db))).toBe(true);
    db.close();
  });

  it('runs on start when the definitions the index was built from changed', async () => {
    const dir = tempDir();
    dirs.push(dir);
    seed(dir);
    const db = openDatabase(join(dir, 'liaison.db'), { key: testDatabaseKey(dir) });
    for (const table of INDEX_TABLES) db.exec(`DELETE FROM ${table}`);
    db.prepare("UPDATE node_meta SET value = 'built-from-older-definitions' WHERE key = 'search_index_fingerprint'").run();
    db.close();
    const reported: Array<{ done: number; total: number }> = [];
    const node = await startTestNode({ dataDir: dir, onReindex: (progress) => reported.push(progress) });
    expect(reported.at(-1)).toEqual({ done: 31, total: 31 });
    // `name` is answered by the text index, which rebuilds too (it answers 503 until then).
    await node.textIndex.caughtUp((node.db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq);
    const found = (await (await node.request('Patient?name=helene&_total=accurate')).json()) as { total: number };
    expect(found.total).toBe(30);
    await node.stop();
  });

  it('upgrades a store written by schema 2 (before shared rows) and indexes it again on start', async () => {
    const dir = tempDir();
    dirs.push(dir);
    seed(dir);
    // The same store as schema 2 wrote it: its tables, its rows (no string parts), version 2 and its fingerprint.
    const current = openDatabase(join(dir, 'liaison.db'), { key: testDatabaseKey(dir) });
    // Without the columns later migrations added (sync's received_from).
    const resources = (current.prepare('SELECT * FROM resource_versions ORDER BY vseq').all() as Array<Record<string, unknown>>).map(({ received_from: _receivedFrom, ...row }) => row);
    const heads = current.prepare('SELECT * FROM resources').all() as Array<Record<string, unknown>>;
    const meta = current.prepare('SELECT * FROM node_meta').all() as Array<{ key: string; value: string }>;
    current.close();
    const file = join(dir, 'old.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    for (const migration of migrations.slice(0, 2)) old.exec(migration.sql);
    const insertAll = (table: string, rows: Array<Record<string, unknown>>) => {
      for (const row of rows) old.prepare(`INSERT INTO ${table} (${Object.keys(row).join(', ')}) VALUES (${Object.keys(row).map(() => '?').join(', ')})`).run(...Object.values(row));
    };
    insertAll('resource_versions', resources);
    insertAll('resources', heads);
    insertAll('node_meta', meta.filter((row) => row.key !== 'search_index_fingerprint'));
    old.prepare("INSERT INTO node_meta (key, value) VALUES ('search_index_fingerprint', 'schema 2')").run();
    old.prepare('INSERT INTO search_params (resource_type, code) VALUES (?, ?)').run('Patient', 'family');
    old.prepare('INSERT INTO idx_string (vseq, pid, value, exact) VALUES (1, 1, ?, ?)').run('famille0', 'Famille0');
    old.pragma('user_version = 2');
    old.close();
    rmSync(join(dir, 'liaison.db'));
    rmSync(join(dir, 'liaison.db-wal'), { force: true });
    rmSync(join(dir, 'liaison.db-shm'), { force: true });
    // Encrypted as `liaison encrypt` would (every store a node opens is).
    encryptDatabaseFile(file, join(dir, 'liaison.db'), testDatabaseKey(dir));

    const reported: Array<{ done: number; total: number }> = [];
    const node = await startTestNode({ dataDir: dir, onReindex: (progress) => reported.push(progress) });
    expect(reported.at(-1)).toEqual({ done: 31, total: 31 });
    const search = async (query: string) => ((await (await node.request(`${query}&_total=accurate`)).json()) as { total: number }).total;
    expect(await search('Patient?family=famille1')).toBe(11); // Famille1, Famille10…19
    expect(await search('Patient?given=helene')).toBe(30);
    expect(await search('Patient?family=helene')).toBe(0);
    expect(await search('Observation?combo-code=8480-6')).toBe(1);
    // Counts per type are kept from schema 3 on: the migration counted what was there.
    const health = (await (await fetch(`${node.url}/health`)).json()) as { resources: unknown };
    expect(health.resources).toEqual({ total: 31, byType: { Observation: 1, Patient: 30 } });
    await node.stop();
  });

  it('is available as `liaison reindex`, with progress output', () => {
    const dir = tempDir();
    dirs.push(dir);
    seed(dir);
    const result = spawnSync('node', ['bin/liaison.js', 'reindex', '--data', dir], { encoding: 'utf8', env: keyEnv(dir) });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Rebuilding the search index…');
    expect(result.stdout).toContain('31/31 resources (100%)');
    expect(result.stdout).toContain('Search index rebuilt: 31 resources.');
  });
});
