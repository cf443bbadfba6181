import { nodeArguments } from '../src-server/node-arguments';
import type { FromNode, NodeToken, ToNode } from '../src-server/node-process';
import type { NodeStatus } from './preload/bridge';
import { RestartPolicy } from './restart-policy';

/**
 * Runs the node in a child process and keeps it running: starts it, restarts it after a crash as the restart
 * policy says, keeps a fresh access token for the window, and stops it gracefully. It knows the child only through
 * `SpawnNode`, so Electron's `utilityProcess` (node-process-spawner.ts) and Node's `child_process.fork` (tests) both fit.
 */

export interface NodeChild {
  postMessage(message: ToNode): void;
  onMessage(listener: (message: FromNode) => void): void;
  onExit(listener: (code: number | null) => void): void;
  /** Ends the process at once (after a graceful stop timed out). */
  kill(): void;
}

export type SpawnNode = (args: string[]) => NodeChild;

export interface NodeSupervisorOptions {
  spawn: SpawnNode;
  dataDir: string;
  /** Where package.json and resources/ are (app.getAppPath()). */
  appRoot: string;
  /** Origins allowed to call the node from a page (the window's app:// origin). */
  corsOrigins?: string[];
  /**
   * The data folder's key (data-key.ts `loadDataKey` with the keychain), asked at each launch when the node asks for
   * it; it reaches the node over its message channel only. A rejection fails the launch with its message.
   */
  dataKey: () => Promise<Buffer>;
  /** The port the node listens on when it is free: 8347 (DEFAULT_PORT) unless a test says otherwise. */
  port?: number;
  policy?: RestartPolicy;
  /** How long a graceful stop may take before the process is killed. */
  stopTimeoutMs?: number;
  now?: () => number;
}

/** The node's address and its owner token for this launch: for the main process only, never the window. */
export interface NodeOwnerAccess extends NodeToken {
  url: string;
}

/** A token this close to its expiry is replaced before being handed out. */
const TOKEN_RENEWAL_MARGIN_MS = 5 * 60_000;

interface Run {
  child: NodeChild;
  startedAt: number;
  exited: Promise<void>;
}

export class NodeSupervisor {
  private current?: Run;
  private url?: string;
  private token?: NodeToken;
  private currentSetupCode?: string;
  /** The port the node wanted at its first start (8347): a restart may get the port the previous run had instead. */
  private wantedPort?: number;
  private currentStatus: NodeStatus = { state: 'stopped', restarts: 0 };
  private readonly listeners = new Set<(status: NodeStatus) => void>();
  private readonly tokenRequests = new Map<number, { resolve: (token: NodeToken) => void; reject: (error: Error) => void }>();
  private nextRequestId = 1;
  private restartTimer?: ReturnType<typeof setTimeout>;
  private readonly policy: RestartPolicy;
  private readonly now: () => number;

  constructor(private readonly options: NodeSupervisorOptions) {
    this.policy = options.policy ?? new RestartPolicy();
    this.now = options.now ?? Date.now;
  }

  get status(): NodeStatus {
    return this.currentStatus;
  }

  onStatus(listener: (status: NodeStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.current || this.currentStatus.state === 'stopping') return;
    clearTimeout(this.restartTimer);
    this.launch();
  }

  /** After the policy gave up: forget past crashes and try again. */
  retry(): void {
    this.policy.reset();
    this.start();
  }

  /** The set-up code of a data folder with no user yet, for the first-run screen; null once the node has none. */
  get setupCode(): string | null {
    return this.currentStatus.state === 'running' ? (this.currentSetupCode ?? null) : null;
  }

  /** The node's address once it runs (no token: the window calls the API with the user's session). */
  address(): Promise<string> {
    return this.running();
  }

  /** The node's address and a valid owner token, once the node runs. */
  async access(): Promise<NodeOwnerAccess> {
    const url = await this.running();
    if (!this.token || this.token.expiresAt - this.now() < TOKEN_RENEWAL_MARGIN_MS) this.token = await this.requestToken();
    return { url, ...this.token };
  }

  /** Stops the node gracefully (it checkpoints the database); kills it if that takes too long. */
  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    const run = this.current;
    if (!run) {
      this.setStatus({ state: 'stopped' });
      return;
    }
    this.setStatus({ state: 'stopping' });
    run.child.postMessage({ type: 'stop' });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.options.stopTimeoutMs ?? 10_000)));
    if (await Promise.race([run.exited.then(() => false), timedOut])) run.child.kill();
    clearTimeout(timer);
    await run.exited;
  }

  private launch(): void {
    const { dataDir, appRoot, corsOrigins, port } = this.options;
    // After a crash, the port of the previous run if the usual one is taken: the window keeps its address.
    const previousPort = this.url ? Number(new URL(this.url).port) : undefined;
    const child = this.options.spawn(nodeArguments({ dataDir, appRoot, corsOrigins, ...(port !== undefined ? { port } : {}), ...(previousPort !== undefined ? { previousPort } : {}) }));
    let exit!: () => void;
    const run: Run = { child, startedAt: this.now(), exited: new Promise((resolve) => (exit = resolve)) };
    this.current = run;
    this.setStatus({ state: this.currentStatus.state === 'restarting' ? 'restarting' : 'starting', retryInMs: undefined });
    let failure: string | undefined;
    child.onMessage((message) => {
      if (message.type === 'key-needed') {
        this.options.dataKey().then(
          (key) => child.postMessage({ type: 'key', key: key.toString('hex') }),
          (error: unknown) => {
            failure = error instanceof Error ? error.message : String(error);
            child.kill();
          },
        );
      } else if (message.type === 'ready') {
        this.url = message.url;
        this.token = message.access;
        this.currentSetupCode = message.setupCode;
        this.wantedPort ??= message.preferredPort;
        const port = Number(new URL(message.url).port);
        // Said aloud (banner, tray) for as long as the node is not where the practice's software expects it.
        const preferredPort = this.wantedPort !== port ? this.wantedPort : undefined;
        this.setStatus({ state: 'running', url: message.url, message: undefined, retryInMs: undefined, preferredPort });
      } else if (message.type === 'token') {
        this.tokenRequests.get(message.id)?.resolve(message.access);
        this.tokenRequests.delete(message.id);
      } else if (message.type === 'failed') {
        failure = message.message;
      }
    });
    child.onExit((code) => {
      this.current = undefined;
      for (const request of this.tokenRequests.values()) request.reject(new Error('the node stopped'));
      this.tokenRequests.clear();
      exit();
      if (this.currentStatus.state === 'stopping') {
        this.setStatus({ state: 'stopped', url: undefined });
        return;
      }
      this.afterCrash(code, failure, this.now() - run.startedAt);
    });
  }

  private afterCrash(code: number | null, failure: string | undefined, uptimeMs: number): void {
    const why = failure ?? (code === null ? 'the node process was killed' : `the node process exited with code ${code}`);
    const decision = this.policy.afterCrash(uptimeMs);
    if (decision.action === 'give-up') {
      this.setStatus({ state: 'failed', url: undefined, retryInMs: undefined, message: `${why} (${decision.fastCrashes} restarts failed)` });
      return;
    }
    this.setStatus({ state: 'restarting', url: undefined, restarts: this.currentStatus.restarts + 1, retryInMs: decision.delayMs, message: why });
    this.restartTimer = setTimeout(() => this.launch(), decision.delayMs);
  }

  /** The node's URL once it runs; rejects if it stops or fails first. */
  private running(): Promise<string> {
    const { state, message } = this.currentStatus;
    if (state === 'running' && this.url) return Promise.resolve(this.url);
    if (state === 'failed' || state === 'stopped') return Promise.reject(new Error(message ?? 'the node is stopped'));
    return new Promise((resolve, reject) => {
      const unsubscribe = this.onStatus((status) => {
        if (status.state === 'running' && status.url) resolve(status.url);
        else if (status.state === 'failed' || status.state === 'stopped') reject(new Error(status.message ?? 'the node is stopped'));
        else return;
        unsubscribe();
      });
    });
  }

  private requestToken(): Promise<NodeToken> {
    const child = this.current?.child;
    if (!child) return Promise.reject(new Error('the node is not running'));
    const id = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      this.tokenRequests.set(id, { resolve, reject });
      child.postMessage({ type: 'token', id });
    });
  }

  private setStatus(change: Partial<NodeStatus>): void {
    const next: NodeStatus = { ...this.currentStatus, ...change };
    for (const key of Object.keys(next) as (keyof NodeStatus)[]) if (next[key] === undefined) delete next[key];
    this.currentStatus = next;
    for (const listener of this.listeners) listener(next);
  }
}
