import { randomFillSync, randomUUID, scryptSync } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { subkey } from '../data-key';
import { ChunkOpener, ChunkSealer } from '../sealed-chunks';
import { folderDataKey } from '../sealing';
import type { DatabaseAccess } from '../store/database';
import { startWorker } from '../threads';
import { LIAISON_VERSION } from '../version';
import type { DatabaseCopyJob } from './database-copy-worker';

/**
 * A data folder in one sealed file, and back (`liaison backup`, `liaison restore`, the desktop's daily backup).
 *
 * The backup is taken while the node serves: the database is copied by `VACUUM INTO` from one read snapshot in a
 * thread of its own (database-copy-worker.ts: consistent, and sealed like the database itself), the documents as their
 * sealed files (written once, never changed), and the folder's other files (settings, channels, keys, owner client).
 * Left out: what the node rebuilds or holds only while it runs (the text index, node.json, the lock, the WAL).
 *
 * The file is a 40-byte preamble (`LBAK`, format 1, how it is sealed: 0 under the backup key given by the data key,
 * 1 under a passphrase, then the passphrase's scrypt salt), then the archive sealed in chunks (sealed-chunks.ts): its
 * records are `u32 name bytes, name, u64 size, bytes`, the first `backup.json` (format, version, date), the last an
 * empty name. A backup cut short, altered or under another key is refused as a whole by `restoreBackup`.
 */

const MAGIC = Buffer.from('LBAK');
const FORMAT_VERSION = 1;
const PREAMBLE_BYTES = 40;
const MANIFEST = 'backup.json';
/** Where the database's copy is made, in the data folder (private, and on the same disk) for the time of a backup. */
const COPY_PREFIX = '.backup-';
const DATABASE_FILE = 'liaison.db';
/** Files of the data folder's top a backup leaves out: rebuilt by the node, or of the running node only. */
const LEFT_OUT = /^(liaison\.db(-wal|-shm|-journal)?|node\.json|node\.lock(-.*)?|text-index(\.new|\.old)?|\.backup-.*)$/;
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** What a backup is sealed under: the backup key the data key gives, or a passphrase the practice chooses. */
export type BackupSecret = { key: Buffer } | { passphrase: string };

export class BackupError extends Error {
  override readonly name = 'BackupError';
}

export interface BackupSource {
  dataDir: string;
  /** The database copy's thread, when the node runs bundled (the desktop build); its source otherwise. */
  copyWorker?: URL;
}

/** The backup of a data folder, as a stream of bytes; destroying it stops the backup and removes what it left. */
export function backupStream(source: BackupSource, secret: BackupSecret): Readable {
  return Readable.from(backupBytes(source, secret));
}

async function* backupBytes(source: BackupSource, secret: BackupSecret): AsyncGenerator<Buffer> {
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(preamble);
  preamble[4] = FORMAT_VERSION;
  const salt = preamble.subarray(8);
  if ('passphrase' in secret) {
    preamble[5] = 1;
    randomFillSync(salt);
  }
  yield preamble;
  const sealer = new ChunkSealer(sealingKey(secret, salt));
  for await (const plain of records(source)) yield* sealer.push(plain);
  yield* sealer.end();
}

function sealingKey(secret: BackupSecret, salt: Buffer): Buffer {
  if ('key' in secret) return secret.key;
  if (secret.passphrase.length < 8) throw new BackupError('A backup passphrase has at least 8 characters');
  return scryptSync(secret.passphrase.normalize('NFC'), salt, 32, SCRYPT);
}

async function* records(source: BackupSource): AsyncGenerator<Buffer> {
  const { dataDir } = source;
  removeLeftCopies(dataDir);
  const copy = join(dataDir, `${COPY_PREFIX}${randomUUID()}.db`);
  try {
    yield* smallRecord(MANIFEST, Buffer.from(JSON.stringify({ format: FORMAT_VERSION, liaison: LIAISON_VERSION, takenAt: new Date().toISOString() })));
    await copyDatabase({ file: join(dataDir, DATABASE_FILE), key: subkey(folderDataKey(dataDir), 'database') }, copy, source.copyWorker);
    yield* fileRecord(DATABASE_FILE, copy);
    await rm(copy, { force: true });
    for (const file of await folderFiles(dataDir)) {
      if (file.startsWith(`binaries${sep}tmp${sep}`)) continue;
      // Documents are written once and never changed; the other files are small, and read whole.
      if (file.startsWith(`binaries${sep}`)) yield* fileRecord(file, join(dataDir, file));
      else {
        const bytes = await readFile(join(dataDir, file)).catch(() => undefined);
        if (bytes) yield* smallRecord(file, bytes);
      }
    }
    yield recordHeader('', 0);
  } finally {
    await rm(copy, { force: true });
  }
}

/** Copies of the database a backup killed midway left behind. */
function removeLeftCopies(dataDir: string): void {
  for (const name of readdirSync(dataDir)) if (name.startsWith(COPY_PREFIX)) rmSync(join(dataDir, name), { force: true });
}

/** The files of the folder a backup keeps, relative to it. */
async function folderFiles(dataDir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dataDir, { withFileTypes: true })) {
    if (LEFT_OUT.test(entry.name)) continue;
    if (entry.isFile()) files.push(entry.name);
    else if (entry.isDirectory()) {
      for (const inner of await readdir(join(dataDir, entry.name), { recursive: true, withFileTypes: true })) {
        if (inner.isFile()) files.push(relative(dataDir, join(inner.parentPath, inner.name)));
      }
    }
  }
  return files.sort();
}

function recordHeader(name: string, size: number): Buffer {
  const nameBytes = Buffer.from(name.split(sep).join('/'));
  const header = Buffer.alloc(4 + nameBytes.length + 8);
  header.writeUInt32BE(nameBytes.length, 0);
  nameBytes.copy(header, 4);
  header.writeBigUInt64BE(BigInt(size), 4 + nameBytes.length);
  return header;
}

function* smallRecord(name: string, bytes: Buffer): Generator<Buffer> {
  yield recordHeader(name, bytes.length);
  yield bytes;
}

async function* fileRecord(name: string, path: string): AsyncGenerator<Buffer> {
  const size = (await stat(path)).size;
  yield recordHeader(name, size);
  if (size === 0) return;
  let sent = 0;
  for await (const chunk of createReadStream(path, { end: size - 1 })) {
    sent += (chunk as Buffer).length;
    yield chunk as Buffer;
  }
  if (sent !== size) throw new BackupError(`${name} changed while it was backed up`);
}

async function copyDatabase(database: DatabaseAccess, target: string, workerUrl = new URL('./database-copy-worker.ts', import.meta.url)): Promise<void> {
  const worker = startWorker(workerUrl, { database, target } satisfies DatabaseCopyJob);
  try {
    const answer = await new Promise<{ done: boolean; message?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new BackupError(`The database copy stopped (exit code ${code})`)));
    });
    if (!answer.done) throw new BackupError(`The database could not be copied: ${answer.message}`);
  } finally {
    await worker.terminate();
  }
}

/**
 * Writes a backup to `file` crash-safely: into `<file>.partial`, synced, then renamed. A backup stopped at any moment
 * (the command killed, the disk full) leaves no file under the backup's name, and an earlier backup there intact.
 */
export async function writeBackupFile(bytes: Readable | AsyncIterable<Uint8Array>, file: string): Promise<void> {
  const partial = `${file}.partial`;
  await rm(partial, { force: true });
  try {
    await pipeline(bytes, createWriteStream(partial, { mode: 0o600, flags: 'wx' }));
    await syncPath(partial, 'r+');
    await rename(partial, file);
    await syncPath(dirname(file), 'r');
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

async function syncPath(path: string, flags: string): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** How a backup file is sealed, from its preamble. */
export async function backupSealing(file: string): Promise<'data-key' | 'passphrase'> {
  const preamble = await readPreamble(file);
  return preamble[5] === 1 ? 'passphrase' : 'data-key';
}

async function readPreamble(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const preamble = Buffer.alloc(PREAMBLE_BYTES);
    const { bytesRead } = await handle.read(preamble, 0, PREAMBLE_BYTES, 0);
    if (bytesRead < PREAMBLE_BYTES || !preamble.subarray(0, 4).equals(MAGIC)) throw new BackupError(`${file} is not a Liaison backup`);
    if (preamble[4] !== FORMAT_VERSION) throw new BackupError(`${file} is a backup of format ${preamble[4]}, which this Liaison does not read`);
    return preamble;
  } finally {
    await handle.close();
  }
}

/**
 * Restores a backup into `dataDir`, which must be empty or absent: the files are written into a folder beside it,
 * and that folder renamed into place once the whole backup has been read and checked. A backup cut short, altered,
 * or sealed under another key or passphrase restores nothing. Returns how many files it restored.
 */
export async function restoreBackup(file: string, dataDir: string, secret: BackupSecret): Promise<{ files: number }> {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) throw new BackupError(`${dataDir} is not empty: a backup is restored only into an empty folder, so nothing there is overwritten`);
  const preamble = await readPreamble(file);
  const sealedWith = preamble[5] === 1 ? 'passphrase' : 'key';
  if (!(sealedWith in secret)) {
    throw new BackupError(sealedWith === 'passphrase' ? 'This backup is sealed with a passphrase: give it to restore it' : 'This backup is sealed under the data key of its folder, not a passphrase: restore it with that key');
  }
  const opener = new ChunkOpener(sealingKey(secret, preamble.subarray(8)), 'The backup');
  const staging = join(dirname(dataDir), `.${basename(dataDir)}.restoring-${randomUUID()}`);
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  const writer = new RecordWriter(staging);
  try {
    for await (const sealed of createReadStream(file, { start: PREAMBLE_BYTES })) {
      for (const plain of opener.push(sealed as Buffer)) await writer.push(plain);
    }
    await writer.push(opener.end());
    const files = await writer.finish();
    if (existsSync(dataDir)) rmdirSync(dataDir);
    await rename(staging, dataDir);
    await syncPath(dirname(dataDir), 'r');
    return { files };
  } catch (error) {
    await writer.close();
    await rm(staging, { recursive: true, force: true });
    if (error instanceof Error && error.name === 'SealedDataError') {
      throw new BackupError(`${error.message}. Is it the right ${sealedWith === 'passphrase' ? 'passphrase' : 'key'}? Nothing was restored.`);
    }
    throw error;
  }
}

/** Writes the archive's records as files, as its bytes come. */
class RecordWriter {
  private pending: Buffer = Buffer.alloc(0);
  private file: { handle: FileHandle; left: number } | undefined;
  private ended = false;
  private sawManifest = false;
  private count = 0;

  constructor(private readonly folder: string) {}

  async push(bytes: Buffer): Promise<void> {
    this.pending = this.pending.length ? Buffer.concat([this.pending, bytes]) : bytes;
    for (;;) {
      if (this.file) {
        const part = this.pending.subarray(0, this.file.left);
        if (part.length > 0) await this.file.handle.write(part);
        this.file.left -= part.length;
        this.pending = this.pending.subarray(part.length);
        if (this.file.left > 0) return;
        await this.file.handle.sync();
        await this.file.handle.close();
        this.file = undefined;
        continue;
      }
      if (this.pending.length === 0) return;
      if (this.ended) throw new BackupError('The backup has data after its end');
      if (this.pending.length < 4) return;
      const nameBytes = this.pending.readUInt32BE(0);
      if (nameBytes > 4096) throw new BackupError('The backup is not an archive this Liaison reads');
      if (this.pending.length < 4 + nameBytes + 8) return;
      const name = this.pending.toString('utf8', 4, 4 + nameBytes);
      const size = Number(this.pending.readBigUInt64BE(4 + nameBytes));
      this.pending = this.pending.subarray(4 + nameBytes + 8);
      if (name === '') {
        this.ended = true;
        continue;
      }
      await this.open(name, size);
    }
  }

  private async open(name: string, size: number): Promise<void> {
    if (!this.sawManifest) {
      if (name !== MANIFEST) throw new BackupError('The backup does not begin with its manifest');
      this.sawManifest = true;
    }
    // The names come from the backup: only plain relative paths inside the folder.
    if (name.split('/').some((part) => !/^[\w.-]+$/.test(part) || part === '..' || part === '.')) throw new BackupError(`The backup names a file outside its folder: ${name}`);
    const path = join(this.folder, ...name.split('/'));
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const handle = await open(path, 'wx', 0o600);
    this.file = { handle, left: size };
    this.count++;
    if (size === 0) {
      await handle.close();
      this.file = undefined;
    }
  }

  /** The number of files, once the archive's end was read. */
  async finish(): Promise<number> {
    if (!this.ended || this.file || this.pending.length > 0) throw new BackupError('The backup is cut short: its archive does not reach its end');
    await rm(join(this.folder, MANIFEST), { force: true });
    return this.count - 1;
  }

  async close(): Promise<void> {
    await this.file?.handle.close().catch(() => undefined);
  }
}
