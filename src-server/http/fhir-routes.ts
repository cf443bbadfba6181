import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log';
import type { Reaches } from '../auth/reach';
import { SYNC_SCOPE } from '../auth/scopes';
import type { TokenStore } from '../auth/tokens';
import type { FhirApi } from '../rest/fhir-api';
import type { Surface } from '../rest/types';
import type { BinaryStore } from '../store/binary-store';
import type { ContentQueue } from '../sync/content';
import type { ContentUploads } from '../sync/content-upload';
import { MAX_REPLICATE_BODY_BYTES } from '../sync/protocol';
import { auditedCall } from './audit-answers';
import { authenticate } from './bearer';
import { binaryRoutes } from './binary-routes';
import { baseUrl, pathOf, preferences, send, toFhirRequest } from './fhir-exchange';
import { FHIR_XML_CONTENT_TYPE, writeFhirXml } from './fhir-xml';
import type { FhirFormat } from '../fhir/formats';
import { negotiateFormat } from './negotiation';
import { rateKeyOf, rateLimitHeaders, type RateLimiter } from './rate-limit';

/**
 * The `/fhir` subtree: bearer authentication on everything but `metadata`, then every request handed to the
 * HTTP-free FHIR API (rest/fhir-api.ts). Registered with a prefix so its hooks cover exactly this subtree.
 */

const BINARY_READ = /^Binary\/[^/]+(\/_history\/[^/]+)?$/;

export interface FhirRoutesOptions {
  api: FhirApi;
  binaryStore: BinaryStore;
  /** Binary content awaited from sync peers. */
  syncContent?: ContentQueue;
  /** Sync peers' uploads of that content (`POST /fhir/$content`). */
  contentUploads: ContentUploads;
  tokens: TokenStore;
  rateLimiter: RateLimiter;
  reaches: Reaches;
  /** Where the streamed Binary answers are recorded (the others by the FHIR API and the error handler). */
  audit: AuditLog;
  /** The surface this subtree serves (its prefix is SURFACE_PATHS of it): the same routes, auth and handler for each. */
  surface: Surface;
}

export async function fhirRoutes(app: FastifyInstance, { api, binaryStore, syncContent, contentUploads, tokens, rateLimiter, reaches, audit, surface }: FhirRoutesOptions): Promise<void> {
  // The requests answered in FHIR XML: their FHIR JSON answers (refusals included) are converted as they leave.
  const inXml = new WeakSet<FastifyRequest>();
  app.addHook('onRequest', (request, reply, done) => {
    try {
      if (checkFormat(request)?.code === 'xml') inXml.add(request);
      if (!(request.method === 'GET' && pathOf(request) === 'metadata')) {
        const principal = authenticate(request, tokens);
        request.principal = principal;
        // Every caller, by who it is (rate-limit.ts); refused before its body is read.
        const { key, rate } = rateKeyOf(principal);
        reply.headers(rateLimitHeaders(rateLimiter.take(key, rate)));
      }
      done();
    } catch (error) {
      done(error as Error);
    }
  });

  // A batch or transaction costs one call per entry: admitted above as one, it is charged the rest once its body is
  // read, and may leave the caller's bucket in debt. No Bundle is refused for its size (the body limits bound it).
  app.addHook('preHandler', (request, reply, done) => {
    const entries = request.principal && request.method === 'POST' && pathOf(request) === '' ? bundleEntries(request.body) : 0;
    if (entries > 1) {
      const { key, rate } = rateKeyOf(request.principal!);
      reply.headers(rateLimitHeaders(rateLimiter.charge(key, rate, entries - 1)));
    }
    done();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    if (!inXml.has(request) || typeof payload !== 'string' || !String(reply.getHeader('content-type')).startsWith('application/fhir+json')) {
      done(null, payload);
      return;
    }
    try {
      const xml = writeFhirXml(payload);
      reply.header('content-type', FHIR_XML_CONTENT_TYPE);
      done(null, xml);
    } catch (error) {
      // Never lose an answer to a conversion: it leaves as the JSON it is, saying so in its content type.
      request.log.error({ err: error }, 'FHIR XML could not be written');
      done(null, payload);
    }
  });

  const handler = (request: FastifyRequest, reply: FastifyReply) => {
    const prefer = preferences(request);
    const answered = api.answer(toFhirRequest(request, prefer, reaches, auditedCall(request), surface), baseUrl(request, surface));
    if (answered instanceof Promise) return answered.then((response) => send(reply, response, request, prefer));
    return send(reply, answered, request, prefer);
  };
  app.all('/', handler);
  app.all('/*', handler);
  // A peer's push may carry one version larger than a client's body could be (sync/protocol.ts). Only a peer may
  // send that much: a client without SYNC is refused before its body is read.
  const peersOnly = (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    try {
      request.principal!.scopes.requireNamed(SYNC_SCOPE, '$replicate');
      done();
    } catch (error) {
      done(error as Error);
    }
  };
  app.post('/$replicate', { bodyLimit: MAX_REPLICATE_BODY_BYTES, onRequest: peersOnly }, handler);
  // Binary uploads and reads stream, with their own body handling (the hooks above still apply).
  await app.register(binaryRoutes, { api, store: binaryStore, syncContent, contentUploads, audit, reaches, surface });
}

/**
 * The answer must be in a format the request accepts (http/negotiation.ts), but for a Binary's read: it answers the
 * document itself in its own type unless FHIR is asked for (binary-routes.ts), whatever else `Accept` lists.
 */
function checkFormat(request: FastifyRequest): FhirFormat | undefined {
  if ((request.method === 'GET' || request.method === 'HEAD') && (request.query as Record<string, unknown>)._format === undefined && BINARY_READ.test(pathOf(request))) return undefined;
  return negotiateFormat(request);
}

/** The entries of a batch or transaction Bundle posted to the base; 0 for any other body. */
function bundleEntries(body: unknown): number {
  if (typeof body !== 'object' || body === null) return 0;
  const { resourceType, type, entry } = body as { resourceType?: unknown; type?: unknown; entry?: unknown };
  return resourceType === 'Bundle' && (type === 'batch' || type === 'transaction') && Array.isArray(entry) ? entry.length : 0;
}
