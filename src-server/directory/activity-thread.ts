import type { Worker } from 'node:worker_threads';
import { startWorker } from '../threads';
import type { ActivityWorkerConfig, FromActivityWorker, ToActivityWorker } from './activity-worker';

/** The storing thread's handle on the activity import thread (activity-worker.ts): its messages in order, as promises. */
export class ActivityThread {
  private readonly worker: Worker;
  private readonly queue: FromActivityWorker[] = [];
  private waiting: ((message: FromActivityWorker) => void) | undefined;

  constructor(url: URL, config: ActivityWorkerConfig) {
    this.worker = startWorker(url, config);
    this.worker.on('message', (message: FromActivityWorker) => this.deliver(message));
    this.worker.on('error', (error: Error) => this.deliver({ kind: 'failed', message: error.message }));
    this.worker.on('exit', (code) => this.deliver({ kind: 'failed', message: `the thread stopped (exit code ${code})` }));
  }

  /** The thread's next message (after `done` or `failed`, nothing more comes). */
  next(): Promise<FromActivityWorker> {
    const message = this.queue.shift();
    if (message) return Promise.resolve(message);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** Tells the thread a chunk was stored, so it may map another. */
  written(): void {
    this.worker.postMessage({ kind: 'written' } satisfies ToActivityWorker);
  }

  /** After the census: the import goes on. */
  proceed(): void {
    this.worker.postMessage({ kind: 'go' } satisfies ToActivityWorker);
  }

  /** Ends the thread (a finished one waits for the storing thread's word, like a failed one). */
  async stop(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  private deliver(message: FromActivityWorker): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(message);
    else this.queue.push(message);
  }
}
