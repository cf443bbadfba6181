import type { Statement } from 'better-sqlite3';
import type { Readable } from 'node:stream';
import { storedContentOf, type ContentRef } from '../fhir/binary-content';
import { codedIssue, FhirError, payloadTooLarge } from '../fhir/outcome';
import { MAX_BINARY_BYTES } from '../fhir/limits';
import type { BinaryStore } from '../store/binary-store';
import type { Db } from '../store/database';

/**
 * Binary content that travels with sync (docs/sync.md, "Binary content"). A replicated Binary version names its
 * content by hash and size; a node storing one whose file it lacks records it here, in the transaction that stores
 * the version, and fetches the bytes afterwards (never while a page is applied) from the peer the version came from,
 * or receives them from a pushing peer. Bytes join the binary store only once their SHA-256 and size are the ones
 * the version names: anything else is refused and leaves no file. Until then a read of the Binary answers 503 with
 * Retry-After.
 */

/** A Binary version whose content this node awaits. */
export interface WantedContent {
  versionId: string;
  /** The Binary's id. */
  id: string;
  hash: string;
  size: number;
  receivedFrom: string | null;
  attempts: number;
}

interface WantedRow {
  version_id: string;
  resource_id: string;
  hash: string;
  size: number;
  received_from: string | null;
  attempts: number;
}

/** Content a peer lacks, to upload to it after a push. */
export interface OutgoingContent {
  hash: string;
  id: string;
  versionId: string;
}

/** The first retry of a failed fetch; doubled each attempt up to MAX_RETRY_MS. */
const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 10 * 60_000;
/** What a read of awaited content tells the client to wait. */
export const CONTENT_RETRY_AFTER_S = 5;
const MAX_ERROR_LENGTH = 500;

export class ContentQueue {
  private readonly statements: {
    want: Statement;
    wanted: Statement<[string], WantedRow>;
    due: Statement<[number, number], WantedRow>;
    isWanted: Statement<[string], number>;
    fulfil: Statement<[string]>;
    fail: Statement;
    owe: Statement;
    owed: Statement<[string], { hash: string; resource_id: string; version_id: string }>;
    settle: Statement<[string, string]>;
  };

  constructor(
    db: Db,
    readonly store: BinaryStore,
  ) {
    this.statements = {
      want: db.prepare(
        `INSERT OR IGNORE INTO sync_content_wanted (version_id, resource_id, hash, size, received_from, next_attempt_at, queued_at)
         VALUES (@versionId, @id, @hash, @size, @receivedFrom, @now, @queuedAt)`,
      ),
      wanted: db.prepare<[string], WantedRow>('SELECT * FROM sync_content_wanted WHERE hash = ? ORDER BY queued_at, version_id'),
      due: db.prepare<[number, number], WantedRow>('SELECT * FROM sync_content_wanted WHERE next_attempt_at <= ? ORDER BY next_attempt_at, version_id LIMIT ?'),
      isWanted: db.prepare<[string], number>('SELECT 1 FROM sync_content_wanted WHERE hash = ? LIMIT 1').pluck(),
      fulfil: db.prepare<[string]>('DELETE FROM sync_content_wanted WHERE hash = ?'),
      fail: db.prepare('UPDATE sync_content_wanted SET attempts = attempts + 1, next_attempt_at = @next, last_error = @error WHERE hash = @hash'),
      owe: db.prepare('INSERT OR IGNORE INTO sync_content_outbox (peer_id, hash, resource_id, version_id) VALUES (?, ?, ?, ?)'),
      owed: db.prepare<[string], { hash: string; resource_id: string; version_id: string }>('SELECT hash, resource_id, version_id FROM sync_content_outbox WHERE peer_id = ? ORDER BY hash'),
      settle: db.prepare<[string, string]>('DELETE FROM sync_content_outbox WHERE peer_id = ? AND hash = ?'),
    };
  }

  /**
   * Called for each replicated version stored (or already here), inside its transaction: a Binary whose content
   * file is not in the store is recorded as awaited. Returns whether its content is missing.
   */
  note(version: { resourceType: string; id: string; versionId: string; resource: Record<string, unknown>; receivedFrom?: string }): boolean {
    if (version.resourceType !== 'Binary') return false;
    const content = storedContentOf(version.resource);
    if (!content || this.store.has(content.hash)) return false;
    this.statements.want.run({
      versionId: version.versionId,
      id: version.id,
      hash: content.hash,
      size: content.size,
      receivedFrom: version.receivedFrom ?? null,
      now: Date.now(),
      queuedAt: new Date().toISOString(),
    });
    return true;
  }

  /** Whether some Binary version here awaits this content (a read answers 503 rather than 404). */
  awaits(hash: string): boolean {
    return this.statements.isWanted.get(hash) !== undefined;
  }

  /** The Binary versions awaiting this content. */
  waitingFor(hash: string): WantedContent[] {
    return this.statements.wanted.all(hash).map(wantedOf);
  }

  /** Awaited content whose next attempt is due, one entry per hash. */
  due(limit = 100): WantedContent[] {
    const seen = new Set<string>();
    return this.statements.due
      .all(Date.now(), limit)
      .filter((row) => !seen.has(row.hash) && seen.add(row.hash))
      .map(wantedOf);
  }

  /** The content is in the store: nothing awaits it any more. */
  fulfilled(hash: string): void {
    this.statements.fulfil.run(hash);
  }

  /** An attempt failed: the next one waits longer (2 s doubling to 10 min). */
  failed(wanted: WantedContent, error: string): void {
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(wanted.attempts, 20));
    this.statements.fail.run({ hash: wanted.hash, next: Date.now() + delay, error: error.slice(0, MAX_ERROR_LENGTH) });
  }

  /** A peer answered $replicate that it lacks this content: upload it there (call in the push cursor's transaction). */
  owe(peerId: string, content: OutgoingContent): void {
    this.statements.owe.run(peerId, content.hash, content.id, content.versionId);
  }

  owedTo(peerId: string): OutgoingContent[] {
    return this.statements.owed.all(peerId).map((row) => ({ hash: row.hash, id: row.resource_id, versionId: row.version_id }));
  }

  /** The peer has the content now (or no longer awaits it). */
  settled(peerId: string, hash: string): void {
    this.statements.settle.run(peerId, hash);
  }

  /**
   * Streams `body` into the binary store and keeps it only if it is exactly the content `expected` names: more
   * bytes than its size stop the transfer at once; a different hash or size is refused (422), and no file is left.
   */
  async receive(body: AsyncIterable<Uint8Array> | Readable, expected: ContentRef): Promise<void> {
    if (expected.size >= MAX_BINARY_BYTES) throw payloadTooLarge('binary-too-large', `Binary content of ${MAX_BINARY_BYTES / 1024 / 1024} MiB or more is refused`);
    // One byte more than announced is enough to know it is not the content.
    const incoming = await this.store.incoming(expected.size + 1);
    try {
      for await (const chunk of body as AsyncIterable<Uint8Array>) await incoming.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      const got = await incoming.complete();
      if (got.hash !== expected.hash || got.size !== expected.size) throw contentMismatch(expected);
      await incoming.store();
    } catch (error) {
      await incoming.abort();
      if (error instanceof FhirError && error.status === 413) throw contentMismatch(expected);
      throw error;
    }
  }
}

function contentMismatch(expected: ContentRef): FhirError {
  return new FhirError(422, codedIssue('value', 'content-mismatch', `The content received is not sha256:${expected.hash} of ${expected.size} bytes: refused`));
}

function wantedOf(row: WantedRow): WantedContent {
  return { versionId: row.version_id, id: row.resource_id, hash: row.hash, size: row.size, receivedFrom: row.received_from, attempts: row.attempts };
}
