import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { existsSync } from 'node:fs';
import type { AuditLog } from '../audit/audit-log';
import { verifyClient } from '../auth/clients';
import type { LoginFlow } from '../auth/login-flow';
import { Reaches } from '../auth/reach';
import type { Sessions } from '../auth/sessions';
import type { TokenStore } from '../auth/tokens';
import type { Users } from '../auth/users';
import { badRequest, FhirError, notFound, payloadTooLarge, unsupportedMediaType } from '../fhir/outcome';
import type { FhirInteractions } from '../fhir/rest/interactions';
import type { Db } from '../storage/database';
import type { BinaryStore } from '../storage/binary-store';
import type { GroupCommit } from '../storage/group-commit';
import type { TextIndex } from '../text/text-index';
import type { ContentQueue } from '../sync/content';
import type { PeerStore } from '../sync/peers';
import { FHIR_CONTENT_TYPE, fhirRoutes } from './fhir-routes';
import { adminRoutes } from './admin-routes';
import { authRoutes, type LoginScreen } from './auth-routes';
import { directoryRoutes } from './directory-routes';
import { auditAnswer } from './audit-answers';
import { healthReport } from './health';
import { withRedaction } from './log-redaction';
import { oauthRoutes } from './oauth-routes';
import { RateLimiter } from './rate-limit';
import { applySecurity, type SecurityOptions } from './security';

/** Largest request body accepted (JSON resources and Bundles). Binary uploads get their own limit. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface AppServices {
  db: Db;
  interactions: FhirInteractions;
  tokens: TokenStore;
  users: Users;
  sessions: Sessions;
  /** Users' logins through the upstream identity provider, when one is configured. */
  login?: LoginFlow;
  /** The provider's issuer (and demo accounts) the login screen shows. */
  loginScreen?: LoginScreen;
  groupCommit: GroupCommit;
  security: SecurityOptions;
  audit: AuditLog;
  binaryStore: BinaryStore;
  textIndex: TextIndex;
  /** The directory import thread's module, when bundled. */
  directoryWorker?: URL;
  /** The sync peers, managed at `/admin/peers`. */
  peers?: PeerStore;
  /** Binary content awaited from sync peers: reads say so (503), peers upload it (`POST /fhir/$content`). */
  syncContent?: ContentQueue;
  /** Folder of the built web UI, served at `/` when it exists. */
  uiDir?: string;
  logger?: FastifyServerOptions['logger'];
}

const JSON_TYPES = ['application/fhir+json', 'application/json+fhir', 'application/json'];
const XML_TYPES = ['application/fhir+xml', 'application/xml+fhir', 'application/xml', 'text/xml'];

export async function buildApp(services: AppServices): Promise<FastifyInstance> {
  const app = Fastify({ logger: withRedaction(services.logger), bodyLimit: MAX_BODY_BYTES, return503OnClosing: true });

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

  app.setErrorHandler((error: FastifyError | FhirError, request, reply) => {
    const fhirError = error instanceof FhirError ? error : fromFastifyError(error);
    if (fhirError.status >= 500) request.log.error({ err: error }, 'request failed');
    auditAnswer(services.audit, request, fhirError.status);
    return reply
      .code(fhirError.status)
      .headers(fhirError.headers)
      .header('content-type', FHIR_CONTENT_TYPE)
      .send(JSON.stringify(fhirError.outcome));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = notFound(`Nothing at ${request.method} ${request.url.split('?')[0]}`);
    return reply.code(404).header('content-type', FHIR_CONTENT_TYPE).send(JSON.stringify(error.outcome));
  });
  await applySecurity(app, services.security);

  // Set by the bearer-token hooks; declared up front so every request object has the same shape.
  app.decorateRequest('principal', undefined);
  app.get('/health', async () => healthReport(services.db, services.interactions.repository, services.textIndex));
  const { tokens, users, sessions, login, audit } = services;
  await app.register(oauthRoutes, { prefix: '/oauth', verify: (id: string, secret: string) => verifyClient(services.db, id, secret), tokens, sessions, login, audit });
  await app.register(authRoutes, { prefix: '/auth', login, sessions, users, tokens, audit, loginScreen: services.loginScreen });
  await app.register(adminRoutes, { prefix: '/admin', db: services.db, tokens, audit, users, sessions, peers: services.peers, textIndex: services.textIndex });
  await app.register(directoryRoutes, {
    prefix: '/admin/directory',
    db: services.db,
    repository: services.interactions.repository,
    tokens: services.tokens,
    audit: services.audit,
    workerUrl: services.directoryWorker,
  });
  await app.register(fhirRoutes, {
    prefix: '/fhir',
    interactions: services.interactions,
    binaryStore: services.binaryStore,
    syncContent: services.syncContent,
    tokens: services.tokens,
    groupCommit: services.groupCommit,
    rateLimiter: new RateLimiter(),
    reaches: new Reaches(services.db),
    textIndex: services.textIndex,
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

function fromFastifyError(error: FastifyError): FhirError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return payloadTooLarge(`The request body is larger than the ${MAX_BODY_BYTES / 1024 / 1024} MiB this endpoint accepts`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType(`Unsupported Content-Type: send application/fhir+json`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return badRequest(error.message);
    default:
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return new FhirError(error.statusCode, { severity: 'error', code: 'invalid', diagnostics: error.message });
      }
      if (error instanceof RangeError && /call stack/.test(error.message)) {
        return new FhirError(400, { severity: 'error', code: 'too-costly', diagnostics: 'The request is nested too deeply' });
      }
      return new FhirError(500, { severity: 'error', code: 'exception', diagnostics: 'Internal error: the request was not completed' });
  }
}
