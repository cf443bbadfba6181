import type { NodeModule } from '../rest/extensions';
import type { Store } from '../store/store';
import { importDirectoryFile, importReports, type ImportOptions, type ImportReport } from './import';
import { importDirectorySample } from './sample';

/**
 * The national directory of health professionals (docs/directory.md): imports of the ANS extractions into the store,
 * their reports, and the bundled sample the demo imports. Its resources are read-only through the API.
 */

export interface DirectoryModule extends NodeModule {
  /** Imports one extraction file (activity or MSSanté). */
  importFile(path: string, options?: Omit<ImportOptions, 'workerUrl'>): Promise<ImportReport>;
  /** The reports of past imports, newest first. */
  reports(): ImportReport[];
  /** Imports the bundled sample, into a store without a directory of its own. */
  importSample(): Promise<ImportReport[]>;
}

export function directoryModule(store: Store, settings: { workerUrl?: URL } = {}): DirectoryModule {
  const { db, repository } = store;
  return {
    importFile: (path, options) => importDirectoryFile(db, repository, path, { ...options, workerUrl: settings.workerUrl }),
    reports: () => importReports(db),
    importSample: () => importDirectorySample(db, repository, settings.workerUrl),
  };
}
