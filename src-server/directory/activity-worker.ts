import { parentPort, workerData } from 'node:worker_threads';
import { openReader, type DatabaseAccess, type Db } from '../store/database';
import { ArchivedEntries } from '../store/directory-queries';
import { VersionReader } from '../store/version-reader';
import { SearchParameters, type SearchParameterDefinition } from '../fhir/search/parameters';
import type { ArchiveCounts } from './archive-guard';
import { ActivityPreparer, type MappedResource, type ParameterIds } from './activity-preparer';
import { ID_PREFIXES, type ImportedType } from './ids';
import type { ActivityRecord, Layout } from './layouts';
import type { TextEncoding } from './line-reader';
import { scanExtraction, type ScannedChunk } from './scan';
import type { ExtractionSource } from './source';
import { CorruptZipError } from './zip';

/**
 * The activity import's own thread: it reads, parses and maps the file, prepares the resources new to the store
 * (checks, index rows), and hands the storing thread (the import's caller, which alone writes the database) one chunk at a
 * time, then the ids the file no longer has. It stays at most AHEAD chunks ahead of the storing thread, so a slow disk or a
 * busy node never makes it buffer the whole file.
 */

export interface ActivityWorkerConfig {
  /** The store's database file, read (only) to tell new resources from those it has. */
  database: DatabaseAccess;
  source: ExtractionSource;
  encoding: TextEncoding;
  layout: Layout<ActivityRecord>;
  chunkBytes?: number;
  /** The custom search parameters in force where the storing thread runs. */
  customParameters: readonly SearchParameterDefinition[];
  /** The ids of the directory types' parameters in the storing thread's database. */
  parameterIds: ParameterIds;
  /**
   * Read the file once first for its ids alone, and say how many active entries it would archive (`census`) before
   * mapping anything: the storing thread then says whether to go on (archive-guard.ts).
   */
  census: boolean;
}

export type FromActivityWorker =
  | { kind: 'chunk'; chunk: ScannedChunk; resources: MappedResource[] }
  | { kind: 'census'; counts: ArchiveCounts }
  | { kind: 'done'; persons: number; resources: MappedResource[]; unseen: Record<ImportedType, string[]> }
  /** `corrupt`: the ZIP entry read failed its checks (zip.ts). */
  | { kind: 'failed'; message: string; corrupt?: boolean };

/** The storing thread has stored one more chunk; or, after the census, the import goes on. */
export type ToActivityWorker = { kind: 'written' } | { kind: 'go' };

const AHEAD = 2;

const port = parentPort!;
const config = workerData as ActivityWorkerConfig;
const post = (message: FromActivityWorker) => port.postMessage(message);

let ahead = 0;
let wake: (() => void) | undefined;
let go: (() => void) | undefined;
port.on('message', (message: ToActivityWorker) => {
  if (message.kind === 'go') return go?.();
  ahead--;
  wake?.();
});

/** Per type, the active entries of the store the file lacks, of the active ones: the file read for its ids only. */
async function census(db: Db, versions: VersionReader, definitions: SearchParameters): Promise<ArchiveCounts> {
  const ids = new ActivityPreparer(definitions, config.parameterIds);
  for await (const _chunk of scanExtraction(config.source, config.encoding, config.layout, (record) => ids.accept(record), config.chunkBytes)) ids.take();
  ids.finish();
  const archived = new ArchivedEntries(db);
  const counts: ArchiveCounts = {};
  for (const [type, prefix] of Object.entries(ID_PREFIXES) as Array<[ImportedType, string]>) {
    const inactive = archived.idsStartingWith(type, prefix);
    let stored = 0;
    const counted = function* () {
      for (const id of versions.idsStartingWith(type, prefix)) {
        stored++;
        yield id;
      }
    };
    const archiving = ids.unseen(type, counted()).filter((id) => !inactive.has(id)).length;
    counts[type] = { archiving, active: stored - inactive.size };
  }
  return counts;
}

try {
  const definitions = SearchParameters.withCustom(config.customParameters);
  const db = openReader(config.database);
  const versions = new VersionReader(db);
  if (config.census) {
    const proceed = new Promise<void>((resolve) => (go = resolve));
    post({ kind: 'census', counts: await census(db, versions, definitions) });
    await proceed;
  }
  const preparer = new ActivityPreparer(definitions, config.parameterIds, (resourceType, id) => versions.exists(resourceType, id));
  for await (const chunk of scanExtraction(config.source, config.encoding, config.layout, (record) => preparer.accept(record), config.chunkBytes)) {
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
  post({ kind: 'failed', message: error instanceof Error ? error.message : String(error), corrupt: error instanceof CorruptZipError });
}
