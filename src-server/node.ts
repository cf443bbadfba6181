import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createApiFlows, type ApiFlows, type FlowSettings } from './api-flows';
import { AuditLog } from './audit/audit-log';
import { AuditRetention } from './audit/audit-retention';
import { ensureOwnerClient } from './auth/clients';
import type { DemoAccount, RunningDemo } from './auth/demo';
import { Identity } from './auth/identity';
import { plainProvider } from './auth/identity-provider';
import { LocalAccounts } from './auth/local-accounts';
import { LoginFlow } from './auth/login-flow';
import type { OidcSettings } from './auth/oidc-login';
import { PasswordLogin } from './auth/password-login';
import { practitionerFinder } from './auth/practitioner-link';
import { relyingPartyKey } from './auth/rp-key';
import { Sessions } from './auth/sessions';
import { TokenStore } from './auth/tokens';
import { Users } from './auth/users';
import type { FhirExtensions } from './rest/extensions';
import { FhirApi } from './rest/fhir-api';
import { Interactions } from './rest/interactions';
import { SearchEngine } from './store/search/search';
import { buildApp } from './http/app';
import { TokenEndpointGuard } from './http/oauth-routes';
import { DEFAULT_PORT } from './node-arguments';
import { removeNodeFile, writeNodeFile, type NodeFile } from './node-file';
import { lockDataFolder } from './node-lock';
import { loadNodeSettings } from './node-settings';
import { FirstRun } from './setup/first-run';
import { JoinCodes } from './setup/join';
import { checkDatabaseVersion, keepPlannerStatistics, openDatabase, type Db, type OpenDatabaseOptions } from './store/database';
import type { ReindexProgress } from './store/reindex';
import { BinaryStore } from './store/binary-store';
import { CommitSignal } from './store/commit-signal';
import { GroupCommit } from './store/group-commit';
import { QuietCheckpoint } from './store/quiet-checkpoint';
import type { Repository } from './store/repository';
import type { RunningSync } from './sync/module';
import { openRepository } from './store/store';
import { SNAPSHOT_FOLDER, TextIndex } from './text/text-index';
import { TextQueries } from './text/text-queries';
import { LIAISON_VERSION } from './version';

/** The composition root of a Liaison node: storage, services and the HTTP server, started and stopped together. */

export const DEFAULT_HOST = '127.0.0.1';
export { DEFAULT_PORT };
export const DATABASE_FILE = 'liaison.db';
/** Binary content, as content-addressed files next to the database. */
export const BINARY_FOLDER = 'binaries';
/** How long a stopping node lets the requests in progress finish before it cuts their connections. */
const CLOSE_GRACE_MS = 2000;

export interface NodeOptions extends FlowSettings {
  dataDir: string;
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
  sync: RunningSync;
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
  // A newer Liaison's folder is left exactly as it is, lock file included.
  checkDatabaseVersion(dbFile);
  // Then a second node on this folder stops here, before it touches anything.
  const lock = lockDataFolder(options.dataDir);
  let db: Db;
  let settings: ReturnType<typeof loadNodeSettings>;
  try {
    settings = loadNodeSettings(options.dataDir, options.defaultSettingsFile);
    db = openDatabase(dbFile, { synchronous: options.synchronous });
  } catch (error) {
    lock.release();
    throw error;
  }
  let demo: RunningDemo | undefined;
  let textIndex: TextIndex | undefined;
  let flows: ApiFlows | undefined;
  try {
    const { file: ownerClientFile } = ensureOwnerClient(db, options.dataDir);
    // Before listening: a search must never run on an index built from other definitions.
    const repository = openRepository(db, options.onReindex);
    const quietCheckpoint = new QuietCheckpoint(db);
    const text = (textIndex = new TextIndex({ dbFile, snapshotFolder: join(options.dataDir, SNAPSHOT_FOLDER), nodeId: repository.nodeId, workerUrl: options.textWorker }));
    const audit = new AuditLog(db);
    const search = new SearchEngine(db, repository.searchIndex);
    const tokens = new TokenStore(db);
    const users = new Users(db, practitionerFinder(search), (type, id) => repository.exists(type, id));
    const sessions = new Sessions(db, tokens);
    const commits = new CommitSignal();
    const groupCommit = new GroupCommit(db, () => {
      quietCheckpoint.written();
      text.changed();
      commits.notify();
    });
    const binaryStore = new BinaryStore(join(options.dataDir, BINARY_FOLDER));
    // The flows of the Lifen APIs and sync on top of the generic FHIR node.
    const apiFlows = (flows = createApiFlows({ db, repository, search, binaryStore, commits, groupCommit, dataDir: options.dataDir }, options));
    const extensions: FhirExtensions = {
      operations: [...apiFlows.extensions.operations, ...(options.extensions?.operations ?? [])],
      writeRules: [...apiFlows.extensions.writeRules, ...(options.extensions?.writeRules ?? [])],
    };
    // Loaded only for the demo: oidc-provider has no place in a production node (and warns as it loads).
    if (options.demo) {
      demo = await (await import('./auth/demo')).startDemo(repository, users);
      // A living directory to search: the bundled sample of the national extraction (unchanged lines write nothing).
      await (await import('./directory/sample')).importDirectorySample(db, repository, options.directoryWorker);
    }
    // A provider for this run (the demo's, or flags) wins over the saved one; the saved one applies otherwise.
    const override = demo ? plainProvider('demo', { issuer: demo.provider.issuer, clientId: demo.provider.clientId }) : options.oidc && plainProvider('oidc', options.oidc);
    const login = new LoginFlow(db, users, sessions, audit);
    // Warnings before the logger exists wait for it.
    const early: string[] = [];
    let warn: (message: string) => void = (message) => early.push(message);
    const identity = new Identity({
      dataDir: options.dataDir,
      flow: login,
      settings: settings.identity,
      override,
      decryptionKey: () => relyingPartyKey(options.dataDir).then(({ privateKey, publicJwk }) => ({ key: privateKey, kid: publicJwk.kid })),
      warn: (message) => warn(message),
      defaultsFile: options.defaultSettingsFile,
    });
    const accounts = new LocalAccounts(db);
    const firstRun = new FirstRun({ users, accounts, repository, groupCommit, identity });
    const tokenGuard = new TokenEndpointGuard();
    const app = await buildApp({
      db,
      api: new FhirApi(new Interactions(repository, search, extensions), { groupCommit, textMatcher: new TextQueries(text, () => repository.definitions), audit }),
      tokens,
      tokenGuard,
      users,
      accounts,
      sessions,
      login,
      passwords: new PasswordLogin(accounts, users, sessions, login, audit, () => identity.localAccounts),
      identity,
      firstRun,
      joinCodes: new JoinCodes(db, users, accounts, repository),
      relyingPartyKey: () => relyingPartyKey(options.dataDir),
      ...(demo ? { demoAccounts: demo.accounts } : {}),
      groupCommit,
      peers: apiFlows.sync.peers,
      syncContent: apiFlows.sync.content,
      contentUploads: apiFlows.sync.uploads,
      textIndex: text,
      directoryWorker: options.directoryWorker,
      uiDir: options.uiDir,
      logger: options.logger,
      binaryStore,
      audit,
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
    apiFlows.start(url, (message) => app.log.warn(message));
    const auditRetention = new AuditRetention(db, settings.audit.retentionDays);
    void auditRetention.purge();
    let closed = false;
    return {
      url,
      app,
      db,
      repository,
      textIndex: text,
      commits,
      sync: apiFlows.sync,
      ownerClientFile,
      tokenGuard,
      ...(demo ? { demo: { issuer: demo.provider.issuer, accounts: demo.accounts } } : {}),
      firstRun,
      identity,
      preferredPort,
      ...(portNote ? { portNote } : {}),
      async close() {
        if (closed) return;
        closed = true;
        await apiFlows.close();
        await closeServer(app);
        login.close();
        await demo?.provider.close();
        await text.close();
        auditRetention.stop();
        audit.flush();
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
    await flows?.close();
    await demo?.provider.close();
    await textIndex?.close().catch(() => undefined);
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
