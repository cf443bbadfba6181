// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import DirectoryRefreshPanel from '../../../src-renderer/components/DirectoryRefreshPanel.vue';
import { FakeNode, loggedIn, mountInApp, settle } from '../fake-node';

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
});
afterEach(() => vi.unstubAllGlobals());

const IMPORTED = {
  activity: { name: 'PS_LibreAcces_202612061410.zip', publishedAt: '2026-12-06T14:10:00', importedAt: '2026-12-07T03:12:00.000Z', lines: 1862411 },
  mssante: { name: 'Extraction_Correspondance_MSSante_202612061410.zip', publishedAt: '2026-12-06T14:10:00', importedAt: '2026-12-07T03:15:00.000Z', lines: 412005 },
};

describe('DirectoryRefreshPanel', () => {
  it('says in French which publication is imported, a failure with its reason and a retry', async () => {
    let state: Record<string, unknown> = {
      enabled: true,
      source: 'https://service.annuaire.sante.fr',
      imported: IMPORTED,
      nextCheck: '2026-12-08T03:10:00.000Z',
      failure: { code: 'directory-source-unreachable', message: 'service.annuaire.sante.fr does not answer: ECONNREFUSED', at: '2026-12-07T03:10:00.000Z' },
    };
    node.on('GET', /^\/admin\/directory\/refresh$/, () => ({ json: state }));
    node.on('POST', /^\/admin\/directory\/refresh$/, () => {
      state = { ...state, failure: undefined, running: { kind: 'activity', phase: 'downloading', bytes: 52_400_000, totalBytes: 262_000_000, lines: 0 } };
      return { status: 202, json: state };
    });
    const { wrapper } = await mountInApp(DirectoryRefreshPanel, { pinia: await loggedIn(node) });
    await settle();
    expect(wrapper.find('[data-directory-imported]').text()).toBe('Annuaire du 6 décembre 2026, 14:10 — 1\u202f862\u202f411 activités');
    expect(wrapper.text()).toContain('Messageries MSSanté du 6 décembre 2026, 14:10 — 412\u202f005 adresses');
    const failure = wrapper.find('[data-directory-failure]');
    expect(failure.text()).toContain('Échec : le serveur de l’ANS ne répond pas');
    // The node's English stays as the detail, for support.
    expect(failure.text()).toContain('ECONNREFUSED');
    await failure.findAll('button').find((button) => button.text() === 'Réessayer')!.trigger('click');
    await settle();
    expect(node.callsTo('POST', /admin\/directory\/refresh$/)).toHaveLength(1);
    expect(wrapper.find('[data-directory-running]').text()).toBe('Téléchargement en cours : 52,4 Mo sur 262 Mo');
    // The panel follows the check until it ends.
    state = { ...state, running: undefined, lastCheck: '2026-12-07T03:20:00.000Z' };
    await vi.waitFor(() => expect(wrapper.find('[data-directory-running]').exists()).toBe(false), { timeout: 5000 });
    expect(wrapper.find('[data-directory-next]').text()).toMatch(/^Prochaine vérification : /);
  });

  it('asks the admin to confirm a publication that would archive too much, and saves the source and proxy', async () => {
    const state = {
      enabled: true,
      source: 'https://service.annuaire.sante.fr',
      imported: IMPORTED,
      waiting: { kind: 'activity', publication: { name: 'PS_LibreAcces_202612071410.zip', publishedAt: '2026-12-07T14:10:00' }, refusal: { code: 'directory-archive-unconfirmed', type: 'Practitioner', archiving: 431000, active: 862000 } },
    };
    node.on('GET', /^\/admin\/directory\/refresh$/, { json: state });
    const checked = () => ({ ...state, waiting: undefined, lastCheck: new Date().toISOString() });
    node.on('POST', /^\/admin\/directory\/refresh\/confirm$/, { status: 202, json: checked() });
    node.on('PUT', /^\/admin\/directory\/source$/, (call) => ({ json: { ...checked(), ...(call.body as object) } }));
    vi.stubGlobal('confirm', () => true);
    const { wrapper } = await mountInApp(DirectoryRefreshPanel, { pinia: await loggedIn(node) });
    await settle();
    const waiting = wrapper.find('[data-directory-waiting]');
    expect(waiting.text()).toContain('La publication du 7 décembre 2026, 14:10 archiverait 431\u202f000 fiches sur 862\u202f000');
    await waiting.find('button').trigger('click');
    await settle();
    expect(node.callsTo('POST', /admin\/directory\/refresh\/confirm$/)).toHaveLength(1);

    await wrapper.find('[data-directory-proxy]').setValue('http://proxy.cabinet.local:3128');
    await wrapper.find('form').trigger('submit');
    await settle();
    expect(node.callsTo('PUT', /admin\/directory\/source$/)[0].body).toEqual({ source: 'https://service.annuaire.sante.fr', proxy: 'http://proxy.cabinet.local:3128' });
    await wrapper.find('[data-directory-enabled]').setValue(false);
    await wrapper.find('form').trigger('submit');
    await settle();
    expect(node.callsTo('PUT', /admin\/directory\/source$/)[1].body).toEqual({ source: 'off', proxy: 'http://proxy.cabinet.local:3128' });
  });

  it('stays away for users who are not admins (the node answers 403)', async () => {
    node.on('GET', /^\/admin\/directory\/refresh$/, { status: 403, json: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'Only an admin' }] } });
    const { wrapper } = await mountInApp(DirectoryRefreshPanel, { pinia: await loggedIn(node) });
    await settle();
    expect(wrapper.find('[data-directory-refresh]').exists()).toBe(false);
  });
});
