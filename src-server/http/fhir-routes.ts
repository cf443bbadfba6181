import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log';
import type { Reaches } from '../auth/reach';
import { SYNC_SCOPE } from '../auth/scopes';
import type { TokenStore } from '../auth/tokens';
import type { FhirApi } from '../rest/fhir-api';
import type { BinaryStore } from '../store/binary-store';
import type { ContentQueue } from '../sync/content';
import type { ContentUploads } from '../sync/content-upload';
import { MAX_REPLICATE_BODY_BYTES } from '../sync/protocol';
import { auditedCall } from './audit-answers';
import { authenticate } from './bearer';
import { binaryRoutes } from './binary-routes';
import { baseUrl, pathOf, preferences, send, toFhirRequest } from './fhir-exchange';
import { negotiateFormat } from './negotiation';
import { DEFAULT_RATE_LIMIT, rateLimitHeaders, type RateLimiter } from './rate-limit';

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
}

export async function fhirRoutes(app: FastifyInstance, { api, binaryStore, syncContent, contentUploads, tokens, rateLimiter, reaches, audit }: FhirRoutesOptions): Promise<void> {
  app.addHook('onRequest', (request, reply, done) => {
    try {
      checkFormat(request);
      if (!(request.method === 'GET' && pathOf(request) === 'metadata')) {
        const principal = authenticate(request, tokens);
        request.principal = principal;
        // API clients are limited; the owner client is the practice itself (its UI, import and tools).
        if (principal.role === 'client') reply.headers(rateLimitHeaders(rateLimiter.take(principal.clientId, principal.rateLimit ?? DEFAULT_RATE_LIMIT)));
      }
      done();
    } catch (error) {
      done(error as Error);
    }
  });

  const handler = (request: FastifyRequest, reply: FastifyReply) => {
    const prefer = preferences(request);
    const answered = api.answer(toFhirRequest(request, prefer, reaches, auditedCall(request)), baseUrl(request));
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
  await app.register(binaryRoutes, { api, store: binaryStore, syncContent, contentUploads, audit, reaches });
}

/**
 * The answer must be in a format the request accepts (http/negotiation.ts), but for a Binary's read: it answers the
 * document itself in its own type unless FHIR is asked for (binary-routes.ts), whatever else `Accept` lists.
 */
function checkFormat(request: FastifyRequest): void {
  if ((request.method === 'GET' || request.method === 'HEAD') && (request.query as Record<string, unknown>)._format === undefined && BINARY_READ.test(pathOf(request))) return;
  negotiateFormat(request);
}
