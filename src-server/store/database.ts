import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataKeyError, isPlaintextDatabase } from '../data-key';

export { isPlaintextDatabase };
import { migrations, schemaVersion } from './migrations';

export type Db = Database.Database;

/**
 * Prepared statements by SQL text, bounded (oldest dropped first): query shapes come back with other values, and
 * compiling the SQL would otherwise cost more than running it for selective queries.
 */
export function statementCache(db: Db, size: number): (sql: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = statements.get(sql);
    if (statement) return statement;
    statement = db.prepare(sql);
    if (statements.size >= size) statements.delete(statements.keys().next().value as string);
    statements.set(sql, statement);
    return statement;
  };
}

/** Raised when the file was written by a newer Liaison: opening it could corrupt data it does not understand. */
export class SchemaTooNewError extends Error {
  constructor(file: string, found: number) {
    super(
      `The database ${file} has schema version ${found}, newer than the ${schemaVersion} this version of Liaison knows. ` +
        'It was written by a newer Liaison; upgrade Liaison to open it. Nothing was changed.',
    );
    this.name = 'SchemaTooNewError';
  }
}


/** A database in clear where an encrypted one is expected: never opened as it is (it would stay in clear). */
export class PlaintextDatabaseError extends Error {
  constructor(file: string) {
    super(
      `La base ${file} n'est pas chiffrée : chiffrez-la avec « liaison encrypt --data <dossier> » / ` +
        `The database ${file} is not encrypted: encrypt it with \`liaison encrypt --data <folder>\`. Nothing was changed.`,
    );
    this.name = 'PlaintextDatabaseError';
  }
}

/** A store encrypted with the cipher of an earlier Liaison (SQLCipher 4): converted before the node opens it. */
export class PreviousCipherDatabaseError extends Error {
  constructor(file: string) {
    super(
      `La base ${file} est chiffrée au format d'une version précédente : convertissez-la avec « liaison encrypt --data <dossier> » / ` +
        `The database ${file} is encrypted in an earlier Liaison's format: convert it with \`liaison encrypt --data <folder>\`. Nothing was changed.`,
    );
    this.name = 'PreviousCipherDatabaseError';
  }
}

/** How a connection reaches a store: its file and, when it is encrypted, its key (the data key's 'database' subkey). */
export interface DatabaseAccess {
  file: string;
  key?: Uint8Array;
}

export interface OpenDatabaseOptions {
  /**
   * The store's key (32 bytes, AEGIS-256): its pages, WAL included, are encrypted. Absent: a store in clear (unit
   * tests, and `liaison encrypt` reading the old folder); the node always gives one.
   */
  key?: Uint8Array;
  /**
   * SQLite `synchronous` level. NORMAL (the default, with WAL) keeps every acknowledged commit across a crash or
   * kill of the process; FULL also keeps the last commits across a power loss, at the cost of an fsync per write.
   */
  synchronous?: 'NORMAL' | 'FULL';
}

const MMAP_BYTES = 2147418112;

/**
 * A read-only connection to a store another connection writes (worker threads): it waits out the writer's
 * checkpoints as the writer waits out its reads, and reads through the same memory map, so its reads cost what
 * the writer's do.
 */
export function openReader(access: DatabaseAccess): Db {
  const db = new Database(access.file, { readonly: true, fileMustExist: true });
  try {
    unlock(db, access.file, access.key);
  } catch (error) {
    db.close();
    throw error;
  }
  db.pragma('busy_timeout = 5000');
  db.pragma(`mmap_size = ${MMAP_BYTES}`);
  return db;
}

/** Keys of the connections opened here, so that a thread of the node opens its own connection the same way. */
const keys = new WeakMap<Db, Uint8Array>();

/** What a worker thread needs to open its own connection to the store `db` (passed in its workerData). */
export function databaseAccess(db: Db): DatabaseAccess {
  const key = keys.get(db);
  return { file: db.name, ...(key ? { key } : {}) };
}


/**
 * The cipher of the store's pages: AEGIS-256 (SQLite3 Multiple Ciphers), an authenticated cipher: each page carries
 * its own tag, so a page changed on disk is refused when read, as SQLCipher's HMAC did, at a fraction of the cost
 * (creates keep ≥ 0.85 of the store in clear, SQLCipher 4's AES-CBC with HMAC-SHA512 0.4–0.5: docs/security.md).
 * The raw key (x'…'): no key derivation at each open.
 */
function cipherPragmas(key: Uint8Array, verb: 'key' | 'rekey'): string[] {
  return ["cipher = 'aegis'", "algorithm = 'aegis-256'", `${verb} = "x'${Buffer.from(key).toString('hex')}'"`];
}

/**
 * The previous cipher's key (SQLCipher 4, the store's cipher before AEGIS-256): a folder written then opens with it, to
 * be converted (encrypt-folder.ts).
 */
export function keyWithPreviousCipher(db: Db, key: Uint8Array): void {
  for (const pragma of ["cipher = 'sqlcipher'", 'legacy = 4', `key = "x'${Buffer.from(key).toString('hex')}'"`]) db.pragma(pragma);
}

/** Gives a raw connection to an encrypted store its key, as the node's own connections get it (tests, tools). */
export function keyDatabase(db: Db, key: Uint8Array): void {
  for (const pragma of cipherPragmas(key, 'key')) db.pragma(pragma);
}

/** True when the key opens the connection's file (it reads the schema version, the first read). */
function opens(db: Db): boolean {
  try {
    db.pragma('user_version', { simple: true });
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_NOTADB') return false;
    throw error;
  }
}

/** True when `file` is a store in SQLCipher 4's format under `key` (written by a Liaison before AEGIS). */
export function isPreviousCipherDatabase(file: string, key: Uint8Array): boolean {
  if (!existsSync(file) || isPlaintextDatabase(file)) return false;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    keyWithPreviousCipher(db, key);
    return opens(db);
  } finally {
    db.close();
  }
}

/**
 * Sets the key before anything is read. A plaintext file is refused rather than read; a wrong key shows at the first
 * read, and a file in the previous cipher's format is named as such (converted by `liaison encrypt`, or by the
 * desktop at its start).
 */
function unlock(db: Db, file: string, key: Uint8Array | undefined): void {
  if (!key) return;
  if (key.length !== 32) throw new DataKeyError(`a database key is 32 bytes, not ${key.length}.`);
  if (isPlaintextDatabase(file)) throw new PlaintextDatabaseError(file);
  keyDatabase(db, key);
  if (!opens(db)) {
    if (isPreviousCipherDatabase(file, key)) throw new PreviousCipherDatabaseError(file);
    throw new DataKeyError(`it does not open ${file}.`);
  }
  keys.set(db, key);
}

export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Db {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Created owner-only: SQLite gives its -wal and -shm files the database's mode.
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file);
  try {
    unlock(db, file, options.key);
    // Before anything that writes: even switching the journal mode would change a newer Liaison's file.
    refuseNewerSchema(db, file);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // A write dirties some fifteen pages, most at random places of the index B-trees, and a checkpoint copies
    // each page once however often the WAL holds it: checkpointing every 50,000 pages (200 MB, not SQLite's
    // 1,000) measured 2,850 -> 3,400 creates/s and a p99 of 56 -> 8 ms over HTTP (10,000 and 30,000 were in
    // between). After a burst, QuietCheckpoint truncates the WAL.
    db.pragma('wal_autocheckpoint = 50000');
    // Savepoints (one per write under group commit) journal in memory, not in a temporary file.
    db.pragma('temp_store = MEMORY');
    // A write inserts its index rows at random places of the lookup B-trees: past some 50,000 resources they no longer
    // fit SQLite's default 2 MB cache. 64 MB (at most, as pages are used) measured 5,050 -> 6,380 replicated
    // Patients/s into a store of 100,000.
    db.pragma('cache_size = -65536');
    // Reads of pages past that cache go through a memory map rather than a read() per page (up to SQLite's 2 GB
    // limit): a directory search reads a few hundred pages, and with a cold cache on 300,000 directory lines this
    // measured p95 4.1 -> 1.1 ms. Writes still go through the WAL.
    db.pragma(`mmap_size = ${MMAP_BYTES}`);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Writes `target`, the database `source` (no connection open to it) encrypted under `key` with the store's cipher:
 * `source` is in clear, or in the previous cipher's format under the same key. A copy, then its every page rewritten
 * (SQLite3 Multiple Ciphers' rekey, which needs the rollback journal: the node turns WAL back on when it opens it).
 * `source` is left as it was; `target` is fsynced.
 */
export function encryptDatabaseFile(source: string, target: string, key: Uint8Array): void {
  const inClear = isPlaintextDatabase(source);
  if (!inClear && !isPreviousCipherDatabase(source, key)) throw new Error(`${source} is neither in clear nor in the previous cipher's format.`);
  const keyed = (db: Db) => {
    if (!inClear) keyWithPreviousCipher(db, key);
  };
  const old = new Database(source);
  try {
    keyed(old);
    // Whatever the WAL holds goes into the file first.
    old.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    old.close();
  }
  copyFileSync(source, target);
  chmodSync(target, 0o600);
  const copy = new Database(target);
  try {
    keyed(copy);
    copy.pragma('journal_mode = DELETE');
    for (const pragma of cipherPragmas(key, 'rekey')) copy.pragma(pragma);
  } finally {
    copy.close();
  }
  const check = new Database(target, { readonly: true });
  try {
    keyDatabase(check, key);
    if (isPlaintextDatabase(target) || !opens(check)) throw new Error(`${target} was not encrypted.`);
  } finally {
    check.close();
  }
  const fd = openSync(target, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Throws SchemaTooNewError when the database was written by a newer Liaison; reads its version only. */
function refuseNewerSchema(db: Db, file: string): void {
  const found = db.pragma('user_version', { simple: true }) as number;
  if (found > schemaVersion) throw new SchemaTooNewError(file, found);
}

/**
 * Refuses a database file written by a newer Liaison before anything else is done in its folder (a node checks it
 * before it takes the folder's lock), leaving the file as it was. A missing file is fine: the node will create it.
 */
export function checkDatabaseVersion(file: string, key?: Uint8Array): void {
  if (!existsSync(file)) return;
  const db = new Database(file);
  try {
    unlock(db, file, key);
    refuseNewerSchema(db, file);
  } finally {
    db.close();
  }
}

function migrate(db: Db): void {
  const found = db.pragma('user_version', { simple: true }) as number;
  for (let version = found; version < schemaVersion; version++) {
    db.transaction(() => {
      db.exec(migrations[version].sql);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  db.prepare('INSERT OR IGNORE INTO node_meta (key, value) VALUES (?, ?), (?, ?)').run(
    'node_id',
    randomUUID(),
    'created_at',
    new Date().toISOString(),
  );
}

/** How often a running node refreshes its query-planner statistics. */
const OPTIMIZE_EVERY_MS = 60 * 60 * 1000;

/**
 * Keeps SQLite's query-planner statistics fresh, as SQLite advises for a long-lived connection: `PRAGMA optimize`
 * at open, now and then, and at close, each ANALYZE bounded by `analysis_limit` (milliseconds, whatever the size).
 * Without statistics a grown store can get plans that range-scan a lookup index instead of a key lookup.
 */
export function keepPlannerStatistics(db: Db): { stop(): void } {
  refreshPlannerStatistics(db);
  const timer = setInterval(() => db.pragma('optimize'), OPTIMIZE_EVERY_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      db.pragma('optimize');
    },
  };
}

/**
 * Statistics for every table that needs them, sampled (analysis_limit). A writer that changed much (a directory
 * import) calls it before it closes: on a national directory the first pass takes seconds, which would otherwise
 * hold the node's next start.
 */
export function refreshPlannerStatistics(db: Db): void {
  db.pragma('analysis_limit = 1000');
  db.pragma('optimize = 0x10002');
}

export function readSchemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function readNodeId(db: Db): string {
  return (db.prepare("SELECT value FROM node_meta WHERE key = 'node_id'").get() as { value: string }).value;
}
