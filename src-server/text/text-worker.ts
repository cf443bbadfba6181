import { parentPort, workerData } from 'node:worker_threads';
import { openReader, type DatabaseAccess } from '../store/database';
import { loadSnapshot, removeSnapshot, saveSnapshot } from './snapshot';
import type { NotIndexedEntry } from './not-indexed';
import type { TextField } from '../fhir/search/text-fields';
import { TextIndexer } from './text-indexer';

/**
 * The text index's thread: it owns the FlexSearch indexes, follows the change log through its own read-only
 * connection, answers searches, and snapshots to disk. The request path only posts messages to it.
 */

export interface WorkerConfig {
  /** The store, which the thread reads through a connection of its own (its key, if any, comes here: never in argv or env). */
  database: DatabaseAccess;
  snapshotFolder: string;
  /** The text-index key (32 bytes): the snapshot is sealed under it. */
  snapshotKey: Uint8Array;
  nodeId: string;
  /** Milliseconds between two looks at the change log when nobody says something was written. */
  pollMs: number;
  /** Milliseconds between snapshots while changes come in (one is also taken on close). */
  snapshotMs: number;
  /** One u32 where the thread writes the vseq it is indexing: read by the parent when the thread dies. */
  indexing: SharedArrayBuffer;
  /** Versions (vseq, reason) that stopped an earlier thread: left out and recorded as not indexed. */
  fatal: Array<[number, string]>;
}

export type ToWorker =
  | { kind: 'changed' }
  /** `countUpTo`: the matches counted up to it as well (TextSearchAnswer.count). */
  | { kind: 'search'; id: number; resourceType: string; field: TextField; terms: string[]; limit: number; countUpTo?: number }
  | { kind: 'status'; id: number }
  | { kind: 'notIndexed'; id: number }
  | { kind: 'close'; id: number };

export interface TextIndexStatus {
  /** Whether searches are answered: once every change committed before the thread started is indexed. */
  ready: boolean;
  /** The last change-log sequence indexed. */
  indexedSeq: number;
  /** Milliseconds the oldest change not indexed yet has waited (0 when caught up). */
  lagMs: number;
  /** 95th percentile of the write-to-indexed delay over the last LAG_WINDOW changes. */
  lagP95Ms: number;
  /** How the index started: from a snapshot (and how many changes it replayed after it), or rebuilt. */
  startedFrom: 'loading' | 'snapshot' | 'rebuild';
  /** Resources left out of the index because indexing them failed (not-indexed.ts). */
  notIndexed: number;
  /** Why the snapshot found at start was refused (cut short, altered, another key), and the index rebuilt. */
  snapshotRefused?: string;
}

export type FromWorker =
  /** Sent once, when searches may be answered (TextIndexStatus.ready). */
  | { kind: 'ready' }
  | { kind: 'result'; id: number; vseqs: number[]; count?: number; indexedSeq: number }
  | { kind: 'notIndexed'; id: number; entries: NotIndexedEntry[]; count: number }
  | { kind: 'status'; id: number; status: TextIndexStatus }
  | { kind: 'closed'; id: number }
  | { kind: 'failed'; id: number; message: string };

const LAG_WINDOW = 2048;
const GATHER_MS = 20;
/**
 * Changes applied between two looks at the messages. The thread also answers every text search, so it runs at
 * the process's priority (at the lowest, searches waited behind other work: a third fewer per second) and keeps
 * its passes short: a search waits at most one batch, a few milliseconds.
 */
const DRAIN_BATCH = 250;

const config = workerData as WorkerConfig;
const snapshotKey = Buffer.from(config.snapshotKey);
const port = parentPort!;
const db = openReader(config.database);

const newIndexer = () => new TextIndexer(db, 0, { indexing: new Uint32Array(config.indexing), fatal: new Map(config.fatal) });
let indexer = newIndexer();
let startedFrom: TextIndexStatus['startedFrom'] = 'loading';
let snapshotRefused: string | undefined;
/** The snapshot is loaded (or there is none): changes may be applied. */
let loaded = false;
/**
 * Searches are answered once the changes committed before the start are indexed: before that (a rebuild, a long
 * replay) the index would answer with some of the matches only, so the parent answers 503 instead.
 */
let ready = false;
let startSeq = 0;
const lags = new Float64Array(LAG_WINDOW);
let lagCount = 0;
let changedSinceSnapshot = 0;
let draining = false;
let snapshotting = false;
let closing = false;
let drainSoon: NodeJS.Timeout | undefined;

async function start(): Promise<void> {
  startSeq = indexer.latestSeq();
  try {
    const cursor = loadSnapshot(config.snapshotFolder, indexer.indexes, config.nodeId, startSeq, snapshotKey, indexer.notIndexed);
    if (cursor !== undefined) indexer.cursor = cursor;
    startedFrom = cursor === undefined ? 'rebuild' : 'snapshot';
  } catch (error) {
    // A damaged snapshot: refused, said in the status (/health), and rebuilt from the change log.
    snapshotRefused = `The text index snapshot was refused and the index rebuilt from the database: ${(error as Error).message}`;
    removeSnapshot(config.snapshotFolder);
    indexer = newIndexer();
    startedFrom = 'rebuild';
  }
  loaded = true;
  readyIfCaughtUp();
  // A drain or a snapshot that fails ends this thread (an unhandled rejection): TextIndex says why and starts a new
  // one (text-index.ts), which reloads the last snapshot and replays the change log.
  void drain();
  setInterval(() => void drain(), config.pollMs).unref();
  setInterval(() => void snapshotIfChanged(), config.snapshotMs).unref();
}

/** Applies changes until caught up, yielding between batches so that searches are answered meanwhile. */
async function drain(): Promise<void> {
  // A snapshot in progress writes the indexes between pauses: they must not change under it.
  if (draining || snapshotting || closing || !loaded) return;
  draining = true;
  try {
    for (;;) {
      const started = performance.now();
      const batch = indexer.applyNext(DRAIN_BATCH);
      readyIfCaughtUp();
      if (batch.count === 0) break;
      const now = Date.now();
      for (const stamp of batch.stamps) lags[lagCount++ % LAG_WINDOW] = Math.max(0, now - stamp);
      changedSinceSnapshot += batch.count;
      // Background work: after a batch, pause twice as long as it took, so that under a burst of writes the
      // request path keeps two thirds of a shared core; at ordinary rates the pauses are too short to matter.
      const took = performance.now() - started;
      await new Promise((resolve) => (took < 1 ? setImmediate(resolve) : setTimeout(resolve, took * 2)));
    }
  } finally {
    draining = false;
  }
}

function readyIfCaughtUp(): void {
  if (ready || indexer.cursor < startSeq) return;
  ready = true;
  port.postMessage({ kind: 'ready' } satisfies FromWorker);
}

async function snapshotIfChanged(): Promise<void> {
  if (changedSinceSnapshot === 0 || draining || snapshotting || closing) return;
  await snapshot();
}

async function snapshot(): Promise<void> {
  const taken = changedSinceSnapshot;
  snapshotting = true;
  try {
    await saveSnapshot(config.snapshotFolder, indexer.indexes, { nodeId: config.nodeId, cursor: indexer.cursor, notIndexed: indexer.notIndexed.toJSON() }, snapshotKey);
    changedSinceSnapshot -= taken;
  } finally {
    snapshotting = false;
  }
}

function status(): TextIndexStatus {
  const pending = loaded ? indexer.oldestPending() : undefined;
  const window = [...lags.subarray(0, Math.min(lagCount, LAG_WINDOW))].sort((a, b) => a - b);
  return {
    ready,
    indexedSeq: indexer.cursor,
    lagMs: pending === undefined ? 0 : Math.max(0, Date.now() - pending),
    lagP95Ms: window.length ? window[Math.min(window.length - 1, Math.floor(window.length * 0.95))] : 0,
    startedFrom,
    notIndexed: indexer.notIndexed.count,
    ...(snapshotRefused ? { snapshotRefused } : {}),
  };
}

function answerSearch(message: Extract<ToWorker, { kind: 'search' }>): void {
  try {
    const { resourceType, field, terms, limit, countUpTo } = message;
    const { vseqs, count } = indexer.indexes.searchCounting(resourceType, field, terms, limit, countUpTo ?? 0);
    port.postMessage({ kind: 'result', id: message.id, vseqs, ...(countUpTo ? { count } : {}), indexedSeq: indexer.cursor } satisfies FromWorker);
  } catch (error) {
    port.postMessage({ kind: 'failed', id: message.id, message: (error as Error).message } satisfies FromWorker);
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.kind) {
    case 'changed':
      // Gathered for a few milliseconds: under load, one pass indexes many commits (small passes cost the writer).
      drainSoon ??= setTimeout(() => {
        drainSoon = undefined;
        void drain(); // a failure ends the thread: see start()
      }, GATHER_MS);
      return;
    case 'search':
      answerSearch(message);
      return;
    case 'status':
      port.postMessage({ kind: 'status', id: message.id, status: status() } satisfies FromWorker);
      return;
    case 'notIndexed':
      port.postMessage({ kind: 'notIndexed', id: message.id, entries: indexer.notIndexed.list(), count: indexer.notIndexed.count } satisfies FromWorker);
      return;
    case 'close':
      closing = true;
      // Cannot reject: a failure is answered as `failed`.
      void (async () => {
        // A drain in progress finishes its batch first: wait for it, then save what was indexed.
        while (draining || snapshotting) await new Promise((resolve) => setTimeout(resolve, 5));
        try {
          if (loaded && changedSinceSnapshot > 0) await snapshot();
          db.close();
          port.postMessage({ kind: 'closed', id: message.id } satisfies FromWorker);
        } catch (error) {
          port.postMessage({ kind: 'failed', id: message.id, message: (error as Error).message } satisfies FromWorker);
        }
      })();
      return;
  }
});

// Cannot reject: a damaged snapshot is caught; the rest fails as a drain does (see start()).
void start();
