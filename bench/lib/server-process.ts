import { fork } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * Servers under test run in their own process, so the load generator (autocannon, in the parent) does not share
 * an event loop with them. The parent talks to the child over IPC: `ready` up, then `profile-start` /
 * `profile-stop` / `stop` down.
 */

export interface ServerConfig {
  /** Temporary directory for the server's data, deleted by the parent (or by the child if orphaned). */
  dataDir: string;
  /** How many Patients to seed, from seedPatients(). */
  patients: number;
  /**
   * Opens the folder with its own key, found as `liaison serve` finds it (LIAISON_KEY_FILE, LIAISON_PASSPHRASE or the
   * folder's key file in ~/.liaison/keys), for a folder the parent prepared; otherwise a fresh key for a fresh folder.
   */
  headlessKey?: boolean;
}

export interface ServerInfo {
  /** Base URL the resource paths are appended to (`${base}/Patient/<id>`). */
  base: string;
  /** Headers every request needs (authentication). */
  headers: Record<string, string>;
  /** Content-Type of the bodies it is sent. */
  contentType: string;
}

type ToChild = { type: 'stop' } | { type: 'profile-start' } | { type: 'profile-stop'; file: string };
type ToParent = ({ type: 'ready' } & ServerInfo) | { type: 'profiled' };

const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

export interface ServerHandle {
  info: ServerInfo;
  /** For CPU accounting. */
  pid: number;
  /** Starts the in-process CPU profiler of the server (node:inspector), so only the measured load is sampled. */
  startProfile(): Promise<void>;
  /** Stops it and writes a .cpuprofile (open in Chrome DevTools or speedscope). */
  stopProfile(file: string): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Pins the server (all its threads) to this CPU with taskset. */
  cpu?: number;
}

/** Forks `file` (a TypeScript module calling serveUntilStopped) through tsx and waits for it to be ready. */
export async function startServer(file: string, config: ServerConfig, options: StartOptions = {}): Promise<ServerHandle> {
  const node = ['--import', 'tsx'];
  const child = fork(file, [JSON.stringify(config)], {
    // taskset execs node in place, so the IPC channel (an inherited fd) still reaches it.
    ...(options.cpu === undefined ? { execArgv: node } : { execPath: 'taskset', execArgv: ['-c', String(options.cpu), process.execPath, ...node] }),
    // The child's stdout must not mix with the JSON lines of the parent's stdout.
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    // Could not be spawned at all: there will be no 'exit'.
    child.once('error', (error) => {
      console.error(error);
      resolve(null);
    });
  });
  const info = await new Promise<ServerInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} was not ready within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    child.once('message', (message: ToParent) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve({ base: message.base, headers: message.headers, contentType: message.contentType });
      else reject(new Error(`${file} sent ${message.type} before ready`));
    });
    // `exited` only resolves.
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with code ${code} before it was ready`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });

  const ask = (message: ToChild) =>
    new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      void exited.then((code) => reject(new Error(`${file} exited with code ${code}`)));
      child.send(message);
    });

  return {
    info,
    pid: child.pid!,
    startProfile: () => ask({ type: 'profile-start' }),
    stopProfile: (output) => ask({ type: 'profile-stop', file: output }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (child.connected) child.send({ type: 'stop' } satisfies ToChild);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`${file} exited with code ${code}`);
    },
  };
}

/**
 * The child side: starts a server, reports it ready, then serves until the parent says stop. When the parent
 * goes away instead (IPC disconnect: the benchmark crashed or was killed), it stops and deletes its own data,
 * so nothing is left behind.
 */
export async function serveUntilStopped(
  start: (config: ServerConfig) => Promise<{ info: ServerInfo; close(): Promise<void> }>,
): Promise<void> {
  if (!process.send) throw new Error('Run this module through startServer(): it needs an IPC channel');
  const config = JSON.parse(process.argv[2]) as ServerConfig;
  let close: (() => Promise<void>) | undefined;
  let session: Session | undefined;
  let stopping = false;
  const stop = async (orphaned: boolean) => {
    if (stopping) return;
    stopping = true;
    let code = 0;
    try {
      await close?.();
    } catch (error) {
      console.error(error);
      code = 1;
    }
    if (orphaned) rmSync(config.dataDir, { recursive: true, force: true });
    // Exit outright: nothing is left to do, and a lingering handle must not keep the server alive.
    process.exit(code);
  };
  // stop() cannot reject: a failed close is logged and ends the process.
  process.once('disconnect', () => void stop(true));
  process.on('message', (message: ToChild) => {
    void (async () => {
      if (message.type === 'stop') return stop(false);
      if (message.type === 'profile-start') {
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      } else if (message.type === 'profile-stop' && session) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(message.file, JSON.stringify(profile));
        session.disconnect();
        session = undefined;
      }
      process.send!({ type: 'profiled' } satisfies ToParent);
    })().catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  });
  const started = await start(config);
  close = started.close;
  process.send({ type: 'ready', ...started.info } satisfies ToParent);
}
