import { createHash, randomBytes } from 'node:crypto';

/**
 * A scripted browser for login flows: fetch with its own cookie jar (one per instance, like a browser profile),
 * redirects followed by hand so that cookies are kept at every hop, and the identity provider's forms submitted.
 * Every server of a test is on 127.0.0.1, and browsers share cookies across ports: one jar for all of them.
 */

export interface Page {
  url: URL;
  status: number;
  html: string;
}

export class ScriptedBrowser {
  private readonly cookies = new Map<string, string>();

  /** Loads a page, following redirects; `stopAt` ends the walk at the first URL it accepts (not loaded). */
  async open(url: string | URL, stopAt?: (url: URL) => boolean): Promise<Page> {
    return this.walk(new URL(url), { method: 'GET' }, stopAt);
  }

  /** Submits the page's form whose action ends with `step` (`login`, `consent`, `abort`). */
  async submit(page: Page, step: string, fields: Record<string, string> = {}, stopAt?: (url: URL) => boolean): Promise<Page> {
    const action = [...page.html.matchAll(/<form[^>]*action="([^"]+)"/g)].map((match) => match[1]).find((candidate) => candidate.endsWith(`/${step}`));
    if (!action) throw new Error(`no ${step} form on ${page.url.href}: ${page.html.slice(0, 500)}`);
    return this.walk(new URL(action, page.url), { method: 'POST', body: new URLSearchParams(fields) }, stopAt);
  }

  /** The jar's cookie header (for a fetch that must come from this browser). */
  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  private async walk(url: URL, init: { method: string; body?: URLSearchParams }, stopAt?: (url: URL) => boolean): Promise<Page> {
    let current = url;
    let request = init;
    for (let hop = 0; hop < 20; hop++) {
      const response = await fetch(current, { ...request, redirect: 'manual', headers: { cookie: this.cookieHeader() } });
      this.keep(response.headers.getSetCookie());
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { url: current, status: response.status, html: await response.text() };
      await response.body?.cancel();
      current = new URL(location, current);
      request = { method: 'GET' };
      if (stopAt?.(current)) return { url: current, status: response.status, html: '' };
    }
    throw new Error(`too many redirects from ${url.href}`);
  }

  private keep(setCookies: string[]): void {
    for (const header of setCookies) {
      const [pair, ...attributes] = header.split(';');
      const equals = pair.indexOf('=');
      const name = pair.slice(0, equals).trim();
      const value = pair.slice(equals + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key, val] = attribute.trim().split('=');
        return (key.toLowerCase() === 'max-age' && Number(val) <= 0) || (key.toLowerCase() === 'expires' && Date.parse(val) < Date.now());
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** A PKCE pair as an app makes one (RFC 7636, S256). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}
