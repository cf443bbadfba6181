import type { Worker } from 'node:worker_threads';
import { startWorker } from '../threads';
import type { FromWorker, TextIndexStatus, ToWorker, WorkerConfig } from './text-worker';
import { MIN_QUERY_LENGTH, queryTerms, type TextField } from '../fhir/search/text-fields';
import type { NotIndexedEntry } from './not-indexed';
import { badRequest, serviceUnavailable } from '../fhir/outcome';

/**
 * The request path's handle on the text index thread (text-worker.ts): searches and status as messages, a nudge
 * after each commit so that the index follows within milliseconds, and a clean stop (snapshot, then terminate:
 * a live worker keeps the process running).
 *
 * The thread may stop (out of memory, a crash) or stall: a text search then answers 503 with Retry-After within
 * SEARCH_WAIT_MS rather than hang, `/health` says why, and a new thread starts after RESTART_DELAY_MS (doubling
 * while it keeps stopping before it is ready). The version the thread was indexing when it stopped is left out by
 * the next one (recorded as not indexed), so that one resource cannot keep the index down.
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
/** A text search waits at most this long for the index (starting, rebuilding, or busy), then answers 503. */
export const SEARCH_WAIT_MS = 500;
/** How long /health and the admin API wait for the thread's figures. */
const STATUS_WAIT_MS = 2000;
/** Retry-After of a 503 while the index is not ready. */
const RETRY_AFTER_S = 2;
/** First delay before a stopped thread is replaced; it doubles, up to MAX_RESTART_DELAY_MS, until one gets ready. */
const RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 60_000;
/** A ready thread that has answered nothing for this long while asked is stalled: it is stopped, and replaced. */
const STALLED_MS = 30_000;
/**
 * Distinct terms of a text query at most: the thread intersects one posting list per term for every match, so a
 * query of thousands of words (a form posted to `_search`) would hold every other search.
 */
export const MAX_QUERY_TERMS = 32;
/** A nudge starts a pass GATHER_MS later (text-worker.ts), which takes every commit made until then. */
const NUDGE_EVERY_MS = 10;

export interface TextIndexOptions extends Omit<WorkerConfig, 'pollMs' | 'snapshotMs' | 'indexing' | 'fatal'> {
  pollMs?: number;
  snapshotMs?: number;
  /** The thread's module: text-worker.ts beside this file, unless bundled (the desktop build passes its own). */
  workerUrl?: URL;
}

/**
 * The index as `/health` reports it: the thread's figures (the last ones known while it is down), and its state:
 * `starting` (the thread starts and loads its snapshot: moments, seconds for a national directory), `rebuilding`
 * (no usable snapshot: from the whole change log) or `replaying` (the changes after the snapshot, after a crash),
 * `ready`, `unresponsive` (it did not answer in time), `restarting` (it stopped: `error` says how), `closed`. Text
 * searches are answered only when `ready`.
 */
export interface TextIndexHealth extends TextIndexStatus {
  state: 'starting' | 'rebuilding' | 'replaying' | 'ready' | 'unresponsive' | 'restarting' | 'closed';
  /** Threads replaced since the node started. */
  restarts: number;
  error?: string;
}

/**
 * A text search's matches, newest first, when asked (`countUpTo`) how many there are up to that count, and the
 * change the index had applied when it answered: every vseq listed was then a current version.
 */
export interface TextSearchAnswer {
  vseqs: number[];
  count?: number;
  indexedSeq?: number;
}

export class TextIndex {
  private readonly url: URL;
  private readonly config: Omit<WorkerConfig, 'fatal'>;
  private worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (message: FromWorker) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  /** Whether the current thread answers searches (it said `ready`). */
  private ready = false;
  /** Why there is no thread now (it stopped, and another will start). */
  private down: string | undefined;
  /** Why the current thread last stopped (its `error` event comes before its `exit`). */
  private lastError: Error | undefined;
  /** Waiting for `ready`: searches that came while the thread was starting. */
  private readonly readyWaiters = new Set<() => void>();
  /** The vseq the thread is indexing (0 between versions), shared with it: the version that killed it, if it died. */
  private readonly indexing = new Uint32Array(new SharedArrayBuffer(4));
  /** Versions that stopped a thread, with how: the next threads leave them out. */
  private readonly fatal = new Map<number, string>();
  private restarts = 0;
  /** Threads that stopped in a row before getting ready (for the restart delay). */
  private failedStarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Since when the thread has been asked something without answering anything (performance.now()). */
  private unansweredSince: number | undefined;
  private lastStatus: TextIndexStatus = { ready: false, indexedSeq: 0, lagMs: 0, lagP95Ms: 0, startedFrom: 'loading', notIndexed: 0 };
  /** The status asked of the thread and not answered yet. */
  private statusAsked: Promise<TextIndexHealth> | undefined;
  private closed = false;
  /** When the worker was last nudged (performance.now()). */
  private lastNudge = -Infinity;

  constructor(options: TextIndexOptions) {
    const { workerUrl = new URL('./text-worker.ts', import.meta.url), ...settings } = options;
    this.url = workerUrl;
    this.config = { pollMs: 100, snapshotMs: 10 * 60_000, ...settings, indexing: this.indexing.buffer as SharedArrayBuffer };
    this.worker = this.startThread();
  }

  /**
   * Something was committed: index it now rather than at the next poll. At most one message per GATHER_MS (the
   * worker gathers that long anyway): a message per commit cost the write path 3% under load.
   */
  changed(): void {
    const now = performance.now();
    if (now - this.lastNudge < NUDGE_EVERY_MS || this.closed || this.down) return;
    this.lastNudge = now;
    this.worker.postMessage({ kind: 'changed' } satisfies ToWorker);
  }

  /**
   * The vseqs of `resourceType` resources whose field matches the query (every term begins a word; whole words for
   * content and text), newest first, at most `limit` (MAX_TEXT_MATCHES at most). A query of fewer than two letters
   * or digits, or of more than MAX_QUERY_TERMS words, is refused (400); while the index is not ready, 503. With
   * `countUpTo`, the matches are also counted up to it (a count past `limit` without their vseqs).
   */
  async search(resourceType: string, field: TextField, query: string, parameter: string, limit = MAX_TEXT_MATCHES, countUpTo?: number): Promise<TextSearchAnswer> {
    const terms = [...new Set(queryTerms(query))];
    if (terms.join('').length < MIN_QUERY_LENGTH) throw badRequest('text-query-too-short', `'${parameter}' needs at least ${MIN_QUERY_LENGTH} letters or digits`, parameter, { min: MIN_QUERY_LENGTH });
    if (terms.length > MAX_QUERY_TERMS) throw badRequest('text-query-too-long', `'${parameter}' may hold at most ${MAX_QUERY_TERMS} words`, parameter, { max: MAX_QUERY_TERMS });
    const deadline = performance.now() + SEARCH_WAIT_MS;
    if (!this.ready) await this.untilReady(deadline);
    // A thread that got ready at the last moment still has a moment to answer.
    const wait = Math.max(deadline - performance.now(), SEARCH_WAIT_MS / 5);
    const answer = await this.call({ kind: 'search', resourceType, field, terms, limit: Math.min(limit, MAX_TEXT_MATCHES), countUpTo }, wait);
    return answer.kind === 'result' ? { vseqs: answer.vseqs, count: answer.count, indexedSeq: answer.indexedSeq } : { vseqs: [] };
  }

  /** Where the index stands; never waits more than STATUS_WAIT_MS. */
  /** Callers at the same time (`/health`'s figures and the text module's health) share one answer, so they agree. */
  status(): Promise<TextIndexHealth> {
    this.statusAsked ??= this.askStatus().finally(() => (this.statusAsked = undefined));
    return this.statusAsked;
  }

  private async askStatus(): Promise<TextIndexHealth> {
    const known = { restarts: this.restarts };
    if (this.closed) return { ...this.lastStatus, ...known, ready: false, state: 'closed' };
    if (this.down) return { ...this.lastStatus, ...known, ready: false, state: 'restarting', error: this.down };
    try {
      const answer = await this.call({ kind: 'status' }, STATUS_WAIT_MS);
      if (answer.kind !== 'status') throw new Error('Unexpected answer from the text index thread');
      this.lastStatus = answer.status;
      return { ...answer.status, ...known, state: stateOf(answer.status) };
    } catch (error) {
      if (this.down) return { ...this.lastStatus, ...known, ready: false, state: 'restarting', error: this.down };
      // A thread loading its snapshot answers nothing until it is loaded.
      const state = this.ready ? 'unresponsive' : 'starting';
      return { ...this.lastStatus, ...known, ready: this.ready, state, error: (error as Error).message };
    }
  }

  /** The resources the index left out, and why (the first 1,000; `count` has them all). 503 while it is down. */
  async notIndexed(): Promise<{ entries: NotIndexedEntry[]; count: number }> {
    const answer = await this.call({ kind: 'notIndexed' }, STATUS_WAIT_MS);
    if (answer.kind !== 'notIndexed') throw new Error('Unexpected answer from the text index thread');
    return { entries: answer.entries, count: answer.count };
  }

  /** Resolves once every change committed up to now is indexed (tests, and `reindex --text`). */
  async caughtUp(latestSeq: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status();
      if (status.ready && status.indexedSeq >= latestSeq) return;
      if (Date.now() > deadline) throw new Error(`The text index is still at change ${status.indexedSeq} of ${latestSeq} (${status.state})`);
      this.changed();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Saves a snapshot of what is indexed, then stops the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.restartTimer);
    try {
      if (!this.down) await this.call({ kind: 'close' }, CALL_TIMEOUT_MS);
    } finally {
      this.closed = true;
      this.ready = false;
      await this.worker.terminate();
    }
  }

  private startThread(): Worker {
    const worker = startWorker(this.url, { ...this.config, fatal: [...this.fatal] } satisfies WorkerConfig);
    this.lastError = undefined;
    worker.on('message', (message: FromWorker) => {
      if (worker === this.worker) this.settle(message);
    });
    worker.on('error', (error) => {
      if (worker === this.worker) this.lastError = error;
    });
    worker.on('exit', (code) => {
      if (worker === this.worker && !this.closed) this.stopped(code);
    });
    return worker;
  }

  /** The thread stopped by itself: everything waiting on it answers 503, and another starts after a delay. */
  private stopped(code: number): void {
    const how = this.lastError ? this.lastError.message : `exit code ${code}`;
    // Out of memory, an error nothing caught, or stalled: the version it was indexing is the likely cause. Not when
    // it was stopped from outside (no error).
    const vseq = this.indexing[0];
    if (vseq !== 0 && this.lastError) this.fatal.set(vseq, `The text index thread stopped while indexing this version (${how})`);
    this.indexing[0] = 0;
    this.ready = false;
    this.down = `The text index thread stopped (${how}); it restarts, and name, address, _content and _text searches answer 503 meanwhile`;
    this.unansweredSince = undefined;
    const error = this.unavailable();
    for (const waiter of this.pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.pending.clear();
    for (const wake of this.readyWaiters) wake();
    const delay = Math.min(MAX_RESTART_DELAY_MS, RESTART_DELAY_MS * 2 ** this.failedStarts);
    this.failedStarts++;
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      this.down = undefined;
      this.worker = this.startThread();
    }, delay);
    this.restartTimer.unref();
  }

  private unavailable(): Error {
    return serviceUnavailable('text-index-not-ready', this.down ?? 'The text index is starting or being rebuilt: name, address, _content and _text searches answer once it is ready', RETRY_AFTER_S);
  }

  /**
   * Waits for the thread to be ready, until `deadline` (a fresh node's is ready within moments, a rebuild takes
   * minutes); 503 past it, or at once when there is no thread.
   */
  private async untilReady(deadline: number): Promise<void> {
    if (this.down || this.closed) throw this.unavailable();
    let wake = () => {};
    const woken = new Promise<void>((resolve) => (wake = resolve));
    this.readyWaiters.add(wake);
    const timer = setTimeout(wake, Math.max(0, deadline - performance.now()));
    try {
      await woken;
    } finally {
      clearTimeout(timer);
      this.readyWaiters.delete(wake);
    }
    if (!this.ready) throw this.unavailable();
  }

  private call(message: DistributiveOmit<ToWorker, 'id'>, timeoutMs: number): Promise<FromWorker> {
    if (this.down) return Promise.reject(this.unavailable());
    if (this.closed) return Promise.reject(new Error('The text index is closed'));
    const id = this.nextId++;
    this.unansweredSince ??= performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.stopIfStalled();
        reject(serviceUnavailable('text-index-not-ready', `The text index did not answer within ${Math.round(timeoutMs)} ms`, RETRY_AFTER_S));
      }, Math.max(0, timeoutMs));
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ ...message, id } as ToWorker);
    });
  }

  /**
   * A ready thread that has answered nothing for STALLED_MS while asked is stopped; `exit` then replaces it. Not one
   * still starting: loading a national snapshot holds it for seconds, and a slow disk could make that much longer.
   */
  private stopIfStalled(): void {
    if (!this.ready || this.unansweredSince === undefined || performance.now() - this.unansweredSince < STALLED_MS) return;
    this.lastError = new Error(`it answered nothing for ${STALLED_MS / 1000} s`);
    void this.worker.terminate(); // resolves with the exit code, never rejects
  }

  private settle(message: FromWorker): void {
    this.unansweredSince = undefined;
    if (message.kind === 'ready') {
      this.ready = true;
      this.failedStarts = 0;
      for (const wake of this.readyWaiters) wake();
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.kind === 'failed') waiter.reject(new Error(message.message));
    else waiter.resolve(message);
  }
}

function stateOf(status: TextIndexStatus): TextIndexHealth['state'] {
  if (status.ready) return 'ready';
  return status.startedFrom === 'rebuild' ? 'rebuilding' : status.startedFrom === 'snapshot' ? 'replaying' : 'starting';
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
