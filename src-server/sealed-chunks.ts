import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';

/**
 * Files sealed in chunks with AES-256-GCM: the documents (binary store), the text-index snapshot and backups. A file
 * is read and written a chunk at a time, so a 50 MiB document never sits whole in memory, and every chunk is
 * authenticated on its own before a byte of it is given out: a reader never hands on altered bytes.
 *
 * Layout: a 40-byte header (`LSCF`, format version 1, log2 of the chunk size, two zero bytes, a random 32-byte salt),
 * then the chunks, each its ciphertext (CHUNK_BYTES, the last one 0 to CHUNK_BYTES) and its 16-byte tag. Each file is
 * sealed under its own key, HKDF-SHA256 of the caller's key and the salt, so nonces never repeat across files; a
 * chunk's nonce is its index and whether it is the last one, and the header is its associated data. So chunks cannot
 * be reordered, dropped, swapped between files or cut off at a chunk boundary (the chunk then last is not marked
 * last) without the tag failing; a file always has a last chunk, empty when the content is.
 */

const MAGIC = Buffer.from('LSCF');
const FORMAT_VERSION = 1;
const CHUNK_LOG2 = 16;
/** Plaintext bytes of every chunk but the last. */
export const CHUNK_BYTES = 1 << CHUNK_LOG2;
const TAG_BYTES = 16;
const SALT_BYTES = 32;
export const HEADER_BYTES = 8 + SALT_BYTES;
const SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES;
const FILE_KEY_INFO = Buffer.from('liaison sealed chunks v1');
/** How far a stream of a sealed file reads (and checks) ahead of its reader: memory per reader stays at this. */
const READ_AHEAD_BYTES = 16 * CHUNK_BYTES;

/** A sealed file that cannot be opened: not one, another version, cut short, altered, or sealed under another key. */
export class SealedDataError extends Error {
  override readonly name = 'SealedDataError';
}

/** A key derived from `key` for one use (`purpose`), so that one key never serves two algorithms. */
export function derivedKey(key: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `liaison ${purpose}`, 32));
}

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new Error('A sealing key is 32 bytes');
}

function fileKey(key: Buffer, header: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, header.subarray(8, HEADER_BYTES), FILE_KEY_INFO, 32));
}

function nonce(index: number, last: boolean): Buffer {
  const bytes = Buffer.alloc(12);
  bytes.writeUIntBE(index, 5, 6);
  bytes[11] = last ? 1 : 0;
  return bytes;
}

function parseHeader(header: Buffer, what: string): void {
  if (header.length < HEADER_BYTES || !header.subarray(0, 4).equals(MAGIC)) throw new SealedDataError(`${what} is not a sealed file (or is cut short before its header)`);
  if (header[4] !== FORMAT_VERSION || header[5] !== CHUNK_LOG2) throw new SealedDataError(`${what} is sealed in format ${header[4]}, which this Liaison does not read`);
}

/** Whether the bytes begin as a sealed file does (a plaintext file written before sealing does not). */
export function looksSealed(start: Buffer): boolean {
  return start.length >= 4 && start.subarray(0, 4).equals(MAGIC);
}

/** Plaintext bytes of a sealed file of `fileBytes` bytes (whole: its last chunk present), without reading it. */
export function plainSize(fileBytes: number): number {
  const body = fileBytes - HEADER_BYTES;
  const chunks = Math.max(1, Math.ceil(body / SEALED_CHUNK_BYTES));
  return body - chunks * TAG_BYTES;
}

/** Seals plaintext pushed in pieces of any size into chunks, in order: the header first, the last chunk at `end`. */
export class ChunkSealer {
  private readonly header: Buffer;
  private readonly key: Buffer;
  private index = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private started = false;

  constructor(key: Buffer) {
    checkKey(key);
    this.header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(this.header);
    this.header[4] = FORMAT_VERSION;
    this.header[5] = CHUNK_LOG2;
    randomBytes(SALT_BYTES).copy(this.header, 8);
    this.key = fileKey(key, this.header);
  }

  /** The sealed bytes ready so far. A full chunk waits until more follows: only then is it known not to be the last. */
  push(bytes: Buffer): Buffer[] {
    const out = this.start();
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes <= CHUNK_BYTES) return out;
    let all = Buffer.concat(this.pending, this.pendingBytes);
    while (all.length > CHUNK_BYTES) {
      out.push(this.seal(all.subarray(0, CHUNK_BYTES), false));
      all = all.subarray(CHUNK_BYTES);
    }
    this.pending = [all];
    this.pendingBytes = all.length;
    return out;
  }

  /** The last chunk (and the header, for empty content). */
  end(): Buffer[] {
    const out = this.start();
    out.push(this.seal(Buffer.concat(this.pending, this.pendingBytes), true));
    this.pending = [];
    this.pendingBytes = 0;
    return out;
  }

  private start(): Buffer[] {
    if (this.started) return [];
    this.started = true;
    return [this.header];
  }

  private seal(plain: Buffer, last: boolean): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce(this.index++, last));
    cipher.setAAD(this.header);
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  }
}

/** Opens a sealed file pushed in pieces of any size: the plaintext of each chunk once its tag is checked. */
export class ChunkOpener {
  private header: Buffer | undefined;
  private key: Buffer | undefined;
  private index = 0;
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly secret: Buffer,
    /** What the file is, for the errors: "The backup", "Binary content sha256:…". */
    private readonly what: string,
  ) {
    checkKey(secret);
  }

  push(bytes: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, bytes]) : bytes;
    const out: Buffer[] = [];
    if (!this.header) {
      if (this.pending.length < HEADER_BYTES) return out;
      this.begin(this.pending.subarray(0, HEADER_BYTES));
      this.pending = this.pending.subarray(HEADER_BYTES);
    }
    // More than a chunk waiting: the first one is not the last.
    while (this.pending.length > SEALED_CHUNK_BYTES) {
      out.push(this.open(this.pending.subarray(0, SEALED_CHUNK_BYTES), false));
      this.pending = this.pending.subarray(SEALED_CHUNK_BYTES);
    }
    return out;
  }

  /** The last chunk's plaintext; throws when the file stops before it. */
  end(): Buffer {
    if (!this.header) parseHeader(this.pending, this.what);
    if (this.pending.length < TAG_BYTES) throw new SealedDataError(`${this.what} is cut short: its last chunk is missing`);
    return this.open(this.pending, true);
  }

  private begin(header: Buffer): void {
    parseHeader(header, this.what);
    this.header = Buffer.from(header);
    this.key = fileKey(this.secret, this.header);
  }

  private open(sealed: Buffer, last: boolean): Buffer {
    return openChunk(this.key!, this.header!, this.index++, last, sealed, this.what);
  }
}

function openChunk(key: Buffer, header: Buffer, index: number, last: boolean, sealed: Buffer, what: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, nonce(index, last));
  decipher.setAAD(header);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const plain = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    decipher.final();
  } catch {
    throw new SealedDataError(`${what} fails its integrity check at chunk ${index}${last ? ' (its last)' : ''}: the file is damaged, cut short or altered, or was sealed under another key`);
  }
  return plain;
}

/** A stream transform sealing what goes through it. */
export function sealingStream(key: Buffer): Transform {
  const sealer = new ChunkSealer(key);
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      for (const sealed of sealer.push(chunk)) this.push(sealed);
      done();
    },
    flush(done: TransformCallback) {
      for (const sealed of sealer.end()) this.push(sealed);
      done();
    },
  });
}

/** A stream transform opening a sealed file: it errs (SealedDataError) rather than pass on a byte it could not check. */
export function openingStream(key: Buffer, what: string): Transform {
  const opener = new ChunkOpener(key, what);
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      try {
        for (const plain of opener.push(chunk)) this.push(plain);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        this.push(opener.end());
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
}

/** Writes a sealed file as its plaintext comes: `write` as often as needed, then `finish` (synced, closed). */
export class SealedFileWriter {
  private readonly sealer: ChunkSealer;

  private constructor(
    private readonly file: FileHandle,
    key: Buffer,
  ) {
    this.sealer = new ChunkSealer(key);
  }

  static async create(path: string, key: Buffer, flags = 'wx'): Promise<SealedFileWriter> {
    return new SealedFileWriter(await open(path, flags, 0o600), key);
  }

  async write(bytes: Buffer): Promise<void> {
    for (const sealed of this.sealer.push(bytes)) await this.file.write(sealed);
  }

  /** The last chunk written, the file synced to disk and closed. */
  async finish(): Promise<void> {
    for (const sealed of this.sealer.end()) await this.file.write(sealed);
    await this.file.sync();
    await this.file.close();
  }

  /** Closes the file unfinished (the caller removes it). */
  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }
}

/** Where each chunk of a sealed file of `fileBytes` bytes lies. */
function chunksOf(fileBytes: number): { count: number; lastBytes: number } {
  const body = fileBytes - HEADER_BYTES;
  const count = Math.max(1, Math.ceil(body / SEALED_CHUNK_BYTES));
  return { count, lastBytes: body - (count - 1) * SEALED_CHUNK_BYTES };
}

/**
 * A sealed file opened for reading, its header and its first and last chunks already checked, so that a file cut
 * short, altered at either end or sealed under another key is refused before anything is served. Content of up to
 * `checkWhole` bytes is checked whole here. Past that, each middle chunk is checked as the stream reaches it, and one
 * found altered then errs the stream: the reader gets a broken transfer, never a byte that was not checked.
 */
export async function openSealedFile(path: string, key: Buffer, what: string, checkWhole = 16 * CHUNK_BYTES): Promise<{ size: number; stream: Readable }> {
  checkKey(key);
  const file = await open(path, 'r');
  try {
    const fileBytes = (await file.stat()).size;
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await file.read(header, 0, HEADER_BYTES, 0);
    parseHeader(header.subarray(0, bytesRead), what);
    const { count, lastBytes } = chunksOf(fileBytes);
    if (lastBytes < TAG_BYTES) throw new SealedDataError(`${what} is cut short: its last chunk is missing`);
    const chunkKey = fileKey(key, header);
    const readChunk = async (index: number) => {
      const bytes = Buffer.alloc(index === count - 1 ? lastBytes : SEALED_CHUNK_BYTES);
      await file.read(bytes, 0, bytes.length, HEADER_BYTES + index * SEALED_CHUNK_BYTES);
      return openChunk(chunkKey, header, index, index === count - 1, bytes, what);
    };
    const size = plainSize(fileBytes);
    const checked: Buffer[] = [];
    const ahead = size <= checkWhole ? count : 1;
    for (let index = 0; index < ahead; index++) checked.push(await readChunk(index));
    if (ahead < count) await readChunk(count - 1);
    if (ahead === count) {
      await file.close();
      return { size, stream: Readable.from(checked) };
    }
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        yield checked[0];
        for (let index = 1; index < count; index++) yield await readChunk(index);
      } finally {
        await file.close();
      }
    }
    // Read ahead up to READ_AHEAD_BYTES, so disk reads and checks overlap with the socket's writes.
    return { size, stream: Readable.from(chunks(), { objectMode: false, highWaterMark: READ_AHEAD_BYTES }) };
  } catch (error) {
    await file.close().catch(() => undefined);
    throw error;
  }
}

/** A whole sealed file read back, synchronously (a snapshot loaded by a thread), a chunk of memory beside its plaintext. */
export function readSealedFileSync(path: string, key: Buffer, what: string): Buffer {
  checkKey(key);
  const fd = openSync(path, 'r');
  try {
    const fileBytes = fstatSync(fd).size;
    const header = Buffer.alloc(HEADER_BYTES);
    parseHeader(header.subarray(0, readSync(fd, header, 0, HEADER_BYTES, 0)), what);
    const { count, lastBytes } = chunksOf(fileBytes);
    if (lastBytes < TAG_BYTES) throw new SealedDataError(`${what} is cut short: its last chunk is missing`);
    const chunkKey = fileKey(key, header);
    // Unpooled, so the plaintext starts aligned, as readers of 32-bit words need; not zeroed, as every byte of it is
    // written below or the read throws.
    const plain = Buffer.allocUnsafeSlow(plainSize(fileBytes));
    // Read a run of chunks at a time: a read per 64 KiB chunk was a good part of a snapshot's load.
    const sealed = Buffer.allocUnsafeSlow(READ_RUN_CHUNKS * SEALED_CHUNK_BYTES);
    for (let first = 0; first < count; first += READ_RUN_CHUNKS) {
      const run = Math.min(READ_RUN_CHUNKS, count - first);
      const runBytes = (run - 1) * SEALED_CHUNK_BYTES + (first + run === count ? lastBytes : SEALED_CHUNK_BYTES);
      readFully(fd, sealed, runBytes, HEADER_BYTES + first * SEALED_CHUNK_BYTES);
      for (let at = 0; at < run; at++) {
        const index = first + at;
        const end = Math.min(runBytes, (at + 1) * SEALED_CHUNK_BYTES);
        openChunk(chunkKey, header, index, index === count - 1, sealed.subarray(at * SEALED_CHUNK_BYTES, end), what).copy(plain, index * CHUNK_BYTES);
      }
    }
    return plain;
  } finally {
    closeSync(fd);
  }
}

/** Chunks readSealedFileSync reads at once (1 MiB). */
const READ_RUN_CHUNKS = 16;

/** Reads `bytes` bytes at `position`, however many reads it takes; a file shorter than that is cut short. */
function readFully(fd: number, into: Buffer, bytes: number, position: number): void {
  for (let done = 0; done < bytes; ) {
    const read = readSync(fd, into, done, bytes - done, position + done);
    if (read === 0) throw new SealedDataError('The sealed file is cut short');
    done += read;
  }
}

/** Small data sealed whole (the same format): a snapshot's metadata. */
export function sealBytes(key: Buffer, plain: Buffer): Buffer {
  const sealer = new ChunkSealer(key);
  return Buffer.concat([...sealer.push(plain), ...sealer.end()]);
}

export function openBytes(key: Buffer, sealed: Buffer, what: string): Buffer {
  const opener = new ChunkOpener(key, what);
  return Buffer.concat([...opener.push(sealed), opener.end()]);
}
