import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { existsSync } from 'node:fs';
import type { AuditLog } from '../audit/audit-log';
import { clientFinder } from '../auth/clients';
import type { Identity } from '../auth/identity';
import type { LocalAccounts } from '../auth/local-accounts';
import type { LoginFlow } from '../auth/login-flow';
import type { PasswordLogin } from '../auth/password-login';
import type { RelyingPartyKey } from '../auth/rp-key';
import { Reaches } from '../auth/reach';
import type { Sessions } from '../auth/sessions';
import type { TokenStore } from '../auth/tokens';
import type { Users } from '../auth/users';
import { badRequest, type FhirError, notFound, unsupportedMediaType } from '../fhir/outcome';
import { MAX_JSON_BODY_BYTES } from '../fhir/limits';
import type { FhirApi } from '../rest/fhir-api';
import type { Db } from '../store/database';
import type { BinaryStore } from '../store/binary-store';
import type { GroupCommit } from '../store/group-commit';
import type { TextIndex } from '../text/text-index';
import type { FirstRun } from '../setup/first-run';
import type { DesktopJoinServices, JoinCodes } from '../setup/join';
import type { ContentQueue } from '../sync/content';
import type { ContentUploads } from '../sync/content-upload';
import type { PeerStore } from '../sync/peers';
import { fhirRoutes } from './fhir-routes';
import { adminRoutes } from './admin-routes';
import { authRoutes, type AuthRoutesOptions } from './auth-routes';
import { directoryRoutes } from './directory-routes';
import { healthReport } from './health';
import { LoginCookies } from './login-cookie';
import { withRedaction } from './log-redaction';
import { oauthRoutes, type TokenEndpointGuard } from './oauth-routes';
import { RateLimiter } from './rate-limit';
import { refuse, refuseBeforeRouting, refuseClientError, refuseWhileClosing, sendRefusal } from './refusals';
import { checkRequestBody, JSON_TYPES } from './request-body';
import { applySecurity, type SecurityOptions } from './security';
import { setupRoutes, syncJoinRoutes } from './setup-routes';

export interface AppServices {
  db: Db;
  /** The FHIR API (rest/fhir-api.ts): interactions, text matches, group commit and its audit. */
  api: FhirApi;
  tokens: TokenStore;
  /** What the token endpoint remembers of its callers (rate buckets, failures, proven secrets). */
  tokenGuard: TokenEndpointGuard;
  users: Users;
  accounts: LocalAccounts;
  sessions: Sessions;
  /** Users' logins: through the upstream identity provider (when there is one) and local accounts. */
  login: LoginFlow;
  passwords: PasswordLogin;
  /** The identity settings in force, changed by admins without a restart. */
  identity: Identity;
  /** The data folder's first run (set-up, or joining an office). */
  firstRun: FirstRun;
  /** The join codes this node gives colleagues' desktops. */
  joinCodes: JoinCodes;
  relyingPartyKey: () => Promise<RelyingPartyKey>;
  /** With `--demo`: the demo people the login screen lists. */
  demoAccounts?: AuthRoutesOptions['demoAccounts'];
  groupCommit: GroupCommit;
  security: SecurityOptions;
  audit: AuditLog;
  binaryStore: BinaryStore;
  textIndex: TextIndex;
  /** The directory import thread's module, when bundled. */
  directoryWorker?: URL;
  /** The sync peers, managed at `/admin/peers`. */
  peers: PeerStore;
  /** Binary content awaited from sync peers: reads say so (503), peers upload it (`POST /fhir/$content`). */
  syncContent?: ContentQueue;
  contentUploads: ContentUploads;
  /** Folder of the built web UI, served at `/` when it exists. */
  uiDir?: string;
  logger?: FastifyServerOptions['logger'];
}

const XML_TYPES = ['application/fhir+xml', 'application/xml+fhir', 'application/xml', 'text/xml'];

export async function buildApp(services: AppServices): Promise<FastifyInstance> {
  // Binary uploads stream under their own limit (binary-routes.ts); `$replicate` takes more (fhir-routes.ts).
  const app = Fastify({
    logger: withRedaction(services.logger),
    bodyLimit: MAX_JSON_BODY_BYTES,
    // Refusals made before a route runs are OperationOutcomes too (refusals.ts).
    return503OnClosing: false,
    clientErrorHandler: refuseClientError,
    frameworkErrors: refuseBeforeRouting(services.audit),
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string' }, (_request, body, done) => {
    if ((body as string).trim() === '') return done(badRequest('The request body is empty'), undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      done(badRequest(`The request body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, new URLSearchParams(body as string));
  });
  app.addContentTypeParser(XML_TYPES, (_request, _payload, done) => {
    done(unsupportedMediaType('XML is not supported: send application/fhir+json'), undefined);
  });

  app.addHook('preParsing', checkRequestBody);
  app.setErrorHandler((error: FastifyError | FhirError, request, reply) => refuse(services.audit, error, request, reply));
  app.setNotFoundHandler((request, reply) => sendRefusal(reply, notFound(`Nothing at ${request.method} ${request.url.split('?')[0]}`)));
  await applySecurity(app, services.security);
  refuseWhileClosing(app);

  // Set by the bearer-token hooks; declared up front so every request object has the same shape.
  app.decorateRequest('principal', undefined);
  app.get('/health', async () => healthReport(services.db, services.api.interactions.repository, services.textIndex));
  const { tokens, users, accounts, sessions, login, audit, identity, firstRun } = services;
  const repository = services.api.interactions.repository;
  const loginCookies = new LoginCookies();
  await app.register(oauthRoutes, { prefix: '/oauth', findClient: clientFinder(services.db), tokens, guard: services.tokenGuard, sessions, login, audit, loginCookies });
  await app.register(authRoutes, {
    prefix: '/auth',
    login,
    identity,
    passwords: services.passwords,
    accounts,
    sessions,
    users,
    tokens,
    audit,
    loginCookies,
    setupOpen: () => firstRun.open,
    relyingPartyKey: services.relyingPartyKey,
    demoAccounts: services.demoAccounts,
  });
  await app.register(adminRoutes, { prefix: '/admin', db: services.db, tokens, audit, users, accounts, sessions, identity, joinCodes: services.joinCodes, peers: services.peers, repository, textIndex: services.textIndex });
  const join: DesktopJoinServices = { users, accounts, repository, groupCommit: services.groupCommit, peers: services.peers };
  await app.register(setupRoutes, { prefix: '/setup', firstRun, api: services.api, join, audit });
  await app.register(syncJoinRoutes, { prefix: '/sync', joinCodes: services.joinCodes });
  await app.register(directoryRoutes, {
    prefix: '/admin/directory',
    db: services.db,
    repository,
    tokens: services.tokens,
    audit: services.audit,
    workerUrl: services.directoryWorker,
  });
  await app.register(fhirRoutes, {
    prefix: '/fhir',
    api: services.api,
    binaryStore: services.binaryStore,
    syncContent: services.syncContent,
    contentUploads: services.contentUploads,
    tokens: services.tokens,
    rateLimiter: new RateLimiter(),
    reaches: new Reaches(services.db),
    audit: services.audit,
  });
  if (services.uiDir && existsSync(services.uiDir)) {
    await app.register(fastifyStatic, { root: services.uiDir, prefix: '/', index: 'index.html' });
  } else {
    app.get('/', async (_request, reply) =>
      reply.type('text/plain; charset=utf-8').send('Liaison node. FHIR API at /fhir, health at /health. The web UI is not built: run `npm run build`.\n'),
    );
  }
  return app;
}
