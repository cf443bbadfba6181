import Database from 'better-sqlite3';
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Keychain } from '../../src-server/data-key';
import { subkey } from '../../src-server/data-key';
import { isPlaintextDatabase, keyDatabase, type Db } from '../../src-server/store/database';

/**
 * The data keys of the tests' data folders: one per folder, the same each time the folder is opened (a test stops a
 * node and starts another on its folder), so every node of the suite runs encrypted the way the app runs it.
 */

export function testDataKey(dataDir: string): Buffer {
  return createHmac('sha256', 'liaison test data key').update(resolve(dataDir)).digest();
}

/** The key of the folder's database, for tests that open it without a node. */
export function testDatabaseKey(dataDir: string): Buffer {
  return subkey(testDataKey(dataDir), 'database');
}

/** A key file holding the folder's key, outside it, as `liaison serve` reads it (LIAISON_KEY_FILE). */
export function testKeyFile(dataDir: string): string {
  const folder = join(tmpdir(), 'liaison-test-keys');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const file = join(folder, `${createHmac('sha256', 'file').update(resolve(dataDir)).digest('hex').slice(0, 24)}.key`);
  writeFileSync(file, `${testDataKey(dataDir).toString('hex')}\n`, { mode: 0o600 });
  return file;
}

/** A stand-in for the desktop's keychain (Electron safeStorage cannot run here): wraps with a fixed XOR pad. */
export function standInKeychain(available = true): Keychain {
  const pad = Buffer.alloc(32, 0x5c);
  const xor = (key: Buffer) => Buffer.from(key.map((byte, i) => byte ^ pad[i % pad.length]));
  return {
    available: () => available,
    wrap: (key) => Buffer.concat([Buffer.from('stand-in:'), xor(key)]),
    unwrap: (wrapped) => {
      if (!wrapped.subarray(0, 9).equals(Buffer.from('stand-in:'))) throw new Error('not wrapped by this keychain');
      return xor(wrapped.subarray(9));
    },
  };
}

/** The passphrase prompt of a desktop that has a keychain: never asked. */
export const noPassphrase = (): Promise<string> => Promise.reject(new Error('no passphrase should be asked with a keychain'));

/** Our environment with the folder's key file, for a `liaison` command a test spawns itself. */
export function keyEnv(dataDir: string): NodeJS.ProcessEnv {
  return { ...process.env, LIAISON_KEY_FILE: testKeyFile(dataDir) };
}

/** Gives a raw better-sqlite3 connection to a test folder's database its key, as openDatabase does. */
export function unlockTestDatabase(db: Db, dataDir: string): void {
  keyDatabase(db, testDatabaseKey(dataDir));
}

/**
 * Rewrites a store (closed, in clear or encrypted under `key`) in the format of a Liaison before AEGIS-256: SQLCipher
 * 4 under `key`, as `liaison encrypt` and the desktop find such a folder.
 */
export function toPreviousCipher(file: string, key: Buffer): void {
  const inClear = isPlaintextDatabase(file);
  const db = new Database(file);
  try {
    if (!inClear) keyDatabase(db, key);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('journal_mode = DELETE');
    for (const pragma of ["cipher = 'sqlcipher'", 'legacy = 4', `rekey = "x'${key.toString('hex')}'"`]) db.pragma(pragma);
  } finally {
    db.close();
  }
}
