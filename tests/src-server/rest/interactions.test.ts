import { describe, expect, it } from 'vitest';
import { concreteResourceTypes, officialSearchParameterCodes } from '../../helpers/fhir-data';
import { useTestNode } from '../../helpers/node';

type Json = Record<string, any>;

const node = useTestNode();

const patient = (extra: Json = {}) => ({
  resourceType: 'Patient',
  name: [{ family: 'Martin', given: ['Hélène'] }],
  birthDate: '1980-02-29',
  ...extra,
});

async function create(resource: Json): Promise<{ response: Response; body: Json }> {
  const response = await node().request(resource.resourceType, { method: 'POST', json: resource });
  return { response, body: (await response.json()) as Json };
}

describe('create', () => {
  it('assigns an id and a version, and answers 201 with Location, ETag and Last-Modified', async () => {
    const { response, body } = await create(patient({ id: 'client-chosen' }));
    expect(response.status).toBe(201);
    expect(body.id).not.toBe('client-chosen');
    expect(body.meta.versionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('etag')).toBe(`W/"${body.meta.versionId}"`);
    expect(response.headers.get('location')).toBe(`${node().fhir}/Patient/${body.id}/_history/${body.meta.versionId}`);
    expect(response.headers.get('content-location')).toBe(response.headers.get('location'));
    expect(new Date(response.headers.get('last-modified')!).getTime()).toBe(Math.floor(Date.parse(body.meta.lastUpdated) / 1000) * 1000);
    expect(response.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
  });

  it('keeps meta elements sent by the client (profile, tag) and replaces versionId/lastUpdated', async () => {
    const { body } = await create(patient({ meta: { versionId: 'forged', lastUpdated: '2001-01-01T00:00:00Z', tag: [{ system: 'urn:x', code: 't' }] } }));
    expect(body.meta.versionId).not.toBe('forged');
    expect(body.meta.lastUpdated).not.toBe('2001-01-01T00:00:00Z');
    expect(body.meta.tag).toEqual([{ system: 'urn:x', code: 't' }]);
  });

  it('honours Prefer: return=minimal and return=OperationOutcome', async () => {
    const minimal = await node().request('Patient', { method: 'POST', json: patient(), headers: { prefer: 'return=minimal' } });
    expect(minimal.status).toBe(201);
    expect(minimal.headers.get('location')).toContain('/Patient/');
    expect(await minimal.text()).toBe('');
    const outcome = await node().request('Patient', { method: 'POST', json: patient(), headers: { prefer: 'return=OperationOutcome' } });
    expect(outcome.status).toBe(201);
    const body = (await outcome.json()) as Json;
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue[0].severity).toBe('information');
  });

  it('accepts application/json and application/json+fhir bodies', async () => {
    for (const type of ['application/json', 'application/json+fhir']) {
      const response = await node().request('Patient', { method: 'POST', body: JSON.stringify(patient()), headers: { 'content-type': type } });
      expect(response.status).toBe(201);
    }
  });

  it('conditional create (If-None-Exist) creates once, then returns the match; several matches answer 412', async () => {
    const identifier = [{ system: 'urn:oid:1.2.250.1.999.1.1', value: 'IPP-123' }];
    const headers = { 'if-none-exist': 'identifier=urn:oid:1.2.250.1.999.1.1|IPP-123' };
    const first = await node().request('Patient', { method: 'POST', json: patient({ identifier }), headers });
    expect(first.status).toBe(201);
    const firstBody = (await first.json()) as Json;
    const second = await node().request('Patient', { method: 'POST', json: patient({ identifier }), headers });
    expect(second.status).toBe(200);
    expect(((await second.json()) as Json).id).toBe(firstBody.id);
    await create(patient({ identifier }));
    const third = await node().request('Patient', { method: 'POST', json: patient({ identifier }), headers });
    expect(third.status).toBe(412);
  });
});

describe('read and vread', () => {
  it('reads the current version and any earlier version', async () => {
    const { body: v1 } = await create(patient());
    const update = await node().request(`Patient/${v1.id}`, { method: 'PUT', json: { ...v1, gender: 'female' } });
    const v2 = (await update.json()) as Json;
    expect(update.status).toBe(200);
    expect(v2.meta.versionId).not.toBe(v1.meta.versionId);
    const read = (await (await node().request(`Patient/${v1.id}`)).json()) as Json;
    expect(read).toEqual(v2);
    const old = await node().request(`Patient/${v1.id}/_history/${v1.meta.versionId}`);
    expect(old.status).toBe(200);
    expect(await old.json()).toEqual(v1);
    expect(old.headers.get('etag')).toBe(`W/"${v1.meta.versionId}"`);
  });

  it('answers 404 with an OperationOutcome for unknown ids, versions and types', async () => {
    for (const path of ['Patient/nope', 'Patient/nope/_history/x', 'Unicorn/1', 'Patient/nope/_history']) {
      const response = await node().request(path);
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as Json).resourceType).toBe('OperationOutcome');
    }
  });

  it('refuses an id that is not a FHIR id', async () => {
    const response = await node().request(`Patient/${'x'.repeat(65)}`);
    expect(response.status).toBe(400);
  });

  it('answers 304 to If-None-Match with the current ETag and to If-Modified-Since after the change', async () => {
    const { response, body } = await create(patient());
    const etag = response.headers.get('etag')!;
    expect((await node().request(`Patient/${body.id}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await node().request(`Patient/${body.id}`, { headers: { 'if-none-match': 'W/"other"' } })).status).toBe(200);
    const later = new Date(Date.parse(body.meta.lastUpdated) + 5000).toUTCString();
    const earlier = new Date(Date.parse(body.meta.lastUpdated) - 5000).toUTCString();
    expect((await node().request(`Patient/${body.id}`, { headers: { 'if-modified-since': later } })).status).toBe(304);
    expect((await node().request(`Patient/${body.id}`, { headers: { 'if-modified-since': earlier } })).status).toBe(200);
  });

  it('formats with _pretty, answers XML when asked, answers 406 to a _format it cannot write', async () => {
    const { body } = await create(patient());
    const pretty = await node().request(`Patient/${body.id}?_pretty=true`);
    expect(await pretty.text()).toContain('\n  "resourceType": "Patient"');
    expect((await node().request(`Patient/${body.id}?_format=json`)).status).toBe(200);
    const xml = await node().request(`Patient/${body.id}?_format=xml`);
    expect(xml.status).toBe(200);
    expect(xml.headers.get('content-type')).toMatch(/^application\/fhir\+xml/);
    expect((await node().request(`Patient/${body.id}`, { headers: { accept: 'application/fhir+xml' } })).headers.get('content-type')).toMatch(/^application\/fhir\+xml/);
    const unknown = await node().request(`Patient/${body.id}?_format=turtle`);
    expect(unknown.status).toBe(406);
    expect(((await unknown.json()) as Json).resourceType).toBe('OperationOutcome');
  });
});

describe('update', () => {
  it('creates with the client id when the resource does not exist (201), then updates (200)', async () => {
    const created = await node().request('Patient/dupont-1', { method: 'PUT', json: patient({ id: 'dupont-1' }) });
    expect(created.status).toBe(201);
    const updated = await node().request('Patient/dupont-1', { method: 'PUT', json: patient({ id: 'dupont-1', active: false }) });
    expect(updated.status).toBe(200);
    expect(((await updated.json()) as Json).active).toBe(false);
  });

  it('refuses a body id different from the URL id, and a body without id', async () => {
    expect((await node().request('Patient/a1', { method: 'PUT', json: patient({ id: 'a2' }) })).status).toBe(400);
    expect((await node().request('Patient/a1', { method: 'PUT', json: patient() })).status).toBe(400);
    expect((await node().request('Patient/a1')).status).toBe(404);
  });

  it('applies optimistic locking with If-Match (412 on a stale version)', async () => {
    const { body: v1 } = await create(patient());
    const ok = await node().request(`Patient/${v1.id}`, { method: 'PUT', json: v1, headers: { 'if-match': `W/"${v1.meta.versionId}"` } });
    expect(ok.status).toBe(200);
    const stale = await node().request(`Patient/${v1.id}`, { method: 'PUT', json: { ...v1, gender: 'male' }, headers: { 'if-match': `W/"${v1.meta.versionId}"` } });
    expect(stale.status).toBe(412);
    const outcome = (await stale.json()) as Json;
    expect(outcome.issue[0].diagnostics).toContain(v1.meta.versionId);
    const current = (await (await node().request(`Patient/${v1.id}`)).json()) as Json;
    expect(current.gender).toBeUndefined();
  });

  it('conditional update updates the single match, creates when none matches, 412 when several do', async () => {
    const identifier = [{ system: 'urn:test:cu', value: 'A' }];
    const none = await node().request('Patient?identifier=urn:test:cu|A', { method: 'PUT', json: patient({ identifier }) });
    expect(none.status).toBe(201);
    const id = ((await none.json()) as Json).id;
    const one = await node().request('Patient?identifier=urn:test:cu|A', { method: 'PUT', json: patient({ identifier, gender: 'female' }) });
    expect(one.status).toBe(200);
    expect(((await one.json()) as Json).id).toBe(id);
    await create(patient({ identifier }));
    const many = await node().request('Patient?identifier=urn:test:cu|A', { method: 'PUT', json: patient({ identifier }) });
    expect(many.status).toBe(412);
  });
});

describe('DELETE is refused everywhere', () => {
  it.each(['', 'Patient', 'Patient/1', 'Patient?identifier=x', 'Patient/1/_history/1', '_history'])('DELETE /fhir/%s → 405', async (path) => {
    const response = await node().request(path, { method: 'DELETE' });
    expect(response.status).toBe(405);
    const body = (await response.json()) as Json;
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue[0].code).toBe('not-supported');
  });
});

describe('history', () => {
  it('lists instance, type and system history newest first, with _since, _count and paging', async () => {
    const { body: v1 } = await create({ resourceType: 'Basic', code: { text: 'Cabinet A' } });
    const v2 = (await (await node().request(`Basic/${v1.id}`, { method: 'PUT', json: { ...v1, code: { text: 'Cabinet B' } } })).json()) as Json;
    const instance = (await (await node().request(`Basic/${v1.id}/_history`)).json()) as Json;
    expect(instance.type).toBe('history');
    expect(instance.entry.map((entry: Json) => entry.resource.meta.versionId)).toEqual([v2.meta.versionId, v1.meta.versionId]);
    expect(instance.entry[0].request).toEqual({ method: 'PUT', url: `Basic/${v1.id}` });
    expect(instance.entry[0].response.status).toBe('200 OK');
    expect(instance.entry[1].request).toEqual({ method: 'POST', url: 'Basic' });
    expect(instance.entry[1].response.status).toBe('201 Created');

    const type = (await (await node().request('Basic/_history?_count=1')).json()) as Json;
    expect(type.entry).toHaveLength(1);
    expect(type.entry[0].resource.meta.versionId).toBe(v2.meta.versionId);
    const next = type.link.find((link: Json) => link.relation === 'next');
    const page2 = (await (await node().request(next.url)).json()) as Json;
    expect(page2.entry[0].resource.meta.versionId).toBe(v1.meta.versionId);

    const since = (await (await node().request(`_history?_since=${encodeURIComponent(v2.meta.lastUpdated)}`)).json()) as Json;
    expect(since.entry.some((entry: Json) => entry.resource.meta.versionId === v2.meta.versionId)).toBe(true);
    expect(since.entry.every((entry: Json) => entry.resource.meta.lastUpdated >= v2.meta.lastUpdated)).toBe(true);
    expect((await node().request('_history?_since=yesterday')).status).toBe(400);
  });
});

describe('search (the parameters the REST interactions use)', () => {
  it('finds by _id and identifier, pages with next links, refuses unknown parameters unless lenient', async () => {
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      ids.push((await create({ resourceType: 'Device', identifier: [{ system: 'urn:dev', value: `D${index}` }] })).body.id);
    }
    const byId = (await (await node().request(`Device?_id=${ids[0]},${ids[1]}`)).json()) as Json;
    expect(byId.entry.map((entry: Json) => entry.resource.id).sort()).toEqual([ids[0], ids[1]].sort());
    const byIdentifier = (await (await node().request('Device?identifier=urn:dev|D3')).json()) as Json;
    expect(byIdentifier.entry.map((entry: Json) => entry.resource.id)).toEqual([ids[3]]);
    expect(((await (await node().request('Device?identifier=urn:other|D3')).json()) as Json).entry).toBeUndefined();

    const seen: string[] = [];
    let url: string | undefined = 'Device?_count=2';
    while (url) {
      const page = (await (await node().request(url)).json()) as Json;
      seen.push(...(page.entry ?? []).map((entry: Json) => entry.resource.id));
      url = page.link.find((link: Json) => link.relation === 'next')?.url;
    }
    expect(seen.sort()).toEqual([...ids].sort());

    const unknown = await node().request('Device?colour=red');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as Json).issue[0].diagnostics).toContain('colour');
    const lenient = await node().request('Device?colour=red', { headers: { prefer: 'handling=lenient' } });
    expect(lenient.status).toBe(200);
    expect(((await lenient.json()) as Json).link[0].url).not.toContain('colour');
  });

  it('supports POST [type]/_search with a form body', async () => {
    const { body } = await create({ resourceType: 'Device' });
    const response = await node().request('Device/_search', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `_id=${body.id}`,
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Json).entry[0].resource.id).toBe(body.id);
  });
});

describe('metadata', () => {
  it('serves a CapabilityStatement without a token, declaring what is implemented', async () => {
    const response = await fetch(`${node().fhir}/metadata`);
    expect(response.status).toBe(200);
    const statement = (await response.json()) as Json;
    expect(statement.resourceType).toBe('CapabilityStatement');
    expect(statement.fhirVersion).toBe('3.0.1');
    const rest = statement.rest[0];
    expect(rest.resource.map((resource: Json) => resource.type)).toEqual(concreteResourceTypes());
    const patientCapability = rest.resource.find((resource: Json) => resource.type === 'Patient');
    expect(patientCapability.interaction.map((interaction: Json) => interaction.code)).not.toContain('delete');
    expect(patientCapability.conditionalDelete).toBe('not-supported');
    const official = officialSearchParameterCodes('Patient');
    expect(patientCapability.searchParam.map((param: Json) => param.name).sort()).toEqual(['_id', '_lastUpdated', ...official].sort());
    expect(official).toEqual(expect.arrayContaining(['name', 'birthdate', 'identifier', 'general-practitioner', '_tag', '_profile']));
    expect(rest.interaction.map((interaction: Json) => interaction.code)).toEqual(['transaction', 'batch', 'history-system']);
    expect(rest.security.extension[0].extension.find((uri: Json) => uri.url === 'token').valueUri).toBe(`${node().url}/oauth/token`);
  });
});
