import { join } from 'node:path';
import type { NodeModule } from '../rest/extensions';
import { refusal } from '../fhir/outcome';
import type { Store } from '../store/store';
import { importDirectoryFile, importReports, type ImportOptions, type ImportReport } from './import';
import { checkDirectorySettings, saveDirectorySettings, type DirectorySettings as SavedDirectorySettings } from '../node-settings';
import { DirectoryRefresh, effectiveRefreshSettings, type RefreshHeldBack, type RefreshOptions, type RefreshSettings } from './refresh';
import { importDirectorySample } from './sample';
import type { ExtractionSource } from './source';

/**
 * The national directory of health professionals (docs/directory.md): imports of the ANS extractions into the store,
 * their reports, the daily refresh from the ANS service, and the bundled sample the demo imports. Its resources are
 * read-only through the API. One import at a time: an import waits for the one running to end.
 */

export interface DirectoryModule extends NodeModule {
  /** Imports one extraction file (activity or MSSanté), or an entry of a publication's ZIP. */
  importFile(source: ExtractionSource, options?: Omit<ImportOptions, 'workerUrl'>): Promise<ImportReport>;
  /** Whether an import runs now (the admin API's imports then answer 409). */
  readonly importing: boolean;
  /** The reports of past imports, newest first. */
  reports(): ImportReport[];
  /** Imports the bundled sample, into a store without a directory of its own. */
  importSample(): Promise<ImportReport[]>;
  /** The daily refresh from the ANS extraction service. */
  refresh: DirectoryRefresh;
  /**
   * Saves the refresh's source and/or proxy (Réglages, the CLI through the node; what is not given stays) and follows
   * them now; SettingsError when they do not check out.
   */
  setSource(saved: unknown): void;
  /**
   * What holds the refresh back (set once the modules it asks exist): the practice not set up yet, and the peer the
   * node follows the directory from, if any (its name).
   */
  holdRefreshBack(when: { setupPending: () => boolean; directoryPeer: () => string | undefined }): void;
}

export interface DirectoryModuleSettings {
  workerUrl?: URL;
  dataDir: string;
  /** The data folder's settings of the refresh (source, proxy). */
  saved: SavedDirectorySettings;
  demo: boolean;
  /** This run's: a source and proxy over the saved ones, and the internals (trust anchors, timings, size cap: tests give theirs). */
  refreshOptions?: RefreshSettings & Partial<RefreshOptions>;
}

export const DOWNLOAD_FOLDER = 'directory-downloads';

export function directoryModule(store: Store, settings: DirectoryModuleSettings): DirectoryModule {
  const { db, repository } = store;
  let queue: Promise<unknown> = Promise.resolve();
  let importing = 0;
  const importFile = (source: ExtractionSource, options?: Omit<ImportOptions, 'workerUrl'>): Promise<ImportReport> => {
    importing++;
    const run = queue.then(() => importDirectoryFile(db, repository, source, { ...options, workerUrl: settings.workerUrl }));
    queue = run.catch(() => {}).finally(() => importing--);
    return run;
  };
  const inForce = (saved: SavedDirectorySettings) => effectiveRefreshSettings(saved, { demo: settings.demo, override: settings.refreshOptions });
  let saved = settings.saved;
  let holdBack: Parameters<DirectoryModule['holdRefreshBack']>[0] = { setupPending: () => false, directoryPeer: () => undefined };
  // A source somebody chose (saved, or this run's) is fetched at once; the default one waits for the set-up.
  const chosen = () => saved.source !== undefined || settings.refreshOptions?.source !== undefined;
  const heldBack = (): RefreshHeldBack | undefined => (holdBack.directoryPeer() !== undefined ? 'directory-peer' : holdBack.setupPending() && !chosen() ? 'setup' : undefined);
  const refresh = new DirectoryRefresh(db, importFile, inForce(saved), { folder: join(settings.dataDir, DOWNLOAD_FOLDER), heldBack, ...settings.refreshOptions });
  return {
    importFile,
    get importing() {
      return importing > 0;
    },
    reports: () => importReports(db),
    importSample: () => importDirectorySample(db, repository, settings.workerUrl),
    refresh,
    setSource(given) {
      // What is not given stays as it was (a new source keeps the proxy).
      const checked = checkDirectorySettings(given);
      const peer = holdBack.directoryPeer();
      // One source per node: turning the refresh on beside a directory peer would take the directory from two.
      if (checked.source !== undefined && checked.source !== 'off' && peer !== undefined) {
        throw refusal(409, 'directory-source-taken', `This node follows the directory from '${peer}' already: remove that peer first`, 'source');
      }
      saved = { ...saved, ...checked };
      saveDirectorySettings(settings.dataDir, saved);
      refresh.configure(inForce(saved));
    },
    holdRefreshBack(when) {
      holdBack = when;
    },
    start: () => refresh.start(),
    health: () => refresh.problems(),
    close: () => refresh.close(),
  };
}
