import type { FastifyRequest } from 'fastify';
import type { Principal, TokenStore } from '../auth/tokens';
import { unauthorized } from '../fhir/outcome';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set by the bearer-token hooks of `/fhir` and `/admin`. */
    principal?: Principal;
  }
}

/** The caller a request's bearer token stands for; 401 without a valid one. */
export function authenticate(request: FastifyRequest, tokens: TokenStore): Principal {
  const token = credentialsOf(request, 'Bearer');
  if (!token) throw unauthorized('token-missing', 'This request needs a bearer token: get one from POST /oauth/token');
  const principal = tokens.authenticate(token);
  if (!principal) throw unauthorized('token-invalid', 'The bearer token is invalid, expired or revoked');
  return principal;
}

/** What follows the scheme of the `Authorization` header, when it is `scheme`, in any case (RFC 7235 §2.1). */
export function credentialsOf(request: FastifyRequest, scheme: 'Bearer' | 'Basic'): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined || header.charAt(scheme.length) !== ' ' || header.slice(0, scheme.length).toLowerCase() !== scheme.toLowerCase()) return undefined;
  return header.slice(scheme.length + 1).trim();
}
