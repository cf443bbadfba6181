// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, h } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { DocumentReference } from '../../../src-renderer/api/fhir-types';
import App from '../../../src-renderer/App.vue';
import IdentityPanel from '../../../src-renderer/components/IdentityPanel.vue';
import NodeStatusBanner from '../../../src-renderer/NodeStatusBanner.vue';
import DocumentsPage from '../../../src-renderer/pages/DocumentsPage.vue';
import { failedScreen, screen, watchScreenLoads } from '../../../src-renderer/router';
import { CHECK_EVERY_MS, useConnectionStore } from '../../../src-renderer/stores/connection';
import { bundle, FakeNode, loggedIn, mountInApp, settle } from '../fake-node';

/**
 * The node going away while the UI is open (issue 25): an error is never shown next to an empty state, the UI notices
 * (`/health`), and when the node answers again the screen on display reloads its data by itself.
 */

let node: FakeNode;
let away = false;
beforeEach(() => {
  sessionStorage.clear();
  away = false;
  node = new FakeNode().install();
  node.on('GET', /^\/health$/, { json: { status: 'ok' } });
  // The node stopped: nothing answers, as `fetch` says when a port is closed.
  const answer = globalThis.fetch;
  vi.stubGlobal('fetch', (input: string, init?: RequestInit) => (away ? Promise.reject(new TypeError('Failed to fetch')) : answer(input, init)));
});
afterEach(() => {
  useConnectionStore().stop();
  vi.unstubAllGlobals();
});

const DOCUMENT: DocumentReference = {
  resourceType: 'DocumentReference',
  id: 'd1',
  status: 'current',
  type: { text: 'Compte rendu' },
  indexed: '2026-01-01T00:00:00Z',
  description: 'Compte rendu de consultation',
  content: [{ attachment: { url: 'Binary/b1', contentType: 'application/pdf' } }],
};

describe('the documents screen while the node is away', () => {
  it('shows the error without “Aucun document”, says the node is away, and lists the documents by itself once it is back', async () => {
    node.on('GET', /^\/fhir\/DocumentReference\?/, { json: bundle(DOCUMENT as never) });
    const pinia = await loggedIn(node);
    away = true;
    const { wrapper } = await mountInApp(defineComponent(() => () => [h(NodeStatusBanner), h(DocumentsPage)]), { pinia, path: '/documents?tab=all' });
    await settle();

    expect(wrapper.find('[role="alert"].error-message').text()).toContain('Le nœud local ne répond pas');
    expect(wrapper.text()).not.toContain('Aucun document');
    // The failed call had the node checked at once: the banner says it is away.
    expect(wrapper.find('[data-node-away]').text()).toContain('Les écrans se mettront à jour d’eux-mêmes');

    away = false;
    await useConnectionStore().check();
    await settle();
    expect(wrapper.find('.error-message').exists()).toBe(false);
    expect(wrapper.text()).toContain('Compte rendu de consultation');
    expect(wrapper.find('[data-node-away]').exists()).toBe(false);
    expect(wrapper.find('[data-node-back]').text()).toContain('répond de nouveau');
    // The failed call never reached the node: this is the one asked when it came back.
    expect(node.callsTo('GET', /^\/fhir\/DocumentReference\?/)).toHaveLength(1);

    // A screen left is not asked again when the node next comes back: only what is on display reloads.
    wrapper.unmount();
    away = true;
    await useConnectionStore().check();
    away = false;
    await useConnectionStore().check();
    await settle();
    expect(node.callsTo('GET', /^\/fhir\/DocumentReference\?/)).toHaveLength(1);
  });

  it('shows neither “Aucun document reçu” nor “Aucun document envoyé” next to the error in the inbox and the outbox', async () => {
    const pinia = await loggedIn(node);
    away = true;
    for (const tab of ['inbox', 'outbox']) {
      const { wrapper } = await mountInApp(DocumentsPage, { pinia, path: `/documents?tab=${tab}` });
      await settle();
      expect(wrapper.find('.error-message').exists()).toBe(true);
      expect(wrapper.findAll('p.muted').map((paragraph) => paragraph.text())).toEqual([]);
      wrapper.unmount();
    }
  });
});

describe('watching the node', () => {
  it('asks /health now and then, more often while the node is away, and reloads the settings panels when it answers', async () => {
    node.on('GET', /^\/admin\/identity$/, { json: { provider: 'oidc', issuer: 'https://idp.cabinet.fr', clientId: 'liaison', scopes: 'openid', hasClientSecret: true } });
    const pinia = await loggedIn(node);
    const { wrapper } = await mountInApp(IdentityPanel, { pinia, path: '/settings' });
    await settle();
    const issuer = wrapper.get<HTMLInputElement>('input[name="issuer"]');
    expect(issuer.element.value).toBe('https://idp.cabinet.fr');
    // The admin is typing when the node stops.
    await issuer.setValue('https://connexion.cabinet-des-lilas.fr');

    vi.useFakeTimers();
    try {
      const connection = useConnectionStore();
      connection.watch();
      const healthChecks = () => node.callsTo('GET', /^\/health$/).length;
      await vi.advanceTimersByTimeAsync(CHECK_EVERY_MS.reachable);
      expect(healthChecks()).toBe(1);
      expect(connection.reachable).toBe(true);

      away = true;
      await vi.advanceTimersByTimeAsync(CHECK_EVERY_MS.reachable);
      expect(connection.reachable).toBe(false);
      away = false;
      await vi.advanceTimersByTimeAsync(CHECK_EVERY_MS.away);
      expect(connection.reachable).toBe(true);
      expect(healthChecks()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
    await settle();
    // The panel read its settings again; the form keeps what the admin typed, since nothing changed on the node.
    expect(node.callsTo('GET', /^\/admin\/identity$/)).toHaveLength(2);
    expect(issuer.element.value).toBe('https://connexion.cabinet-des-lilas.fr');
  });
});

describe('a screen whose code could not be fetched', () => {
  it('is fetched again when opened again, and until then the failure is kept for the app to show with a retry', async () => {
    let fails = true;
    const Page = defineComponent(() => () => h('p', 'écran'));
    const load = vi.fn(async () => {
      if (fails) throw new TypeError('Failed to fetch dynamically imported module');
      return Page;
    });
    const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/', component: Page }, { path: '/later', component: screen(load) }] });
    watchScreenLoads(router);
    await router.push('/');

    await expect(router.push('/later')).rejects.toThrow('Failed to fetch');
    expect(failedScreen.value?.to.fullPath).toBe('/later');
    expect(router.currentRoute.value.fullPath).toBe('/');

    fails = false;
    await router.push(failedScreen.value!.to.fullPath);
    expect(router.currentRoute.value.fullPath).toBe('/later');
    expect(failedScreen.value).toBeUndefined();
    expect(load).toHaveBeenCalledTimes(2);
  });
});

describe('the app frame', () => {
  it('says a screen could not open, with Réessayer, and opens it when its code loads at the next try', async () => {
    const pinia = await loggedIn(node);
    const { wrapper, router } = await mountInApp(App, { pinia, path: '/directory' });
    watchScreenLoads(router);
    let fails = true;
    router.addRoute({
      path: '/later',
      component: screen(async () => {
        if (fails) throw new TypeError('Failed to fetch dynamically imported module');
        return defineComponent(() => () => h('h1', 'Écran chargé'));
      }),
    });
    await router.push('/later').catch(() => undefined);
    await settle();
    const failure = wrapper.get('[data-screen-failed]');
    expect(failure.text()).toContain('Cet écran n’a pas pu s’ouvrir');
    // The screen on display stays under the message.
    expect(wrapper.text()).toContain('Annuaire national');

    fails = false;
    await failure.get('button').trigger('click');
    await settle();
    expect(wrapper.find('[data-screen-failed]').exists()).toBe(false);
    expect(wrapper.get('h1').text()).toBe('Écran chargé');
  });
});
