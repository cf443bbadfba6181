import { mount, type ComponentMountingOptions, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia, type Pinia } from 'pinia';
import { vi } from 'vitest';
import type { Component } from 'vue';
import { createMemoryHistory, createRouter, type Router } from 'vue-router';
import { createAppI18n } from '../../src-renderer/i18n';
import type { SessionUser } from '../../src-main/preload/bridge';
import { routes } from '../../src-renderer/router';
import { useSessionStore } from '../../src-renderer/stores/session';

/**
 * A stand-in for the node behind `fetch`, for the renderer's component and store tests: each route answers a
 * request (method and path + query) with JSON, and every call is recorded, so a test checks what the UI asked.
 */

export interface Call {
  method: string;
  url: URL;
  headers: Headers;
  body?: unknown;
}

type Reply = { status?: number; json?: unknown; headers?: Record<string, string> };
type Answer = Reply | ((call: Call) => Reply | Promise<Reply>);

export class FakeNode {
  readonly calls: Call[] = [];
  private readonly routes: Array<{ method: string; path: RegExp; answer: Answer }> = [];

  on(method: string, path: RegExp, answer: Answer): this {
    this.routes.unshift({ method, path, answer });
    return this;
  }

  /** Installs this node as `fetch`. */
  install(): this {
    vi.stubGlobal('fetch', (input: string | URL | Request, init: RequestInit = {}) => this.fetch(input, init));
    return this;
  }

  hasRoute(method: string, path: string): boolean {
    return this.routes.some((route) => route.method === method && route.path.test(path));
  }

  callsTo(method: string, path: RegExp): Call[] {
    return this.calls.filter((call) => call.method === method && path.test(`${call.url.pathname}${call.url.search}`));
  }

  private async fetch(input: string | URL | Request, init: RequestInit): Promise<Response> {
    const url = new URL(String(input), 'http://node.test');
    const method = (init.method ?? 'GET').toUpperCase();
    let body: unknown = init.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // a form body stays text
      }
    }
    const call: Call = { method, url, headers: new Headers(init.headers), body };
    this.calls.push(call);
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    const route = this.routes.find((candidate) => candidate.method === method && candidate.path.test(`${url.pathname}${url.search}`));
    if (!route) return json(404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found', diagnostics: `Nothing at ${method} ${url.pathname}` }] });
    const answer = typeof route.answer === 'function' ? await route.answer(call) : route.answer;
    return json(answer.status ?? 200, answer.json ?? {}, answer.headers);
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/fhir+json', ...headers } });
}

export function bundle(...resources: Array<Record<string, unknown>>): Record<string, unknown> {
  return { resourceType: 'Bundle', type: 'searchset', entry: resources.map((resource) => ({ resource, search: { mode: resource.__include ? 'include' : 'match' } })) };
}

export function outcome(text: string): Record<string, unknown> {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'conflict', diagnostics: text }] };
}

/** A refusal of `/auth`, `/setup` or `/admin` as the node words it: its code, the field it is about, English words. */
export function refusal(code: string, field: string | undefined, diagnostics = `refused: ${code}`): Record<string, unknown> {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'invalid', diagnostics, details: { coding: [{ system: 'https://liaison.example/fhir/CodeSystem/refusal', code }] }, ...(field ? { expression: [field] } : {}) }],
  };
}

/** `GET /auth/config` of a node with users: the provider (or none) and local accounts. */
export function loginConfig(provider: { kind: string; issuer: string; label: string } | null, extra: Record<string, unknown> = {}): { json: Record<string, unknown> } {
  return { json: { provider, localAccounts: true, setup: false, ...extra } };
}

export const PSC = { kind: 'psc', issuer: 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet', label: 'Pro Santé Connect' };

/** A fresh Pinia with `user` logged in: a browser session in this tab's storage, restored as at start. */
export async function loggedIn(node: FakeNode, user: SessionUser = CLAIRE): Promise<Pinia> {
  sessionStorage.setItem('liaison.session', JSON.stringify({ accessToken: 'user-token', refreshToken: 'refresh-1', expiresAt: Date.now() + 3_600_000 }));
  node.on('GET', /^\/auth\/me$/, { json: user });
  if (!node.hasRoute('GET', '/auth/config')) node.on('GET', /^\/auth\/config$/, loginConfig(PSC));
  const pinia = createPinia();
  setActivePinia(pinia);
  await useSessionStore().restore({ search: '', pathname: '/', hash: '' } as Location);
  return pinia;
}

export const CLAIRE: SessionUser = { id: 'demo-claire.martin', displayName: 'Dr Claire Martin', practitionerId: 'demo-claire-martin', roles: ['practitioner', 'admin'], organizations: ['demo-cabinet-des-lilas'] };

/** Mounts a component with the app's Pinia, French i18n and router (memory history). */
export async function mountInApp<C extends Component>(component: C, options: ComponentMountingOptions<C> & { pinia: Pinia; path?: string } = { pinia: createPinia() }): Promise<{ wrapper: VueWrapper; router: Router }> {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(options.path ?? '/directory');
  const { pinia, path: _path, ...rest } = options;
  const wrapper = mount(component, { ...rest, global: { plugins: [pinia, createAppI18n('fr'), router] } } as ComponentMountingOptions<C>);
  return { wrapper: wrapper as unknown as VueWrapper, router };
}

/** Lets pending promises and Vue's updates run. */
export async function settle(): Promise<void> {
  for (let round = 0; round < 5; round++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** A fresh fake node for a screen's test: a node that answers `/health`, and practitioners' roles asked by the names cache with none. */
export function screenNode(): FakeNode {
  sessionStorage.clear();
  const node = new FakeNode().install();
  node.on('GET', /^\/health$/, { json: { status: 'ok' } });
  node.on('GET', /^\/fhir\/PractitionerRole\?/, { json: bundle() });
  return node;
}
