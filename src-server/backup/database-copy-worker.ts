import { parentPort, workerData } from 'node:worker_threads';
import { openReader, type DatabaseAccess } from '../store/database';

/**
 * The backup's copy of the database, in a thread of its own so that the node serving meanwhile is not held:
 * `VACUUM INTO` reads one snapshot of the database (one read transaction, so the copy is consistent while writes go
 * on in WAL) into a new file. Unlike SQLite's backup API between two connections, it needs no key for the new file
 * under SQLite3 Multiple Ciphers: the copy is sealed like the database it comes from (the attached file takes the
 * main database's cipher and key), so the database in a backup stays as encrypted as on disk.
 */

export interface DatabaseCopyJob {
  /** The database and its key (never in argv or env). */
  database: DatabaseAccess;
  target: string;
}

const job = workerData as DatabaseCopyJob;
try {
  const db = openReader(job.database);
  try {
    db.prepare('VACUUM INTO ?').run(job.target);
  } finally {
    db.close();
  }
  parentPort!.postMessage({ done: true });
} catch (error) {
  parentPort!.postMessage({ done: false, message: (error as Error).message });
}
