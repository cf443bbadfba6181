import { setImmediate as nextTurn } from 'node:timers/promises';
import { databaseAccess, type Db } from '../store/database';
import { MailboxOwners } from '../store/directory-queries';
import type { Repository } from '../store/repository';
import { ActivitySink } from './activity-sink';
import { ActivityThread } from './activity-thread';
import type { ActivityWorkerConfig } from './activity-worker';
import { ID_PREFIXES } from './ids';
import { isActivityLayout, type Layout, type MssanteRecord } from './layouts';
import { detectEncoding, type TextEncoding } from './line-reader';
import { MssanteSink } from './mssante-sink';
import { readLayout, scanExtraction, type ScannedChunk } from './scan';
import { ImportBatch, type TypeCounts } from './import-batch';
import { checkArchiving, type ArchiveMode } from './archive-guard';
import { nameOf, sizeOf, type ExtractionSource } from './source';
import { CorruptZipError } from './zip';

export { NotAnExtractionError } from './scan';
export { ArchiveRefusedError } from './archive-guard';

/**
 * Imports one ANS extraction file (the activity file or the MSSanté one, told apart by its header) into the store,
 * streaming: lines are read in chunks, each chunk's resources written in short transactions (ImportBatch.flush), and
 * the event loop is given back between them so a running node keeps answering. The report says what was done and is kept in the
 * store (node_meta, newest last) for the admin API.
 */

export interface ImportProgress {
  bytes: number;
  totalBytes: number;
  lines: number;
}

export interface ImportReport {
  file: string;
  kind: 'activity' | 'mssante';
  encoding: TextEncoding;
  columns: number;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  lines: { read: number; accepted: number; rejected: number };
  /** The first rejected lines (line number, why), up to 1,000 (scan.ts). */
  rejections: Array<{ line: number; reason: string }>;
  resources: Record<string, TypeCounts>;
  /** Resources the store refused (should not happen: the mapping makes valid resources). */
  failures: string[];
  persons?: number;
  unmatchedMailboxes?: number;
}

export interface ImportOptions {
  onProgress?: (progress: ImportProgress) => void;
  /** Bytes read (and lines written in one transaction) at a time; smaller keeps a serving node responsive. */
  chunkBytes?: number;
  /** The activity import thread's module, when the node runs bundled (the desktop build); its source otherwise. */
  workerUrl?: URL;
  /** What the import does with the entries the file lacks (archive-guard.ts): `guarded` unless said. */
  archive?: ArchiveMode;
  /** Stops the import between two chunks (the node closing): what was written stays, a consistent part of the file. */
  signal?: AbortSignal;
  /** The most resources a guarded activity import keeps from its census to write (activity-worker.ts; tests lower it). */
  heldMax?: number;
}

const IMPORT_CACHE_KIB = 512 * 1024;
/** Small reads between the writes of a running node: a 256 KiB chunk holds the event loop for a short while only. */
export const SERVING_CHUNK_BYTES = 256 * 1024;
const REPORT_KEY_PREFIX = 'directory.import.';

export async function importDirectoryFile(db: Db, repository: Repository, source: ExtractionSource, options: ImportOptions = {}): Promise<ImportReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const encoding = await detectEncoding(source);
  const layout = await readLayout(source, encoding);
  const totalBytes = sizeOf(source);
  const archive = options.archive ?? 'guarded';
  const batch = new ImportBatch(repository);
  const lines = { read: 0, accepted: 0, rejected: 0 };
  const rejections: ImportReport['rejections'] = [];
  const tally = (chunk: ScannedChunk) => {
    options.signal?.throwIfAborted();
    lines.read += chunk.read;
    lines.accepted += chunk.accepted;
    lines.rejected += chunk.rejected;
    rejections.push(...chunk.rejections);
    options.onProgress?.({ bytes: chunk.bytes, totalBytes, lines: lines.read });
  };

  // The index B-trees take random inserts: with SQLite's 2 MB default cache every insert soon reads and dirties a
  // page the cache just dropped. A large cache while importing keeps the hot pages in memory.
  const cacheBefore = db.pragma('cache_size', { simple: true }) as number;
  db.pragma(`cache_size = -${IMPORT_CACHE_KIB}`);
  try {
    const { chunkBytes } = options;
    const summary = isActivityLayout(layout)
      ? await importActivities(db, repository, batch, { source, encoding, layout, chunkBytes, heldMax: options.heldMax }, archive, tally, options.workerUrl)
      : await importMailboxes(db, repository, batch, { source, encoding, layout, chunkBytes }, archive, tally);
    options.signal?.throwIfAborted();
    const report: ImportReport = {
      file: nameOf(source),
      kind: layout.kind,
      encoding,
      columns: layout.width,
      startedAt,
      finishedAt: new Date().toISOString(),
      seconds: Math.round((performance.now() - started) / 10) / 100,
      lines,
      rejections,
      resources: batch.counts,
      failures: batch.failures,
      ...summary,
    };
    recordReport(db, report);
    return report;
  } finally {
    db.pragma(`cache_size = ${cacheBefore}`);
  }
}

/**
 * The activity file: a thread of its own reads and maps it (activity-worker.ts) while this one writes, a chunk in
 * each transaction.
 */
async function importActivities(
  db: Db,
  repository: Repository,
  batch: ImportBatch,
  file: Pick<ActivityWorkerConfig, 'source' | 'encoding' | 'layout' | 'chunkBytes' | 'heldMax'>,
  archive: ArchiveMode,
  tally: (chunk: ScannedChunk) => void,
  workerUrl = new URL('./activity-worker.ts', import.meta.url),
): Promise<{ persons: number }> {
  const { definitions } = repository;
  const sink = new ActivitySink(batch, definitions);
  const parameterIds = Object.fromEntries(Object.keys(ID_PREFIXES).map((type) => [type, repository.searchIndex.paramIdsOf(type, definitions.ofType(type).keys())]));
  const config = { ...file, database: databaseAccess(db), customParameters: definitions.custom, parameterIds, census: archive === 'guarded' };
  const thread = new ActivityThread(workerUrl, config);
  try {
    for (;;) {
      const message = await thread.next();
      if (message.kind === 'failed') throw message.corrupt ? new CorruptZipError(message.message) : new Error(`Reading ${nameOf(file.source)} failed: ${message.message}`);
      if (message.kind === 'census') {
        checkArchiving(archive, nameOf(file.source), message.counts);
        thread.proceed();
        continue;
      }
      batch.countUnchanged(message.unchanged);
      await sink.write(message.resources);
      if (message.kind === 'done') {
        if (archive !== 'never') await sink.archive(message.unseen);
        return { persons: message.persons };
      }
      tally(message.chunk);
      thread.written();
      await nextTurn();
    }
  } finally {
    await thread.stop();
  }
}

/** The MSSanté file: its lines need the directory to find the mailboxes' owners, so they are read here. */
async function importMailboxes(
  db: Db,
  repository: Repository,
  batch: ImportBatch,
  { source, encoding, layout, chunkBytes }: { source: ExtractionSource; encoding: TextEncoding; layout: Layout<MssanteRecord>; chunkBytes?: number },
  archive: ArchiveMode,
  tally: (chunk: ScannedChunk) => void,
): Promise<{ unmatchedMailboxes: number }> {
  const sink = new MssanteSink(new MailboxOwners(db, repository.searchIndex), batch);
  // Each line costs queries on this thread (its mailbox's owners): a quarter of a chunk at a time, a search waits less.
  const lineBytes = chunkBytes && Math.max(1, Math.floor(chunkBytes / 4));
  for await (const chunk of scanExtraction(source, encoding, layout, (record) => sink.accept(record), lineBytes)) {
    tally(chunk);
    await nextTurn();
  }
  // The whole file is read before anything is written: a ZIP entry failing its check stops here.
  return sink.finish((counts) => checkArchiving(archive, nameOf(source), counts), archive !== 'never');
}

function recordReport(db: Db, report: ImportReport): void {
  db.prepare('INSERT OR REPLACE INTO node_meta (key, value) VALUES (?, ?)').run(`${REPORT_KEY_PREFIX}${report.startedAt}`, JSON.stringify(report));
}

/** The reports of past imports, newest first. */
export function importReports(db: Db, limit = 20): ImportReport[] {
  return db
    .prepare<[string, string, number], string>('SELECT value FROM node_meta WHERE key >= ? AND key < ? ORDER BY key DESC LIMIT ?')
    .pluck()
    .all(REPORT_KEY_PREFIX, `${REPORT_KEY_PREFIX}\uffff`, limit)
    .map((value) => JSON.parse(value) as ImportReport);
}
