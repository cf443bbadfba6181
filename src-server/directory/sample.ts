import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from '../storage/database';
import type { Repository } from '../storage/repository';
import { importDirectoryFile, type ImportReport } from './import';

/** The small extraction bundled for `--demo` (a few hundred activity lines and their MSSanté mailboxes). */
export const DIRECTORY_SAMPLE_DIR = fileURLToPath(new URL('../../resources/directory-sample/', import.meta.url));

/** Imports the bundled sample, activity file first (mailboxes attach to what it wrote). */
export async function importDirectorySample(db: Db, repository: Repository): Promise<ImportReport[]> {
  const files = readdirSync(DIRECTORY_SAMPLE_DIR)
    .filter((name) => name.endsWith('.txt'))
    .sort((a, b) => Number(b.startsWith('PS_')) - Number(a.startsWith('PS_')));
  const reports: ImportReport[] = [];
  for (const name of files) reports.push(await importDirectoryFile(db, repository, `${DIRECTORY_SAMPLE_DIR}${name}`));
  return reports;
}
