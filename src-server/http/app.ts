import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { existsSync } from 'node:fs';
import type { AuditLog } from '../audit/audit-log';
import { clientFinder } from '../auth/clients';
import type { AuthModule } from '../auth/module';
import { LaunchPatients } from '../auth/launch-patients';
import { Reaches } from '../auth/reach';
import type { BackupModule } from '../backup/module';
import type { DirectoryModule } from '../directory/module';
import type { ChannelAdmin } from '../documents/module';
import { MAX_JSON_BODY_BYTES } from '../fhir/limits';
import { badRequest, type FhirError, methodNotAllowed, notFound } from '../fhir/outcome';
import type { NodeModule } from '../rest/extensions';
import type { FhirApi } from '../rest/fhir-api';
import type { SetupModule } from '../setup/module';
import type { Store } from '../store/store';
import type { SyncModule } from '../sync/module';
import type { TextModule } from '../text/module';
import { SURFACE_PATHS } from './fhir-exchange';
import { fhirRoutes } from './fhir-routes';
import { readFhirXmlBody, XML_TYPES } from './fhir-xml';
import { adminRoutes } from './admin-routes';
import { appLoginRoutes } from './app-login-routes';
import { channelRoutes } from './channel-routes';
import { authRoutes } from './auth-routes';
import { directoryRoutes } from './directory-routes';
import { healthReport } from './health';
import { LoginCookies } from './login-cookie';
import { withRedaction } from './log-redaction';
import { lifenTokenRoutes, oauthRoutes, type TokenEndpointGuard } from './oauth-routes';
import { RateLimiter } from './rate-limit';
import { refuse, refuseBeforeRouting, refuseClientError, refuseWhileClosing, sendRefusal } from './refusals';
import { checkRequestBody, JSON_TYPES } from './request-body';
import { applySecurity, type SecurityOptions } from './security';
import { setupRoutes, syncJoinRoutes } from './setup-routes';

export interface AppServices {
  store: Store;
  /** The FHIR API (rest/fhir-api.ts): interactions, text matches, group commit and its audit. */
  api: FhirApi;
  /** Tokens, users, logins, the identity provider in force. */
  auth: AuthModule;
  /** What the token endpoint remembers of its callers (rate buckets, failures, proven secrets). */
  tokenGuard: TokenEndpointGuard;
  /** The data folder's first run (set-up, or joining an office) and the join codes this node gives colleagues' desktops. */
  setup: SetupModule;
  /** The sync peers (managed at `/admin/peers`), the Binary content awaited from them and their uploads of it. */
  sync: SyncModule;
  text: TextModule;
  /** The modules whose failures `/health` reports (NodeModule.health). */
  monitored: readonly NodeModule[];
  audit: AuditLog;
  directory: DirectoryModule;
  /** The document channels as `/admin/channels` sets them up. */
  channels: ChannelAdmin;
  /** Backups of the data folder: streamed at `POST /admin/backup`, and the daily one at `/admin/backup/daily`. */
  backup: BackupModule;
  security: SecurityOptions;
  /** Folder of the built web UI, served at `/` when it exists. */
  uiDir?: string;
  logger?: FastifyServerOptions['logger'];
}

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
    if ((body as string).trim() === '') return done(badRequest('body-invalid', 'The request body is empty'), undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      done(badRequest('json-invalid', `The request body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, new URLSearchParams(body as string));
  });
  // FHIR XML becomes the JSON it says here, then meets the same validation, limits and rules (fhir-xml.ts).
  app.addContentTypeParser(XML_TYPES, { parseAs: 'string' }, (request, body, done) => {
    try {
      done(null, readFhirXmlBody(request, body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.addHook('preParsing', checkRequestBody);
  app.setErrorHandler((error: FastifyError | FhirError, request, reply) => refuse(services.audit, error, request, reply));
  app.setNotFoundHandler((request, reply) => sendRefusal(reply, unrouted(app, request.method, request.url.split('?')[0])));
  await applySecurity(app, services.security);
  refuseWhileClosing(app);

  // Set by the bearer-token hooks; declared up front so every request object has the same shape.
  app.decorateRequest('principal', undefined);
  const { store, auth, setup, sync, audit } = services;
  const { db, repository } = store;
  const { tokens, users, accounts, sessions, login, identity } = auth;
  const { firstRun } = setup;
  const textIndex = services.text.index;
  app.get('/health', async () => ({ ...(await healthReport(db, repository, textIndex, services.monitored)), directory: services.directory.refresh.publicStatus() }));
  const loginCookies = new LoginCookies();
  const reaches = new Reaches(db);
  const findClient = clientFinder(db);
  await app.register(oauthRoutes, { prefix: '/oauth', findClient, tokens, guard: services.tokenGuard, sessions, login, audit, loginCookies, appLogins: auth.appLogins, findApp: auth.findApp });
  await app.register(appLoginRoutes, {
    appLogins: auth.appLogins,
    passwords: auth.passwords,
    login,
    loginCookies,
    ways: () => ({ provider: identity.screen()?.label, local: identity.localAccounts }),
    users,
    signingKeys: auth.signingKeys,
    patients: new LaunchPatients(services.api, reaches, users),
  });
  await app.register(lifenTokenRoutes, { findClient, tokens, guard: services.tokenGuard, audit });
  await app.register(authRoutes, {
    prefix: '/auth',
    login,
    identity,
    passwords: auth.passwords,
    accounts,
    sessions,
    users,
    tokens,
    audit,
    loginCookies,
    setupOpen: () => firstRun.open,
    relyingPartyKey: auth.relyingPartyKey,
    demoAccounts: auth.demo?.accounts,
  });
  await app.register(adminRoutes, { prefix: '/admin', db, tokens, audit, users, accounts, sessions, identity, joinCodes: setup.joinCodes, peers: sync.peers, repository, textIndex, backups: services.backup.backups, dailyBackup: services.backup.daily, signingKeys: auth.signingKeys });
  await app.register(setupRoutes, { prefix: '/setup', setup, api: services.api, audit });
  await app.register(syncJoinRoutes, { prefix: '/sync', joinCodes: setup.joinCodes });
  await app.register(directoryRoutes, { prefix: '/admin/directory', directory: services.directory, tokens, audit });
  await app.register(channelRoutes, { prefix: '/admin/channels', channels: services.channels, tokens, audit });
  // One node, three surfaces: plain FHIR, and Lifen's v2 and v3 conventions (docs/lifen-compatibility.md), sharing
  // the authentication, rate limits and handler; the more specific prefixes take their subtrees from `/fhir`.
  const fhir = { api: services.api, binaryStore: store.binaries, syncContent: sync.content, contentUploads: sync.uploads, tokens, rateLimiter: new RateLimiter(), reaches, audit };
  for (const surface of ['fhir', 'v2', 'v3'] as const) await app.register(fhirRoutes, { prefix: SURFACE_PATHS[surface], surface, ...fhir });
  if (services.uiDir && existsSync(services.uiDir)) {
    await app.register(fastifyStatic, { root: services.uiDir, prefix: '/', index: 'index.html' });
  } else {
    app.get('/', async (_request, reply) =>
      reply.type('text/plain; charset=utf-8').send('Liaison node. FHIR API at /fhir, health at /health. The web UI is not built: run `npm run build`.\n'),
    );
  }
  return app;
}

/** OPTIONS left out: with CORS on, its preflight route takes every path. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** A request no route takes: a 405 naming the methods the path does take (RFC 9110 §15.5.6), a 404 when it takes none. */
function unrouted(app: FastifyInstance, method: string, path: string): FhirError {
  const allowed = METHODS.filter((candidate) => app.findRoute({ method: candidate, url: path }) !== null);
  return allowed.length ? methodNotAllowed('method-not-allowed', `${method} is not allowed on ${path}`, allowed) : notFound('endpoint-unknown', `Nothing at ${method} ${path}`);
}
