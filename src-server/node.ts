import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { appointmentsModule } from './appointments/module';
import { auditModule } from './audit/module';
import { backupModule } from './backup/module';
import { ensureOwnerClient } from './auth/clients';
import type { DemoAccount } from './auth/demo';
import type { Identity } from './auth/identity';
import { authModule } from './auth/module';
import type { OidcSettings } from './auth/oidc-login';
import { directoryModule } from './directory/module';
import type { RefreshOptions, RefreshSettings } from './directory/refresh';
import type { ChannelSettings } from './documents/channel-settings';
import { LocalRecipients } from './documents/local-recipients';
import { documentsModule } from './documents/module';
import { subkey } from './data-key';
import { buildApp } from './http/app';
import { TokenEndpointGuard } from './http/oauth-routes';
import { integrationsModule } from './integrations/module';
import { lifenOperationsModule } from './lifen/operations-module';
import { DEFAULT_PORT } from './node-arguments';
import { removeNodeFile, writeNodeFile, type NodeFile } from './node-file';
import { lockDataFolder } from './node-lock';
import { makeFolderPrivate } from './private-folder';
import { resealUnderDataKey } from './sealed-secrets';
import { folderDataKey, useDataKey } from './sealing';
import { loadNodeSettings } from './node-settings';
import { patientsModule } from './patients/module';
import { lifenMappingModule } from './lifen/mapping-module';
import type { FhirExtensions, NodeModule } from './rest/extensions';
import { FhirApi } from './rest/fhir-api';
import { Interactions } from './rest/interactions';
import type { FirstRun } from './setup/first-run';
import { setupModule } from './setup/module';
import type { CommitSignal } from './store/commit-signal';
import { checkDatabaseVersion, keepPlannerStatistics, openDatabase, type Db, type OpenDatabaseOptions } from './store/database';
import { QuietCheckpoint } from './store/quiet-checkpoint';
import type { ReindexProgress } from './store/reindex';
import type { Repository } from './store/repository';
import { encryptBinaries, type BinaryStore } from './store/binary-store';
import { openStore } from './store/store';
import { subscriptionsModule, type SubscriptionOptions } from './subscriptions/module';
import { syncModule, type SyncModule, type SyncSettings } from './sync/module';
import { textModule } from './text/module';
import { SNAPSHOT_FOLDER, type TextIndex } from './text/text-index';
import { LIAISON_VERSION } from './version';

/**
 * The composition root of a Liaison node: the store, the modules on it (each folder's `module.ts`), the FHIR API and
 * the HTTP server, started and stopped together.
 */

export const DEFAULT_HOST = '127.0.0.1';
export { DEFAULT_PORT };
export const DATABASE_FILE = 'liaison.db';
/** Binary content, as content-addressed files next to the database. */
export const BINARY_FOLDER = 'binaries';
/** The keys a node seals its data at rest under (32 bytes each, docs/security.md). */
export interface AtRestKeys {
  /** Binary content: the files and their names. */
  content: Buffer;
  /** The text-index snapshot. */
  textIndex: Buffer;
  /** Backups (`liaison backup`, the desktop's daily backup). */
  backup: Buffer;
}

/** The at-rest keys a data key gives (data-key.ts subkeys): what a stolen folder without its key cannot open. */
export function atRestKeys(dataKey: Buffer): AtRestKeys {
  return { content: subkey(dataKey, 'content'), textIndex: subkey(dataKey, 'text-index'), backup: subkey(dataKey, 'backup') };
}

/** The at-rest keys of a data folder whose data key this process holds (sealing.ts `useDataKey`). */
export function atRestKeysOf(dataDir: string): AtRestKeys {
  return atRestKeys(folderDataKey(dataDir));
}

/** How long a stopping node lets the requests in progress finish before it cuts their connections. */
const CLOSE_GRACE_MS = 2000;

export interface NodeOptions {
  dataDir: string;
  /**
   * The data folder's key (data-key.ts `loadDataKey`): the database is encrypted under its 'database' subkey. There is
   * no node without one: a folder is never opened in clear.
   */
  dataKey: Buffer;
  /** How documents leave the node (SMTP relay, DPI, DMP); absent: `channelsFile`, by default `<data>/channels.json` (docs/documents.md). */
  channels?: ChannelSettings;
  channelsFile?: string;
  /** Delivery settings of the rest-hook subscriptions (timeouts, retries). */
  subscriptions?: SubscriptionOptions;
  /** How the sync loops poll, back off and page (docs/sync.md). */
  sync?: SyncSettings['settings'];
  host?: string;
  /**
   * The port to listen on, DEFAULT_PORT by default; when it is taken, `previousPort`, then any free one, said aloud
   * (the log, node.json's `portNote`). 0 picks a free port.
   */
  port?: number;
  /** After a crash: the port of the previous run, tried before any other when `port` is taken. */
  previousPort?: number;
  uiDir?: string;
  logger?: FastifyServerOptions['logger'];
  synchronous?: OpenDatabaseOptions['synchronous'];
  /** Told how a search index rebuild goes, when the search definitions changed since the last start. */
  onReindex?: (progress: ReindexProgress) => void;
  /** More names than the loopback ones under which clients reach the node (checked against `Host`). */
  allowedHosts?: string[];
  /** Web origins allowed to call the API from a browser (CORS); none by default. */
  corsOrigins?: string[];
  /** The text index thread's module, when the node runs bundled (the desktop build); its source otherwise. */
  textWorker?: URL;
  /** The directory import thread's module, when the node runs bundled; its source otherwise. */
  directoryWorker?: URL;
  /**
   * The directory's daily refresh, over the data folder's settings: its source and proxy, and its internals (tests
   * give their server, their own CA as the extra anchor, short delays).
   */
  directoryRefresh?: RefreshSettings & Partial<RefreshOptions>;
  /** The backup's database copy thread's module, when the node runs bundled; its source otherwise. */
  backupWorker?: URL;
  /** An upstream OpenID provider for this run, over the one saved in the data folder's settings (`--oidc-issuer`). */
  oidc?: OidcSettings;
  /** Where the installer's default settings are (resources/default-settings.json by default). */
  defaultSettingsFile?: string;
  /** Start a local demo OpenID provider with demo people (instead of `oidc`). */
  demo?: boolean;
  /** More operations and write rules, after the node's own. */
  extensions?: FhirExtensions;
}

export interface RunningNode {
  /** `http://host:port`, the FHIR base is `${url}/fhir`. */
  url: string;
  app: FastifyInstance;
  db: Db;
  repository: Repository;
  /** The background text index (word-prefix names and addresses, `_content`, `_text`). */
  textIndex: TextIndex;
  /** Rings after each commit of API writes (background work reads the change log then). */
  commits: CommitSignal;
  /** Sync with remote peers: the peers table and the loops. */
  sync: SyncModule;
  /** Binary content, sealed files next to the database. */
  binaries: BinaryStore;
  ownerClientFile: string;
  /** What `POST /oauth/token` remembers of its callers: its size stays bounded whatever client_ids they make up. */
  tokenGuard: TokenEndpointGuard;
  /** With `demo`: the demo provider's address and who can log in. */
  demo?: { issuer: string; accounts: DemoAccount[] };
  /** The data folder's first run: its set-up code while it has no user. */
  firstRun: FirstRun;
  /** Who users log in with, as applied now. */
  identity: Identity;
  /** The port asked for; `portNote` says why the node listens on another. */
  preferredPort: number;
  portNote?: string;
  close(): Promise<void>;
}

export async function startNode(options: NodeOptions): Promise<RunningNode> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const dbFile = join(options.dataDir, DATABASE_FILE);
  const databaseKey = subkey(options.dataKey, 'database');
  // A wrong key, a folder in clear, a newer Liaison's folder: each left exactly as it is, lock file included.
  checkDatabaseVersion(dbFile, databaseKey);
  const madePrivate = makeFolderPrivate(options.dataDir);
  // Then a second node on this folder stops here, before it touches anything.
  const lock = lockDataFolder(options.dataDir);
  useDataKey(options.dataDir, options.dataKey);
  const keys = atRestKeys(options.dataKey);
  let db: Db;
  let settings: ReturnType<typeof loadNodeSettings>;
  let resealed: string | undefined;
  try {
    db = openDatabase(dbFile, { synchronous: options.synchronous, key: databaseKey });
  } catch (error) {
    lock.release();
    throw error;
  }
  try {
    // Before the settings are read: their secret may still be sealed under the old key file.
    resealed = resealUnderDataKey(options.dataDir, db);
    settings = loadNodeSettings(options.dataDir, options.defaultSettingsFile);
  } catch (error) {
    db.close();
    lock.release();
    throw error;
  }
  // Modules made so far, closed if the start fails.
  const started: NodeModule[] = [];
  const made = <M extends NodeModule>(module: M): M => {
    started.push(module);
    return module;
  };
  try {
    const { file: ownerClientFile } = ensureOwnerClient(db, options.dataDir);
    const quietCheckpoint = new QuietCheckpoint(db);
    // Before listening: a search must never run on an index built from other definitions.
    const binaryFolder = join(options.dataDir, BINARY_FOLDER);
    const store = openStore(db, { binaryFolder, contentKey: keys.content, onReindex: options.onReindex, committed: () => quietCheckpoint.written() });
    const { repository, commits } = store;
    const text = made(textModule(store, { snapshotFolder: join(options.dataDir, SNAPSHOT_FOLDER), snapshotKey: keys.textIndex, workerUrl: options.textWorker }));
    const audit = made(auditModule(store, { retentionDays: settings.audit.retentionDays }));
    // Warnings before the logger exists wait for it.
    const early = [madePrivate, resealed].filter((message): message is string => message !== undefined);
    let warn: (message: string) => void = (message) => early.push(message);
    const auth = made(
      await authModule(store, audit.log, {
        dataDir: options.dataDir,
        identity: settings.identity,
        oidc: options.oidc,
        demo: options.demo,
        defaultsFile: options.defaultSettingsFile,
        warn: (message) => warn(message),
      }),
    );
    const directory = made(
      directoryModule(store, {
        workerUrl: options.directoryWorker,
        dataDir: options.dataDir,
        saved: settings.directory,
        demo: options.demo === true,
        refreshOptions: options.directoryRefresh,
      }),
    );
    // A living directory to search for the demo: the bundled sample of the national extraction (unchanged lines write nothing).
    if (auth.demo) await directory.importSample();
    // The flows of the Lifen APIs and sync on top of the generic FHIR node.
    const localRecipients = new LocalRecipients(db);
    const sync = made(syncModule(store, { dataDir: options.dataDir, settings: options.sync, servedRecipients: () => localRecipients.list() }));
    const documents = made(
      documentsModule(store, {
        dataDir: options.dataDir,
        channels: options.channels,
        channelsFile: options.channelsFile,
        requirements: integrationsModule().sendRequirements,
        localRecipients,
      }),
    );
    const subscriptions = made(subscriptionsModule(store, { onError: (error) => console.error('Subscriptions: matching failed', error), ...options.subscriptions }));
    const flows: NodeModule[] = [sync, patientsModule(store), appointmentsModule(store, { practicesOf: (practitionerId) => auth.users.list().flatMap((user) => (user.practitionerId === practitionerId && !user.disabledAt ? user.organizations : [])) }), subscriptions, documents, lifenOperationsModule(documents)];
    const extensions: FhirExtensions = {
      operations: [...flows.flatMap((flow) => flow.operations ?? []), ...(options.extensions?.operations ?? [])],
      writeRules: [...flows.flatMap((flow) => flow.writeRules ?? []), ...(options.extensions?.writeRules ?? [])],
      derivedSearches: flows.flatMap((flow) => flow.derivedSearches ?? []),
      mapping: lifenMappingModule().mapping,
    };
    const setup = setupModule(store, auth, sync.peers, options.dataKey, options.dataDir);
    // One directory source per node (docs/sync.md): a desktop following its office's node fetches none, and a fresh node
    // waits for its set-up (it may be about to join an office) before the default daily refresh; after it, checks at once.
    directory.holdRefreshBack({ setupPending: () => setup.firstRun.open, directoryPeer: () => sync.peers.directorySource()?.name });
    setup.firstRun.onDone(() => void directory.refresh.check().catch(() => {}));
    const tokenGuard = new TokenEndpointGuard();
    const backup = made(backupModule({ dataDir: options.dataDir, key: keys.backup, copyWorker: options.backupWorker }));
    const app = await buildApp({
      store,
      api: new FhirApi(new Interactions(repository, store.search, extensions), { groupCommit: store.groupCommit, textMatcher: text.matcher, audit: audit.log }),
      auth,
      tokenGuard,
      setup,
      sync,
      text,
      monitored: [text, sync, documents, directory],
      audit: audit.log,
      directory,
      channels: documents.channelAdmin,
      backup,
      uiDir: options.uiDir,
      logger: options.logger,
      security: { listenHost: options.host ?? DEFAULT_HOST, allowedHosts: options.allowedHosts, corsOrigins: options.corsOrigins },
    });
    warn = (message) => app.log.warn(message);
    for (const message of early.splice(0)) warn(message);
    const host = options.host ?? DEFAULT_HOST;
    const preferredPort = options.port ?? DEFAULT_PORT;
    const port = await listen(app, host, preferredPort, options.previousPort);
    // Synchronous, so done before the first request is read.
    const statistics = keepPlannerStatistics(db);
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const portNote =
      port === preferredPort || preferredPort === 0
        ? undefined
        : `Port ${preferredPort} is taken (another program, or another person's Liaison on this computer): this node listens on ${url} instead. The practice's software finds this address in ${join(options.dataDir, 'node.json')}.`;
    if (portNote) app.log.warn(portNote);
    // What the practice's software and the commands run meanwhile read: rewritten once the set-up is done.
    const localUrl = `http://${['0.0.0.0', '::'].includes(host) ? DEFAULT_HOST : host.includes(':') ? `[${host}]` : host}:${port}`;
    const startedAt = new Date().toISOString();
    const { firstRun } = setup;
    const nodeFile = (): NodeFile => ({
      fhirBaseUrl: `${localUrl}/fhir`,
      uiUrl: `${localUrl}/`,
      pid: process.pid,
      version: LIAISON_VERSION,
      startedAt,
      port,
      preferredPort,
      ...(portNote ? { portNote } : {}),
      ...(firstRun.setupCode ? { setupCode: firstRun.setupCode } : {}),
    });
    writeNodeFile(options.dataDir, nodeFile());
    firstRun.onDone(() => writeNodeFile(options.dataDir, nodeFile()));
    // The background work: the outbox, the sync loops, the subscriptions' matching, the audit trail's retention.
    for (const module of [sync, documents, subscriptions, audit, backup, directory]) module.start?.(url, (message) => app.log.warn(message));
    // Documents written before content was sealed are sealed in the background (read as they are meanwhile).
    let closed = false;
    const sealing = encryptBinaries(binaryFolder, keys.content, () => closed).then(
      (count) => count > 0 && app.log.info(`${count} document(s) written before sealing were sealed`),
      (error: Error) => app.log.error(`Sealing the documents written before sealing stopped: ${error.message}`),
    );
    return {
      url,
      app,
      db,
      repository,
      textIndex: text.index,
      commits,
      sync,
      binaries: store.binaries,
      ownerClientFile,
      tokenGuard,
      ...(auth.demo ? { demo: { issuer: auth.demo.provider.issuer, accounts: auth.demo.accounts } } : {}),
      firstRun,
      identity: auth.identity,
      preferredPort,
      ...(portNote ? { portNote } : {}),
      async close() {
        if (closed) return;
        closed = true;
        await sync.close();
        await documents.close?.();
        await subscriptions.close?.();
        await closeServer(app);
        await auth.close();
        await text.close();
        await backup.close?.();
        await directory.close?.();
        await sealing;
        await audit.close();
        statistics.stop();
        quietCheckpoint.stop();
        // Fold the WAL back into the database so the file is complete on its own.
        db.pragma('wal_checkpoint(TRUNCATE)');
        db.close();
        removeNodeFile(options.dataDir);
        lock.release();
      },
    };
  } catch (error) {
    for (const module of started.reverse()) await module.close?.().catch(() => undefined);
    db.close();
    lock.release();
    throw error;
  }
}

/**
 * Listens on `port`; when it is taken (or is 0, any), on `previousPort` (the port of the run before a crash), then on
 * any free one. The port it got.
 */
async function listen(app: FastifyInstance, host: string, port: number, previousPort: number | undefined): Promise<number> {
  const previous = previousPort !== undefined && previousPort !== port ? [previousPort] : [];
  for (const candidate of port === 0 ? [...previous, 0] : [port, ...previous, 0]) {
    try {
      await app.listen({ host, port: candidate });
      const address = app.server.address();
      return typeof address === 'object' && address ? address.port : candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || candidate === 0) throw error;
    }
  }
  throw new Error('unreachable: port 0 is always free');
}

/**
 * Stops accepting requests and lets those in progress finish, for CLOSE_GRACE_MS at most: then their connections
 * are cut. A client stalled halfway through a request (a frozen peer, a half-sent upload) held the stop otherwise,
 * and with it the app's quit, for as long as Node's request timeout.
 */
async function closeServer(app: FastifyInstance): Promise<void> {
  const cut = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}
