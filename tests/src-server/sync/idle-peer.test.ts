import { afterAll, expect, it } from 'vitest';
import type { TestNode } from '../../helpers/node';
import { connect, eventually, startSyncNodes } from '../../helpers/sync-nodes';

/**
 * Two nodes with nothing to sync: the loop asks its peer at its poll interval, not in a loop of its own. (A pull used
 * to write its cursor even when the page brought nothing; the write rang the commit signal, which woke the loop for
 * another pass at once: hundreds of `$changes` a second between idle nodes, and a rate-limited peer client's 429s.)
 */

let nodes: TestNode[] = [];
afterAll(async () => {
  for (const node of nodes) await node.stop();
});

const changesCalls = (node: TestNode) => node.db.prepare("SELECT coalesce(sum(count), 0) FROM audit_log WHERE action LIKE 'GET /fhir/$changes%'").pluck().get() as number;

it('asks an idle peer for changes at its poll interval only', async () => {
  nodes = await startSyncNodes(2, { sync: { pollMs: 500, backoffMs: 50, maxBackoffMs: 400, pageSize: 100 } });
  const [desktop, office] = nodes;
  office.repository.create('Patient', { resourceType: 'Patient', name: [{ family: 'Idle' }] });
  const peerId = connect(desktop, office);
  await eventually(() => desktop.sync.peers.get(peerId).lastSyncAt !== undefined, 'a first pass is done');
  // Audit rows are written every 500 ms.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const before = changesCalls(office);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  // Some 6 polls in 3 s; hundreds before.
  expect(changesCalls(office) - before).toBeLessThan(20);
});
