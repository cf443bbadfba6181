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
  const header = request.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
  if (!token) throw unauthorized('This request needs a bearer token: get one from POST /oauth/token');
  const principal = tokens.authenticate(token);
  if (!principal) throw unauthorized('The bearer token is invalid, expired or revoked');
  return principal;
}
