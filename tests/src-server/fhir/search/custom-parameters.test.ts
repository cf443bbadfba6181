import { describe, expect, it } from 'vitest';
import { startTestNode, tempDir, useTestNode } from '../../../helpers/node';

/** A practice adds a SearchParameter resource: existing and new resources become searchable by it at once. */

type Json = Record<string, any>;

const node = useTestNode();
const BIRTH_PLACE = 'http://hl7.org/fhir/StructureDefinition/birthPlace';

const patient = (city: string) => ({
  resourceType: 'Patient',
  name: [{ family: `Né à ${city}` }],
  extension: [{ url: BIRTH_PLACE, valueAddress: { city } }],
});

const birthCity = (extra: Json = {}) => ({
  resourceType: 'SearchParameter',
  url: 'http://cabinet.example/fhir/SearchParameter/birth-city',
  name: 'birth-city',
  status: 'active',
  description: 'City of birth',
  code: 'birth-city',
  base: ['Patient'],
  type: 'string',
  expression: `Patient.extension.where(url='${BIRTH_PLACE}').value.city`,
  ...extra,
});

async function search(query: string): Promise<{ status: number; body: Json }> {
  const response = await node().request(query);
  return { status: response.status, body: (await response.json()) as Json };
}

/** The search parameters the CapabilityStatement declares for Patient. */
async function patientSearchParams(): Promise<Json[]> {
  const metadata = (await (await fetch(`${node().fhir}/metadata`)).json()) as Json;
  return metadata.rest[0].resource.find((resource: Json) => resource.type === 'Patient').searchParam;
}

const families = (bundle: Json) => (bundle.entry ?? []).map((entry: Json) => entry.resource.name[0].family).sort();

describe('custom SearchParameter', () => {
  it('is unknown until it exists, then finds resources written before and after it', async () => {
    await node().request('Patient', { method: 'POST', json: patient('Lyon') });
    await node().request('Patient', { method: 'POST', json: patient('Lille') });
    expect((await search('Patient?birth-city=lyon')).status).toBe(400);
    expect(await patientSearchParams()).not.toContainEqual(expect.objectContaining({ name: 'birth-city', type: 'string' }));

    const created = await node().request('SearchParameter/birth-city', { method: 'PUT', json: { ...birthCity(), id: 'birth-city' } });
    expect(created.status).toBe(201);
    await node().request('Patient', { method: 'POST', json: patient('Lyon') });

    const found = await search('Patient?birth-city=lyon');
    expect(found.status).toBe(200);
    expect(families(found.body)).toEqual(['Né à Lyon', 'Né à Lyon']);
    expect(families((await search('Patient?birth-city:exact=Lille')).body)).toEqual(['Né à Lille']);

    expect(await patientSearchParams()).toContainEqual(expect.objectContaining({ name: 'birth-city', type: 'string' }));
  });

  it('stops applying when retired, and applies again when reactivated', async () => {
    const current = (await (await node().request('SearchParameter/birth-city')).json()) as Json;
    await node().request('SearchParameter/birth-city', { method: 'PUT', json: { ...current, status: 'retired' } });
    expect((await search('Patient?birth-city=lyon')).status).toBe(400);
    await node().request('SearchParameter/birth-city', { method: 'PUT', json: { ...current, status: 'active' } });
    expect((await search('Patient?birth-city=lyon')).body.entry).toHaveLength(2);
  });

  it('refuses definitions it could not apply, with a clear outcome, and writes nothing', async () => {
    const cases: Array<[Json, RegExp]> = [
      [birthCity({ code: 'name' }), /already has the official search parameter 'name'/],
      [birthCity({ code: 'broken', expression: 'Patient.name.where(' }), /does not compile/],
      [birthCity({ code: 'nothing', expression: undefined }), /needs an expression/],
      [birthCity({ code: 'mixed', type: 'composite' }), /composite are not supported/],
      [birthCity({ code: 'elsewhere', base: ['Unicorn'] }), /not a resource type|Unicorn/],
    ];
    for (const [definition, message] of cases) {
      const response = await node().request('SearchParameter', { method: 'POST', json: definition });
      expect(response.status, JSON.stringify(definition)).toBeGreaterThanOrEqual(400);
      expect(((await response.json()) as Json).issue[0].diagnostics).toMatch(message);
    }
    expect((await search('SearchParameter?_total=accurate')).body.total).toBe(1);
  });

  it('is not in force when the transaction that wrote it rolled back', async () => {
    const response = await node().request('', {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: birthCity({ code: 'birth-town', name: 'birth-town' }), request: { method: 'POST', url: 'SearchParameter' } },
          { resource: { resourceType: 'Patient', birthDate: '1974-13-45' }, request: { method: 'POST', url: 'Patient' } },
        ],
      },
    });
    expect(response.status).toBe(400);
    expect((await search('Patient?birth-town=lyon')).status).toBe(400);
  });

  it('is in force again after a restart', async () => {
    const dataDir = tempDir();
    const first = await startTestNode({ dataDir });
    await first.request('SearchParameter', { method: 'POST', json: birthCity() });
    await first.request('Patient', { method: 'POST', json: patient('Nantes') });
    await first.stop();
    const second = await startTestNode({ dataDir });
    const found = (await (await second.request('Patient?birth-city=nantes')).json()) as Json;
    expect(families(found)).toEqual(['Né à Nantes']);
    await second.stop();
  });
});
