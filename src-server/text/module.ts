import type { HealthProblem, NodeModule } from '../rest/extensions';
import { databaseAccess } from '../store/database';
import type { Store } from '../store/store';
import { TextIndex, type TextIndexHealth } from './text-index';
import { TextQueries } from './text-queries';

/**
 * The text index (docs/access.md#the-text-index): a thread that follows the change log into FlexSearch, nudged after
 * each commit, and the text matcher the FHIR API asks before a search with text filters runs.
 */

export interface TextSettings {
  snapshotFolder: string;
  /** The text-index key (32 bytes): the snapshot is sealed under it. */
  snapshotKey: Buffer;
  /** The thread's module, when the node runs bundled (the desktop build); its source otherwise. */
  workerUrl?: URL;
}

export interface TextModule extends NodeModule {
  index: TextIndex;
  matcher: TextQueries;
  health(): Promise<readonly HealthProblem[]>;
  close(): Promise<void>;
}

export function textModule(store: Store, settings: TextSettings): TextModule {
  const index = new TextIndex({ database: databaseAccess(store.db), snapshotFolder: settings.snapshotFolder, snapshotKey: settings.snapshotKey, nodeId: store.repository.nodeId, workerUrl: settings.workerUrl });
  const stopListening = store.commits.listen(() => index.changed());
  return {
    index,
    matcher: new TextQueries(index, () => store.repository.definitions),
    async health() {
      return textIndexTrouble(await index.status()).map((reason) => ({ part: 'text-index', reason }));
    },
    async close() {
      stopListening();
      await index.close();
    },
  };
}

/** Text searches cannot answer while the index rebuilds, replays or restarts; not while its thread starts, a moment of every start. */
function textIndexTrouble(text: TextIndexHealth): string[] {
  switch (text.state) {
    case 'ready':
    case 'starting':
    case 'closed':
      return [];
    case 'rebuilding':
      return [`The text index is being rebuilt (at change ${text.indexedSeq}): name, address, _content and _text searches answer 503 until it is done`];
    case 'replaying':
      return [`The text index is indexing the changes made after its snapshot (at change ${text.indexedSeq}): name, address, _content and _text searches answer 503 until it is done`];
    case 'unresponsive':
      return [`The text index is not answering (${text.error}): name, address, _content and _text searches may answer 503`];
    case 'restarting':
      return [text.error ?? 'The text index thread stopped and restarts'];
  }
}
