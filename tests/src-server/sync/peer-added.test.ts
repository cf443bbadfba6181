import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from '../../helpers/node';
import { eventually, FAST_SYNC, ownerCredentials, startSyncNodes } from '../../helpers/sync-nodes';

/**
 * A peer added through the admin API is followed at once, not at the node's next look at its peers table (every
 * `pollMs`, for the CLI's changes): an initial sync starts when the admin adds the peer. The poll is a minute here, so
 * only the admin API's own signal can start the loop within the test.
 */

type Json = Record<string, unknown>;

let source: TestNode;
let joining: TestNode;

beforeAll(async () => {
  [source, joining] = await startSyncNodes(2, { sync: { ...FAST_SYNC, pollMs: 60_000 } });
});
afterAll(async () => {
  await Promise.all([source?.stop(), joining?.stop()]);
});

const patient = (id: string, family: string): Json => ({ resourceType: 'Patient', id, name: [{ family }] });

function admin(node: TestNode, path: string, method: string, json?: unknown): Promise<Response> {
  return fetch(`${node.url}/admin/peers${path}`, {
    method,
    headers: { authorization: `Bearer ${node.token}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: json !== undefined ? JSON.stringify(json) : undefined,
  });
}

const holds = (node: TestNode, id: string) => node.repository.read('Patient', id) !== undefined;

describe('a peer added through the admin API', () => {
  it('is pulled from at once', async () => {
    source.repository.update('Patient', 'before', patient('before', 'Avant'));
    const added = await admin(joining, '', 'POST', { name: 'Cabinet', url: source.url, ...ownerCredentials(source) });
    expect(added.status).toBe(201);
    await eventually(() => holds(joining, 'before'), 'the joining node holds what the peer had', 10_000);
  });
});
