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
 * (checks, index rows), tells those the store holds already unchanged, and hands the storing thread (the import's
 * caller, which alone writes the database) the others one chunk at a time, then the ids the file no longer has. It
 * stays at most AHEAD chunks ahead of the storing thread, so a slow disk or a busy node never makes it buffer the whole
 * file. A guarded import reads the file whole before anything is written (the census, archive-guard.ts): that reading
 * maps it too and keeps what is to be written, unless it passes HELD_MAX resources (a first import, a big change),
 * when a second reading maps it again after the guard agreed.
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
   * Read the file whole first, and say how many active entries it would archive (`census`) before handing anything:
   * the storing thread then says whether to go on (archive-guard.ts).
   */
  census: boolean;
  /** HELD_MAX unless said. */
  heldMax?: number;
}

/** Resources the store holds as the file has them, by type: nothing to write (the storing thread counts them). */
export type UnchangedCounts = Partial<Record<ImportedType, number>>;

export type FromActivityWorker =
  | { kind: 'chunk'; chunk: ScannedChunk; resources: MappedResource[]; unchanged: UnchangedCounts }
  | { kind: 'census'; counts: ArchiveCounts }
  | { kind: 'done'; persons: number; resources: MappedResource[]; unchanged: UnchangedCounts; unseen: Record<ImportedType, string[]> }
  /** `corrupt`: the ZIP entry read failed its checks (zip.ts). */
  | { kind: 'failed'; message: string; corrupt?: boolean };

/** The storing thread has stored one more chunk; or, after the census, the import goes on. */
export type ToActivityWorker = { kind: 'written' } | { kind: 'go' };

const AHEAD = 2;
/**
 * The most resources the census keeps to write (changed or new ones: some 1 % of the national directory's 3 million
 * on a daily publication), about 100 MB; past it they are dropped and the file is read a second time.
 */
const HELD_MAX = 50_000;
/** Held resources go to the storing thread this many to a message, as a chunk of the file would. */
const HELD_PER_MESSAGE = 500;

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

/** A chunk message, and that message with the next chunk's stats and resources (the census's held chunks, sent fewer). */
type ChunkMessage = Extract<FromActivityWorker, { kind: 'chunk' }>;

function merged(into: ChunkMessage | undefined, next: ChunkMessage): ChunkMessage {
  if (!into) return next;
  const unchanged = { ...into.unchanged };
  for (const [type, count] of Object.entries(next.unchanged) as Array<[ImportedType, number]>) unchanged[type] = (unchanged[type] ?? 0) + count;
  const chunk = {
    bytes: next.chunk.bytes,
    read: into.chunk.read + next.chunk.read,
    accepted: into.chunk.accepted + next.chunk.accepted,
    rejected: into.chunk.rejected + next.chunk.rejected,
    rejections: [...into.chunk.rejections, ...next.chunk.rejections],
  };
  return { kind: 'chunk', chunk, resources: [...into.resources, ...next.resources], unchanged };
}

/** Posts a chunk, then waits while the storing thread is AHEAD chunks behind. */
async function send(message: ChunkMessage): Promise<void> {
  post(message);
  ahead++;
  while (ahead >= AHEAD) await new Promise<void>((resolve) => (wake = resolve));
}

/** Per type, the active entries of the store the file lacks, of the active ones (the file's ids noted by `seen`). */
function census(db: Db, versions: VersionReader, seen: ActivityPreparer): ArchiveCounts {
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
    const archiving = seen.unseen(type, counted()).filter((id) => !inactive.has(id)).length;
    counts[type] = { archiving, active: stored - inactive.size };
  }
  return counts;
}

const scan = (preparer: ActivityPreparer) => scanExtraction(config.source, config.encoding, config.layout, (record) => preparer.accept(record), config.chunkBytes);

/**
 * The census: the file read whole, mapped, what is to be written held (up to HELD_MAX resources). Resolves, once the
 * storing thread agreed, with the held chunks and the file's last person, or undefined when they were too many to hold.
 */
async function readWhole(db: Db, versions: VersionReader, preparer: ActivityPreparer): Promise<{ held: ChunkMessage[]; last: ReturnType<ActivityPreparer['finish']> } | undefined> {
  const max = config.heldMax ?? HELD_MAX;
  let held: ChunkMessage[] | undefined = [];
  let holding = 0;
  let pending: ChunkMessage | undefined;
  for await (const chunk of scan(preparer)) {
    if (!held) continue;
    const message: ChunkMessage = { kind: 'chunk', chunk, ...preparer.take() };
    holding += message.resources.length;
    if (holding > max) {
      held = undefined;
      pending = undefined;
      preparer.idsOnly();
      continue;
    }
    pending = merged(pending, message);
    if (pending.resources.length >= HELD_PER_MESSAGE) {
      held.push(pending);
      pending = undefined;
    }
  }
  if (held && pending) held.push(pending);
  // The last person's ids count too.
  const last = preparer.finish();
  if (holding + last.resources.length > max) held = undefined;
  const proceed = new Promise<void>((resolve) => (go = resolve));
  post({ kind: 'census', counts: census(db, versions, preparer) });
  await proceed;
  return held && { held, last };
}

try {
  const definitions = SearchParameters.withCustom(config.customParameters);
  const db = openReader(config.database);
  const versions = new VersionReader(db);
  const current = (resourceType: string, id: string) => versions.current(resourceType, id)?.body;
  let preparer = new ActivityPreparer(definitions, config.parameterIds, current);
  const whole = config.census ? await readWhole(db, versions, preparer) : undefined;
  let last;
  if (whole) {
    for (const message of whole.held) await send(message);
    last = whole.last;
  } else {
    // No census, or one that held too much: the file is read (again), its chunks handed as they come.
    if (config.census) preparer = new ActivityPreparer(definitions, config.parameterIds, current);
    for await (const chunk of scan(preparer)) await send({ kind: 'chunk', chunk, ...preparer.take() });
    last = preparer.finish();
  }
  // What the store has and the file no longer has, for the storing thread to archive: the ids seen stay in this thread.
  const unseen = {} as Record<ImportedType, string[]>;
  for (const [type, prefix] of Object.entries(ID_PREFIXES) as Array<[ImportedType, string]>) unseen[type] = preparer.unseen(type, versions.idsStartingWith(type, prefix));
  db.close();
  post({ kind: 'done', persons: preparer.persons, ...last, unseen });
} catch (error) {
  post({ kind: 'failed', message: error instanceof Error ? error.message : String(error), corrupt: error instanceof CorruptZipError });
}
