import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BrowserLogin } from '../auth/login-flow';
import { newSealingKey, seal, unseal } from '../sealing';

/**
 * The browser's login cookie. It holds, sealed (AES-256-GCM) under a key this node keeps in memory:
 * - a random id of the browser, which binds a login to the browser that started it, so that a callback URL or a
 *   hand-off code taken elsewhere (a link planted by someone else) is refused;
 * - the logins this browser started that wait for the provider's answer (state, nonce, PKCE verifier…), its newest
 *   MAX_LOGINS. The node keeps none of them: no number of other requests can push one out, and a restart (a new key)
 *   forgets them all, as it would a store in memory.
 * Sent back only to this node (HttpOnly, SameSite=Lax: top-level returns from the identity provider carry it).
 */

const NAME = 'liaison_login';
/** Sealed text: base64url parts joined by colons; a few logins fit well under a browser's 4 KiB per cookie. */
const VALUE = /^[A-Za-z0-9_:-]{1,4000}$/;
const MAX_AGE_SECONDS = 600;
/** Logins of one browser waiting at once (tabs); a newer one drops the oldest, of that browser only. */
const MAX_LOGINS = 3;

export interface LoginCookie {
  browser: string;
  /** Only those not expired. */
  logins: BrowserLogin[];
}

export class LoginCookies {
  private readonly key = newSealingKey();

  /** What the request's login cookie holds; nothing without one this node sealed (since it started). */
  read(request: FastifyRequest): LoginCookie | undefined {
    for (const part of (request.headers.cookie ?? '').split(';')) {
      const [name, value] = part.trim().split('=');
      if (name !== NAME || value === undefined || !VALUE.test(value)) continue;
      try {
        const cookie = JSON.parse(unseal(this.key, value)) as LoginCookie;
        const now = Date.now();
        return { browser: cookie.browser, logins: cookie.logins.filter((login) => login.expiresAt > now) };
      } catch {
        // Not sealed by this node since it started: as if there were none.
      }
    }
    return undefined;
  }

  /** Keeps a login the browser starts in its cookie, created now when it has none. */
  addLogin(request: FastifyRequest, reply: FastifyReply, login: BrowserLogin): void {
    const cookie = this.read(request);
    this.write(reply, { browser: cookie?.browser ?? randomBytes(32).toString('base64url'), logins: [...(cookie?.logins ?? []), login].slice(-MAX_LOGINS) });
  }

  /**
   * The login of the provider's answer (its `state`) when this browser started it, taken out of the cookie: it is
   * used up whatever the answer brings. Another browser, or a state of nobody's, leaves the cookie as it is.
   */
  takeLogin(request: FastifyRequest, reply: FastifyReply, state: string | null): { browser?: string; login?: BrowserLogin } {
    const cookie = this.read(request);
    const login = cookie?.logins.find((candidate) => candidate.state === state);
    if (!cookie || !login) return { browser: cookie?.browser };
    this.write(reply, { browser: cookie.browser, logins: cookie.logins.filter((other) => other !== login) });
    return { browser: cookie.browser, login };
  }

  private write(reply: FastifyReply, cookie: LoginCookie): void {
    reply.header('set-cookie', `${NAME}=${seal(this.key, JSON.stringify(cookie))}; Path=/; Max-Age=${MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax`);
  }
}
