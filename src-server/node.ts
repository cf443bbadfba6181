import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createApiFlows, type ApiFlows, type FlowSettings } from './api-flows';
import { AuditLog } from './audit/audit-log';
import { AuditRetention } from './audit/audit-retention';
import { ensureOwnerClient } from './auth/clients';
import type { DemoAccount, RunningDemo } from './auth/demo';
import { LoginFlow } from './auth/login-flow';
import { OidcLogin, type OidcSettings } from './auth/oidc-login';
import { practitionerFinder } from './auth/practitioner-link';
import { Sessions } from './auth/sessions';
import { TokenStore } from './auth/tokens';
import { Users } from './auth/users';
import type { FhirExtensions } from './fhir/rest/extensions';
import { FhirInteractions } from './fhir/rest/interactions';
import { SearchEngine } from './fhir/search/search';
import { buildApp } from './http/app';
import { TokenEndpointGuard } from './http/oauth-routes';
import { loadNodeSettings } from './node-settings';
import { keepPlannerStatistics, openDatabase, type Db, type OpenDatabaseOptions } from './storage/database';
import type { ReindexProgress } from './storage/reindex';
import { BinaryStore } from './storage/binary-store';
import { CommitSignal } from './storage/commit-signal';
import { GroupCommit } from './storage/group-commit';
import { QuietCheckpoint } from './storage/quiet-checkpoint';
import type { Repository } from './storage/repository';
import type { RunningSync } from './sync/sync-service';
import { openRepository } from './storage/store';
import { SNAPSHOT_FOLDER, TextIndex } from './text/text-index';

/** The composition root of a Liaison node: storage, services and the HTTP server, started and stopped together. */

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8347;
export const DATABASE_FILE = 'liaison.db';
/** Binary content, as content-addressed files next to the database. */
export const BINARY_FOLDER = 'binaries';
/** How long a stopping node lets the requests in progress finish before it cuts their connections. */
const CLOSE_GRACE_MS = 2000;

export interface NodeOptions extends FlowSettings {
  dataDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
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
  /** The upstream OpenID provider users log in with; none: no login (API clients only). */
  oidc?: OidcSettings;
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
  close(): Promise<void>;
}

export async function startNode(options: NodeOptions): Promise<RunningNode> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const settings = loadNodeSettings(options.dataDir);
  const dbFile = join(options.dataDir, DATABASE_FILE);
  const db = openDatabase(dbFile, { synchronous: options.synchronous });
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
    const oidc = demo ? { issuer: demo.provider.issuer, clientId: demo.provider.clientId } : options.oidc;
    const login = oidc && new LoginFlow(new OidcLogin(oidc), users, sessions, audit);
    const tokenGuard = new TokenEndpointGuard();
    const app = await buildApp({
      db,
      interactions: new FhirInteractions(repository, search, extensions),
      tokens,
      tokenGuard,
      users,
      sessions,
      login,
      ...(oidc ? { loginScreen: { issuer: oidc.issuer, ...(demo ? { demoAccounts: demo.accounts } : {}) } } : {}),
      groupCommit,
      peers: apiFlows.sync.peers,
      syncContent: apiFlows.sync.content,
      textIndex: text,
      directoryWorker: options.directoryWorker,
      uiDir: options.uiDir,
      logger: options.logger,
      binaryStore,
      audit,
      security: { listenHost: options.host ?? DEFAULT_HOST, allowedHosts: options.allowedHosts, corsOrigins: options.corsOrigins },
    });
    await app.listen({ host: options.host ?? DEFAULT_HOST, port: options.port ?? DEFAULT_PORT });
    // Synchronous, so done before the first request is read.
    const statistics = keepPlannerStatistics(db);
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const host = options.host ?? DEFAULT_HOST;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
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
      async close() {
        if (closed) return;
        closed = true;
        await apiFlows.close();
        await closeServer(app);
        login?.close();
        await demo?.provider.close();
        await text.close();
        auditRetention.stop();
        audit.flush();
        statistics.stop();
        quietCheckpoint.stop();
        // Fold the WAL back into the database so the file is complete on its own.
        db.pragma('wal_checkpoint(TRUNCATE)');
        db.close();
      },
    };
  } catch (error) {
    await flows?.close();
    await demo?.provider.close();
    await textIndex?.close().catch(() => undefined);
    db.close();
    throw error;
  }
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
