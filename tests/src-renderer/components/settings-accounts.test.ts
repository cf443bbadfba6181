// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LiaisonBridge, NodeStatus } from '../../../src-main/preload/bridge';
import AccountsPanel from '../../../src-renderer/components/AccountsPanel.vue';
import IdentityPanel from '../../../src-renderer/components/IdentityPanel.vue';
import MyAccountPanel from '../../../src-renderer/components/MyAccountPanel.vue';
import NodeStatusBanner from '../../../src-renderer/NodeStatusBanner.vue';
import SettingsPage from '../../../src-renderer/pages/SettingsPage.vue';
import { bundle, CLAIRE, FakeNode, loggedIn, mountInApp, outcome, refusal, settle } from '../fake-node';

/** Réglages for the practice's admin: how users log in, the accounts; for everyone: their own offline password. */

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
});
afterEach(() => {
  vi.unstubAllGlobals();
  delete (window as { liaison?: LiaisonBridge }).liaison;
});

const SAVED_PSC = { provider: 'psc', clientId: 'liaison-editeur', localAccounts: true, hasClientSecret: true, overriddenByFlags: false };
const SOPHIE = { id: 'u-sophie', issuer: 'local', displayName: 'Sophie Leroy', login: 's.leroy', localAccount: true, mustChangePassword: false, roles: ['staff'], organizations: ['demo-cabinet-des-lilas'], lastLoginAt: '2026-03-02T08:15:00Z' };
const ME = { id: CLAIRE.id, issuer: 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet', displayName: CLAIRE.displayName, localAccount: false, mustChangePassword: false, roles: ['practitioner', 'admin'], organizations: CLAIRE.organizations };

describe('IdentityPanel', () => {
  it('shows the saved provider with “secret enregistré”, never the secret, and keeps it when the field stays empty', async () => {
    node.on('GET', /^\/admin\/identity$/, { json: SAVED_PSC });
    node.on('PUT', /^\/admin\/identity$/, { json: SAVED_PSC });
    const { wrapper } = await mountInApp(IdentityPanel, { pinia: await loggedIn(node) });
    await settle();
    expect((wrapper.get('input[value="psc"]').element as HTMLInputElement).checked).toBe(true);
    expect((wrapper.get('input[name="client-id"]').element as HTMLInputElement).value).toBe('liaison-editeur');
    expect(wrapper.get('[data-secret-saved]').text()).toBe('Secret enregistré');
    expect(wrapper.get('input[name="client-secret"]').attributes('type')).toBe('password');
    expect((wrapper.get('input[name="client-secret"]').element as HTMLInputElement).value).toBe('');
    expect(wrapper.text()).toContain('Laissez vide pour garder le secret enregistré.');
    expect(wrapper.text()).toContain('http://localhost:3000/auth/callback');
    expect(wrapper.find('[data-overridden]').exists()).toBe(false);

    await wrapper.get('input[name="client-id"]').setValue('liaison-editeur-2');
    await wrapper.get('form').trigger('submit');
    await settle();
    expect(node.callsTo('PUT', /^\/admin\/identity$/)[0].body).toEqual({ provider: 'psc', clientId: 'liaison-editeur-2' });
    expect(wrapper.text()).toContain('Réglages enregistrés : les prochaines connexions les utilisent.');
  });

  it('tests the provider through the node and says what is wrong in French; notes settings overridden by flags', async () => {
    node.on('GET', /^\/admin\/identity$/, { json: { ...SAVED_PSC, provider: 'oidc', issuer: 'https://idp.example', hasClientSecret: false, overriddenByFlags: true } });
    node.on('POST', /^\/admin\/identity\/test$/, { json: { ok: false, code: 'provider-unreachable', detail: 'getaddrinfo ENOTFOUND idp.example' } });
    const { wrapper } = await mountInApp(IdentityPanel, { pinia: await loggedIn(node) });
    await settle();
    expect(wrapper.get('[data-overridden]').text()).toContain('options en ligne de commande');
    expect(wrapper.find('[data-secret-saved]').exists()).toBe(false);
    await wrapper.get('input[name="client-secret"]').setValue('nouveau-secret');
    await wrapper.get('[data-test-provider]').trigger('click');
    await settle();
    expect(node.callsTo('POST', /^\/admin\/identity\/test$/)[0].body).toEqual({ provider: 'oidc', issuer: 'https://idp.example', clientId: 'liaison-editeur', clientSecret: 'nouveau-secret' });
    expect(wrapper.get('[data-test-failure]').text()).toContain('Le fournisseur ne répond pas à cette adresse.');
  });
});

describe('AccountsPanel', () => {
  it('adds a colleague: the temporary password is shown once, and the colleague is in the practice of the admin', async () => {
    const users = [ME];
    node.on('GET', /^\/admin\/users$/, () => ({ json: { users } }));
    node.on('POST', /^\/admin\/users$/, (call) => {
      const body = call.body as Record<string, unknown>;
      if (body.login === 'c.martin') return { status: 409, json: refusal('login-taken', 'login', 'The login is taken') };
      users.push({ ...SOPHIE, ...(body as object), mustChangePassword: true });
      return { status: 201, json: { user: users.at(-1), temporaryPassword: 'Tmp-8fK2-pQ9x' } };
    });
    node.on('GET', /^\/fhir\/Practitioner\?/, { json: bundle() });
    const { wrapper } = await mountInApp(AccountsPanel, { pinia: await loggedIn(node) });
    await settle();
    expect(wrapper.get(`[data-account="${ME.id}"] strong`).text()).toBe('Dr Claire Martin');
    expect(wrapper.get(`[data-account="${ME.id}"]`).text()).toContain('(vous)');

    await wrapper.get('input[name="account-login"]').setValue('c.martin');
    await wrapper.get('input[name="account-display-name"]').setValue('Sophie Leroy');
    await wrapper.get('input[value="staff"]').setValue(true);
    await wrapper.get('form').trigger('submit');
    await settle();
    expect(wrapper.text()).toContain('Cet identifiant est déjà pris : choisissez-en un autre.');
    await wrapper.get('input[name="account-login"]').setValue('s.leroy');
    await wrapper.get('form').trigger('submit');
    await settle();
    expect(node.callsTo('POST', /^\/admin\/users$/).at(-1)!.body).toEqual({ login: 's.leroy', displayName: 'Sophie Leroy', roles: ['staff'], organizations: ['demo-cabinet-des-lilas'] });
    expect(wrapper.get('[data-temporary-password]').text()).toBe('Tmp-8fK2-pQ9x');
    expect(wrapper.get('[data-shown-once]').text()).toContain('Transmettez-le maintenant : il ne sera plus affiché.');
    expect(wrapper.get('[data-account="s.leroy"]').text()).toContain('Nouveau mot de passe à choisir');
    await wrapper.findAll('[data-shown-once] button').at(-1)!.trigger('click');
    expect(wrapper.html()).not.toContain('Tmp-8fK2-pQ9x');
  });

  it('resets a password, makes a join code and disables an account, each after the admin confirms', async () => {
    const PAUL = { ...ME, id: 'u-paul', displayName: 'Dr Paul Bernard', login: 'p.bernard', localAccount: true, roles: ['practitioner'] };
    node.on('GET', /^\/admin\/users$/, { json: { users: [ME, SOPHIE, PAUL] } });
    node.on('POST', /^\/admin\/users\/u-sophie\/reset-password$/, { json: { temporaryPassword: 'Tmp-reset-7' } });
    node.on('POST', /^\/admin\/join-codes$/, { status: 201, json: { code: 'QX7-44B', expiresAt: '2026-03-03T09:00:00Z' } });
    node.on('PATCH', /^\/admin\/users\/u-sophie$/, { json: { ...SOPHIE, disabledAt: '2026-03-02T10:00:00Z' } });
    const { wrapper } = await mountInApp(AccountsPanel, { pinia: await loggedIn(node) });
    await settle();
    const confirm = vi.fn(() => true);
    vi.stubGlobal('confirm', confirm);
    const sophie = () => wrapper.get('[data-account="s.leroy"]');
    const action = (text: string) => sophie().findAll('button').find((button) => button.text() === text)!;
    // How each logs in: a local account, or the provider with an offline password beside it.
    expect(sophie().text()).toContain('Compte local (s.leroy) · Secrétariat');
    expect(wrapper.get('[data-account="p.bernard"]').text()).toContain('Via le fournisseur d’identité, et hors connexion (p.bernard) · Praticien');
    // The admin's own row has no "Désactiver" (nor a reset: their own password is changed under "Mon compte").
    expect(wrapper.get(`[data-account="${ME.id}"]`).findAll('button').map((button) => button.text())).toEqual(['Code pour un nouveau poste']);

    await action('Réinitialiser le mot de passe').trigger('click');
    await settle();
    expect(confirm).toHaveBeenLastCalledWith(expect.stringContaining('Réinitialiser le mot de passe de Sophie Leroy ?'));
    expect(wrapper.get('[data-temporary-password]').text()).toBe('Tmp-reset-7');

    await action('Code pour un nouveau poste').trigger('click');
    await settle();
    expect(node.callsTo('POST', /^\/admin\/join-codes$/)[0].body).toEqual({ userId: 'u-sophie' });
    expect(wrapper.get('[data-join-code]').text()).toBe('QX7-44B');
    expect(wrapper.get('[data-shown-once]').text()).toMatch(/Valable une seule fois, jusqu’au .*3 mars 2026/);
    expect(wrapper.get('[data-shown-once]').text()).toContain('Adresse de ce nœud');

    confirm.mockReturnValue(false);
    await action('Désactiver').trigger('click');
    expect(node.callsTo('PATCH', /admin\/users/)).toHaveLength(0);
    confirm.mockReturnValue(true);
    await action('Désactiver').trigger('click');
    await settle();
    expect(node.callsTo('PATCH', /^\/admin\/users\/u-sophie$/)[0].body).toEqual({ disabled: true });
  });

  it('leaves the accounts and the provider to admins: a colleague sees neither, only their own account', async () => {
    node.on('GET', /^\/admin\/(users|identity|peers|clients)$/, { status: 403, json: outcome('Only an admin may manage API clients, users and the audit trail') });
    node.on('GET', /^\/health$/, { json: { status: 'ok', version: '0.1.0', fhirVersion: '3.0.1', nodeId: 'n', schemaVersion: 1, resources: { total: 0, byType: {} }, textIndex: { ready: true } } });
    node.on('GET', /^\/fhir\/\$conflicts$/, { json: { resourceType: 'Parameters' } });
    const { wrapper } = await mountInApp(SettingsPage, { pinia: await loggedIn(node, { ...CLAIRE, roles: ['staff'], localLogin: 's.leroy' }) });
    await settle();
    expect(wrapper.find('[data-accounts]').exists()).toBe(false);
    expect(wrapper.find('[data-identity]').exists()).toBe(false);
    expect(wrapper.get('[data-my-account]').text()).toContain('Changer mon mot de passe');
  });
});

describe('MyAccountPanel', () => {
  it('lets a Pro Santé Connect user set an offline password for the days the provider cannot be reached', async () => {
    node.on('POST', /^\/auth\/me\/local-password$/, { json: {} });
    const pinia = await loggedIn(node, { ...CLAIRE, canSetLocalPassword: true });
    node.on('GET', /^\/auth\/me$/, { json: { ...CLAIRE, canSetLocalPassword: true, localLogin: 'c.martin' } });
    const { wrapper } = await mountInApp(MyAccountPanel, { pinia });
    expect(wrapper.get('h3').text()).toBe('Mot de passe hors connexion');
    expect(wrapper.text()).toContain('Pour vous connecter quand Pro Santé Connect est injoignable');
    await wrapper.get('input[name="offline-login"]').setValue('c.martin');
    await wrapper.get('input[name="my-new-password"]').setValue('court');
    await wrapper.get('input[name="my-confirm-password"]').setValue('court');
    await wrapper.get('form').trigger('submit');
    expect(wrapper.text()).toContain('Le mot de passe doit compter au moins 12 caractères.');
    await wrapper.get('input[name="my-new-password"]').setValue('le train de 7 h 42');
    await wrapper.get('input[name="my-confirm-password"]').setValue('le train de 7 h 42');
    await wrapper.get('form').trigger('submit');
    await settle();
    const call = node.callsTo('POST', /^\/auth\/me\/local-password$/)[0];
    expect(call.body).toEqual({ login: 'c.martin', newPassword: 'le train de 7 h 42' });
    expect(call.headers.get('authorization')).toBe('Bearer user-token');
    expect(wrapper.text()).toContain('Mot de passe hors connexion enregistré pour « c.martin ».');
    expect(wrapper.html()).not.toContain('le train de 7 h 42');
  });
});

describe('NodeStatusBanner', () => {
  it('says in French when the node had to take another port than 8347, and what the practice’s software should do', async () => {
    let emit: (status: NodeStatus) => void = () => undefined;
    Object.assign(window, {
      liaison: {
        nodeStatus: async () => ({ state: 'running', url: 'http://127.0.0.1:8348', restarts: 0, preferredPort: 8347 }),
        onNodeStatus: (listener: (status: NodeStatus) => void) => ((emit = listener), () => undefined),
      },
    });
    const { wrapper } = await mountInApp(NodeStatusBanner, { pinia: (await import('pinia')).createPinia() });
    await settle();
    const banner = wrapper.get('[data-port-taken]');
    expect(banner.text()).toContain('Le port 8347 est déjà pris sur cet ordinateur');
    expect(banner.text()).toContain('Liaison fonctionne aujourd’hui sur le port 8348.');
    expect(banner.text()).toContain('Les logiciels du cabinet réglés sur http://127.0.0.1:8347/fhir ne trouveront pas ce nœud');
    emit({ state: 'running', url: 'http://127.0.0.1:8347', restarts: 0 });
    await settle();
    expect(wrapper.find('[data-port-taken]').exists()).toBe(false);
  });
});
