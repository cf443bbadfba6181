import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readNodeFile, removeNodeFile } from './node-file';

/**
 * One node per data folder: a node holds `<data>/node.lock` for as long as it runs, and a second one (another
 * `liaison serve`, the desktop app, a command that writes) finds it taken. The lock is SQLite's exclusive lock on that
 * small file, an OS file lock: it goes with the process, so a node killed or crashed leaves no stale lock behind,
 * whatever file it left (node.json names a dead process then).
 */

export const LOCK_FILE = 'node.lock';

export interface FolderLock {
  release(): void;
}

/** The data folder is served by another node (or a command holds it). */
export class FolderInUseError extends Error {
  constructor(
    readonly dataDir: string,
    /** The running node's address, when its node.json says it. */
    readonly url?: string,
    readonly pid?: number,
  ) {
    super(
      url
        ? `The data folder ${dataDir} is already served by a Liaison node at ${url} (process ${pid}): a data folder can be served by one node at a time. Stop that node first, or use it.`
        : `The data folder ${dataDir} is in use by another Liaison process (a node or a command): a data folder can be served by one node at a time. Try again once it is done.`,
    );
    this.name = 'FolderInUseError';
  }
}

/**
 * Takes the data folder's lock, or throws FolderInUseError naming the node that holds it. Holding it, the caller
 * knows no node serves the folder: a node.json left by a crash is removed, so nothing reads a dead address from it.
 */
export function lockDataFolder(dataDir: string): FolderLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dataDir, LOCK_FILE));
  try {
    db.pragma('busy_timeout = 0');
    // Kept until the connection closes: released by the OS with the process, however it ends.
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    // node.json names the holder only if its process is alive: a command holds the lock otherwise.
    const running = readNodeFile(dataDir);
    if (running && isAlive(running.pid)) throw new FolderInUseError(dataDir, new URL(running.fhirBaseUrl).origin, running.pid);
    throw new FolderInUseError(dataDir);
  }
  removeNodeFile(dataDir);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      db.close();
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
