import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log';
import type { AuditedCall } from '../rest/types';

/**
 * Every answer of the FHIR and admin APIs goes to the audit trail; refusals as `access.denied`. Recorded where the
 * answer is made (the FHIR API for its answers, rest/fhir-api.ts; the error handler; the admin and streaming routes'
 * own hooks) rather than from a global onResponse hook, which measured 16% of read throughput.
 *
 * A 401 (no or a bad token) and a 429 (throttled) are counted per source and second (audit-log.ts): anyone can send
 * them by the thousand. A 403 is a known caller refused some data: kept one row each, like accesses.
 */

const AUDITED_PREFIXES = ['/fhir', '/admin'];

/** How the trail names the request's answer, or undefined when it records none (the public CapabilityStatement). */
export function auditedCall(request: FastifyRequest): AuditedCall | undefined {
  const url = request.url;
  if (!AUDITED_PREFIXES.some((prefix) => url.startsWith(prefix))) return undefined;
  // The CapabilityStatement is public and says nothing about anyone.
  if (request.method === 'GET' && /^\/fhir(?:\/v[23])?\/metadata/.test(url)) return undefined;
  return { clientId: request.principal?.clientId, method: request.method, url };
}

export function auditAnswer(audit: AuditLog, request: FastifyRequest, status: number): void {
  const call = auditedCall(request);
  if (!call) return;
  if (status === 401 || status === 429) audit.refused('access.denied', { address: request.ip, clientId: call.clientId }, call.method, call.url, status);
  else audit.record(status === 403 ? 'access.denied' : 'access', call.clientId, call.method, call.url, status);
}
