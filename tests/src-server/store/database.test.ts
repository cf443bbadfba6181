import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FhirError } from '../../../src-server/fhir/outcome';
import { keepPlannerStatistics, keyDatabase, openDatabase, readNodeId, readSchemaVersion, SchemaTooNewError, type Db } from '../../../src-server/store/database';
import { migrations, schemaVersion } from '../../../src-server/store/migrations';
import { Repository } from '../../../src-server/store/repository';
import { killAllChildren, runCli } from '../../helpers/child-node';
import { testDatabaseKey } from '../../helpers/data-key';

const dirs: string[] = [];
const open: Db[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'liaison-db-test-'));
  dirs.push(dir);
  return dir;
}

/** openDatabase, remembered so afterEach closes whatever a failing test left open. */
function openTracked(file: string): Db {
  const db = openDatabase(file);
  open.push(db);
  return db;
}

function close(db: Db): void {
  if (db.open) db.close();
}

afterEach(() => {
  for (const db of open.splice(0)) close(db);
});
afterAll(async () => {
  await killAllChildren();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Every file of the directory with its hash: the database and any -wal/-shm/-journal next to it. */
function snapshotDir(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((name) => [name, sha256(join(dir, name))]),
  );
}

const EXPECTED_TABLES = [
  'audit_log',
  'booking_conflicts',
  'change_log',
  'channel_settings',
  'document_outbox',
  'idx_composite',
  'idx_date',
  'idx_number',
  'idx_quantity',
  'idx_reference',
  'idx_string',
  'idx_token',
  'idx_uri',
  'join_codes',
  'local_accounts',
  'node_meta',
  'oauth_apps',
  'oauth_clients',
  'oauth_tokens',
  'open_conflicts',
  'practice_settings',
  'refresh_tokens',
  'resource_counts',
  'resource_owners',
  'resource_versions',
  'resources',
  'search_params',
  'sessions',
  'subscription_notifications',
  'subscription_owners',
  'sync_content_outbox',
  'sync_content_wanted',
  'sync_deferred',
  'sync_peer_recipients',
  'sync_peers',
  'users',
];

function schemaOf(db: Db): Array<{ type: string; name: string; sql: string | null }> {
  return db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as Array<{
    type: string;
    name: string;
    sql: string | null;
  }>;
}

/** A database written by "a newer Liaison": migrated by this one, then its user_version raised past what we know. */
function databaseFromTheFuture(dir: string, journalMode: 'WAL' | 'DELETE', key?: Buffer): { file: string; version: number } {
  const file = join(dir, 'liaison.db');
  const db = openDatabase(file, { key });
  new Repository(db).create('Patient', { resourceType: 'Patient', name: [{ family: 'Futur' }] });
  db.close();
  const raw = new Database(file);
  if (key) keyDatabase(raw, key);
  const version = schemaVersion + 7;
  raw.pragma(`journal_mode = ${journalMode}`);
  raw.pragma(`user_version = ${version}`);
  raw.close();
  return { file, version };
}

describe('openDatabase on a fresh file', () => {
  it('applies every migration, turns on WAL and creates the tables', () => {
    const dir = tempDir();
    const file = join(dir, 'nested', 'liaison.db');
    const db = openTracked(file);
    expect(schemaVersion).toBe(migrations.length);
    expect(readSchemaVersion(db)).toBe(migrations.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    const tables = schemaOf(db)
      .filter((entry) => entry.type === 'table')
      .map((entry) => entry.name);
    expect(tables).toEqual(EXPECTED_TABLES);
    close(db);

    // WAL is a property of the file, not only of our connection.
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(migrations.length);
    raw.close();
  });

  it('mints the node id once and keeps it (and the creation time) across reopening', () => {
    const file = join(tempDir(), 'liaison.db');
    const first = openTracked(file);
    const nodeId = readNodeId(first);
    expect(nodeId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const meta = first.prepare('SELECT key, value FROM node_meta ORDER BY key').all();
    close(first);

    for (let i = 0; i < 3; i++) {
      const again = openTracked(file);
      expect(readNodeId(again)).toBe(nodeId);
      expect(again.prepare('SELECT key, value FROM node_meta ORDER BY key').all()).toEqual(meta);
      expect(new Repository(again).nodeId).toBe(nodeId);
      close(again);
    }
    // Another file is another node.
    const other = openTracked(join(tempDir(), 'liaison.db'));
    expect(readNodeId(other)).not.toBe(nodeId);
  });

  it('runs each migration in one transaction with its user_version bump: a failing migration leaves version 0', () => {
    // A file that already has one of migration 1's tables: its CREATE TABLE fails half-way through the migration.
    const file = join(tempDir(), 'liaison.db');
    const raw = new Database(file);
    raw.exec('CREATE TABLE node_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    raw.close();
    expect(() => openDatabase(file)).toThrow(/node_meta already exists/);
    const after = new Database(file, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(0);
    // The statements of the migration that ran before the failing one were rolled back with it.
    expect(schemaOf(after).map((entry) => entry.name)).toEqual(['node_meta']);
    after.close();
  });
});

describe('openDatabase on an up-to-date file', () => {
  it('runs nothing and changes nothing', () => {
    const dir = tempDir();
    const file = join(dir, 'liaison.db');
    const first = openTracked(file);
    const repository = new Repository(first);
    const { id } = repository.create('Patient', { resourceType: 'Patient', name: [{ family: 'Durand' }] });
    repository.update('Patient', id, { resourceType: 'Patient', id, name: [{ family: 'Durand-Petit' }] });
    const schema = schemaOf(first);
    const meta = first.prepare('SELECT key, value FROM node_meta ORDER BY key').all();
    close(first);
    const files = snapshotDir(dir);
    expect(Object.keys(files)).toEqual(['liaison.db']); // closing folded the WAL back and removed it

    // An observer connection sees any commit made by another connection as a change of data_version.
    // (Not a read-only one: only a read-write connection removes the -wal/-shm files when it closes.)
    const observer = new Database(file, { fileMustExist: true });
    const dataVersion = observer.pragma('data_version', { simple: true });
    const again = openTracked(file);
    expect(observer.pragma('data_version', { simple: true })).toBe(dataVersion);
    expect((again.prepare('SELECT total_changes() AS n').get() as { n: number }).n).toBe(0);
    expect(readSchemaVersion(again)).toBe(schemaVersion);
    expect(schemaOf(again)).toEqual(schema);
    expect(again.prepare('SELECT key, value FROM node_meta ORDER BY key').all()).toEqual(meta);
    close(again);
    observer.close();
    expect(snapshotDir(dir)).toEqual(files);
  });
});

describe('a database written by a newer Liaison', () => {
  it('is refused with SchemaTooNewError and left byte-for-byte unchanged', () => {
    const dir = tempDir();
    const { file, version } = databaseFromTheFuture(dir, 'WAL');
    const before = snapshotDir(dir);
    expect(Object.keys(before)).toEqual(['liaison.db']);

    let error: unknown;
    try {
      open.push(openDatabase(file));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SchemaTooNewError);
    const message = (error as Error).message;
    expect((error as Error).name).toBe('SchemaTooNewError');
    expect(message).toContain('written by a newer Liaison');
    expect(message).toContain(file);
    expect(message).toContain(`schema version ${version}`);
    expect(message).toContain('Nothing was changed');

    // openDatabase closed its handle: no -wal/-shm left behind, the file is the same bytes.
    expect(snapshotDir(dir)).toEqual(before);
    const raw = new Database(file, { fileMustExist: true }); // read-write, so it removes the -wal/-shm it creates
    expect(raw.pragma('user_version', { simple: true })).toBe(version);
    raw.close();
    expect(snapshotDir(dir)).toEqual(before);
  });

  // Setting `journal_mode = WAL` first would rewrite the header of a rollback-journal file (bytes 18-19): the
  // version is read through a read-only connection before anything can write.
  it('is left byte-for-byte unchanged even when it is not in WAL mode', () => {
    const dir = tempDir();
    const { file } = databaseFromTheFuture(dir, 'DELETE');
    const before = snapshotDir(dir);
    expect(() => openDatabase(file)).toThrow(SchemaTooNewError);
    expect(snapshotDir(dir)).toEqual(before);
  });

  it('makes `liaison serve` exit non-zero with a clear message and no stack trace', async () => {
    const dir = tempDir();
    const { file, version } = databaseFromTheFuture(dir, 'WAL', testDatabaseKey(dir));
    const before = snapshotDir(dir);
    const result = await runCli(['serve', '--data', dir, '--port', '0']);
    expect(result.signal).toBeNull();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('written by a newer Liaison');
    expect(result.stderr).toContain(`schema version ${version}`);
    expect(result.stderr).toContain(file);
    expect(result.stderr).not.toMatch(/^\s+at /m); // no stack frames
    expect(result.stderr).not.toContain('SchemaTooNewError:');
    expect(result.stdout).not.toContain('listening on');
    // It did not get as far as creating the owner client, nor touched the database.
    expect(existsSync(join(dir, 'owner-client.json'))).toBe(false);
    expect(snapshotDir(dir)).toEqual(before);
  });
});

describe('Repository writes', () => {
  type VersionRow = { vseq: number; version_id: string; resource_type: string; resource_id: string; parent_ids: string; origin_node: string; method: string; body: string };

  function tables(db: Db) {
    return {
      versions: db.prepare('SELECT * FROM resource_versions ORDER BY vseq').all() as VersionRow[],
      current: db.prepare('SELECT * FROM resources ORDER BY resource_type, resource_id').all() as Array<{ resource_type: string; resource_id: string; vseq: number; last_updated: string }>,
      changes: db.prepare('SELECT * FROM change_log ORDER BY seq').all() as Array<{ seq: number; vseq: number; resource_type: string }>,
    };
  }

  function setup() {
    const db = openTracked(join(tempDir(), 'liaison.db'));
    return { db, repository: new Repository(db) };
  }

  it('writes the version, the current row and the change-log entry together', () => {
    const { db, repository } = setup();
    const first = repository.create('Patient', { resourceType: 'Patient', name: [{ family: 'Bernard' }], birthDate: '1975-06-01' });
    const { stored: second, created } = repository.update('Patient', first.id, {
      resourceType: 'Patient',
      id: first.id,
      name: [{ family: 'Bernard' }],
      birthDate: '1975-06-02',
    });
    expect(created).toBe(false);
    const { versions, current, changes } = tables(db);

    expect(versions.map((row) => [row.version_id, row.resource_type, row.resource_id, row.parent_ids, row.method, row.origin_node])).toEqual([
      [first.versionId, 'Patient', first.id, '[]', 'POST', repository.nodeId],
      [second.versionId, 'Patient', first.id, JSON.stringify([first.versionId]), 'PUT', repository.nodeId],
    ]);
    expect(JSON.parse(versions[0].body).meta.versionId).toBe(first.versionId);
    expect(JSON.parse(versions[1].body).birthDate).toBe('1975-06-02');

    expect(changes).toEqual([
      { seq: changes[0].seq, vseq: versions[0].vseq, resource_type: 'Patient' },
      { seq: changes[0].seq + 1, vseq: versions[1].vseq, resource_type: 'Patient' },
    ]);

    expect(current).toEqual([{ resource_type: 'Patient', resource_id: first.id, vseq: versions[1].vseq, last_updated: second.lastUpdated }]);
    expect(repository.read('Patient', first.id)?.versionId).toBe(second.versionId);
  });

  it('leaves all three tables unchanged when a write fails validation or its precondition', () => {
    const { db, repository } = setup();
    const first = repository.create('Patient', { resourceType: 'Patient', name: [{ family: 'Petit' }] });
    const before = tables(db);

    const invalid = { resourceType: 'Patient', id: first.id, birthDate: '1981-02-29' }; // not a leap year
    expect(() => repository.update('Patient', first.id, invalid)).toThrow(FhirError);
    expect(() => repository.create('Patient', { resourceType: 'Patient', birthDate: '1981-02-29' })).toThrow(FhirError);
    expect(() => repository.update('Patient', 'new-id', { ...invalid, id: 'new-id' })).toThrow(FhirError);
    expect(() => repository.create('Patient', { resourceType: 'Patient', unknownElement: true })).toThrow(FhirError);
    expect(() =>
      repository.update('Patient', first.id, { resourceType: 'Patient', id: first.id, gender: 'female' }, 'not-the-current-version'),
    ).toThrow(/If-Match/);
    try {
      repository.update('Patient', first.id, invalid);
    } catch (error) {
      expect((error as FhirError).status).toBe(400);
    }
    expect(tables(db)).toEqual(before);
  });

  it('rolls back the version and current rows when the change-log insert fails (one transaction)', () => {
    const { db, repository } = setup();
    const first = repository.create('Patient', { resourceType: 'Patient', name: [{ family: 'Roux' }] });
    const before = tables(db);
    // Fault injection in SQLite itself: the last of the three inserts fails.
    db.exec("CREATE TEMP TRIGGER fail_change_log BEFORE INSERT ON change_log BEGIN SELECT RAISE(ABORT, 'change log is failing'); END");
    expect(() =>
      repository.update('Patient', first.id, { resourceType: 'Patient', id: first.id, name: [{ family: 'Roux-Blanc' }] }),
    ).toThrow(/change log is failing/);
    expect(() => repository.create('Patient', { resourceType: 'Patient' })).toThrow(/change log is failing/);
    expect(tables(db)).toEqual(before);
    expect(repository.read('Patient', first.id)?.versionId).toBe(first.versionId);

    db.exec('DROP TRIGGER fail_change_log');
    const { stored } = repository.update('Patient', first.id, { resourceType: 'Patient', id: first.id, name: [{ family: 'Roux-Blanc' }] });
    const after = tables(db);
    expect(after.versions).toHaveLength(2);
    expect(after.changes.map((row) => row.seq)).toEqual([before.changes[0].seq, before.changes[0].seq + 1]); // no gap left by the failure
    expect(after.versions[1].parent_ids).toBe(JSON.stringify([first.versionId]));
    expect(repository.read('Patient', first.id)?.versionId).toBe(stored.versionId);
  });
});

describe('keepPlannerStatistics', () => {
  it('gives the query planner statistics of the index tables at once, with ANALYZE bounded', () => {
    const db = openTracked(join(tempDir(), 'liaison.db'));
    const repository = new Repository(db);
    repository.transaction(() => {
      for (let n = 0; n < 300; n++) repository.create('Observation', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: `c${n % 5}` }] } });
    });
    const statistics = () => db.prepare("SELECT idx FROM sqlite_stat1 WHERE tbl = 'idx_token'").all().map((row) => (row as { idx: string }).idx);
    const started = performance.now();
    const kept = keepPlannerStatistics(db);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(statistics()).toContain('idx_token_lookup');
    expect(db.pragma('analysis_limit', { simple: true })).toBe(1000);
    kept.stop();
    close(db);
  });
});

describe('resource counts', () => {
  it('follow creates and updates-as-create, not updates nor refused writes', () => {
    const db = openTracked(join(tempDir(), 'liaison.db'));
    const repository = new Repository(db);
    const patient = repository.create('Patient', { resourceType: 'Patient', gender: 'female' });
    repository.create('Observation', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
    repository.update('Patient', patient.id, { resourceType: 'Patient', id: patient.id, gender: 'male' });
    repository.update('Patient', 'chosen-id', { resourceType: 'Patient', id: 'chosen-id' });
    expect(() => repository.create('Patient', { resourceType: 'Patient', birthDate: '1974-13-45' })).toThrow(FhirError);
    expect(() => repository.transaction(() => {
      repository.create('Patient', { resourceType: 'Patient' });
      throw new Error('rolled back');
    })).toThrow('rolled back');
    expect(repository.counts()).toEqual({ Observation: 1, Patient: 2 });
    close(db);
  });
});
