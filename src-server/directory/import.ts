import { statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Db } from '../storage/database';
import type { Repository } from '../storage/repository';
import { ActivitySink } from './activity-sink';
import { detectLayout, type ActivityRecord, type Layout, type MssanteRecord } from './layouts';
import { detectEncoding, readLines, type TextEncoding } from './line-reader';
import { MssanteSink } from './mssante-sink';
import { parseLine, splitFields } from './parse';
import { DirectoryWriter, type TypeCounts } from './writer';

/**
 * Imports one ANS extraction file (the activity file or the MSSanté one, told apart by its header) into the store,
 * streaming: lines are read in chunks, each chunk's resources written in one transaction, and the event loop is
 * given back between chunks so a running node keeps answering. The report says what was done and is kept in the
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
  /** The first rejected lines (line number, why), up to MAX_REJECTIONS_KEPT. */
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
}

export class NotAnExtractionError extends Error {}

const MAX_REJECTIONS_KEPT = 1000;
const IMPORT_CACHE_KIB = 512 * 1024;
const REPORT_KEY_PREFIX = 'directory.import.';

type Sink = { accept(record: never): string | undefined; endBatch(): void; finish(): Partial<ImportReport> };

export async function importDirectoryFile(db: Db, repository: Repository, path: string, options: ImportOptions = {}): Promise<ImportReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const encoding = await detectEncoding(path);
  const totalBytes = statSync(path).size;
  const writer = new DirectoryWriter(repository);
  const lines = { read: 0, accepted: 0, rejected: 0 };
  const rejections: ImportReport['rejections'] = [];
  const reject = (line: number, reason: string) => {
    lines.rejected++;
    if (rejections.length < MAX_REJECTIONS_KEPT) rejections.push({ line, reason });
  };
  let layout: Layout<ActivityRecord> | Layout<MssanteRecord> | undefined;
  let sink: Sink | undefined;
  let bytes = 0;

  // The index B-trees take random inserts: with SQLite's 2 MB default cache every insert soon reads and dirties a
  // page the cache just dropped. A large cache while importing keeps the hot pages in memory.
  const cacheBefore = db.pragma('cache_size', { simple: true }) as number;
  db.pragma(`cache_size = -${IMPORT_CACHE_KIB}`);
  try {
    return await importLines();
  } finally {
    db.pragma(`cache_size = ${cacheBefore}`);
  }

  async function importLines(): Promise<ImportReport> {
    for await (const batch of readLines(path, encoding, { chunkBytes: options.chunkBytes, onBytes: (read) => (bytes += read) })) {
      batch.lines.forEach((text, index) => {
        const lineNumber = batch.firstLine + index;
        if (text.trim() === '') return;
        if (!layout) {
          layout = detectLayout(splitFields(text));
          if (!layout) throw new NotAnExtractionError(`${basename(path)} is neither a PS_LibreAcces_Personne_activite nor an Extraction_Correspondance_MSSante file: its first line is not a known header`);
          sink = layout.kind === 'activity' ? new ActivitySink(db, writer) : new MssanteSink(db, repository.searchIndex, writer);
          if (layout.hasHeader) return;
        }
        lines.read++;
        const parsed = parseLine(layout as Layout<never>, text);
        const reason = parsed.ok ? sink!.accept(parsed.record) : parsed.reason;
        if (reason === undefined) lines.accepted++;
        else reject(lineNumber, reason);
      });
      sink?.endBatch();
      options.onProgress?.({ bytes, totalBytes, lines: lines.read });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (!layout || !sink) throw new NotAnExtractionError(`${basename(path)} is empty`);
    const summary = sink.finish();
    const report: ImportReport = {
      file: basename(path),
      kind: layout.kind,
      encoding,
      columns: layout.width,
      startedAt,
      finishedAt: new Date().toISOString(),
      seconds: Math.round((performance.now() - started) / 10) / 100,
      lines,
      rejections,
      resources: writer.counts,
      failures: writer.failures,
      ...summary,
    };
    recordReport(db, report);
    return report;
  }
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
