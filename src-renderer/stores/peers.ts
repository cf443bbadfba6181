import { defineStore } from 'pinia';
import { ref } from 'vue';
import { availabilityOf, nodeJson, type Availability } from '../api';

/**
 * The nodes this node synchronises with (`/admin/peers`, admins only: others get 403 and the screen shows nothing of
 * it). A peer's client secret goes to the node when it is added and never comes back (docs/sync.md).
 */

export type PeerKind = 'office' | 'directory';

/** A peer as the node lists it: never its secret. */
export interface Peer {
  peerId: string;
  name: string;
  url: string;
  kind: PeerKind;
  clientId: string;
  remoteNode?: string;
  lastSyncAt?: string;
  /** The last pass's failure, in the node's words (English); absent once a pass succeeds. */
  lastError?: string;
  /** What kind of problem lastError is, which the screen words in the user's language. */
  lastProblem?: PeerProblem;
  /** The peer's clock minus this node's at the last handshake. */
  clockSkewMs?: number;
  createdAt: string;
}

export interface NewPeer {
  name: string;
  url: string;
  kind: PeerKind;
  clientId: string;
  clientSecret: string;
}

/** The node reports clocks further apart than this (peer-loop.ts): versions' `lastUpdated` then mislead the winner rule. */
export const CLOCK_SKEW_WARNING_MS = 5 * 60_000;

/** What a peer's last error means (the node says it), as a key of `settings.peers.problems`. */
export type PeerProblem = 'unreachable' | 'certificate' | 'credentials' | 'rights' | 'busy' | 'peerFailed' | 'protocol' | 'fhirVersion' | 'other';

export const usePeersStore = defineStore('peers', () => {
  const peers = ref<Peer[]>([]);
  const state = ref<Availability>('loading');
  const error = ref<unknown>();

  async function load(): Promise<void> {
    try {
      peers.value = (await nodeJson<{ peers: Peer[] }>('/admin/peers')).peers;
      state.value = 'ready';
      error.value = undefined;
    } catch (caught) {
      state.value = availabilityOf(caught);
      error.value = caught;
    }
  }

  /** Adds a peer; the node seals the secret and syncs from its next poll. The answer (and the list) never holds the secret. */
  async function add(peer: NewPeer): Promise<Peer> {
    const added = await nodeJson<Peer>('/admin/peers', { method: 'POST', body: JSON.stringify(peer) });
    await load();
    return added;
  }

  async function remove(peerId: string): Promise<void> {
    await nodeJson(`/admin/peers/${encodeURIComponent(peerId)}`, { method: 'DELETE' });
    await load();
  }

  return { peers, state, error, load, add, remove };
});
