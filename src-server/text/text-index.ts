import type { Worker } from 'node:worker_threads';
import { startWorker } from '../threads';
import type { FromWorker, TextIndexStatus, ToWorker, WorkerConfig } from './text-worker';
import { MIN_QUERY_LENGTH, queryTerms, type TextField } from './text-fields';
import { badRequest } from '../fhir/outcome';

/**
 * The request path's handle on the text index thread (text-worker.ts): searches and status as messages, a nudge
 * after each commit so that the index follows within milliseconds, and a clean stop (snapshot, then terminate:
 * a live worker keeps the process running).
 */

export const SNAPSHOT_FOLDER = 'text-index';
/** Matches a text search hands to SQL at most; past that, the page is found among the most recently indexed. */
export const MAX_TEXT_MATCHES = 10_000;
/**
 * Matches a search with other filters asks for first (text-queries.ts): a page of results nearly always comes from
 * the newest few hundred, and at the national scale handing over 10,000 cost the index's thread more than the rest
 * of the request (names over HTTP 874 -> 1,667 req/s). A search that runs out of them asks again for
 * MAX_TEXT_MATCHES (PartialTextMatches).
 */
export const FIRST_TEXT_MATCHES = 1_000;
const CALL_TIMEOUT_MS = 30_000;
/** A nudge starts a pass GATHER_MS later (text-worker.ts), which takes every commit made until then. */
const NUDGE_EVERY_MS = 10;

export interface TextIndexOptions extends Omit<WorkerConfig, 'pollMs' | 'snapshotMs'> {
  pollMs?: number;
  snapshotMs?: number;
  /** The thread's module: text-worker.ts beside this file, unless bundled (the desktop build passes its own). */
  workerUrl?: URL;
}

export class TextIndex {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (message: FromWorker) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private failure: Error | undefined;
  private closed = false;
  /** When the worker was last nudged (performance.now()). */
  private lastNudge = -Infinity;

  constructor(options: TextIndexOptions) {
    const { workerUrl = new URL('./text-worker.ts', import.meta.url), ...settings } = options;
    const config: WorkerConfig = { pollMs: 100, snapshotMs: 10 * 60_000, ...settings };
    this.worker = startWorker(workerUrl, config);
    this.worker.on('message', (message: FromWorker) => this.settle(message));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`The text index thread stopped (exit code ${code})`));
    });
  }

  /**
   * Something was committed: index it now rather than at the next poll. At most one message per GATHER_MS (the
   * worker gathers that long anyway): a message per commit cost the write path 3% under load.
   */
  changed(): void {
    const now = performance.now();
    if (now - this.lastNudge < NUDGE_EVERY_MS || this.closed || this.failure) return;
    this.lastNudge = now;
    this.worker.postMessage({ kind: 'changed' } satisfies ToWorker);
  }

  /**
   * The vseqs of `resourceType` resources whose field matches the query (every term begins a word; whole words for
   * content and text), newest first, at most `limit` (MAX_TEXT_MATCHES at most). A query of fewer than two letters
   * or digits is refused (400).
   */
  async search(resourceType: string, field: TextField, query: string, parameter: string, limit = MAX_TEXT_MATCHES): Promise<number[]> {
    const terms = queryTerms(query);
    if (terms.join('').length < MIN_QUERY_LENGTH) throw badRequest(`'${parameter}' needs at least ${MIN_QUERY_LENGTH} letters or digits`, parameter);
    const answer = await this.call({ kind: 'search', resourceType, field, terms, limit: Math.min(limit, MAX_TEXT_MATCHES) });
    return answer.kind === 'result' ? answer.vseqs : [];
  }

  async status(): Promise<TextIndexStatus> {
    const answer = await this.call({ kind: 'status' });
    if (answer.kind !== 'status') throw new Error('Unexpected answer from the text index thread');
    return answer.status;
  }

  /** Resolves once every change committed up to now is indexed (tests, and `reindex --text`). */
  async caughtUp(latestSeq: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status();
      if (status.ready && status.indexedSeq >= latestSeq) return;
      if (Date.now() > deadline) throw new Error(`The text index is still at change ${status.indexedSeq} of ${latestSeq}`);
      this.changed();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Saves a snapshot of what is indexed, then stops the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.failure) await this.call({ kind: 'close' });
    } finally {
      this.closed = true;
      await this.worker.terminate();
    }
  }

  private call(message: DistributiveOmit<ToWorker, 'id'>): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('The text index is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('The text index thread did not answer in time'));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ ...message, id } as ToWorker);
    });
  }

  private settle(message: FromWorker): void {
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.kind === 'failed') waiter.reject(new Error(message.message));
    else waiter.resolve(message);
  }

  private fail(error: Error): void {
    this.failure = error;
    for (const waiter of this.pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.pending.clear();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

