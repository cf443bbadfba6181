import { parentPort, workerData } from 'node:worker_threads';
import { openReader } from '../store/database';
import { VersionReader } from '../store/version-reader';
import { SearchParameters, type SearchParameterDefinition } from '../fhir/search/parameters';
import { ActivityMapper, type MappedResource, type ParameterIds } from './activity-preparer';
import { ID_PREFIXES, type DirectoryType } from './ids';
import type { ActivityRecord, Layout } from './layouts';
import type { TextEncoding } from './line-reader';
import { scanExtraction, type ScannedChunk } from './scan';

/**
 * The activity import's own thread: it reads, parses and maps the file, prepares the resources new to the store
 * (checks, index rows), and hands the writer (the import's caller, which alone writes the database) one chunk at a
 * time, then the ids the file no longer has. It stays at most AHEAD chunks ahead of the writer, so a slow disk or a
 * busy node never makes it buffer the whole file.
 */

export interface ActivityWorkerConfig {
  /** The store's database file, read (only) to tell new resources from those it has. */
  dbFile: string;
  path: string;
  encoding: TextEncoding;
  layout: Layout<ActivityRecord>;
  chunkBytes?: number;
  /** The custom search parameters in force where the writer runs. */
  customParameters: readonly SearchParameterDefinition[];
  /** The ids of the directory types' parameters in the writer's database. */
  parameterIds: ParameterIds;
}

export type FromActivityWorker =
  | { kind: 'chunk'; chunk: ScannedChunk; resources: MappedResource[] }
  | { kind: 'done'; persons: number; resources: MappedResource[]; unseen: Record<DirectoryType, string[]> }
  | { kind: 'failed'; message: string };

/** The writer has stored one more chunk. */
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
  const db = openReader(config.dbFile);
  const versions = new VersionReader(db);
  const mapper = new ActivityMapper(definitions, config.parameterIds, (resourceType, id) => versions.exists(resourceType, id));
  for await (const chunk of scanExtraction(config.path, config.encoding, config.layout, (record) => mapper.accept(record), config.chunkBytes)) {
    post({ kind: 'chunk', chunk, resources: mapper.take() });
    ahead++;
    while (ahead >= AHEAD) await new Promise<void>((resolve) => (wake = resolve));
  }
  const resources = mapper.finish();
  // What the store has and the file no longer has, for the writer to archive: the ids seen stay in this thread.
  const unseen = {} as Record<DirectoryType, string[]>;
  for (const [type, prefix] of Object.entries(ID_PREFIXES) as Array<[DirectoryType, string]>) unseen[type] = mapper.unseen(type, versions.idsStartingWith(type, prefix));
  db.close();
  post({ kind: 'done', persons: mapper.persons, resources, unseen });
} catch (error) {
  post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
}
