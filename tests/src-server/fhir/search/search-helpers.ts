import { expect } from 'vitest';
import { DIRECTORY_TYPES } from '../../../../src-server/fhir/directory';
import { mayHaveTextFilter } from '../../../../src-server/text/text-queries';
import type { TestNode } from '../../../helpers/node';

/**
 * Search test helpers over HTTP. Each group of tests tags its resources (`meta.tag`) and adds `_tag` to its
 * queries, so that groups sharing a node do not see each other's resources.
 */

export type Json = Record<string, any>;

export const TAG_SYSTEM = 'urn:liaison:search-test';

export interface SearchHelpers {
  /** PUTs `resource` (with its id) tagged `tag`; returns the stored resource. */
  put(tag: string, resource: Json): Promise<Json>;
  /** GET (or another method) on the FHIR base: status and parsed body. */
  get(path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; body: Json; response: Response }>;
  /** Sorted ids of the `match` entries of a search limited to `tag` (one page of up to 100). */
  ids(tag: string, path: string): Promise<string[]>;
  /** Ids of the `match` entries of a search limited to `tag`, in the order served, walking every `next` page. */
  ordered(tag: string, path: string): Promise<string[]>;
  /** The single issue of the 400 OperationOutcome a request answers. */
  refused(path: string, init?: RequestInit): Promise<Json>;
}

export const withTag = (tag: string, path: string) => `${path}${path.includes('?') ? '&' : '?'}_tag=${encodeURIComponent(`${TAG_SYSTEM}|${tag}`)}`;

export const matchIds = (bundle: Json): string[] =>
  (bundle.entry ?? []).filter((entry: Json) => entry.search?.mode === 'match').map((entry: Json) => entry.resource.id as string);

export const link = (bundle: Json, relation: string): string | undefined => bundle.link.find((candidate: Json) => candidate.relation === relation)?.url;

export function searchHelpers(node: () => TestNode): SearchHelpers {
  const get: SearchHelpers['get'] = async (path, init) => {
    // Text filters are answered by the background index, which follows writes within milliseconds: wait for it.
    if ((init?.method ?? 'GET') === 'GET' && mayHaveTextFilter(new URLSearchParams(path.split('?')[1] ?? ''))) {
      await node().textIndex.caughtUp((node().db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM change_log').get() as { seq: number }).seq);
    }
    const response = await node().request(path, init);
    return { status: response.status, body: (await response.json()) as Json, response };
  };
  return {
    async put(tag, resource) {
      const tagged = { ...resource, meta: { tag: [{ system: TAG_SYSTEM, code: tag }] } };
      // Directory resources are not writable through the API: the directory import writes them, as here.
      if (DIRECTORY_TYPES.has(resource.resourceType)) return JSON.parse(node().repository.update(resource.resourceType, resource.id, tagged).stored.json);
      const { status, body } = await get(`${resource.resourceType}/${resource.id}`, { method: 'PUT', json: tagged });
      expect([200, 201], JSON.stringify(body)).toContain(status);
      return body;
    },
    get,
    async ids(tag, path) {
      const { status, body } = await get(withTag(tag, `${path}${path.includes('?') ? '&' : '?'}_count=100`));
      expect(status, `${path}: ${JSON.stringify(body)}`).toBe(200);
      return matchIds(body).sort();
    },
    async ordered(tag, path) {
      const ids: string[] = [];
      let url: string | undefined = withTag(tag, path);
      while (url) {
        const { status, body } = await get(url);
        expect(status, `${url}: ${JSON.stringify(body)}`).toBe(200);
        ids.push(...matchIds(body));
        url = link(body, 'next');
      }
      return ids;
    },
    async refused(path, init) {
      const { status, body } = await get(path, init);
      expect(status, `${path}: ${JSON.stringify(body)}`).toBe(400);
      expect(body.resourceType).toBe('OperationOutcome');
      expect(body.issue).toHaveLength(1);
      return body.issue[0];
    },
  };
}
