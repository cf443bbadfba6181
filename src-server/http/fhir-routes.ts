import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { callerOf } from '../auth/caller';
import type { Reaches } from '../auth/reach';
import { Scopes, SYNC_SCOPE } from '../auth/scopes';
import type { TokenStore } from '../auth/tokens';
import type { GroupCommit } from '../store/group-commit';
import { operationOutcome, unsupportedMediaType } from '../fhir/outcome';
import type { FhirInteractions } from '../rest/interactions';
import type { FhirRequest, FhirResponse } from '../rest/types';
import type { BinaryStore } from '../store/binary-store';
import type { ContentQueue } from '../sync/content';
import { MAX_REPLICATE_BODY_BYTES } from '../sync/protocol';
import { mayHaveTextFilter, resolveTextMatches, type TextRound } from '../text/text-queries';
import type { TextIndex } from '../text/text-index';
import { PartialTextMatches } from '../store/search/conditions';
import type { AuditLog } from '../audit/audit-log';
import { auditAnswer } from './audit-answers';
import { authenticate } from './bearer';
import { binaryRoutes } from './binary-routes';
import { DEFAULT_RATE_LIMIT, rateLimitHeaders, type RateLimiter } from './rate-limit';

/**
 * The `/fhir` subtree: bearer authentication on everything but `metadata`, then every request handed to the
 * HTTP-free FhirInteractions. Registered with a prefix so its hooks cover exactly this subtree.
 */

export const FHIR_CONTENT_TYPE = 'application/fhir+json; charset=utf-8';

const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);
const XML_FORMATS = new Set(['xml', 'text/xml', 'application/xml', 'application/fhir+xml', 'application/xml+fhir']);

export interface FhirRoutesOptions {
  interactions: FhirInteractions;
  binaryStore: BinaryStore;
  /** Binary content awaited from sync peers. */
  syncContent?: ContentQueue;
  tokens: TokenStore;
  groupCommit: GroupCommit;
  rateLimiter: RateLimiter;
  audit: AuditLog;
  reaches: Reaches;
  textIndex: TextIndex;
}

const WRITE_METHODS = new Set(['POST', 'PUT']);
/** The rights of an unauthenticated request (only `metadata` gets this far without a token). */
const NO_SCOPES = new Scopes([]);


export async function fhirRoutes(app: FastifyInstance, { interactions, binaryStore, syncContent, tokens, groupCommit, rateLimiter, audit, reaches, textIndex }: FhirRoutesOptions): Promise<void> {
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

  // Reads run at once; writes join the next group commit and are answered once it is durable. A search with
  // text filters first asks the text index (its thread answers asynchronously).
  const run = (fhirRequest: FhirRequest, request: FastifyRequest, reply: FastifyReply, prefer: Record<string, string>) => {
    const base = baseUrl(request);
    if (!WRITE_METHODS.has(request.method)) return answer(audit, reply, interactions.handle(fhirRequest, base), request, prefer);
    return groupCommit.run(() => interactions.handle(fhirRequest, base), { alone: interactions.writesAlone(fhirRequest) }).then((response) => answer(audit, reply, response, request, prefer));
  };
  const handler = (request: FastifyRequest, reply: FastifyReply) => {
    const prefer = preferences(request);
    const fhirRequest = toFhirRequest(request, prefer, reaches);
    // Searches in the URL, in a POST _search form, or in a Bundle's entries; not creates and updates.
    const searchesInBody = request.method === 'POST' && (fhirRequest.path === '' || fhirRequest.path.endsWith('/_search'));
    if (!mayHaveTextFilter(request.url) && !searchesInBody) return run(fhirRequest, request, reply, prefer);
    const withMatches = (round: TextRound) =>
      resolveTextMatches(fhirRequest, textIndex, interactions.repository.definitions, round).then((textMatches) => (textMatches ? { ...fhirRequest, textMatches } : fhirRequest));
    // A Bundle's entries answer their errors in place: they get every match at once.
    if (fhirRequest.path === '') return withMatches('all').then((withAll) => run(withAll, request, reply, prefer));
    // A page nearly always comes from the newest matches; a search that needs more asks again for all of them.
    return withMatches('newest')
      .then((withNewest) => run(withNewest, request, reply, prefer))
      .catch(async (error: unknown) => {
        if (!(error instanceof PartialTextMatches)) throw error;
        return run(await withMatches('all'), request, reply, prefer);
      });
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
  await app.register(binaryRoutes, { interactions, groupCommit, store: binaryStore, syncContent, audit, reaches });
}

function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const question = url.indexOf('?');
  const path = question < 0 ? url : url.slice(0, question);
  return path.replace(/^\/fhir\/?/, '');
}

export function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/fhir`;
}

/** `_format` and `Accept` may ask for JSON; XML is not served. */
function checkFormat(request: FastifyRequest): void {
  const query = request.query as Record<string, string | string[] | undefined>;
  const format = typeof query._format === 'string' ? query._format.split(';')[0].trim() : undefined;
  if (format !== undefined && !JSON_FORMATS.has(format)) {
    throw unsupportedMediaType(`_format '${format}' is not supported: this node speaks application/fhir+json`);
  }
  const accept = request.headers.accept;
  if (format === undefined && accept) {
    const types = accept.split(',').map((part) => part.split(';')[0].trim());
    if (types.every((type) => XML_FORMATS.has(type))) {
      throw unsupportedMediaType('XML is not supported: ask for application/fhir+json');
    }
  }
}

export function toFhirRequest(request: FastifyRequest, prefer: Record<string, string>, reaches: Reaches): FhirRequest {
  const question = request.url.indexOf('?');
  const query = new URLSearchParams(question < 0 ? '' : request.url.slice(question + 1));
  if (question >= 0) {
    query.delete('_format');
    query.delete('_pretty');
  }
  const { principal } = request;
  const party = principal?.party;
  // One object shape for every request (no conditional spreads, no closures): this runs on every call.
  return {
    scopes: principal?.scopes ?? NO_SCOPES,
    reach: party ? reaches.of(party) : undefined,
    caller: principal ? callerOf(principal) : undefined,
    method: request.method === 'HEAD' ? 'GET' : request.method,
    path: pathOf(request),
    query,
    body: request.body ?? undefined,
    ifMatch: headerOf(request, 'if-match'),
    ifNoneMatch: headerOf(request, 'if-none-match'),
    ifModifiedSince: headerOf(request, 'if-modified-since'),
    ifNoneExist: headerOf(request, 'if-none-exist'),
    lenient: prefer.handling === 'lenient',
  };
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

const NO_PREFERENCES: Record<string, string> = Object.freeze({}) as Record<string, string>;

export function preferences(request: FastifyRequest): Record<string, string> {
  const prefer = request.headers.prefer;
  if (prefer === undefined) return NO_PREFERENCES;
  const result: Record<string, string> = {};
  for (const part of (Array.isArray(prefer) ? prefer.join(',') : (prefer ?? '')).split(/[,;]/)) {
    const [key, value] = part.split('=').map((item) => item.trim().replace(/^"|"$/g, ''));
    if (key && value) result[key] = value;
  }
  return result;
}

/** Audits and sends an answer (errors are audited by the error handler). */
function answer(audit: AuditLog, reply: FastifyReply, response: FhirResponse, request: FastifyRequest, prefer: Record<string, string>): FastifyReply {
  auditAnswer(audit, request, response.status);
  return send(reply, response, request, prefer);
}

export function send(reply: FastifyReply, response: FhirResponse, request: FastifyRequest, prefer: Record<string, string>): FastifyReply {
  reply.code(response.status).headers(response.headers);
  if (response.status === 304) return reply.send();
  let body = response.body;
  if (response.written) {
    const preferred = prefer.return;
    if (preferred === 'minimal') return reply.send();
    if (preferred === 'OperationOutcome') {
      body = operationOutcome([
        { severity: 'information', code: 'informational', diagnostics: `${response.written.resourceType}/${response.written.id} saved as version ${response.written.versionId}` },
      ]);
    }
  }
  reply.header('content-type', FHIR_CONTENT_TYPE);
  const pretty = (request.query as Record<string, unknown>)._pretty === 'true';
  if (pretty) return reply.send(JSON.stringify(typeof body === 'string' ? JSON.parse(body) : body, null, 2));
  return reply.send(typeof body === 'string' ? body : JSON.stringify(body));
}
