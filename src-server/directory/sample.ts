import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from '../store/database';
import type { Repository } from '../store/repository';
import { importDirectoryFile, type ImportReport } from './import';

/** The small extraction bundled for `--demo` (a few hundred activity lines and their MSSanté mailboxes). */
/** More practitioners than the sample holds: the node has a directory of its own. */
const SAMPLE_PRACTITIONERS_AT_MOST = 1000;
export const DIRECTORY_SAMPLE_DIR = fileURLToPath(new URL('../../resources/directory-sample/', import.meta.url));

/**
 * Imports the bundled sample, activity file first (mailboxes attach to what it wrote), into a node without a
 * directory of its own. One that has one keeps it untouched: the sample is a whole extraction, and importing it
 * would archive every entry it lacks (the national directory, on a real data folder started with `--demo`).
 */
export async function importDirectorySample(db: Db, repository: Repository, workerUrl?: URL): Promise<ImportReport[]> {
  const practitioners = repository.counts().Practitioner ?? 0;
  if (practitioners > SAMPLE_PRACTITIONERS_AT_MOST) return [];
  const files = readdirSync(DIRECTORY_SAMPLE_DIR)
    .filter((name) => name.endsWith('.txt'))
    .sort((a, b) => Number(b.startsWith('PS_')) - Number(a.startsWith('PS_')));
  const reports: ImportReport[] = [];
  for (const name of files) reports.push(await importDirectoryFile(db, repository, `${DIRECTORY_SAMPLE_DIR}${name}`, { workerUrl }));
  return reports;
}
