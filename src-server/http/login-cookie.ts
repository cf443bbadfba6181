import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The browser's login cookie: a random value that binds a browser login to the browser that started it, so that
 * a callback URL or a hand-off code taken elsewhere (a link planted by someone else) is refused. Sent back only
 * to this node (HttpOnly, SameSite=Lax: top-level returns from the identity provider carry it).
 */

const NAME = 'liaison_login';
const VALUE = /^[A-Za-z0-9_-]{43}$/;
const MAX_AGE_SECONDS = 600;

export function loginCookieOf(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === NAME && value !== undefined && VALUE.test(value)) return value;
  }
  return undefined;
}

/** The browser's login cookie, set now when it has none (kept otherwise: two tabs may log in at once). */
export function ensureLoginCookie(request: FastifyRequest, reply: FastifyReply): string {
  const value = loginCookieOf(request) ?? randomBytes(32).toString('base64url');
  reply.header('set-cookie', `${NAME}=${value}; Path=/; Max-Age=${MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax`);
  return value;
}
