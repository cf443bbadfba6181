/**
 * The node as a child process of the desktop app. Electron's main process starts it with `utilityProcess.fork`
 * (messages over `process.parentPort`); tests start the same built file with Node's `child_process.fork` (messages
 * over the IPC channel). Either way it first asks its parent for the data folder's key (`key-needed`: the main process
 * unwraps it with the keychain; a key never travels in arguments or the environment), then starts the node on 127.0.0.1 (port 8347 unless it is taken: then another, and
 * the `ready` message says which was wanted), reports its URL with an access token minted for this launch (kept in
 * memory by the parent; the database holds only its hash) and, while the data folder has no user, the set-up code,
 * mints fresh tokens when asked, and closes the node, checkpointing the database, when told to stop. It never imports
 * `electron`. Who users log in with comes from the data folder's settings, not from arguments.
 *
 * Arguments (node-arguments.ts builds them): --data <dir> --app-root <dir> [--port <n>] [--previous-port <n>]
 * [--cors-origin <origin>...]
 */
import { pathToFileURL } from 'node:url';
import { parseNodeArguments } from './node-arguments';

/** A bearer token for the node and when it expires (ms since the epoch). */
export interface NodeToken {
  token: string;
  expiresAt: number;
}

/** Parent → node. `key`: the data folder's key in hex, the answer to `key-needed` (never in arguments or the environment). */
export type ToNode = { type: 'key'; key: string } | { type: 'token'; id: number } | { type: 'stop' };

/** Node → parent. */
export type FromNode =
  /** First message: the node waits for the data key (the main process unwraps it with the keychain). */
  | { type: 'key-needed' }
  | {
      type: 'ready';
      url: string;
      access: NodeToken;
      /** The port the node asked for (8347): another in `url` means it was taken, which the shell says aloud. */
      preferredPort: number;
      /** Why the node listens elsewhere than on `preferredPort`, in English (for the log). */
      portNote?: string;
      /** While the data folder has no user: the code the set-up screen sends (`X-Liaison-Setup-Code`). */
      setupCode?: string;
    }
  | { type: 'token'; id: number; access: NodeToken }
  | { type: 'failed'; message: string }
  | { type: 'stopped' };

interface ParentChannel {
  send(message: FromNode): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** Electron's `process.parentPort`, reduced to what is used here (its types live in electron's package). */
interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

function parentChannel(): ParentChannel | undefined {
  const port = Reflect.get(process, 'parentPort') as ElectronParentPort | undefined;
  if (port) return { send: (message) => port.postMessage(message), onMessage: (listener) => port.on('message', (event) => listener(event.data)) };
  const send = process.send?.bind(process);
  if (send) return { send: (message) => send(message), onMessage: (listener) => process.on('message', listener) };
  return undefined;
}

declare global {
  /**
   * Where `package.json` and `resources/` are, as a file URL ending in '/'. The desktop build bundles the server into
   * one file, so electron.vite.config.ts rewrites the server modules' `import.meta.url` against this root.
   */
  var __LIAISON_APP_ROOT__: string | undefined;
}

const channel = parentChannel();
if (!channel) {
  console.error('node-process: start me with utilityProcess.fork or child_process.fork (an IPC channel is needed).');
  process.exit(2);
}

// Listening before anything else: the key comes first, the other messages once the node runs.
let received: (key: Buffer) => void;
const dataKey = new Promise<Buffer>((resolve) => (received = resolve));
let onRunning: ((message: Partial<ToNode> | null) => void) | undefined;
channel.onMessage((message) => {
  const request = message as Partial<ToNode> | null;
  if (request?.type === 'key' && typeof request.key === 'string') received(Buffer.from(request.key, 'hex'));
  else onRunning?.(request);
});
channel.send({ type: 'key-needed' });

try {
  const args = parseNodeArguments(process.argv.slice(2));
  globalThis.__LIAISON_APP_ROOT__ = pathToFileURL(`${args.appRoot.replace(/[\\/]$/, '')}/`).href;
  // Imported once the root is known: the server modules read their resources while loading.
  const [{ startNode }, { TokenStore }, { listClients }, { encryptFolderInClear }] = await Promise.all([
    import('./node'),
    import('./auth/tokens'),
    import('./auth/clients'),
    import('./encrypt-folder'),
  ]);

  // Bundled, the text index and directory import threads are files of their own beside this one (electron.vite.config.ts).
  const source = import.meta.url.endsWith('.ts');
  const textWorker = new URL(source ? './text/text-worker.ts' : './text-worker.js', import.meta.url);
  const directoryWorker = new URL(source ? './directory/activity-worker.ts' : './directory-worker.js', import.meta.url);
  const backupWorker = new URL(source ? './backup/database-copy-worker.ts' : './backup-worker.js', import.meta.url);
  // Port taken: a restart after a crash takes the port of the previous run, so the window's address stays valid; else any.
  // A folder an older Liaison wrote in clear is encrypted first (the key was just made for it).
  const converted = encryptFolderInClear(args.dataDir, await dataKey);
  if (converted) console.warn(`node-process: ${converted}`);
  const node = await startNode({
    dataDir: args.dataDir,
    dataKey: await dataKey,
    host: '127.0.0.1',
    port: args.port,
    ...(args.previousPort !== undefined ? { previousPort: args.previousPort } : {}),
    corsOrigins: [...args.corsOrigins],
    logger: { level: 'warn' },
    textWorker,
    directoryWorker,
    backupWorker,
  });

  const tokens = new TokenStore(node.db);
  const mint = (): NodeToken => {
    // startNode made sure an owner client exists.
    const owner = listClients(node.db).find((client) => client.role === 'owner' && !client.revokedAt);
    if (!owner) throw new Error('the data folder has no active owner client');
    const issued = tokens.issue(owner);
    return { token: issued.access_token, expiresAt: Date.now() + issued.expires_in * 1000 };
  };

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= node.close().then(
      () => {
        channel.send({ type: 'stopped' });
        // Let the message leave before the process goes.
        setImmediate(() => process.exit(0));
      },
      (error: unknown) => {
        console.error('node-process: closing the node failed', error);
        process.exit(1);
      },
    ));

  onRunning = (request) => {
    // stop() cannot reject: a failed close is logged and ends the process.
    if (request?.type === 'stop') void stop();
    else if (request?.type === 'token' && Number.isInteger(request.id)) channel.send({ type: 'token', id: request.id as number, access: mint() });
  };
  // child_process: the parent went away. (A utility process is ended by Electron with its parent.)
  process.on('disconnect', () => void stop());
  // A first signal stops gracefully; a second one (a stop that hangs) ends the process.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => (stopping ? process.exit(1) : void stop()));

  const setupCode = node.firstRun.setupCode;
  channel.send({
    type: 'ready',
    url: node.url,
    access: mint(),
    preferredPort: node.preferredPort,
    ...(node.portNote ? { portNote: node.portNote } : {}),
    ...(setupCode ? { setupCode } : {}),
  });
} catch (error) {
  channel.send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  setImmediate(() => process.exit(1));
}
