import { afterAll, expect, it } from 'vitest';
import type { TestNode } from '../../helpers/node';
import { connect, peerClient, startSyncNodes } from '../../helpers/sync-nodes';

/**
 * A peer's pages follow the rate its client was given (docs/access.md, "Rate limits"): each `$changes` page is one
 * call, and a 429 is waited out for its Retry-After, not taken for a failure (no error on the peer, no new handshake,
 * no /health degraded), so a slow client syncs everything, only slower.
 */

let nodes: TestNode[] = [];
afterAll(async () => {
  for (const node of nodes) await node.stop();
});

it('pulls every page from a peer whose client is limited to 2 calls a second, waiting out its 429s without an error', async () => {
  nodes = await startSyncNodes(2, { sync: { pollMs: 50, backoffMs: 50, maxBackoffMs: 400, pageSize: 5 } });
  const [desktop, office] = nodes;
  office.repository.transaction(() => {
    for (let index = 0; index < 30; index++) office.repository.create('Patient', { resourceType: 'Patient', id: `slow-${index}`, name: [{ family: 'Lent' }] }, `slow-${index}`);
  });
  const credentials = await peerClient(office, { scopes: ['SYNC', 'PATIENT_READ', 'PATIENT_CREATE', 'PATIENT_UPDATE'], rateLimit: 2 });
  const peerId = connect(desktop, office, { credentials });
  const count = desktop.db.prepare<[], number>("SELECT count(*) FROM resources WHERE resource_type = 'Patient'").pluck();
  const errors = new Set<string>();
  const deadline = Date.now() + 30_000;
  while ((count.get() as number) < 30 && Date.now() < deadline) {
    const { lastError } = desktop.sync.peers.get(peerId);
    if (lastError) errors.add(lastError);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(count.get()).toBe(30);
  expect([...errors]).toEqual([]);
  // It was throttled: 7 pages and a handshake cannot pass at 2 a second with a burst of 2. (The audit trail writes
  // its rows of refusals every 500 ms.)
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(office.db.prepare('SELECT coalesce(sum(count), 0) FROM audit_log WHERE status = 429').pluck().get()).toBeGreaterThan(0);
});
