// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import PeersPanel from '../../../src-renderer/components/PeersPanel.vue';
import SettingsPage from '../../../src-renderer/pages/SettingsPage.vue';
import { CLAIRE, FakeNode, loggedIn, mountInApp, outcome, settle } from '../fake-node';
import { PEER } from '../sync-fixtures';

let node: FakeNode;
beforeEach(() => {
  sessionStorage.clear();
  node = new FakeNode().install();
});
afterEach(() => vi.unstubAllGlobals());

describe('PeersPanel', () => {
  it('lists each peer with its address, kind, last sync, last error in words and a clock warning', async () => {
    const failing = { ...PEER, peerId: 'peer-2', name: 'Annuaire', kind: 'directory', lastSyncAt: undefined, lastError: 'https://annuaire.example is unreachable: connect ECONNREFUSED', lastProblem: 'unreachable', clockSkewMs: -7 * 60_000 };
    node.on('GET', /^\/admin\/peers$/, { json: { peers: [PEER, failing] } });
    const { wrapper } = await mountInApp(PeersPanel, { pinia: await loggedIn(node) });
    await settle();
    const [ok, down] = wrapper.findAll('[data-peer]');
    expect(ok.text()).toContain('Cabinet des Tilleuls');
    expect(ok.text()).toContain('https://tilleuls.example:8347');
    expect(ok.text()).toContain('Cabinet (dans les deux sens)');
    expect(ok.text()).toContain('À jour');
    expect(ok.find('[data-peer-error]').exists()).toBe(false);
    expect(ok.find('[data-clock-skew]').exists()).toBe(false);
    expect(down.text()).toContain('Annuaire (reçu seulement)');
    expect(down.text()).toContain('Pas encore');
    expect(down.find('[data-peer-error]').text()).toContain('Le pair ne répond pas');
    expect(down.find('[data-peer-error]').text()).toContain('ECONNREFUSED');
    expect(down.find('[data-clock-skew]').text()).toContain('7 min de retard');
  });

  it('says a peer whose certificate is not trusted in French, its English beside it', async () => {
    const untrusted = { ...PEER, lastError: 'https://tilleuls.example:8347 has a certificate this node does not trust: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)', lastProblem: 'certificate' };
    node.on('GET', /^\/admin\/peers$/, { json: { peers: [untrusted] } });
    const { wrapper } = await mountInApp(PeersPanel, { pinia: await loggedIn(node) });
    await settle();
    const error = wrapper.find('[data-peer-error]').text();
    expect(error).toContain('Le certificat du pair n’est pas reconnu (expiré, auto-signé ou pour une autre adresse)');
    expect(error).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('adds a peer: the secret goes to the node once, is cleared from the form and never shown', async () => {
    const listed = [PEER];
    node.on('GET', /^\/admin\/peers$/, () => ({ json: { peers: listed } }));
    node.on('POST', /^\/admin\/peers$/, (call) => {
      const { clientSecret: _secret, ...peer } = call.body as Record<string, string>;
      listed.push({ ...PEER, ...peer, peerId: 'peer-2' } as typeof PEER);
      return { status: 201, json: listed[1] };
    });
    const { wrapper } = await mountInApp(PeersPanel, { pinia: await loggedIn(node) });
    await settle();
    const secret = wrapper.find('input[name="peer-client-secret"]');
    expect(secret.attributes('type')).toBe('password');
    await wrapper.find('input[name="peer-name"]').setValue('Cabinet du Port');
    await wrapper.find('input[name="peer-url"]').setValue('https://port.example:8347');
    await wrapper.find('input[name="peer-client-id"]').setValue('liaison-lilas');
    await secret.setValue('s3cret-du-port');
    await wrapper.find('form').trigger('submit');
    await settle();
    expect(node.callsTo('POST', /admin\/peers/)[0].body).toEqual({ name: 'Cabinet du Port', url: 'https://port.example:8347', kind: 'office', clientId: 'liaison-lilas', clientSecret: 's3cret-du-port' });
    expect(wrapper.text()).toContain('Pair « Cabinet du Port » ajouté');
    expect(wrapper.findAll('[data-peer]')).toHaveLength(2);
    expect((secret.element as HTMLInputElement).value).toBe('');
    expect(wrapper.html()).not.toContain('s3cret-du-port');
  });

  it('removes a peer only once the admin confirms', async () => {
    node.on('GET', /^\/admin\/peers$/, { json: { peers: [PEER] } });
    node.on('DELETE', /^\/admin\/peers\/peer-1$/, { json: PEER });
    const { wrapper } = await mountInApp(PeersPanel, { pinia: await loggedIn(node) });
    await settle();
    const confirm = vi.fn(() => false);
    vi.stubGlobal('confirm', confirm);
    await wrapper.find('[data-peer] button.danger').trigger('click');
    expect(confirm).toHaveBeenCalledWith('Retirer le pair « Cabinet des Tilleuls » ? La synchronisation avec lui s’arrête ; les données déjà reçues restent.');
    expect(node.callsTo('DELETE', /admin\/peers/)).toHaveLength(0);
    confirm.mockReturnValue(true);
    await wrapper.find('[data-peer] button.danger').trigger('click');
    await settle();
    expect(node.callsTo('DELETE', /admin\/peers\/peer-1/)).toHaveLength(1);
  });

  it('shows nothing of itself to a user who is no admin', async () => {
    node.on('GET', /^\/admin\/(peers|clients)$/, { status: 403, json: outcome('Only an admin may manage API clients, users and the audit trail') });
    node.on('GET', /^\/health$/, { json: { status: 'ok', version: '0.1.0', fhirVersion: '3.0.1', nodeId: 'n', schemaVersion: 1, resources: { total: 0, byType: {} }, textIndex: { ready: true } } });
    node.on('GET', /^\/fhir\/\$conflicts$/, { json: { resourceType: 'Parameters' } });
    const { wrapper } = await mountInApp(SettingsPage, { pinia: await loggedIn(node, { ...CLAIRE, roles: ['secretary'] }) });
    await settle();
    expect(wrapper.find('[data-peers]').exists()).toBe(false);
    expect(wrapper.text()).not.toContain('Synchronisation avec d’autres nœuds');
    expect(wrapper.find('[data-conflicts]').text()).toContain('Aucun conflit à résoudre.');
  });
});
