import { readFileSync } from 'node:fs';
import type { NodeOptions } from '../../src-server/node';
import type { PeerKind } from '../../src-server/sync/peers';
import { startTestNode, type TestNode } from './node';
import { createApiClient, tokenOf } from './users';

/**
 * Several real nodes in one test process, each with its own data directory and HTTP server on 127.0.0.1, wired as
 * sync peers (docs/sync.md). Loops poll and back off fast so that tests converge in milliseconds.
 */

export const FAST_SYNC: NonNullable<NodeOptions['sync']> = { pollMs: 50, backoffMs: 50, maxBackoffMs: 400, pageSize: 100 };

export function startSyncNodes(count: number, options: Partial<NodeOptions> = {}): Promise<TestNode[]> {
  return Promise.all(Array.from({ length: count }, () => startTestNode({ sync: FAST_SYNC, ...options })));
}

/** The owner client of a node: full trust, as between the desktops of one practice. */
export function ownerCredentials(node: TestNode): { clientId: string; clientSecret: string } {
  const { client_id, client_secret } = JSON.parse(readFileSync(node.ownerClientFile, 'utf8')) as { client_id: string; client_secret: string };
  return { clientId: client_id, clientSecret: client_secret };
}

/** Makes `to` a peer of `from` (from pulls from and pushes to `to`), with the given credentials on `to` (its owner's by default). */
export function connect(from: TestNode, to: TestNode, options: { kind?: PeerKind; credentials?: { clientId: string; clientSecret: string } } = {}): string {
  const credentials = options.credentials ?? ownerCredentials(to);
  return from.sync.peers.add({ name: `peer ${to.url}`, url: to.url, kind: options.kind, ...credentials }).peerId;
}

/** Every node's versions: id → body, as stored. */
export function versionsOf(node: TestNode): Map<string, string> {
  const rows = node.db.prepare('SELECT version_id, body FROM resource_versions').all() as Array<{ version_id: string; body: string }>;
  return new Map(rows.map((row) => [row.version_id, row.body]));
}

/** Every resource's current version: `Type/id` → versionId. */
export function winnersOf(node: TestNode): Map<string, string> {
  const rows = node.db
    .prepare('SELECT r.resource_type, r.resource_id, v.version_id FROM resources r JOIN resource_versions v ON v.vseq = r.vseq')
    .all() as Array<{ resource_type: string; resource_id: string; version_id: string }>;
  return new Map(rows.map((row) => [`${row.resource_type}/${row.resource_id}`, row.version_id]));
}

export function openConflictsOf(node: TestNode): string[] {
  const rows = node.db.prepare('SELECT resource_type, resource_id FROM open_conflicts ORDER BY 1, 2').all() as Array<{ resource_type: string; resource_id: string }>;
  return rows.map((row) => `${row.resource_type}/${row.resource_id}`);
}

/** Waits until `check` holds (polling), or fails with what `describe` says of the last state. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until every node holds the same versions as the first. */
export function converged(nodes: readonly TestNode[], timeoutMs?: number): Promise<void> {
  const same = () => {
    const [first, ...rest] = nodes.map((node) => [...versionsOf(node).keys()].sort().join(' '));
    return rest.every((other) => other === first);
  };
  return eventually(same, 'every node holds the same versions', timeoutMs);
}

/** An API client on `node` for a peer, made through the admin API: its credentials, to configure the peer with. */
export async function peerClient(node: TestNode, client: { scopes: string[]; practitionerId?: string; organizationId?: string; rateLimit?: number }): Promise<{ clientId: string; clientSecret: string }> {
  const { client_id, client_secret } = await createApiClient(node, { name: 'peer node', ...client });
  return { clientId: client_id, clientSecret: client_secret };
}

/** A bearer token for credentials made by peerClient. */
export function tokenFor(node: TestNode, credentials: { clientId: string; clientSecret: string }): Promise<string> {
  return tokenOf(node, { client_id: credentials.clientId, client_secret: credentials.clientSecret });
}
