import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openBytes, readSealedFileSync, sealBytes, SealedDataError, SealedFileWriter } from '../sealed-chunks';
import type { FlexIndexes } from './flex-indexes';
import type { NotIndexed, SavedNotIndexed } from './not-indexed';

/**
 * The text index on disk, so that a restart does not rebuild it: the indexes' keys and posting lists in a binary
 * file, and the change-log cursor they were taken at, written to a fresh folder and swapped in whole. A crash at any
 * point leaves the previous snapshot (or none), and the change log replays what came after its cursor.
 *
 * The file is read back in one piece and its posting lists copied straight out of it (32-bit words, aligned), so a
 * national directory loads in seconds; FlexSearch's own export (JSON per chunk) took several times longer.
 * Layout, little-endian: the key table (`u32 n`, then n × u32 vseq), then per index `u32 nameBytes, name, u32
 * terms`, and per term `u32 termBytes, term, u32 n, n × u32 key`, each string padded to 4 bytes.
 *
 * Both files are sealed under the text-index key (sealed-chunks.ts): the terms are patients' names and words of
 * their documents. A snapshot that fails its check (cut short, altered, another key) is refused with the reason, and
 * the index is rebuilt from the database: nothing is lost, as the database holds everything the index does.
 */

/** Bump when what is indexed changes (text-fields.ts, index options, this layout): older snapshots are then rebuilt. */
export const TEXT_INDEX_VERSION = 5;

export interface SnapshotMeta {
  version: number;
  /** The node whose change log the cursor counts in: a snapshot never applies to another database. */
  nodeId: string;
  cursor: number;
  takenAt: string;
  /** The resources left out of the index up to the cursor, and why (not-indexed.ts). */
  notIndexed?: SavedNotIndexed;
}

/** Sealed, as index.bin; the name changed with sealing, so that a plaintext snapshot is simply not found. */
const META = 'meta.sealed';
const INDEX_FILE = 'index.bin';
const BUFFER_BYTES = 4 << 20;

export async function saveSnapshot(folder: string, indexes: FlexIndexes, meta: Omit<SnapshotMeta, 'version' | 'takenAt'>, key: Buffer): Promise<void> {
  const fresh = `${folder}.new`;
  const old = `${folder}.old`;
  rmSync(fresh, { recursive: true, force: true });
  mkdirSync(fresh, { recursive: true, mode: 0o700 });
  await writeIndexes(join(fresh, INDEX_FILE), indexes, key);
  const sealedMeta = sealBytes(key, Buffer.from(JSON.stringify({ version: TEXT_INDEX_VERSION, ...meta, takenAt: new Date().toISOString() })));
  writeFileSync(join(fresh, META), sealedMeta, { mode: 0o600 });
  // The index is synced as it is finished (SealedFileWriter), the metadata here.
  syncFile(join(fresh, META));
  rmSync(old, { recursive: true, force: true });
  if (existsSync(folder)) renameSync(folder, old);
  renameSync(fresh, folder);
  rmSync(old, { recursive: true, force: true });
}

/** Streams the parts through a buffer; each full buffer is written with a pause, in which searches are answered. */
async function writeIndexes(path: string, indexes: FlexIndexes, key: Buffer): Promise<void> {
  const file = await SealedFileWriter.create(path, key, 'w');
  try {
    let buffer = Buffer.allocUnsafe(BUFFER_BYTES);
    let used = 0;
    const flush = async () => {
      // A copy: the sealer may keep the tail of what it is given until more comes, and the buffer is reused.
      await file.write(Buffer.from(buffer.subarray(0, used)));
      used = 0;
    };
    const room = async (bytes: number) => {
      if (used + bytes <= buffer.length) return;
      await flush();
      if (bytes > buffer.length) buffer = Buffer.allocUnsafe(bytes);
    };
    const words = async (values: ArrayLike<number>) => {
      await room(4 + values.length * 4);
      buffer.writeUInt32LE(values.length, used);
      used += 4;
      for (let at = 0; at < values.length; at++, used += 4) buffer.writeUInt32LE(values[at], used);
    };
    const text = async (value: string, then: number) => {
      const bytes = Buffer.byteLength(value);
      await room(4 + padded(bytes) + 4);
      buffer.writeUInt32LE(bytes, used);
      used += 4;
      buffer.write(value, used);
      used += padded(bytes);
      buffer.writeUInt32LE(then, used);
      used += 4;
    };
    for (const part of indexes.exportParts()) {
      if (part.kind === 'keys') await words(part.vseqOfKey);
      else if (part.kind === 'index') await text(part.name, part.terms);
      else {
        await text(part.term, part.postings.length);
        await room(part.postings.length * 4);
        for (const documentKey of part.postings) {
          buffer.writeUInt32LE(documentKey, used);
          used += 4;
        }
      }
    }
    await flush();
    await file.finish();
  } catch (error) {
    await file.close();
    throw error;
  }
}

/**
 * The snapshot's cursor once loaded into `indexes` (and its record of resources left out into `notIndexed`), or
 * undefined when there is no snapshot for this database. Throws (SealedDataError) when the snapshot fails its check:
 * cut short, altered, or sealed under another key.
 */
export function loadSnapshot(folder: string, indexes: FlexIndexes, nodeId: string, latestSeq: number, key: Buffer, notIndexed?: NotIndexed): number | undefined {
  // A crash between the two renames of saveSnapshot leaves only the previous snapshot, under `.old`.
  const source = existsSync(join(folder, META)) ? folder : existsSync(join(`${folder}.old`, META)) ? `${folder}.old` : undefined;
  if (!source) return undefined;
  const meta = JSON.parse(openBytes(key, readFileSync(join(source, META)), 'The text index snapshot\'s metadata').toString('utf8')) as SnapshotMeta;
  // Another index layout, another database, or a database older than the snapshot (restored from a backup).
  if (meta.version !== TEXT_INDEX_VERSION || meta.nodeId !== nodeId || meta.cursor > latestSeq) return undefined;
  readIndexes(readSealedFileSync(join(source, INDEX_FILE), key, 'The text index snapshot'), indexes);
  notIndexed?.restore(meta.notIndexed);
  return meta.cursor;
}

/** The index file's plaintext read into `indexes` (exported for the bench that weighs sealing against plaintext). */
export function readIndexes(file: Buffer, indexes: FlexIndexes): void {
  if (file.byteOffset % 4 !== 0) file = Buffer.from(file); // a fresh, aligned copy (readSealedFileSync's is already)
  const words = new Uint32Array(file.buffer, file.byteOffset, Math.floor(file.length / 4));
  let at = 0; // in words
  const need = (count: number) => {
    if (at + count > words.length) throw new SealedDataError('The text index snapshot is truncated');
  };
  const text = () => {
    need(1);
    const bytes = words[at++];
    need(padded(bytes) / 4);
    const value = file.toString('utf8', at * 4, at * 4 + bytes);
    at += padded(bytes) / 4;
    need(1);
    return { value, then: words[at++] };
  };
  need(1);
  const keyCount = words[at++];
  need(keyCount);
  indexes.importKeys(words.slice(at, at + keyCount));
  at += keyCount;
  while (at < words.length) {
    const { value: name, then: terms } = text();
    if (!indexes.hasIndex(name)) throw new Error(`The text index snapshot has an unknown index '${name}'`);
    for (let term = 0; term < terms; term++) {
      const { value, then: count } = text();
      need(count);
      // A copy, so that the file's buffer is not kept alive by its postings.
      const postings = words.slice(at, at + count);
      at += count;
      indexes.importTerm(name, value, postings);
    }
  }
}

const padded = (bytes: number) => (bytes + 3) & ~3;

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
