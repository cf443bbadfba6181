import { parentPort, workerData } from 'node:worker_threads';
import { openReader, type DatabaseAccess } from '../store/database';
import { VersionReader } from '../store/version-reader';
import { SearchParameters, type SearchParameterDefinition } from '../fhir/search/parameters';
import { ActivityPreparer, type MappedResource, type ParameterIds } from './activity-preparer';
import { ID_PREFIXES, type ImportedType } from './ids';
import type { ActivityRecord, Layout } from './layouts';
import type { TextEncoding } from './line-reader';
import { scanExtraction, type ScannedChunk } from './scan';

/**
 * The activity import's own thread: it reads, parses and maps the file, prepares the resources new to the store
 * (checks, index rows), and hands the storing thread (the import's caller, which alone writes the database) one chunk at a
 * time, then the ids the file no longer has. It stays at most AHEAD chunks ahead of the storing thread, so a slow disk or a
 * busy node never makes it buffer the whole file.
 */

export interface ActivityWorkerConfig {
  /** The store's database file, read (only) to tell new resources from those it has. */
  database: DatabaseAccess;
  path: string;
  encoding: TextEncoding;
  layout: Layout<ActivityRecord>;
  chunkBytes?: number;
  /** The custom search parameters in force where the storing thread runs. */
  customParameters: readonly SearchParameterDefinition[];
  /** The ids of the directory types' parameters in the storing thread's database. */
  parameterIds: ParameterIds;
}

export type FromActivityWorker =
  | { kind: 'chunk'; chunk: ScannedChunk; resources: MappedResource[] }
  | { kind: 'done'; persons: number; resources: MappedResource[]; unseen: Record<ImportedType, string[]> }
  | { kind: 'failed'; message: string };

/** The storing thread has stored one more chunk. */
export type ToActivityWorker = { kind: 'written' };

const AHEAD = 2;

const port = parentPort!;
const config = workerData as ActivityWorkerConfig;
const post = (message: FromActivityWorker) => port.postMessage(message);

let ahead = 0;
let wake: (() => void) | undefined;
port.on('message', (_message: ToActivityWorker) => {
  ahead--;
  wake?.();
});

try {
  const definitions = SearchParameters.withCustom(config.customParameters);
  const db = openReader(config.database);
  const versions = new VersionReader(db);
  const preparer = new ActivityPreparer(definitions, config.parameterIds, (resourceType, id) => versions.exists(resourceType, id));
  for await (const chunk of scanExtraction(config.path, config.encoding, config.layout, (record) => preparer.accept(record), config.chunkBytes)) {
    post({ kind: 'chunk', chunk, resources: preparer.take() });
    ahead++;
    while (ahead >= AHEAD) await new Promise<void>((resolve) => (wake = resolve));
  }
  const resources = preparer.finish();
  // What the store has and the file no longer has, for the storing thread to archive: the ids seen stay in this thread.
  const unseen = {} as Record<ImportedType, string[]>;
  for (const [type, prefix] of Object.entries(ID_PREFIXES) as Array<[ImportedType, string]>) unseen[type] = preparer.unseen(type, versions.idsStartingWith(type, prefix));
  db.close();
  post({ kind: 'done', persons: preparer.persons, resources, unseen });
} catch (error) {
  post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
}
