import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, statSync, type ReadStream } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_BINARY_BYTES } from '../fhir/limits';
import { payloadTooLarge } from '../fhir/outcome';

/**
 * Binary content, outside SQLite (DESIGN §4): content-addressed files `<data>/binaries/<2 hex>/<sha256>` written by
 * streaming, so a 49 MiB document never sits in memory, with the size limit enforced while it arrives. A file is
 * complete and synced before the version that points at it commits; a write that fails leaves no file behind.
 */

export interface StoredContent {
  /** SHA-256 of the content, hex: its name in the store. */
  hash: string;
  size: number;
}

const HASH = /^[0-9a-f]{64}$/;

/** Whether a text is a content hash as the store names files: SHA-256 in lower-case hex. */
export const isContentHash = (text: string) => HASH.test(text);

export class BinaryStore {
  private readonly tmp: string;

  constructor(private readonly dir: string) {
    this.tmp = join(dir, 'tmp');
    mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
  }

  /** One piece of content coming in, written to a temporary file as it arrives; `store` keeps it, `abort` forgets it. */
  async incoming(limit = MAX_BINARY_BYTES): Promise<IncomingContent> {
    const path = join(this.tmp, randomUUID());
    return new IncomingContent(await open(path, 'wx', 0o600), path, limit, (hash) => this.place(path, hash));
  }

  /** The content, to stream to a client; undefined when the store has no such file. */
  open(hash: string): ReadStream | undefined {
    const path = this.pathOf(hash);
    return path && existsSync(path) ? createReadStream(path) : undefined;
  }

  /** Whether the store holds this content. */
  has(hash: string): boolean {
    const path = this.pathOf(hash);
    return path !== undefined && existsSync(path);
  }

  /** The size of the content in bytes; undefined when the store has no such file. */
  size(hash: string): number | undefined {
    const path = this.pathOf(hash);
    return path ? statSync(path, { throwIfNoEntry: false })?.size : undefined;
  }

  private pathOf(hash: string): string | undefined {
    // The name comes from our own records, but a path is built from it: only a hash may become one.
    return HASH.test(hash) ? join(this.dir, hash.slice(0, 2), hash) : undefined;
  }

  private async place(tmpPath: string, hash: string): Promise<void> {
    const folder = join(this.dir, hash.slice(0, 2));
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const target = join(folder, hash);
    // Same content, same name: a second upload of a document keeps the first file.
    if (existsSync(target)) await rm(tmpPath, { force: true });
    else await rename(tmpPath, target);
    // The rename must survive a crash as surely as the version that will point at it.
    const directory = await open(folder, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }
}

export class IncomingContent {
  private readonly hash = createHash('sha256');
  private size = 0;
  private done = false;
  private completed: StoredContent | undefined;

  constructor(
    private readonly file: FileHandle,
    private readonly path: string,
    private readonly limit: number,
    private readonly place: (hash: string) => Promise<void>,
  ) {}

  async push(chunk: Buffer): Promise<void> {
    this.size += chunk.length;
    if (this.size >= this.limit) {
      throw payloadTooLarge(`Binary content of ${this.limit / 1024 / 1024} MiB or more is refused`);
    }
    this.hash.update(chunk);
    // Awaiting each write holds the request stream back: memory stays at one chunk.
    await this.file.write(chunk);
  }

  /** Ends the content: synced to disk, named by its hash, not yet in the store (`store` or `abort` follows). */
  async complete(): Promise<StoredContent> {
    if (this.completed) return this.completed;
    this.done = true;
    await this.file.sync();
    await this.file.close();
    this.completed = { hash: this.hash.digest('hex'), size: this.size };
    return this.completed;
  }

  /** Moves completed content into the store, where versions may point at it. */
  async store(): Promise<StoredContent> {
    if (!this.completed) throw new Error('complete() the content before storing it');
    await this.place(this.completed.hash);
    return this.completed;
  }

  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.file.close().catch(() => undefined);
    }
    await rm(this.path, { force: true });
  }
}
