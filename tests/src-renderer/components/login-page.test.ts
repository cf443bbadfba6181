// @vitest-environment happy-dom
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LiaisonBridge, LoginResult } from '../../../src-main/preload/bridge';
import LoginPage from '../../../src-renderer/pages/LoginPage.vue';
import { useSessionStore } from '../../../src-renderer/stores/session';
import { CLAIRE, FakeNode, loginConfig, mountInApp, PSC, refusal, settle } from '../fake-node';

/** The login screen's two ways in (the provider, a local account), the forced new password, refusals in French. */

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
  node.on('GET', /^\/health$/, { json: { status: 'ok', version: '0.1.0', fhirVersion: '3.0.1' } });
});
afterEach(() => {
  vi.unstubAllGlobals();
  delete (window as { liaison?: LiaisonBridge }).liaison;
});

async function openLogin() {
  const pinia = createPinia();
  setActivePinia(pinia);
  await useSessionStore().restore({ search: '', pathname: '/', hash: '' } as Location);
  const mounted = await mountInApp(LoginPage, { pinia, path: '/login' });
  await settle();
  return { ...mounted, session: useSessionStore() };
}

const tokens = { json: { access_token: 'access-1', refresh_token: 'refresh-1', expires_in: 3600, token_type: 'Bearer' } };
async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

describe('LoginPage', () => {
  it('offers both ways, each saying what it is: Pro Santé Connect (e-CPS) and the local account that works offline', async () => {
    node.on('GET', /^\/auth\/config$/, loginConfig(PSC));
    const { wrapper } = await openLogin();
    expect(wrapper.get('[data-login-provider] h2').text()).toBe('Pro Santé Connect (e-CPS)');
    expect(wrapper.get('[data-login-provider]').text()).toContain('Avec votre carte CPS ou l’application e-CPS');
    expect(wrapper.get('[data-login-local] h2').text()).toBe('Compte local (hors connexion)');
    expect(wrapper.get('[data-login-local]').text()).toContain('Fonctionne aussi sans Internet');
    expect(wrapper.find('[data-login-local] input[name="password"]').attributes('type')).toBe('password');
  });

  it('logs a local account in: login and password for a hand-off code, exchanged with the PKCE verifier', async () => {
    node.on('GET', /^\/auth\/config$/, loginConfig(null));
    node.on('POST', /^\/auth\/password$/, { json: { code: 'handoff-1' } });
    node.on('POST', /^\/oauth\/token$/, tokens);
    node.on('GET', /^\/auth\/me$/, { json: CLAIRE });
    const { wrapper, session } = await openLogin();
    expect(wrapper.find('[data-login-provider]').exists()).toBe(false);
    expect(wrapper.get('[data-login-local] h2').text()).toBe('Compte local');

    await wrapper.get('input[name="login"]').setValue('c.martin');
    await wrapper.get('input[name="password"]').setValue('une phrase de passe');
    await wrapper.get('[data-login-local] form').trigger('submit');
    await vi.waitFor(() => expect(session.state).toBe('in'));

    const sent = node.callsTo('POST', /^\/auth\/password$/)[0].body as Record<string, string>;
    expect(sent).toMatchObject({ login: 'c.martin', password: 'une phrase de passe' });
    const form = Object.fromEntries(new URLSearchParams(node.callsTo('POST', /^\/oauth\/token$/)[0].body as string));
    expect(form).toMatchObject({ grant_type: 'authorization_code', client_id: 'liaison-ui', code: 'handoff-1' });
    expect(await s256(form.code_verifier)).toBe(sent.code_challenge);
    expect(node.callsTo('GET', /^\/auth\/me$/)[0].headers.get('authorization')).toBe('Bearer access-1');
    expect(session.state).toBe('in');
    expect(JSON.parse(sessionStorage.getItem('liaison.session')!).refreshToken).toBe('refresh-1');
  });

  it('says a refusal in French under the password: wrong password, and the wait after too many attempts', async () => {
    node.on('GET', /^\/auth\/config$/, loginConfig(PSC));
    node.on('POST', /^\/auth\/password$/, { status: 401, json: refusal('bad-credentials', 'password', 'Unknown login or wrong password') });
    const { wrapper, session } = await openLogin();
    await wrapper.get('input[name="login"]').setValue('c.martin');
    await wrapper.get('input[name="password"]').setValue('pas le bon');
    await wrapper.get('[data-login-local] form').trigger('submit');
    // The login computes its PKCE challenge with WebCrypto, on a thread: a loaded machine takes more than a few ticks.
    await vi.waitFor(() => expect(node.callsTo('POST', /^\/auth\/password$/)).toHaveLength(1));
    await vi.waitFor(() => expect(wrapper.get('input[name="password"]').attributes('aria-invalid')).toBe('true'));
    const password = wrapper.get('input[name="password"]');
    expect(password.attributes('aria-invalid')).toBe('true');
    expect(wrapper.get(`#${password.attributes('aria-describedby')}`).text()).toBe('Identifiant ou mot de passe incorrect.');
    expect((password.element as HTMLInputElement).value).toBe('');
    expect(session.state).toBe('out');

    node.on('POST', /^\/auth\/password$/, { status: 429, headers: { 'retry-after': '30' }, json: refusal('too-many-attempts', undefined, 'Too many failed attempts from this address') });
    await password.setValue('encore raté');
    await wrapper.get('[data-login-local] form').trigger('submit');
    await vi.waitFor(() => expect(wrapper.find('[data-login-local] [role="alert"]').exists()).toBe(true));
    expect(wrapper.get('[data-login-local] [role="alert"]').text()).toBe('Trop d’essais manqués depuis ce poste : réessayez dans 30 secondes.');
    expect(wrapper.text()).not.toContain('Too many');
  });

  it('after a reset, asks for a new password (12 characters, typed twice) and logs in with it', async () => {
    node.on('GET', /^\/auth\/config$/, loginConfig(PSC));
    node.on('POST', /^\/auth\/password$/, { status: 403, json: refusal('password-change-required', undefined, 'This account must choose a new password') });
    node.on('POST', /^\/auth\/password\/change$/, { json: { code: 'handoff-2' } });
    node.on('POST', /^\/oauth\/token$/, tokens);
    node.on('GET', /^\/auth\/me$/, { json: CLAIRE });
    const { wrapper, session } = await openLogin();
    await wrapper.get('input[name="login"]').setValue('c.martin');
    await wrapper.get('input[name="password"]').setValue('Provisoire-42');
    await wrapper.get('[data-login-local] form').trigger('submit');
    await vi.waitFor(() => expect(wrapper.find('[data-login-local] h3').exists()).toBe(true));
    expect(wrapper.get('[data-login-local] h3').text()).toBe('Choisissez un nouveau mot de passe');
    expect(wrapper.text()).toContain('Le mot de passe de « c.martin » a été réinitialisé');
    expect(session.state).toBe('out');

    await wrapper.get('input[name="new-password"]').setValue('trop court');
    await wrapper.get('input[name="confirm-password"]').setValue('trop court');
    await wrapper.get('[data-login-local] form').trigger('submit');
    expect(wrapper.get('[data-login-local] [role="alert"]').text()).toBe('Le nouveau mot de passe doit compter au moins 12 caractères.');
    await wrapper.get('input[name="new-password"]').setValue('la mer est calme ce matin');
    await wrapper.get('[data-login-local] form').trigger('submit');
    expect(wrapper.get('[data-login-local] [role="alert"]').text()).toBe('Les deux mots de passe ne sont pas identiques.');
    expect(node.callsTo('POST', /^\/auth\/password\/change$/)).toHaveLength(0);

    await wrapper.get('input[name="confirm-password"]').setValue('la mer est calme ce matin');
    await wrapper.get('[data-login-local] form').trigger('submit');
    await vi.waitFor(() => expect(session.state).toBe('in'));
    expect(node.callsTo('POST', /^\/auth\/password\/change$/)[0].body).toMatchObject({ login: 'c.martin', password: 'Provisoire-42', newPassword: 'la mer est calme ce matin' });
    expect(session.state).toBe('in');
  });

  it('in the desktop app, hands the login and password to the main process and never keeps a token itself', async () => {
    node.on('GET', /^\/auth\/config$/, loginConfig(PSC));
    const results: LoginResult[] = [
      { ok: false, error: 'password-change-required', message: 'reset' },
      { ok: true, user: CLAIRE },
    ];
    const bridge = {
      version: '0.0.0-test',
      nodeAccess: async () => ({ url: 'http://node.test' }),
      nodeStatus: async () => ({ state: 'running', restarts: 0 }),
      onNodeStatus: () => () => undefined,
      session: async () => null,
      onSessionChange: () => () => undefined,
      loginWithPassword: vi.fn(async () => results.shift()!),
      changePassword: vi.fn(async () => results.shift()!),
    };
    Object.assign(window, { liaison: bridge });
    const { wrapper, session } = await openLogin();
    await wrapper.get('input[name="login"]').setValue('c.martin');
    await wrapper.get('input[name="password"]').setValue('Provisoire-42');
    await wrapper.get('[data-login-local] form').trigger('submit');
    await settle();
    expect(bridge.loginWithPassword).toHaveBeenCalledWith('c.martin', 'Provisoire-42');
    await wrapper.get('input[name="new-password"]').setValue('la mer est calme ce matin');
    await wrapper.get('input[name="confirm-password"]').setValue('la mer est calme ce matin');
    await wrapper.get('[data-login-local] form').trigger('submit');
    await settle();
    expect(bridge.changePassword).toHaveBeenCalledWith('c.martin', 'Provisoire-42', 'la mer est calme ce matin');
    expect(session.state).toBe('in');
    expect(node.callsTo('POST', /^\/(auth\/password|oauth\/token)/)).toHaveLength(0);
    expect(sessionStorage.getItem('liaison.session')).toBeNull();
  });
});
