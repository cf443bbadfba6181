// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { usePeersStore } from '../../../src-renderer/stores/peers';
import { FakeNode, loggedIn, outcome } from '../fake-node';
import { PEER } from '../sync-fixtures';

let node: FakeNode;
beforeEach(async () => {
  node = new FakeNode().install();
  await loggedIn(node);
});
afterEach(() => vi.unstubAllGlobals());

describe('the peers store', () => {
  it('lists peers, adds one with its secret sent once, and removes one', async () => {
    const listed = [PEER];
    node.on('GET', /^\/admin\/peers$/, () => ({ json: { peers: listed } }));
    node.on('POST', /^\/admin\/peers$/, (call) => {
      const { clientSecret: _secret, ...peer } = call.body as Record<string, string>;
      const added = { ...PEER, ...peer, peerId: 'peer-2' };
      listed.push(added);
      return { status: 201, json: added };
    });
    node.on('DELETE', /^\/admin\/peers\/peer-1$/, () => ({ json: listed.shift() }));
    const peers = usePeersStore();
    await peers.load();
    expect(peers.state).toBe('ready');
    expect(peers.peers).toEqual([PEER]);

    const added = await peers.add({ name: 'Annuaire', url: 'https://annuaire.example', kind: 'directory', clientId: 'liaison-b', clientSecret: 's3cret' });
    expect(node.callsTo('POST', /admin\/peers/)[0].body).toEqual({ name: 'Annuaire', url: 'https://annuaire.example', kind: 'directory', clientId: 'liaison-b', clientSecret: 's3cret' });
    expect(added.peerId).toBe('peer-2');
    expect(peers.peers.map((peer) => peer.peerId)).toEqual(['peer-1', 'peer-2']);
    expect(JSON.stringify(peers.$state)).not.toContain('s3cret');

    await peers.remove('peer-1');
    expect(node.callsTo('DELETE', /admin\/peers/)).toHaveLength(1);
    expect(peers.peers.map((peer) => peer.peerId)).toEqual(['peer-2']);
  });

  it('is “forbidden” for a user who is no admin, “unavailable” on a node without sync', async () => {
    node.on('GET', /^\/admin\/peers$/, { status: 403, json: outcome('Only an admin may manage API clients, users and the audit trail') });
    const peers = usePeersStore();
    await peers.load();
    expect(peers.state).toBe('forbidden');
    node.on('GET', /^\/admin\/peers$/, { status: 404, json: outcome('Route GET:/admin/peers not found') });
    await peers.load();
    expect(peers.state).toBe('unavailable');
  });

  it('passes the node’s refusal of a new peer on, in its words', async () => {
    node.on('POST', /^\/admin\/peers$/, { status: 400, json: outcome("'cabinet' is not a URL: give the peer's address, e.g. https://cabinet.example:8347") });
    const refusal = usePeersStore().add({ name: 'B', url: 'cabinet', kind: 'office', clientId: 'c', clientSecret: 's' });
    await expect(refusal).rejects.toMatchObject({ status: 400, detail: "'cabinet' is not a URL: give the peer's address, e.g. https://cabinet.example:8347" });
  });
});
