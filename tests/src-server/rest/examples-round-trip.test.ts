import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIRECTORY_TYPES } from '../../../src-server/fhir/directory';
import { readAllExamples, type Resource } from '../../helpers/fhir-data';
import { startTestNode, type TestNode } from '../../helpers/node';

/**
 * Every official STU3 example goes in by PUT with its own id and comes back unchanged. The file's known oddities
 * (SOURCES.md) are handled explicitly: the example without an id is created by POST, and for the type/id pairs
 * that occur twice the second PUT is an update whose result is what a read returns. Two official examples break
 * their own StructureDefinitions (required elements missing): the node refuses them with 400 naming the element.
 * Directory resources are not writable through the API (405): their examples go in through the repository, as the
 * directory import writes them, and are read back through the API like the others. Two Subscription examples break
 * the node's own rules (docs/subscriptions.md) and are refused with 422.
 */

type Json = Record<string, any>;

const KNOWN_DUPLICATES = [
  'Bundle/b0a5e4277-83c4-4adb-87e2-e3efe3369b6f',
  'ConceptMap/101',
  'ConceptMap/102',
  'ConceptMap/example2',
  'ImmunizationRecommendation/example',
].sort();

/** Official examples that violate cardinality rules of STU3, and the first element each lacks. */
const KNOWN_INVALID: Record<string, string> = {
  'ImplementationGuide/fhir': 'ImplementationGuide.name', // name and status are 1..1
  'Questionnaire/qs1': 'Questionnaire.item[0].item[0].linkId', // item.linkId is 1..1
};

/** Official examples that the node's business rules refuse (422): a rest-hook to another machine, a status only the node sets. */
const REFUSED_BY_RULES: Record<string, string> = {
  'Subscription/example': 'Subscription.channel.endpoint',
  'Subscription/example-error': 'Subscription.status',
};

/** Compares resources the way a client does: everything but the version metadata the server sets. */
function withoutVersionMeta(resource: Json): Json {
  const { meta, ...rest } = resource;
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...otherMeta } = (meta ?? {}) as Json;
  return Object.keys(otherMeta).length ? { ...rest, meta: otherMeta } : rest;
}

/**
 * Binary content is stored as bytes and served back as base64 without the line breaks `Binary/example` has in
 * its base64 (whitespace means nothing in base64Binary): the same bytes.
 */
function canonicalContent(sent: Json): Json {
  return sent.resourceType === 'Binary' && typeof sent.content === 'string' ? { content: Buffer.from(sent.content, 'base64').toString('base64') } : {};
}

let node: TestNode;
const examples = readAllExamples();
const results = new Map<string, { sent: Resource; written: Json; status: number }>();

/** Directory examples answered 405 by PUT, then written by the path that may write them (the directory import). */
const directoryRefusals = new Map<string, number>();

beforeAll(async () => {
  node = await startTestNode();
  for (const example of examples) {
    if (DIRECTORY_TYPES.has(example.resourceType)) {
      const key = `${example.resourceType}/${example.id}`;
      directoryRefusals.set(key, (await node.request(key, { method: 'PUT', json: example })).status);
      const { stored, created } = node.repository.update(example.resourceType, example.id!, example);
      results.set(key, { sent: example, written: JSON.parse(stored.json) as Json, status: created ? 201 : 200 });
      continue;
    }
    const response = example.id
      ? await node.request(`${example.resourceType}/${example.id}`, { method: 'PUT', json: example })
      : await node.request(example.resourceType, { method: 'POST', json: example });
    const written = (await response.json()) as Json;
    results.set(`${example.resourceType}/${example.id ?? written.id}`, { sent: example, written, status: response.status });
  }
}, 120_000);

afterAll(async () => {
  await node.stop();
});

describe('the 666 official STU3 examples', () => {
  it('holds the expected oddities, and nothing else odd', () => {
    expect(examples).toHaveLength(666);
    expect(examples.filter((example) => !example.id).map((example) => example.resourceType)).toEqual(['Patient']);
    const seen = new Set<string>();
    const duplicates = new Set<string>();
    for (const example of examples.filter((candidate) => candidate.id)) {
      const key = `${example.resourceType}/${example.id}`;
      if (seen.has(key)) duplicates.add(key);
      seen.add(key);
    }
    expect([...duplicates].sort()).toEqual(KNOWN_DUPLICATES);
  });

  it('are all accepted (201 on first PUT, 200 when a duplicate id updates), but for the invalid ones', () => {
    const refused = [...results].filter(([, result]) => result.status !== 200 && result.status !== 201);
    expect(refused.map(([key]) => key).sort()).toEqual([...Object.keys(KNOWN_INVALID), ...Object.keys(REFUSED_BY_RULES)].sort());
    for (const [key, result] of refused) {
      if (key in REFUSED_BY_RULES) {
        expect(result.status, key).toBe(422);
        expect(result.written.issue[0]).toMatchObject({ code: 'processing', expression: [REFUSED_BY_RULES[key]] });
      } else {
        expect(result.status, key).toBe(400);
        expect(result.written.issue[0]).toMatchObject({ code: 'required', expression: [KNOWN_INVALID[key]] });
      }
      results.delete(key);
    }
    expect(results.size).toBe(666 - KNOWN_DUPLICATES.length - refused.length);
  });

  it('of directory types are refused by PUT through the API (405) and written by the import path', () => {
    const directoryExamples = examples.filter((example) => DIRECTORY_TYPES.has(example.resourceType));
    expect(directoryExamples.length).toBeGreaterThan(20);
    expect(new Set(directoryRefusals.values())).toEqual(new Set([405]));
    expect(directoryRefusals.size).toBe(new Set(directoryExamples.map((example) => `${example.resourceType}/${example.id}`)).size);
  });

  it('read back equal to what was sent (version meta aside)', async () => {
    for (const [key, { sent }] of results) {
      const read = (await (await node.request(key)).json()) as Json;
      expect(withoutVersionMeta(read), key).toEqual(withoutVersionMeta({ ...sent, id: read.id, ...canonicalContent(sent) }));
    }
  });

  it('vread returns each written version, and instance history lists it', async () => {
    for (const [key, { written }] of results) {
      const versionId = written.meta.versionId as string;
      const vread = await node.request(`${key}/_history/${versionId}`);
      expect(vread.status, key).toBe(200);
      // A Binary's version is served as its read is: the content itself, not the stored pointer to its file.
      const expected = key.startsWith('Binary/') ? ((await (await node.request(key)).json()) as Json) : written;
      expect(await vread.json(), key).toEqual(expected);
      const history = (await (await node.request(`${key}/_history`)).json()) as Json;
      expect(history.entry.map((entry: Json) => entry.resource.meta.versionId), key).toContain(versionId);
    }
    const duplicateHistory = (await (await node.request(`${KNOWN_DUPLICATES[1]}/_history`)).json()) as Json;
    expect(duplicateHistory.entry).toHaveLength(2);
  });

  it('all appear in system history', async () => {
    const versionIds = new Set<string>();
    let url: string | undefined = '_history?_count=100';
    while (url) {
      const page = (await (await node.request(url)).json()) as Json;
      for (const entry of page.entry ?? []) versionIds.add(entry.resource.meta.versionId);
      url = page.link.find((link: Json) => link.relation === 'next')?.url;
    }
    // Every accepted PUT/POST made one version: 666 examples less the refused ones.
    expect(versionIds.size).toBe(666 - Object.keys(KNOWN_INVALID).length - Object.keys(REFUSED_BY_RULES).length);
    for (const { written } of results.values()) expect(versionIds.has(written.meta.versionId)).toBe(true);
  });
});
