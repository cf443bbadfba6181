import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { MAX_BINARY_BYTES } from '../fhir/limits';
import { codedIssue, FhirError, payloadTooLarge } from '../fhir/outcome';
import { derivedKey, looksSealed, openSealedFile, plainSize, SealedFileWriter } from '../sealed-chunks';

/**
 * Binary content, outside SQLite (DESIGN §4): content-addressed files `<data>/binaries/<2 hex>/<name>` written by
 * streaming, so a 49 MiB document never sits in memory, with the size limit enforced while it arrives. A file is
 * complete and synced before the version that points at it commits; a write that fails leaves no file behind.
 *
 * Files are sealed in chunks with AES-256-GCM under the content key (sealed-chunks.ts), and named by an HMAC of the
 * content's SHA-256 under a key derived from it. The SHA-256 stays the content's identity everywhere else (the
 * Binary's `_content`, sync's `$content?hash=`): only the bytes on disk and their names change.
 */

export interface StoredContent {
  /** SHA-256 of the content, hex: its identity (the file's name is keyed from it). */
  hash: string;
  size: number;
}

const HASH = /^[0-9a-f]{64}$/;
/** Written in the binaries folder once no plaintext content file is left in it (encryptBinaries). */
const ALL_SEALED_FILE = 'all-sealed';

/** Whether a text is a content hash as the store names files: SHA-256 in lower-case hex. */
export const isContentHash = (text: string) => HASH.test(text);

export class BinaryStore {
  private readonly tmp: string;
  /** Names files: a keyed hash of the content's SHA-256, so a file's name does not confirm a known document is here. */
  private readonly nameKey: Buffer;

  constructor(
    private readonly dir: string,
    /** The content key (32 bytes): seals the files and keys their names. */
    private readonly key: Buffer,
  ) {
    this.nameKey = derivedKey(key, 'content file names');
    this.tmp = join(dir, 'tmp');
    mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
  }

  /** One piece of content coming in, sealed into a temporary file as it arrives; `store` keeps it, `abort` forgets it. */
  async incoming(limit = MAX_BINARY_BYTES): Promise<IncomingContent> {
    const path = join(this.tmp, randomUUID());
    return new IncomingContent(await SealedFileWriter.create(path, this.key), path, limit, (hash) => this.place(path, hash));
  }

  /**
   * The content, to stream to a client; undefined when the store has no such file. Its first and last chunks are
   * checked before this returns (all of it when small), so a damaged or altered file is refused (500) before a byte
   * or a header is sent; a chunk in the middle found altered later breaks the stream, never serves wrong bytes.
   */
  async open(hash: string): Promise<Readable | undefined> {
    const file = this.fileOf(hash);
    if (!file) return undefined;
    try {
      return (await openSealedFile(file, this.key, `The content sha256:${hash}`)).stream;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw damaged(hash, error as Error);
    }
    // Written before content was sealed: read as it is until converted (encryptBinaries), which may remove it meanwhile.
    const legacy = this.legacyFileOf(hash);
    if (legacy && existsSync(legacy)) {
      try {
        return await openLegacy(legacy);
      } catch {
        return this.has(hash) ? this.open(hash) : undefined;
      }
    }
    return undefined;
  }

  /** Whether the store holds this content. */
  has(hash: string): boolean {
    return [this.fileOf(hash), this.legacyFileOf(hash)].some((path) => path !== undefined && existsSync(path));
  }

  /** The size of the content in bytes; undefined when the store has no such file. */
  size(hash: string): number | undefined {
    const sealed = this.fileOf(hash);
    const bytes = sealed ? statSync(sealed, { throwIfNoEntry: false })?.size : undefined;
    if (bytes !== undefined) return plainSize(bytes);
    const legacy = this.legacyFileOf(hash);
    return legacy ? statSync(legacy, { throwIfNoEntry: false })?.size : undefined;
  }

  /** Where the content's sealed file is (or would be). */
  fileOf(hash: string): string | undefined {
    // The name comes from our own records, but a path is built from it: only a hash may become one.
    if (!HASH.test(hash)) return undefined;
    const name = createHmac('sha256', this.nameKey).update(hash).digest('hex');
    return join(this.dir, name.slice(0, 2), name);
  }

  /** Where content written before sealing lies: named by its SHA-256, in plaintext. */
  private legacyFileOf(hash: string): string | undefined {
    return HASH.test(hash) ? join(this.dir, hash.slice(0, 2), hash) : undefined;
  }

  private async place(tmpPath: string, hash: string): Promise<void> {
    const target = this.fileOf(hash)!;
    const folder = dirname(target);
    await mkdir(folder, { recursive: true, mode: 0o700 });
    // Same content, same name: a second upload of a document keeps the first file.
    if (existsSync(target)) await rm(tmpPath, { force: true });
    else await rename(tmpPath, target);
    // The rename must survive a crash as surely as the version that will point at it.
    await syncFolder(folder);
  }
}

/**
 * Seals the plaintext content files a binaries folder holds from before content was sealed (named by their SHA-256),
 * one at a time and crash-safely: each is sealed into a temporary file, synced, renamed to its keyed name, and only
 * then removed, so at every moment a document is in one form or the other (the store reads both). Run by the node at
 * start and by `liaison encrypt`; a second run does what the first left, and once a run finds nothing left, a
 * marker file spares the next starts the walk. `stop` ends it between two files. Returns how many files it sealed.
 */
export async function encryptBinaries(folder: string, contentKey: Buffer, stop = () => false): Promise<number> {
  const marker = join(folder, ALL_SEALED_FILE);
  if (!existsSync(folder) || existsSync(marker)) return 0;
  const store = new BinaryStore(folder, contentKey);
  let sealed = 0;
  for (const prefix of await readdir(folder)) {
    if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
    for (const name of await readdir(join(folder, prefix))) {
      if (stop()) return sealed;
      const legacy = join(folder, prefix, name);
      if (!HASH.test(name) || !name.startsWith(prefix) || (await isSealed(legacy))) continue;
      // Named by the hash its Binaries name, whatever the bytes: they are served as they were.
      if (!existsSync(store.fileOf(name)!)) {
        const incoming = await store.incoming(Number.MAX_SAFE_INTEGER);
        try {
          for await (const chunk of createReadStream(legacy)) await incoming.push(chunk as Buffer);
          await incoming.complete();
        } catch (error) {
          await incoming.abort();
          throw error;
        }
        await incoming.storeAs(name);
      }
      await rm(legacy, { force: true });
      sealed++;
    }
    await syncFolder(join(folder, prefix));
  }
  await writeFile(marker, '', { mode: 0o600 });
  return sealed;
}

async function isSealed(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const start = Buffer.alloc(4);
    await file.read(start, 0, 4, 0);
    return looksSealed(start);
  } finally {
    await file.close();
  }
}

async function openLegacy(path: string): Promise<Readable> {
  const file = await open(path, 'r');
  return file.createReadStream();
}

async function syncFolder(folder: string): Promise<void> {
  const directory = await open(folder, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

function damaged(hash: string, error: Error): FhirError {
  return new FhirError(
    500,
    codedIssue(
      'exception',
      'binary-content-damaged',
      `The stored content of this Binary (sha256:${hash}) cannot be read: ${error.message}. Nothing of it is served. Restore it from a backup, or from a sync peer that holds it.`,
    ),
  );
}

export class IncomingContent {
  private readonly hash = createHash('sha256');
  private size = 0;
  private done = false;
  private completed: StoredContent | undefined;

  constructor(
    private readonly file: SealedFileWriter,
    private readonly path: string,
    private readonly limit: number,
    private readonly place: (hash: string) => Promise<void>,
  ) {}

  async push(chunk: Buffer): Promise<void> {
    this.size += chunk.length;
    if (this.size >= this.limit) {
      throw payloadTooLarge('binary-too-large', `Binary content of ${this.limit / 1024 / 1024} MiB or more is refused`);
    }
    this.hash.update(chunk);
    // Awaiting each write holds the request stream back: memory stays at one chunk.
    await this.file.write(chunk);
  }

  /** Ends the content: synced to disk, named by its hash, not yet in the store (`store` or `abort` follows). */
  async complete(): Promise<StoredContent> {
    if (this.completed) return this.completed;
    this.done = true;
    await this.file.finish();
    this.completed = { hash: this.hash.digest('hex'), size: this.size };
    return this.completed;
  }

  /** Moves completed content into the store, where versions may point at it. */
  async store(): Promise<StoredContent> {
    if (!this.completed) throw new Error('complete() the content before storing it');
    await this.place(this.completed.hash);
    return this.completed;
  }

  /** Moves completed content into the store under the hash it was known by (a plaintext file being sealed). */
  async storeAs(hash: string): Promise<void> {
    if (!this.completed) throw new Error('complete() the content before storing it');
    await this.place(hash);
  }

  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.file.close();
    }
    await rm(this.path, { force: true });
  }
}
