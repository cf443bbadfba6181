import { expect } from 'vitest';
import type { TestNode } from './node';

type Json = Record<string, any>;

/** A call to the node's admin API as its owner client (registering apps and users, reading the audit trail). */
export async function adminCall(node: TestNode, path: string, init: { method?: string; json?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${node.url}/admin/${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${node.token}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

/** How many times the audit trail recorded `event`. */
export async function auditCount(node: TestNode, event: string): Promise<number> {
  const { body } = await adminCall(node, `audit?event=${event}&_count=1000`);
  return (body.events as Json[]).reduce((sum, row) => sum + (row.count as number), 0);
}

/**
 * An app's login driven over plain HTTP, as a browser would (cookies by hand): `GET /authorize`, the login form, the
 * consent form. For the refusals; the whole flow is also driven in Chromium (tests/e2e/app-login.test.ts).
 */

type Step = { status: number; location?: string; html: string };

export class AuthorizeBrowser {
  private cookie = '';

  constructor(private readonly base: string) {}

  async get(url: string): Promise<Step> {
    return this.step(await fetch(url.startsWith('http') ? url : `${this.base}${url}`, { redirect: 'manual', headers: { cookie: this.cookie } }));
  }

  async post(path: string, form: Record<string, string>): Promise<Step> {
    return this.step(await fetch(`${this.base}${path}`, { method: 'POST', redirect: 'manual', headers: { cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) }));
  }

  /** Authorization URL → login → consent: the consent page's sealed field, or the step that stopped it. */
  async logIn(authorizationUrl: string, login: string, password: string): Promise<{ consent?: string; step: Step }> {
    const started = await this.get(authorizationUrl);
    if (started.status !== 200) return { step: started };
    const logged = await this.post('/authorize/login', { request: hidden(started.html, 'request'), login, password });
    return logged.status === 200 ? { consent: hidden(logged.html, 'consent'), step: logged } : { step: logged };
  }

  /** The whole way to the app's redirect URI: its URL with the code (or the error). */
  async authorize(authorizationUrl: string, login: string, password: string, decision: 'allow' | 'deny' = 'allow'): Promise<URL> {
    const { consent, step } = await this.logIn(authorizationUrl, login, password);
    expect(consent, `${step.status} ${step.location ?? step.html}`).toBeDefined();
    const answered = await this.post('/authorize/consent', { consent: consent!, decision });
    expect(answered.status).toBe(303);
    return new URL(answered.location!);
  }

  private async step(response: Response): Promise<Step> {
    const set = response.headers.get('set-cookie');
    if (set) this.cookie = set.split(';')[0];
    return { status: response.status, location: response.headers.get('location') ?? undefined, html: await response.text() };
  }
}

export function hidden(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]+)"`).exec(html);
  if (!match) throw new Error(`no hidden field ${name} in ${html}`);
  return match[1].replace(/&#(\d+);/g, (_all, code: string) => String.fromCharCode(Number(code)));
}
