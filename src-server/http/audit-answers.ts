import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/audit-log';

/**
 * Every answer of the FHIR and admin APIs goes to the audit trail; refusals as `access.denied`. Called where the
 * answer is made (the FHIR handlers, the error handler, the admin routes' own hook) rather than from a global
 * onResponse hook, which measured 16% of read throughput.
 *
 * A 401 (no or a bad token) and a 429 (throttled) are counted per source and second (audit-log.ts): anyone can send
 * them by the thousand. A 403 is a known caller refused some data: kept one row each, like accesses.
 */

const AUDITED_PREFIXES = ['/fhir', '/admin'];

export function auditAnswer(audit: AuditLog, request: FastifyRequest, status: number): void {
  const url = request.url;
  if (!AUDITED_PREFIXES.some((prefix) => url.startsWith(prefix))) return;
  // The CapabilityStatement is public and says nothing about anyone.
  if (request.method === 'GET' && url.startsWith('/fhir/metadata')) return;
  if (status === 401 || status === 429) audit.refused('access.denied', { address: request.ip, clientId: request.principal?.clientId }, request.method, url, status);
  else audit.record(status === 403 ? 'access.denied' : 'access', request.principal?.clientId, request.method, url, status);
}
