import { expect } from 'vitest';
import type { TestNode } from './node';

/** Creates `count` copies of a resource in one batch Bundle (many resources, one request). */
export async function createMany(node: TestNode, count: number, resource: Record<string, unknown> & { resourceType: string }): Promise<void> {
  const response = await node.request('', {
    method: 'POST',
    json: { resourceType: 'Bundle', type: 'batch', entry: Array.from({ length: count }, () => ({ resource, request: { method: 'POST', url: resource.resourceType } })) },
  });
  expect(response.status).toBe(200);
}
