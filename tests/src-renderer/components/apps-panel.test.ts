// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import AllowedAppsPanel from '../../../src-renderer/components/AllowedAppsPanel.vue';
import AppsPanel from '../../../src-renderer/components/AppsPanel.vue';
import { CLAIRE, FakeNode, loggedIn, mountInApp, settle } from '../fake-node';

/** Réglages → Applications (admins): apps whose users log in through the node (docs/login.md "Apps"). */

const TELE = {
  clientId: 'app-1',
  name: 'Téléexpertise',
  redirectUris: ['https://tele.example/callback'],
  public: false,
  scopes: ['PATIENT_READ', 'PATIENT_SEARCH'],
  createdAt: '2026-12-01T10:00:00Z',
};

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
});
afterEach(() => vi.unstubAllGlobals());

describe('AppsPanel', () => {
  it('lists each app with its kind, return addresses and rights in words', async () => {
    node.on('GET', /^\/admin\/apps$/, { json: { apps: [TELE, { ...TELE, clientId: 'app-2', name: 'Labo', public: true, disabledAt: '2026-12-02T10:00:00Z' }] } });
    const { wrapper } = await mountInApp(AppsPanel, { pinia: await loggedIn(node) });
    await settle();
    const [tele, labo] = wrapper.findAll('[data-app]');
    expect(tele.text()).toContain('Téléexpertise');
    expect(tele.text()).toContain('Avec secret');
    expect(tele.text()).toContain('https://tele.example/callback');
    expect(tele.text()).toContain('Dossiers des patients : lire, rechercher');
    expect(tele.text()).not.toContain('PATIENT_READ');
    expect(labo.text()).toContain('Sans secret (PKCE)');
    expect(labo.text()).toContain('Désactivée le');
    expect(labo.find('[data-app-disable]').exists()).toBe(false);
  });

  it('registers an app and shows a confidential app’s secret once', async () => {
    const listed: Array<typeof TELE> = [];
    node.on('GET', /^\/admin\/apps$/, () => ({ json: { apps: listed } }));
    node.on('POST', /^\/admin\/apps$/, () => {
      listed.push(TELE);
      return { status: 201, json: { client_id: 'app-1', client_secret: 'le-secret-une-fois' } };
    });
    const { wrapper } = await mountInApp(AppsPanel, { pinia: await loggedIn(node) });
    await settle();
    await wrapper.find('input[name="app-name"]').setValue('Téléexpertise');
    await wrapper.find('textarea[name="app-redirect-uris"]').setValue('https://tele.example/callback\nhttp://127.0.0.1/callback');
    const boxes = wrapper.findAll('fieldset input[type="checkbox"]');
    await boxes[0].setValue(true); // Lire les dossiers des patients
    await boxes[1].setValue(true); // Rechercher les dossiers des patients
    await wrapper.find('form').trigger('submit');
    await settle();
    expect(node.callsTo('POST', /admin\/apps/)[0].body).toEqual({
      name: 'Téléexpertise',
      redirectUris: ['https://tele.example/callback', 'http://127.0.0.1/callback'],
      public: false,
      scopes: ['PATIENT_READ', 'PATIENT_SEARCH'],
    });
    expect(wrapper.find('[data-app-secret]').text()).toBe('le-secret-une-fois');
    expect(wrapper.findAll('[data-app]')).toHaveLength(1);
    await wrapper.find('[data-app-created-done]').trigger('click');
    expect(wrapper.html()).not.toContain('le-secret-une-fois');
  });

  it('disables an app only once the admin confirms', async () => {
    node.on('GET', /^\/admin\/apps$/, { json: { apps: [TELE] } });
    node.on('POST', /^\/admin\/apps\/app-1\/disable$/, { json: { ...TELE, disabledAt: '2026-12-03T10:00:00Z' } });
    const { wrapper } = await mountInApp(AppsPanel, { pinia: await loggedIn(node) });
    await settle();
    const confirm = vi.fn(() => false);
    vi.stubGlobal('confirm', confirm);
    await wrapper.find('[data-app-disable]').trigger('click');
    expect(confirm).toHaveBeenCalledWith('Désactiver « Téléexpertise » ? Ses utilisateurs sont déconnectés aussitôt et ne peuvent plus s’y connecter par ce nœud.');
    expect(node.callsTo('POST', /disable/)).toHaveLength(0);
    confirm.mockReturnValue(true);
    await wrapper.find('[data-app-disable]').trigger('click');
    await settle();
    expect(node.callsTo('POST', /admin\/apps\/app-1\/disable/)).toHaveLength(1);
  });

  it('is not shown to a user who is no admin, who never asks for it', async () => {
    const { wrapper } = await mountInApp(AppsPanel, { pinia: await loggedIn(node, { ...CLAIRE, roles: ['practitioner'] }) });
    await settle();
    expect(wrapper.find('[data-apps]').exists()).toBe(false);
    expect(node.callsTo('GET', /admin\/apps/)).toHaveLength(0);
  });
});

describe('AllowedAppsPanel', () => {
  it('lists the apps the user allowed in words, and takes one back once they confirm', async () => {
    const allowed = [{ clientId: 'app-1', name: 'Téléexpertise', scopes: ['PATIENT_READ'], since: '2026-12-01T10:00:00Z' }];
    node.on('GET', /^\/auth\/me\/apps$/, { json: { apps: allowed } });
    node.on('DELETE', /^\/auth\/me\/apps\/app-1$/, { json: { apps: [] } });
    const { wrapper } = await mountInApp(AllowedAppsPanel, { pinia: await loggedIn(node, { ...CLAIRE, roles: ['practitioner'] }) });
    await settle();
    const app = wrapper.find('[data-allowed-app="app-1"]');
    expect(app.text()).toContain('Téléexpertise');
    expect(app.text()).toContain('Dossiers des patients : lire');
    vi.stubGlobal('confirm', vi.fn(() => true));
    await app.find('button.danger').trigger('click');
    await settle();
    expect(node.callsTo('DELETE', /auth\/me\/apps\/app-1/)).toHaveLength(1);
    expect(wrapper.find('[data-allowed-app]').exists()).toBe(false);
    expect(wrapper.text()).toContain('Vous n’avez autorisé aucune application.');
  });
});
