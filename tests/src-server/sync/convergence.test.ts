import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from '../../helpers/node';
import { FaultyProxy } from '../../helpers/faulty-proxy';
import { converged, openConflictsOf, ownerCredentials, startSyncNodes, versionsOf, winnersOf } from '../../helpers/sync-nodes';

/**
 * The property of sync (issue 9): whatever edits, archives, network partitions and syncs happen across the nodes,
 * after a final full sync every node holds the same versions (byte for byte), the same current version of every
 * resource, and an open conflict on every resource with concurrent leaves; no acknowledged write is missing anywhere.
 * Real nodes on 127.0.0.1, linked through real HTTP hops the test cuts and heals.
 */

type Json = Record<string, any>;

const NODES = 4;
const RESOURCES = 3;

type Command =
  | { kind: 'edit'; node: number; resource: number; family: string }
  | { kind: 'archive'; node: number; resource: number }
  | { kind: 'cut'; link: number }
  | { kind: 'heal'; link: number }
  | { kind: 'pause'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('edit' as const), node: fc.nat(NODES - 1), resource: fc.nat(RESOURCES - 1), family: fc.stringMatching(/^[a-z]{1,8}$/) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('archive' as const), node: fc.nat(NODES - 1), resource: fc.nat(RESOURCES - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('cut' as const, 'heal' as const), link: fc.nat(NODES - 2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 120 }) }) },
);

/** The leaves of each resource, computed here from the stored graph, independently of the node's code. */
function leavesByResource(node: TestNode): Map<string, Array<{ versionId: string; archived: boolean }>> {
  const rows = node.db.prepare('SELECT resource_type, resource_id, version_id, parent_ids, body FROM resource_versions').all() as Json[];
  const parents = new Set(rows.flatMap((row) => JSON.parse(row.parent_ids) as string[]));
  const leaves = new Map<string, Array<{ versionId: string; archived: boolean }>>();
  for (const row of rows) {
    if (parents.has(row.version_id)) continue;
    const key = `${row.resource_type}/${row.resource_id}`;
    const body = JSON.parse(row.body) as Json;
    leaves.set(key, [...(leaves.get(key) ?? []), { versionId: row.version_id, archived: body.active === false }]);
  }
  return leaves;
}

for (const topology of ['star', 'line'] as const) {
  describe(`convergence in a ${topology} of ${NODES} nodes`, () => {
    let nodes: TestNode[] = [];
    const proxies: FaultyProxy[] = [];
    let run = 0;

    beforeAll(async () => {
      nodes = await startSyncNodes(NODES);
      // star: every office syncs with the hub (node 0); line: each node with the next one.
      for (let link = 0; link < NODES - 1; link++) {
        const [from, to] = topology === 'star' ? [nodes[link + 1], nodes[0]] : [nodes[link], nodes[link + 1]];
        const proxy = await FaultyProxy.start(to.url);
        proxies.push(proxy);
        from.sync.peers.add({ name: `${topology} link ${link}`, url: proxy.url, ...ownerCredentials(to) });
      }
    });
    afterAll(async () => {
      await Promise.all(proxies.map((proxy) => proxy.close()));
      await Promise.all(nodes.map((node) => node.stop()));
    });

    it('ends with the same versions, winners and conflicts on every node, and every acknowledged write everywhere', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 3, maxLength: 25 }), async (commands) => {
          run++;
          const acknowledged: string[] = [];
          const idOf = (resource: number) => `${topology}-${run}-${resource}`;
          for (const step of commands) {
            if (step.kind === 'cut') proxies[step.link].down = true;
            else if (step.kind === 'heal') proxies[step.link].down = false;
            else if (step.kind === 'pause') await new Promise((resolve) => setTimeout(resolve, step.ms));
            else {
              const node = nodes[step.node];
              const id = idOf(step.resource);
              const current = await node.request(`Patient/${id}`);
              const body: Json = current.status === 200 ? ((await current.json()) as Json) : { resourceType: 'Patient', id };
              if (step.kind === 'archive' && current.status !== 200) continue;
              const next = step.kind === 'archive' ? { ...body, active: false } : { ...body, active: true, name: [{ family: step.family }] };
              const written = await node.request(`Patient/${id}`, { method: 'PUT', json: next });
              expect([200, 201]).toContain(written.status);
              acknowledged.push(((await written.json()) as Json).meta.versionId);
            }
          }
          for (const proxy of proxies) proxy.down = false;
          await converged(nodes, 30_000);

          const versions = nodes.map(versionsOf);
          for (const other of versions.slice(1)) expect(other).toEqual(versions[0]);
          for (const versionId of acknowledged) expect(versions[0].has(versionId)).toBe(true);
          const winners = nodes.map(winnersOf);
          for (const other of winners.slice(1)) expect(other).toEqual(winners[0]);
          const conflicts = nodes.map(openConflictsOf);
          for (const other of conflicts.slice(1)) expect(other).toEqual(conflicts[0]);
          for (const [key, leaves] of leavesByResource(nodes[0])) {
            expect(conflicts[0].includes(key), key).toBe(leaves.length > 1);
            const winner = leaves.find((leaf) => leaf.versionId === winners[0].get(key));
            expect(winner, `${key}: the current version is a leaf`).toBeDefined();
            if (leaves.some((leaf) => !leaf.archived)) expect(winner!.archived, `${key}: a live leaf beats an archived one`).toBe(false);
          }
        }),
        { numRuns: 10 },
      );
    }, 240_000);
  });
}
