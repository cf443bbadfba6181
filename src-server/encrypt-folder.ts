import { existsSync, renameSync, rmSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { subkey, syncFolder } from './data-key';
import { DATABASE_FILE } from './node';
import { lockDataFolder } from './node-lock';
import { encryptDatabaseFile, isPlaintextDatabase, isPreviousCipherDatabase } from './store/database';
import { SNAPSHOT_FOLDER } from './text/text-index';

/**
 * `liaison encrypt`: a data folder written before the data key (its database in clear), or encrypted with the
 * previous cipher (SQLCipher 4, before AEGIS-256: docs/security.md), converted in place, crash-safely. The encrypted
 * database is written beside the old one and fsynced, then renamed over it in one atomic step: killed at any moment,
 * the folder holds either the old database, whole, or the new one, whole and encrypted, never neither; run again, it
 * finishes the work. A folder in clear loses its text index snapshot (the index is
 * rebuilt from the database at the next start). The caller holds the folder's lock and gives the data key.
 */

const ENCRYPTING = `${DATABASE_FILE}.encrypting`;

export interface EncryptionPlan {
  /** Bytes of the database (with its WAL) to convert. */
  bytes: number;
  /** Free bytes it needs on the folder's disk: a copy of the database, and as much again for the rewrite. */
  needed: number;
  available: number;
  /** False when the database is encrypted with the store's cipher already (nothing to do). */
  toDo: boolean;
}

/** Whether the folder's database is to be converted: in clear, or in the previous cipher's format under the data key. */
function toConvert(file: string, dataKey: Buffer): boolean {
  return isPlaintextDatabase(file) || isPreviousCipherDatabase(file, subkey(dataKey, 'database'));
}

export function planEncryption(dataDir: string, dataKey: Buffer): EncryptionPlan {
  const file = join(dataDir, DATABASE_FILE);
  const toDo = toConvert(file, dataKey);
  const size = (name: string) => (existsSync(join(dataDir, name)) ? statSync(join(dataDir, name)).size : 0);
  // Nothing to do (a new folder, which may not exist yet, or one encrypted already): no disk to measure.
  if (!toDo) return { bytes: 0, needed: 0, available: 0, toDo };
  const bytes = size(DATABASE_FILE) + size(`${DATABASE_FILE}-wal`);
  const { bavail, bsize } = statfsSync(dataDir);
  return { bytes, needed: 2 * bytes, available: bavail * bsize, toDo };
}

/**
 * The desktop's `liaison encrypt`: a folder written in clear by an older Liaison is converted when the app starts on
 * it (the key just made by the keychain), before the node opens it; refused, changing nothing, without the disk it
 * needs. Holds the folder's lock meanwhile. What it did, if anything.
 */
export function encryptFolderInClear(dataDir: string, dataKey: Buffer): string | undefined {
  const plan = planEncryption(dataDir, dataKey);
  if (!plan.toDo) return undefined;
  const mib = (bytes: number) => `${Math.ceil(bytes / 1024 / 1024)} MiB`;
  if (plan.available < plan.needed) {
    throw new Error(
      `Chiffrer les données demande ${mib(plan.needed)} d'espace libre, ${mib(plan.available)} disponibles / Encrypting the data needs ${mib(plan.needed)} of free disk, ${mib(plan.available)} available. Nothing was changed.`,
    );
  }
  const lock = lockDataFolder(dataDir);
  try {
    return encryptFolder(dataDir, dataKey).join(' ');
  } finally {
    lock.release();
  }
}

/** Converts the folder (see above); what it did, one line each. */
export function encryptFolder(dataDir: string, dataKey: Buffer): string[] {
  const done: string[] = [];
  const file = join(dataDir, DATABASE_FILE);
  const encrypting = join(dataDir, ENCRYPTING);
  // A copy left by a run that was killed is incomplete: made again from the start.
  rmSync(encrypting, { force: true });
  rmSync(`${encrypting}-journal`, { force: true });
  const inClear = isPlaintextDatabase(file);
  if (inClear || isPreviousCipherDatabase(file, subkey(dataKey, 'database'))) {
    // A snapshot written in clear holds words of the records; the index is rebuilt from the database at the next start.
    if (inClear) rmSync(join(dataDir, SNAPSHOT_FOLDER), { recursive: true, force: true });
    // Checkpoints the old database (its WAL folded in: the file is whole on its own), then writes the copy.
    encryptDatabaseFile(file, encrypting, subkey(dataKey, 'database'));
    // Empty after the checkpoint, and the old file's: the new database starts its own.
    rmSync(`${file}-wal`, { force: true });
    rmSync(`${file}-shm`, { force: true });
    renameSync(encrypting, file);
    syncFolder(dataDir);
    done.push(inClear ? `Encrypted ${file}; the text index will be rebuilt at the next start.` : `Converted ${file} to the store's cipher (AEGIS-256).`);
  }
  // The documents (binaries/) are sealed by store/binary-store.ts encryptBinaries: `liaison encrypt` runs it at once,
  // the node at its start, in the background (docs/security.md).
  return done;
}
