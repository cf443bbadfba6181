import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createMany } from '../../helpers/batch';
import { fhirFetch, useTestNode } from '../../helpers/node';

/**
 * `/fhir/v2` and `/fhir/v3` are the node under Lifen's conventions (docs/lifen-compatibility.md): its paging bounds
 * and cursors, links and fullUrls on the surface's base, `total` always, and Lifen's token endpoints.
 */

type Json = Record<string, any>;
const node = useTestNode();

const devices = (count: number, model: string) => createMany(node(), count, { resourceType: 'Device', model });

const on = (surface: string, path: string, init?: RequestInit & { json?: unknown }) => fhirFetch(`${node().url}/fhir/${surface}`, node().token, path, init);

describe.each(['v2', 'v3'])('the Lifen surface /fhir/%s', (surface) => {
  it('pages by 10 with total, _searchAfter/_searchBefore and _index in its links, on its own base', async () => {
    await devices(25, `paging-${surface}`);
    const base = `${node().url}/fhir/${surface}`;
    const first = (await (await on(surface, `Device?model=paging-${surface}`)).json()) as Json;
    expect(first.total).toBe(25);
    expect(first.entry).toHaveLength(10);
    expect(first.entry[0].fullUrl).toMatch(new RegExp(`^${base}/Device/`));
    const link = (bundle: Json, relation: string) => bundle.link.find((item: Json) => item.relation === relation)?.url as string | undefined;
    expect(link(first, 'self')).toBe(`${base}/Device?model=paging-${surface}&_index=0`);
    const next = new URL(link(first, 'next')!);
    expect(next.searchParams.get('_searchAfter')).toBeTruthy();
    expect(next.searchParams.get('_index')).toBe('10');
    expect(next.searchParams.has('_cursor')).toBe(false);
    const second = (await (await on(surface, next.href)).json()) as Json;
    expect(second.total).toBe(25);
    expect(second.entry.map((entry: Json) => entry.resource.id)).not.toContain(first.entry[0].resource.id);
    const previous = new URL(link(second, 'previous')!);
    expect(previous.searchParams.get('_searchBefore')).toBeTruthy();
    expect(previous.searchParams.get('_index')).toBe('0');
    const back = (await (await on(surface, previous.href)).json()) as Json;
    expect(back.entry.map((entry: Json) => entry.resource.id)).toEqual(first.entry.map((entry: Json) => entry.resource.id));
  });

  it('refuses _count=0 and _count=101, and _index without a cursor', async () => {
    for (const query of ['_count=0', '_count=101', '_index=20']) {
      const response = await on(surface, `Device?${query}`);
      expect(response.status, query).toBe(400);
      const outcome = (await response.json()) as Json;
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(JSON.stringify(outcome)).toContain(query.split('=')[0]);
    }
  });

  it('serves the same node: reads, creates and the capability statement', async () => {
    const created = await on(surface, 'Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Surface' }] } });
    expect(created.status).toBe(201);
    const patient = (await created.json()) as Json;
    expect(created.headers.get('location')).toContain(`/fhir/${surface}/Patient/${patient.id}`);
    expect((await node().request(`Patient/${patient.id}`)).status).toBe(200);
    expect((await fetch(`${node().url}/fhir/${surface}/metadata`)).status).toBe(200);
    expect((await fetch(`${node().url}/fhir/${surface}/Patient`)).status).toBe(401);
  });
});

describe('plain FHIR at /fhir keeps its own paging', () => {
  it('answers _count=0 with a count and clamps _count=101, with _cursor links', async () => {
    await devices(12, 'plain');
    const zero = (await (await node().request('Device?model=plain&_count=0')).json()) as Json;
    expect(zero.total).toBe(12);
    expect(zero.entry).toBeUndefined();
    const page = (await (await node().request('Device?model=plain&_count=5')).json()) as Json;
    expect(page.link.find((item: Json) => item.relation === 'next').url).toContain('_cursor=');
    expect((await node().request('Device?_count=101')).status).toBe(200);
  });
});

describe("Lifen's token endpoints", () => {
  const credentials = () => JSON.parse(readFileSync(node().ownerClientFile, 'utf8')) as { client_id: string; client_secret: string };
  const extra = { audience: 'https://production.platform-apis/', database_reference: 'db-123' };

  it('v2: a form at /oauth/token with audience and database_reference', async () => {
    const response = await fetch(`${node().url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...credentials(), ...extra }),
    });
    expect(response.status).toBe(200);
    const token = (await response.json()) as Json;
    expect(token).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), expires_in: expect.any(Number), scope: expect.any(String) });
    expect((await fhirFetch(`${node().url}/fhir/v2`, token.access_token, 'Patient')).status).toBe(200);
  });

  it('v3: a JSON body at /v1/token, with Lifen errors', async () => {
    const post = (body: unknown) => fetch(`${node().url}/v1/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const response = await post({ grant_type: 'client_credentials', ...credentials(), ...extra });
    expect(response.status).toBe(200);
    const token = (await response.json()) as Json;
    expect(token).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), expires_in: expect.any(Number) });
    expect((await fhirFetch(`${node().url}/fhir/v3`, token.access_token, 'Patient')).status).toBe(200);
    const missing = await post({ grant_type: 'client_credentials', ...extra });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    const wrong = await post({ grant_type: 'client_credentials', client_id: credentials().client_id, client_secret: 'wrong', ...extra });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ error: 'access_denied' });
  });
});

describe('what the node refuses rather than ignores (docs/lifen-compatibility.md)', () => {
  it("refuses Encounter's service-provider._extension and a second cursor", async () => {
    const extension = await on('v3', 'Encounter/_search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ 'service-provider._extension': 'UF-12' }) });
    expect(extension.status).toBe(400);
    expect(JSON.stringify(await extension.json())).toContain('_extension');
    const twice = await on('v2', 'Device?_searchAfter=a&_searchBefore=b');
    expect(twice.status).toBe(400);
  });

  it('answers the same Patient for a second create with the same INS (one Patient per INS)', async () => {
    const nir = '1800299123456';
    const value = `${nir}${String(97n - (BigInt(nir) % 97n)).padStart(2, '0')}`;
    const patient = { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value }], extension: [{ url: 'http://lifen.fr/fhir/StructureDefinition/Patient/Extension/ReliabilityINS', valueCode: 'QUALI' }], name: [{ family: 'Unique' }] };
    const first = await on('v2', 'Patient', { method: 'POST', json: patient });
    expect(first.status).toBe(201);
    const second = await on('v3', 'Patient', { method: 'POST', json: patient });
    expect(second.status).toBe(200);
    expect(((await second.json()) as Json).id).toBe(((await first.json()) as Json).id);
    const plain = (await (await node().request(`Patient?identifier=urn:oid:1.2.250.1.213.1.4.8|${value}`)).text());
    expect(plain).not.toContain('ReliabilityINS');
    expect(plain).toContain('"code":"QUAL"');
  });
});
