import type { FastifyReply, FastifyRequest } from 'fastify';
import { callerOf } from '../auth/caller';
import type { Reaches } from '../auth/reach';
import { Scopes } from '../auth/scopes';
import { operationOutcome } from '../fhir/outcome';
import type { AuditedCall, FhirRequest, FhirResponse, Surface } from '../rest/types';

/** A FHIR exchange over HTTP: the FhirRequest an HTTP request makes, and the HTTP answer a FhirResponse makes. */

export const FHIR_CONTENT_TYPE = 'application/fhir+json; charset=utf-8';

/** The rights of an unauthenticated request (only `metadata` gets this far without a token). */
const NO_SCOPES = new Scopes([]);

/** The path below the FHIR base of the request's surface (`/fhir`, or Lifen's `/fhir/v2` and `/fhir/v3`). */
export function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const question = url.indexOf('?');
  const path = question < 0 ? url : url.slice(0, question);
  return path.replace(SURFACE_PREFIX, '');
}

const SURFACE_PREFIX = /^\/fhir(?:\/v[23](?=\/|$))?\/?/;

/** Where each surface is served. */
export const SURFACE_PATHS: Readonly<Record<Surface, string>> = { fhir: '/fhir', v2: '/fhir/v2', v3: '/fhir/v3' };

export function baseUrl(request: FastifyRequest, surface: Surface = 'fhir'): string {
  return `${request.protocol}://${request.host}${SURFACE_PATHS[surface]}`;
}

/** The FHIR request of an HTTP one; `audit`: how the FHIR API records its answer (absent: HTTP records it, or none). */
export function toFhirRequest(request: FastifyRequest, prefer: Record<string, string>, reaches: Reaches, audit?: AuditedCall, surface: Surface = 'fhir'): FhirRequest {
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
    audit,
    surface,
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
