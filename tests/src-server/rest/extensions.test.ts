import { describe, expect, it } from 'vitest';
import { conflict } from '../../../src-server/fhir/outcome';
import type { FhirOperation, WriteRule } from '../../../src-server/rest/extensions';
import { useTestNode } from '../../helpers/node';

type Json = Record<string, any>;

/** Echoes where it was invoked, so the test sees the dispatch. */
const echo = (level: FhirOperation['level'], types?: string[]): FhirOperation => ({
  definition: { description: 'Echoes the call', parameters: [] },
  name: '$echo',
  level,
  types,
  methods: ['GET'],
  run: ({ type, id, request }) => ({ status: 200, headers: {}, body: { resourceType: 'Parameters', parameter: [{ name: 'at', valueString: `${level}:${type ?? ''}:${id ?? ''}:${request.query.get('x') ?? ''}` }] } }),
});

/** A Flag with code "twin" may exist once; every Flag written leaves a Basic behind it, in the same transaction. */
const flagRule: WriteRule = {
  types: ['Flag'],
  before: ({ resource, request, base, interactions }) => {
    if ((resource.code as Json | undefined)?.text !== 'twin') return;
    const params = new URLSearchParams({ identifier: 'urn:test|twin' });
    const { matches } = interactions.searchEngine.search({ resourceType: 'Flag', params, lenient: false, base, access: request.scopes });
    if (matches.length > 0) throw conflict('created-twice', `Flag/${matches[0].id} is already the twin`);
  },
  after: ({ stored, interactions }) => {
    interactions.repository.create('Basic', { resourceType: 'Basic', identifier: [{ system: 'urn:after', value: stored.id }], code: { text: 'after' } });
    if ((JSON.parse(stored.json) as Json).code.text === 'explode') throw conflict('slot-held', 'the after hook refused');
  },
};

/** A Basic coded "singleton" stands for the first one created: later creates answer it. */
const singletonRule: WriteRule = {
  types: ['Basic'],
  existing: ({ resource, base, interactions }) => {
    if ((resource.code as Json | undefined)?.text !== 'singleton') return undefined;
    return interactions.searchEngine.search({ resourceType: 'Basic', params: new URLSearchParams({ code: 'singleton', _count: '1' }), lenient: false, base }).matches[0];
  },
};

const node = useTestNode({ extensions: { operations: [echo('system'), echo('type', ['Patient']), echo('instance', ['Patient'])], writeRules: [flagRule, singletonRule] } });

async function json(response: Response): Promise<Json> {
  return (await response.json()) as Json;
}

describe('operations', () => {
  it('dispatches by level and type, with the query', async () => {
    const patient = await json(await node().request('Patient', { method: 'POST', json: { resourceType: 'Patient' } }));
    for (const [path, at] of [
      ['$echo?x=1', 'system:::1'],
      ['Patient/$echo', 'type:Patient::'],
      [`Patient/${patient.id}/$echo`, `instance:Patient:${patient.id}:`],
    ]) {
      const response = await node().request(path);
      expect(response.status, path).toBe(200);
      expect((await json(response)).parameter[0].valueString).toBe(at);
    }
  });

  it('answers 400 for an unknown operation or a type it is not defined on, 405 for another method, 404 for a missing instance', async () => {
    expect((await node().request('$nothing')).status).toBe(400);
    const onObservation = await node().request('Observation/$echo');
    expect(onObservation.status).toBe(400);
    expect((await json(onObservation)).issue[0].diagnostics).toContain('$echo');
    expect((await node().request('Patient/$echo', { method: 'POST', json: {} })).status).toBe(405);
    expect((await node().request('Patient/nobody/$echo')).status).toBe(404);
    expect((await node().request('Patient/x/y/$echo')).status).toBe(400);
  });
});

describe('write rules', () => {
  const flag = (text: string) => ({ resourceType: 'Flag', status: 'active', identifier: [{ system: 'urn:test', value: text }], code: { text }, subject: { reference: 'Patient/p' } });
  const basicsAfter = async (id: string) => (await json(await node().request(`Basic?identifier=urn:after|${id}`))).entry?.length ?? 0;
  const flagCount = async (text: string) => (await json(await node().request(`Flag?identifier=urn:test|${text}&_total=accurate`))).total;

  it('runs after-work in the write\'s transaction, on create and on update', async () => {
    const created = await json(await node().request('Flag', { method: 'POST', json: flag('plain') }));
    expect(await basicsAfter(created.id)).toBe(1);
    const updated = await node().request(`Flag/${created.id}`, { method: 'PUT', json: { ...flag('plain'), id: created.id, status: 'inactive' } });
    expect(updated.status).toBe(200);
    expect(await basicsAfter(created.id)).toBe(2);
  });

  it('a refusal before the write answers its status and stores nothing', async () => {
    expect((await node().request('Flag', { method: 'POST', json: flag('twin') })).status).toBe(201);
    const second = await node().request('Flag', { method: 'POST', json: flag('twin') });
    expect(second.status).toBe(409);
    expect((await json(second)).issue[0].diagnostics).toContain('already the twin');
    expect(await flagCount('twin')).toBe(1);
  });

  it('a refusal after the write rolls back the version and the after-work, also inside a transaction Bundle', async () => {
    const refused = await node().request('Flag', { method: 'POST', json: flag('explode') });
    expect(refused.status).toBe(409);
    expect(await flagCount('explode')).toBe(0);
    expect((await json(await node().request('Basic?_total=accurate'))).total).toBe(await flagCount('plain') + (await flagCount('twin')) + 1);
    const bundle = await node().request('', {
      method: 'POST',
      json: { resourceType: 'Bundle', type: 'transaction', entry: [
        { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
        { resource: flag('explode'), request: { method: 'POST', url: 'Flag' } },
      ] },
    });
    expect(bundle.status).toBe(409);
    expect(await flagCount('explode')).toBe(0);
  });

  it('a create that resolves to an existing resource answers 200 with it and writes nothing, on POST and in a transaction', async () => {
    const singleton = { resourceType: 'Basic', code: { coding: [{ code: 'singleton' }], text: 'singleton' } };
    const first = await node().request('Basic', { method: 'POST', json: singleton });
    expect(first.status).toBe(201);
    const { id } = await json(first);
    const second = await node().request('Basic', { method: 'POST', json: singleton });
    expect(second.status).toBe(200);
    expect((await json(second)).id).toBe(id);
    const bundle = await json(await node().request('', {
      method: 'POST',
      json: { resourceType: 'Bundle', type: 'transaction', entry: [
        { fullUrl: 'urn:uuid:9b7f0c1e-5555-4c8f-9a3e-2f1d1d0f6a11', resource: singleton, request: { method: 'POST', url: 'Basic' } },
        { resource: flag('points'), request: { method: 'POST', url: 'Flag' } },
      ] },
    }));
    expect(bundle.entry[0].response.status).toBe('200 OK');
    expect(bundle.entry[0].resource.id).toBe(id);
    expect((await json(await node().request('Basic?code=singleton&_total=accurate'))).total).toBe(1);
  });
});
