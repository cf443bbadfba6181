import type { NodeModule } from '../rest/extensions';
import type { Store } from '../store/store';
import { TextIndex } from './text-index';
import { TextQueries } from './text-queries';

/**
 * The text index (docs/access.md#the-text-index): a thread that follows the change log into FlexSearch, nudged after
 * each commit, and the text matcher the FHIR API asks before a search with text filters runs.
 */

export interface TextSettings {
  /** The database file, which the thread reads through a connection of its own. */
  dbFile: string;
  snapshotFolder: string;
  /** The text-index key (32 bytes): the snapshot is sealed under it. */
  snapshotKey: Buffer;
  /** The thread's module, when the node runs bundled (the desktop build); its source otherwise. */
  workerUrl?: URL;
}

export interface TextModule extends NodeModule {
  index: TextIndex;
  matcher: TextQueries;
  close(): Promise<void>;
}

export function textModule(store: Store, settings: TextSettings): TextModule {
  const index = new TextIndex({ dbFile: settings.dbFile, snapshotFolder: settings.snapshotFolder, snapshotKey: settings.snapshotKey, nodeId: store.repository.nodeId, workerUrl: settings.workerUrl });
  const stopListening = store.commits.listen(() => index.changed());
  return {
    index,
    matcher: new TextQueries(index, () => store.repository.definitions),
    async close() {
      stopListening();
      await index.close();
    },
  };
}
