// @vitest-environment happy-dom
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { VueWrapper } from '@vue/test-utils';
import type { LiaisonBridge } from '../../../src-main/preload/bridge';
import LoginPage from '../../../src-renderer/pages/LoginPage.vue';
import SetupPage from '../../../src-renderer/pages/SetupPage.vue';
import { createAppRouter } from '../../../src-renderer/router';
import { useSessionStore } from '../../../src-renderer/stores/session';
import { bundle, FakeNode, loginConfig, mountInApp, refusal, settle } from '../fake-node';

/** The first run: a new practice in three steps, or joining an office; the set-up code on every call; refusals by field. */

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
  node.on('GET', /^\/auth\/config$/, loginConfig(null, { setup: true }));
  node.on('GET', /^\/health$/, { json: { status: 'ok', version: '0.1.0', fhirVersion: '3.0.1' } });
});
afterEach(() => {
  vi.unstubAllGlobals();
  delete (window as { liaison?: LiaisonBridge }).liaison;
});

const CABINET = { resourceType: 'Organization', id: 'org-lilas', name: 'CABINET MEDICAL DES LILAS', identifier: [{ system: 'https://finess.esante.gouv.fr', value: '750012345' }], address: [{ line: ['12 RUE DES LILAS'], postalCode: '75019', city: 'PARIS' }] };
const MARTIN = { resourceType: 'Practitioner', id: 'pr-martin', name: [{ family: 'MARTIN', given: ['CLAIRE'], prefix: ['Dr'] }], identifier: [{ system: 'https://rpps.esante.gouv.fr', value: '10101234567' }] };

async function openSetup(path = '/setup?code=K7Q2-9XWM') {
  const pinia = createPinia();
  setActivePinia(pinia);
  await useSessionStore().restore({ search: '', pathname: '/', hash: '' } as Location);
  const mounted = await mountInApp(SetupPage, { pinia, path });
  await settle();
  return mounted;
}

const button = (wrapper: VueWrapper, text: string) => wrapper.findAll('button').find((candidate) => candidate.text() === text)!;
const fieldError = (wrapper: VueWrapper, name: string) => {
  const input = wrapper.get(`input[name="${name}"]`);
  return (input.attributes('aria-describedby') ?? '')
    .split(' ')
    .map((id) => wrapper.find(`[id="${id}"].field-error`))
    .find((found) => found.exists())
    ?.text();
};
async function submit(wrapper: VueWrapper): Promise<void> {
  await wrapper.get('form.new-office').trigger('submit');
  await settle();
}

async function fillAdmin(wrapper: VueWrapper, password = 'la mer est calme ce matin'): Promise<void> {
  await wrapper.get('input[name="admin-login"]').setValue('c.martin');
  await wrapper.get('input[name="admin-display-name"]').setValue('Dr Claire Martin');
  await wrapper.get('input[name="admin-password"]').setValue(password);
  await wrapper.get('input[name="admin-confirm"]').setValue(password);
}

describe('SetupPage', () => {
  it('sets up a practice found in the directory, its first admin linked to their RPPS, and Pro Santé Connect, with the code on every call', async () => {
    node.on('GET', /^\/setup\/practices\?/, { json: bundle(CABINET) });
    node.on('GET', /^\/setup\/practitioners\?/, { json: bundle(MARTIN) });
    node.on('POST', /^\/setup\/identity\/test$/, { json: { ok: true } });
    node.on('POST', /^\/setup$/, () => {
      node.on('GET', /^\/auth\/config$/, loginConfig({ kind: 'psc', issuer: 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet', label: 'Pro Santé Connect' }));
      return { status: 201, json: { userId: 'u1', organizationId: 'org-lilas' } };
    });
    const { wrapper, router } = await openSetup();
    expect(wrapper.get('h1').text()).toBe('Installation de Liaison');
    expect(wrapper.find('input[name="setup-code"]').exists()).toBe(false);

    // Step 1: the practice, by its FINESS.
    await wrapper.get('input[value="directory"]').setValue(true);
    await wrapper.get('input[name="practice-search"]').setValue('75 001 2345');
    await button(wrapper, 'Chercher').trigger('click');
    await settle();
    expect(node.callsTo('GET', /^\/setup\/practices/)[0].url.search).toBe('?finess=750012345');
    expect(wrapper.text()).toContain('12 Rue des Lilas, 75019 Paris · FINESS 750012345');
    await submit(wrapper);
    expect(wrapper.text()).toContain('Choisissez le cabinet dans la liste, ou saisissez-le.');
    await wrapper.get('.found input[type="radio"]').setValue(true);
    await submit(wrapper);
    expect(wrapper.get('h2').text()).toContain('L’administrateur');

    // Step 2: the admin; the form checks the password before anything is sent.
    await fillAdmin(wrapper, 'trop court');
    await submit(wrapper);
    expect(fieldError(wrapper, 'admin-password')).toBe('Le mot de passe doit compter au moins 12 caractères.');
    // Typing takes the reason away; the next check says it again, the same words included.
    await wrapper.get('input[name="admin-password"]').setValue('encore');
    expect(fieldError(wrapper, 'admin-password')).toBeUndefined();
    expect(wrapper.get('input[name="admin-password"]').attributes('aria-invalid')).toBe('false');
    await submit(wrapper);
    expect(fieldError(wrapper, 'admin-password')).toBe('Le mot de passe doit compter au moins 12 caractères.');
    await fillAdmin(wrapper);
    await wrapper.get('input[name="admin-confirm"]').setValue('la mer est calme ce soir');
    await submit(wrapper);
    expect(fieldError(wrapper, 'admin-confirm')).toBe('Les deux mots de passe ne sont pas identiques.');
    await wrapper.get('input[name="admin-confirm"]').setValue('la mer est calme ce matin');
    await wrapper.get('#admin-practitioner').setValue('10101234567');
    await settle();
    expect(node.callsTo('GET', /^\/setup\/practitioners/)[0].url.search).toBe('?rpps=10101234567');
    await wrapper.get('#admin-practitioner').trigger('keydown', { key: 'Enter' });
    expect(wrapper.get('[data-linked-practitioner]').text()).toContain('Lié à Dr Claire MARTIN — RPPS 10101234567');
    await submit(wrapper);

    // Step 3: Pro Santé Connect, tested by the node before anything is saved.
    expect(wrapper.text()).toContain('Adresse du fournisseur : https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet');
    await wrapper.get('input[name="client-id"]').setValue('liaison-editeur');
    await wrapper.get('input[name="client-secret"]').setValue('s3cret-ans');
    await wrapper.get('[data-test-provider]').trigger('click');
    await settle();
    expect(wrapper.text()).toContain('Le fournisseur répond et présente une configuration OpenID Connect correcte.');
    expect(node.callsTo('POST', /^\/setup\/identity\/test$/)[0].body).toEqual({ provider: 'psc', clientId: 'liaison-editeur', clientSecret: 's3cret-ans' });
    await submit(wrapper);

    expect(node.callsTo('POST', /^\/setup$/)[0].body).toEqual({
      practice: { organizationId: 'org-lilas' },
      admin: { login: 'c.martin', password: 'la mer est calme ce matin', displayName: 'Dr Claire Martin', practitionerId: 'pr-martin' },
      identity: { provider: 'psc', clientId: 'liaison-editeur', clientSecret: 's3cret-ans' },
    });
    for (const call of node.calls.filter((call) => call.url.pathname.startsWith('/setup'))) expect(call.headers.get('x-liaison-setup-code')).toBe('K7Q2-9XWM');
    expect(router.currentRoute.value.name).toBe('login');

    const login = (await mountInApp(LoginPage, { pinia: (await import('pinia')).getActivePinia()!, path: '/login' })).wrapper;
    await settle();
    expect(login.text()).toContain('Installation terminée. Connectez-vous avec le compte administrateur que vous venez de créer.');
    expect((login.get('input[name="login"]').element as HTMLInputElement).value).toBe('c.martin');
  });

  it('creates the practice by name and address with local accounts only, and says each refusal next to its field, on its step', async () => {
    node.on('POST', /^\/setup$/, { status: 409, json: refusal('login-taken', 'admin.login', 'The login c.martin is taken') });
    const { wrapper, router } = await openSetup();
    await wrapper.get('input[name="practice-name"]').setValue('Cabinet des Lilas');
    await wrapper.get('input[name="practice-line"]').setValue('12 rue des Lilas');
    await wrapper.get('input[name="practice-postal-code"]').setValue('75019');
    await wrapper.get('input[name="practice-city"]').setValue('Paris');
    await submit(wrapper);
    await fillAdmin(wrapper);
    await submit(wrapper);
    await wrapper.get('input[value="none"]').setValue(true);
    expect(wrapper.find('[data-test-provider]').exists()).toBe(false);
    await submit(wrapper);

    expect(node.callsTo('POST', /^\/setup$/)[0].body).toMatchObject({ practice: { name: 'Cabinet des Lilas', address: { line: '12 rue des Lilas', postalCode: '75019', city: 'Paris' } }, identity: { provider: 'none' } });
    // Back on the admin's step, the sentence under the login.
    expect(wrapper.get('h2').text()).toContain('L’administrateur');
    expect(fieldError(wrapper, 'admin-login')).toBe('Cet identifiant est déjà pris : choisissez-en un autre.');
    expect(wrapper.text()).not.toContain('is taken');

    node.on('POST', /^\/setup$/, { status: 401, json: refusal('setup-code', undefined, 'Wrong set-up code') });
    await submit(wrapper);
    await submit(wrapper);
    expect(fieldError(wrapper, 'setup-code')).toBe('Le code d’installation n’est pas le bon. Reprenez l’adresse affichée au démarrage du nœud (ou le fichier node.json de son dossier de données).');
    await wrapper.get('input[name="setup-code"]').setValue('H3LP-2QRS');
    await wrapper.get('input[name="setup-code"]').trigger('change');
    await submit(wrapper);
    expect(node.callsTo('POST', /^\/setup$/).at(-1)!.headers.get('x-liaison-setup-code')).toBe('H3LP-2QRS');

    // Someone else finished the set-up meanwhile: said so, with the way to the login screen (which now opens).
    node.on('POST', /^\/setup$/, { status: 409, json: refusal('setup-done', undefined, 'This node is set up already') });
    node.on('GET', /^\/auth\/config$/, loginConfig(null));
    await submit(wrapper);
    expect(wrapper.get('.alert-box').text()).toContain('Ce nœud est déjà installé');
    await wrapper.get('.alert-box a').trigger('click');
    await settle();
    expect(router.currentRoute.value.name).toBe('login');
  });

  it('offers the recovery kit of the data key on the last step: a passphrase typed twice, then a JSON download', async () => {
    const kit = { format: 'liaison-data-key', version: 1, nodeId: 'n1' };
    node.on('POST', /^\/setup\/recovery-kit$/, { json: kit });
    const saved: Blob[] = [];
    URL.createObjectURL ??= () => '';
    URL.revokeObjectURL ??= () => undefined;
    const made = vi.spyOn(URL, 'createObjectURL').mockImplementation((blob) => (saved.push(blob as Blob), 'blob:kit'));
    const revoked = vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined);
    const clicked = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => undefined);
    const { wrapper } = await openSetup();
    await wrapper.get('input[name="practice-name"]').setValue('Cabinet des Lilas');
    await submit(wrapper);
    await fillAdmin(wrapper);
    await submit(wrapper);
    expect(wrapper.text()).toContain('Kit de secours de la clé de chiffrement');

    await wrapper.get('input[name="recovery-passphrase"]').setValue('trop court');
    await button(wrapper, 'Télécharger le kit de secours').trigger('click');
    await settle();
    expect(fieldError(wrapper, 'recovery-passphrase')).toBe('La phrase secrète doit faire 12 caractères au moins.');
    await wrapper.get('input[name="recovery-passphrase"]').setValue('la phrase du kit de secours');
    await wrapper.get('input[name="recovery-confirm"]').setValue('une autre phrase encore');
    await button(wrapper, 'Télécharger le kit de secours').trigger('click');
    await settle();
    expect(fieldError(wrapper, 'recovery-passphrase')).toBe('Les deux phrases ne sont pas identiques.');
    expect(node.callsTo('POST', /^\/setup\/recovery-kit$/)).toHaveLength(0);

    await wrapper.get('input[name="recovery-confirm"]').setValue('la phrase du kit de secours');
    await button(wrapper, 'Télécharger le kit de secours').trigger('click');
    await settle();
    const [call] = node.callsTo('POST', /^\/setup\/recovery-kit$/);
    expect(call.body).toEqual({ passphrase: 'la phrase du kit de secours' });
    expect(call.headers.get('x-liaison-setup-code')).toBe('K7Q2-9XWM');
    expect(clicked).toHaveBeenCalledOnce();
    expect(JSON.parse(await saved[0].text())).toEqual(kit);
    expect(wrapper.text()).toContain('Kit téléchargé. Gardez-le hors de ce poste, avec sa phrase secrète.');
    for (const spy of [clicked, made, revoked]) spy.mockRestore();
  });

  it('says a provider test’s failure in words, and that the test waits for Settings where the node has none before set-up', async () => {
    const { wrapper } = await openSetup();
    await wrapper.get('input[name="practice-name"]').setValue('Cabinet des Lilas');
    await submit(wrapper);
    await fillAdmin(wrapper);
    await submit(wrapper);
    await wrapper.get('input[value="oidc"]').setValue(true);
    await wrapper.get('input[name="issuer"]').setValue('https://idp.example/realms/cabinet');
    await wrapper.get('input[name="client-id"]').setValue('liaison');
    await wrapper.get('[data-test-provider]').trigger('click');
    await settle();
    expect(wrapper.text()).toContain('Le test sera possible dans Réglages, une fois l’installation terminée.');

    node.on('POST', /^\/setup\/identity\/test$/, { json: { ok: false, code: 'issuer-mismatch', detail: 'The discovery document names https://idp.example/realms/other' } });
    await wrapper.get('[data-test-provider]').trigger('click');
    await settle();
    expect(wrapper.get('[data-test-failure]').text()).toContain('Le fournisseur se présente sous une autre adresse que celle saisie.');
    // The provider's own English stays folded away for the support, under a French summary, closed.
    const technical = wrapper.get('[data-test-failure] [data-technical-detail]');
    expect(technical.get('summary').text()).toBe('Détail technique (en anglais, pour le support)');
    expect(technical.get('code').text()).toBe('The discovery document names https://idp.example/realms/other');
    expect(technical.attributes('open')).toBeUndefined();
    expect(node.callsTo('POST', /^\/setup\/identity\/test$/)[0].body).toEqual({ provider: 'oidc', issuer: 'https://idp.example/realms/cabinet', clientId: 'liaison' });
  });

  it('joins an existing office with its address and the code its admin gave, refusals next to their field', async () => {
    node.on('POST', /^\/setup\/join$/, { status: 400, json: refusal('join-code', 'code', 'Unknown or expired join code') });
    const { wrapper, router } = await openSetup();
    await wrapper.get('input[value="join"]').setValue(true);
    await wrapper.get('input[name="office-url"]').setValue(' https://serveur.cabinet-lilas.fr:8347 ');
    await wrapper.get('input[name="join-code"]').setValue('QX7-44B');
    await wrapper.get('form.join').trigger('submit');
    await settle();
    expect(fieldError(wrapper, 'join-code')).toContain('Ce code n’est pas valable');

    node.on('POST', /^\/setup\/join$/, { status: 502, json: refusal('office-unreachable', 'officeUrl', 'connect ECONNREFUSED') });
    await wrapper.get('form.join').trigger('submit');
    await settle();
    expect(fieldError(wrapper, 'office-url')).toContain('Le nœud du cabinet ne répond pas à cette adresse.');
    expect(fieldError(wrapper, 'join-code')).toBeUndefined();

    node.on('POST', /^\/setup\/join$/, () => {
      node.on('GET', /^\/auth\/config$/, loginConfig(null));
      return { status: 201, json: { userId: 'u2', login: 'j.dupont' } };
    });
    await wrapper.get('form.join').trigger('submit');
    await settle();
    expect(node.callsTo('POST', /^\/setup\/join$/).at(-1)!.body).toEqual({ officeUrl: 'https://serveur.cabinet-lilas.fr:8347', code: 'QX7-44B' });
    expect(router.currentRoute.value.name).toBe('login');
  });

  it('in the desktop app, takes the set-up code from the main process', async () => {
    node.on('POST', /^\/setup$/, { status: 201, json: { userId: 'u1', organizationId: 'o1' } });
    Object.assign(window, {
      liaison: { version: 't', nodeAccess: async () => ({ url: 'http://node.test' }), nodeStatus: async () => ({ state: 'running', restarts: 0 }), onNodeStatus: () => () => undefined, session: async () => null, onSessionChange: () => () => undefined, setupCode: async () => 'DESK-TOP1' },
    });
    const { wrapper } = await openSetup('/setup');
    await wrapper.get('input[name="practice-name"]').setValue('Cabinet des Lilas');
    await submit(wrapper);
    await fillAdmin(wrapper);
    await submit(wrapper);
    await wrapper.get('input[value="none"]').setValue(true);
    await submit(wrapper);
    expect(node.callsTo('POST', /^\/setup$/)[0].headers.get('x-liaison-setup-code')).toBe('DESK-TOP1');
  });
});

describe('the router on a node awaiting its set-up', () => {
  it('leads every address to the set-up while the node has no user, and never again afterwards', async () => {
    setActivePinia(createPinia());
    const session = useSessionStore();
    await session.restore({ search: '', pathname: '/', hash: '' } as Location);
    const router = createAppRouter();
    await router.push('/patients?code=K7Q2');
    expect(router.currentRoute.value.fullPath).toBe('/setup?code=K7Q2');
    await router.push('/login');
    expect(router.currentRoute.value.name).toBe('setup');

    node.on('GET', /^\/auth\/config$/, loginConfig(null));
    await session.loadLoginScreen();
    await router.push('/setup?code=K7Q2');
    expect(router.currentRoute.value.name).toBe('login');
  });
});
