import type { Peer } from '../../src-renderer/stores/peers';

/** What the node's sync APIs answer (docs/sync.md), for the peers and conflicts tests. */

export const PEER: Peer = {
  peerId: 'peer-1',
  name: 'Cabinet des Tilleuls',
  url: 'https://tilleuls.example:8347',
  kind: 'office',
  clientId: 'liaison-a',
  lastSyncAt: '2026-11-26T09:00:00Z',
  createdAt: '2026-11-01T08:00:00Z',
};
