import { describe, expect, it } from 'vitest';
import { Client, type FhirResource } from 'fhir-kit-client';
import { useTestNode } from '../../helpers/node';
import { clientToken } from '../../helpers/users';

/**
 * fhir-kit-client (npm), a FHIR client written elsewhere, used against a real node as a vendor's code would use it:
 * the owner's API client with its bearer token, every interaction through the library's own calls, and the error
 * objects it raises (`error.response.status`, `error.response.data`) on the node's refusals.
 */

type Json = Record<string, any>;
type Resource = FhirResource & Json;

const node = useTestNode();

const client = () => new Client({ baseUrl: node().fhir, bearerToken: node().token });

const patient = (extra: Json = {}): Resource => ({ resourceType: 'Patient', name: [{ family: 'Kitclient', given: ['Anne'] }], birthDate: '1975-05-05', ...extra });

/** What the library throws on a non-2xx answer: its status and the parsed body. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; data: Json }> {
  const error = (await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  )) as { response?: { status: number; data: Json } } | undefined;
  if (!error?.response) throw new Error('the call succeeded where the node should have refused it');
  return error.response;
}

describe('fhir-kit-client against the node', () => {
  it('creates, reads, vreads and updates a Patient', async () => {
    const fhir = client();
    const created = (await fhir.create({ resourceType: 'Patient', body: patient() })) as Json;
    expect(created.id).toBeTruthy();
    const firstVersion = created.meta.versionId as string;
    expect((await fhir.read({ resourceType: 'Patient', id: created.id })) as Json).toMatchObject({ id: created.id, name: [{ family: 'Kitclient' }] });
    const updated = (await fhir.update({ resourceType: 'Patient', id: created.id, body: { ...created, resourceType: 'Patient', gender: 'female' } })) as Json;
    expect(updated.gender).toBe('female');
    expect(updated.meta.versionId).not.toBe(firstVersion);
    const old = (await fhir.vread({ resourceType: 'Patient', id: created.id, version: firstVersion })) as Json;
    expect(old.meta.versionId).toBe(firstVersion);
    expect(old.gender).toBeUndefined();

    const history = (await fhir.history({ resourceType: 'Patient', id: created.id })) as Json;
    expect(history.type).toBe('history');
    expect(history.entry.map((entry: Json) => entry.resource.meta.versionId)).toEqual([updated.meta.versionId, firstVersion]);
  });

  it('conditional create (If-None-Exist) creates once, then answers the existing Patient', async () => {
    const fhir = client();
    const identifier = [{ system: 'urn:oid:1.2.250.1.999.7.1', value: 'KIT-1' }];
    const options = { headers: { 'If-None-Exist': 'identifier=urn:oid:1.2.250.1.999.7.1|KIT-1' } };
    const first = (await fhir.create({ resourceType: 'Patient', body: patient({ identifier }), options })) as Json;
    const second = (await fhir.create({ resourceType: 'Patient', body: patient({ identifier }), options })) as Json;
    expect(second.id).toBe(first.id);
    const found = (await fhir.search({ resourceType: 'Patient', searchParams: { identifier: 'urn:oid:1.2.250.1.999.7.1|KIT-1' } })) as Json;
    expect(found.entry.map((entry: Json) => entry.resource.id)).toEqual([first.id]);
  });

  it('searches with paging to the end, following the next links', async () => {
    const fhir = client();
    const family = 'Paginee';
    const ids = new Set<string>();
    for (let i = 0; i < 7; i++) ids.add(((await fhir.create({ resourceType: 'Patient', body: patient({ name: [{ family, given: [`P${i}`] }] }) })) as Json).id);
    let page = (await fhir.search({ resourceType: 'Patient', searchParams: { family, _count: 3 } })) as Json;
    const seen: string[] = [];
    let pages = 0;
    for (;;) {
      pages++;
      seen.push(...(page.entry ?? []).map((entry: Json) => entry.resource.id as string));
      const next = fhir.nextPage({ bundle: page as Parameters<Client['nextPage']>[0]['bundle'] });
      if (!next) break;
      page = (await next) as Json;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(ids);
  });

  it('posts a transaction and reads its response bundle', async () => {
    const fhir = client();
    const response = (await fhir.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:8f7c3a52-0d0e-4b43-9a3c-2f1e6b1c0a01', resource: patient({ name: [{ family: 'Transactee' }] }), request: { method: 'POST', url: 'Patient' } },
          {
            resource: { resourceType: 'Observation', status: 'final', code: { text: 'poids' }, subject: { reference: 'urn:uuid:8f7c3a52-0d0e-4b43-9a3c-2f1e6b1c0a01' } },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      },
    })) as Json;
    expect(response.type).toBe('transaction-response');
    expect(response.entry.map((entry: Json) => entry.response.status)).toEqual(['201 Created', '201 Created']);
    // The locations are absolute version URLs: the library follows them as they are.
    const [patientLocation, observationLocation] = response.entry.map((entry: Json) => entry.response.location as string);
    const stored = (await fhir.request(observationLocation)) as Json;
    const created = (await fhir.request(patientLocation)) as Json;
    expect(created.name).toEqual([{ family: 'Transactee' }]);
    expect(stored.subject.reference).toBe(`Patient/${created.id}`);
  });

  it('calls an operation: Patient/<id>/$everything', async () => {
    const fhir = client();
    const subject = (await fhir.create({ resourceType: 'Patient', body: patient({ name: [{ family: 'Everything' }] }) })) as Json;
    const observation = (await fhir.create({
      resourceType: 'Observation',
      body: { resourceType: 'Observation', status: 'final', code: { text: 'tension' }, subject: { reference: `Patient/${subject.id}` } },
    })) as Json;
    const everything = (await fhir.operation({ name: '$everything', resourceType: 'Patient', id: subject.id, method: 'GET' })) as Json;
    expect(everything.resourceType).toBe('Bundle');
    const references = everything.entry.map((entry: Json) => `${entry.resource.resourceType}/${entry.resource.id}`);
    expect(references).toEqual(expect.arrayContaining([`Patient/${subject.id}`, `Observation/${observation.id}`]));
  });

  it('raises errors carrying the status and the OperationOutcome: 404, 422, 403', async () => {
    const fhir = client();
    const missing = await refusal(fhir.read({ resourceType: 'Patient', id: 'nobody-here' }));
    expect(missing.status).toBe(404);
    expect(missing.data.resourceType).toBe('OperationOutcome');
    expect(missing.data.issue[0].code).toBe('not-found');

    const malformed = await refusal(fhir.create({ resourceType: 'Patient', body: patient({ birthDate: 'not a date' }) }));
    expect(malformed.status).toBe(400);
    expect(malformed.data.resourceType).toBe('OperationOutcome');
    expect(malformed.data.issue[0].severity).toBe('error');

    // A NIR whose control key is wrong: well-formed FHIR the node's identity rules refuse.
    const wrongNir = [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '270017510001085' }];
    const unprocessable = await refusal(fhir.create({ resourceType: 'Patient', body: patient({ identifier: wrongNir }) }));
    expect(unprocessable.status).toBe(422);
    expect(unprocessable.data.resourceType).toBe('OperationOutcome');
    expect(unprocessable.data.issue[0].diagnostics).toContain('control key');

    const reader = new Client({ baseUrl: node().fhir, bearerToken: await clientToken(node(), { scopes: ['PATIENT_READ'] }) });
    const forbidden = await refusal(reader.create({ resourceType: 'Patient', body: patient() }));
    expect(forbidden.status).toBe(403);
    expect(forbidden.data.resourceType).toBe('OperationOutcome');
    expect(forbidden.data.issue[0].code).toBe('forbidden');
  });
});
