import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMainThread } from 'node:worker_threads';

/**
 * A data folder is private to the user whose node runs on it, whatever made it (a folder created beforehand under
 * umask 022, a copy, an older Liaison): at each start the folder and everything under it is made owner-only (folders
 * 0700, files 0600) and the files the node creates afterwards are owner-only from the start. On Windows the folder
 * gets an ACL that grants the current user alone (its files inherit it).
 */

const FOLDER_MODE = 0o700;
const FILE_MODE = 0o600;

/** What was fixed, one line for the log; undefined when everything was already private. */
export function makeFolderPrivate(dataDir: string, platform: NodeJS.Platform = process.platform, run: typeof execFileSync = execFileSync): string | undefined {
  if (platform === 'win32') return restrictWindowsAcl(dataDir, run);
  const fixed: string[] = [];
  const visit = (path: string) => {
    const stat = lstatSync(path);
    // A link is not followed: what it points at is not the folder's to change.
    if (stat.isSymbolicLink()) return;
    const wanted = stat.isDirectory() ? FOLDER_MODE : FILE_MODE;
    if ((stat.mode & 0o777) !== wanted) {
      chmodSync(path, wanted);
      fixed.push(`${relative(dataDir, path) || '.'} ${(stat.mode & 0o777).toString(8).padStart(4, '0')}`);
    }
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dataDir);
  // From now on this process creates files owner-only (SQLite's -wal and -shm follow the database's mode anyway).
  // A worker thread cannot change it: the node starts on the main thread, its tests run in forks.
  if (isMainThread) process.umask(0o077);
  if (!fixed.length) return undefined;
  const shown = fixed.slice(0, 8).join(', ');
  return `Made the data folder ${dataDir} private (folders 0700, files 0600): fixed ${fixed.length} (${shown}${fixed.length > 8 ? ', …' : ''}).`;
}

/**
 * Windows: the folder's inherited permissions replaced by full control for the current user alone, applied to what
 * is under it (`icacls /T`). Not run on this project's CI machines (Linux): the code path is kept short for that.
 */
function restrictWindowsAcl(dataDir: string, run: typeof execFileSync): string | undefined {
  const user = process.env.USERDOMAIN ? `${process.env.USERDOMAIN}\\${process.env.USERNAME}` : process.env.USERNAME;
  if (!user) return `Could not make ${dataDir} private: USERNAME is not set.`;
  run('icacls', [dataDir, '/inheritance:r', '/grant:r', `${user}:(OI)(CI)F`, '/T', '/C', '/Q'], { stdio: 'ignore', windowsHide: true });
  return undefined;
}
