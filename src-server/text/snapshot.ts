import { closeSync, createReadStream, createWriteStream, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import type { FlexIndexes } from './flex-indexes';

/**
 * The text index on disk, so that a restart does not rebuild it: FlexSearch's export chunks and the change-log
 * cursor they were taken at, written to a fresh folder and swapped in whole. A crash at any point leaves the
 * previous snapshot (or none), and the change log replays what came after its cursor.
 */

/** Bump when what is indexed changes (text-fields.ts, index options): older snapshots are then rebuilt. */
export const TEXT_INDEX_VERSION = 2;

export interface SnapshotMeta {
  version: number;
  /** The node whose change log the cursor counts in: a snapshot never applies to another database. */
  nodeId: string;
  cursor: number;
  takenAt: string;
}

const META = 'meta.json';
const CHUNKS = 'chunks.ndjson';

export async function saveSnapshot(folder: string, indexes: FlexIndexes, meta: Omit<SnapshotMeta, 'version' | 'takenAt'>): Promise<void> {
  const fresh = `${folder}.new`;
  const old = `${folder}.old`;
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh, { recursive: true });
  const chunks = await indexes.exportAll();
  const out = createWriteStream(join(fresh, CHUNKS));
  for (const chunk of chunks) if (!out.write(`${JSON.stringify(chunk)}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  out.end();
  await finished(out);
  writeFileSync(join(fresh, META), JSON.stringify({ version: TEXT_INDEX_VERSION, ...meta, takenAt: new Date().toISOString() }));
  for (const file of [CHUNKS, META]) syncFile(join(fresh, file));
  rmSync(old, { recursive: true, force: true });
  if (existsSync(folder)) renameSync(folder, old);
  renameSync(fresh, folder);
  rmSync(old, { recursive: true, force: true });
}

/** The snapshot's cursor once loaded into `indexes`, or undefined when there is no usable snapshot. */
export async function loadSnapshot(folder: string, indexes: FlexIndexes, nodeId: string, latestSeq: number): Promise<number | undefined> {
  // A crash between the two renames of saveSnapshot leaves only the previous snapshot, under `.old`.
  const source = existsSync(join(folder, META)) ? folder : existsSync(join(`${folder}.old`, META)) ? `${folder}.old` : undefined;
  if (!source) return undefined;
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(readFileSync(join(source, META), 'utf8')) as SnapshotMeta;
  } catch {
    return undefined;
  }
  // Another index layout, another database, or a database older than the snapshot (restored from a backup).
  if (meta.version !== TEXT_INDEX_VERSION || meta.nodeId !== nodeId || meta.cursor > latestSeq) return undefined;
  const lines = createInterface({ input: createReadStream(join(source, CHUNKS)), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    const [name, key, data] = JSON.parse(line) as [string, string, string];
    indexes.importChunk(name, key, data);
  }
  indexes.finishImport();
  return meta.cursor;
}

export function removeSnapshot(folder: string): void {
  for (const path of [folder, `${folder}.new`, `${folder}.old`]) rmSync(path, { recursive: true, force: true });
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
