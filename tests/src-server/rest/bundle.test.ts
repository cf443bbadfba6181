import { describe, expect, it } from 'vitest';
import { readExample } from '../../helpers/fhir-data';
import { useTestNode } from '../../helpers/node';

type Json = Record<string, any>;

const node = useTestNode();

async function post(bundle: Json): Promise<{ status: number; body: Json }> {
  const response = await node().request('', { method: 'POST', json: bundle });
  return { status: response.status, body: (await response.json()) as Json };
}

async function systemHistorySize(): Promise<number> {
  let size = 0;
  let url: string | undefined = '_history?_count=100';
  while (url) {
    const page = (await (await node().request(url)).json()) as Json;
    size += page.entry?.length ?? 0;
    url = page.link.find((link: Json) => link.relation === 'next')?.url;
  }
  return size;
}

/**
 * The spec's transaction example, made runnable here. Each change is a rule of this node, tested on its own below:
 * - DELETE entries: refused with 405 (tested below, they make the whole transaction fail);
 * - `ValueSet/$lookup`: this node serves no terminology operations (tested below: the transaction is refused);
 * - `GET Patient?name=peter`: `name` search arrives with the search engine; the entry asks by identifier instead;
 * - `ifMatch: W/"2"`: version ids here are global UUIDs, so the example's "version 2" is the current version of a
 *   Patient/123a made beforehand; Patient/12334, read by the last entry, is made beforehand too.
 */
async function runnableTransactionExample(): Promise<Json> {
  const bundle = readExample('Bundle-bundle-transaction.json') as Json;
  const seeded = (await (await node().request('Patient/123a', { method: 'PUT', json: { resourceType: 'Patient', id: '123a' } })).json()) as Json;
  await node().request('Patient/12334', { method: 'PUT', json: { resourceType: 'Patient', id: '12334' } });
  bundle.entry = bundle.entry.filter((entry: Json) => entry.request.method !== 'DELETE' && !entry.request.url.includes('$'));
  for (const entry of bundle.entry) {
    if (entry.request.ifMatch) entry.request.ifMatch = `W/"${seeded.meta.versionId}"`;
    if (entry.request.url === 'Patient?name=peter') entry.request.url = 'Patient?identifier=234234';
  }
  return bundle;
}

/**
 * The XDS example with its two Practitioner entries written beforehand by the directory import (the repository):
 * the document's `Practitioner/a3` and `Practitioner/a4` then point at them.
 */
function withAuthorsInDirectory(): Json {
  const bundle = readExample('Bundle-xds.json') as Json;
  for (const entry of bundle.entry.filter((candidate: Json) => candidate.resource.resourceType === 'Practitioner')) {
    const id = entry.fullUrl.split('/').pop();
    node().repository.update('Practitioner', id, { ...entry.resource, id });
  }
  bundle.entry = bundle.entry.filter((entry: Json) => entry.resource.resourceType !== 'Practitioner');
  return bundle;
}

describe('the spec transaction example', () => {
  it('is accepted and answered entry by entry in request order', async () => {
    const bundle = await runnableTransactionExample();
    const { status, body } = await post(bundle);
    expect(status).toBe(200);
    expect(body.resourceType).toBe('Bundle');
    expect(body.type).toBe('transaction-response');
    expect(body.entry.map((entry: Json) => entry.response.status)).toEqual([
      '201 Created', // POST Patient
      '201 Created', // POST Patient, If-None-Exist identifier=234234: no match yet
      '201 Created', // PUT Patient/123: update as create
      '201 Created', // PUT Patient?identifier=234234: no match, creates
      '200 OK', // PUT Patient/123a with the current If-Match
      '200 OK', // GET Patient?identifier=234234 (a searchset)
      '200 OK', // GET Patient/12334 with an If-None-Match that does not match
    ]);
    const [created, , put123, , put123a, search, read] = body.entry;
    expect(created.response.location).toMatch(new RegExp(`^${node().fhir}/Patient/[0-9a-f-]{36}/_history/[0-9a-f-]{36}$`));
    expect(created.response.etag).toBe(`W/"${created.resource.meta.versionId}"`);
    expect(created.response.lastModified).toBe(created.resource.meta.lastUpdated);
    expect(put123.resource.id).toBe('123');
    expect(put123a.resource.meta.versionId).not.toBe(bundle.entry[4].request.ifMatch);
    expect(search.resource.type).toBe('searchset');
    expect(read.resource.id).toBe('12334');
    const stored = await node().request(created.response.location);
    expect(stored.status).toBe(200);
  });

  it('with its DELETE entries is refused whole with 405, and writes nothing', async () => {
    const bundle = readExample('Bundle-bundle-transaction.json') as Json;
    bundle.entry = bundle.entry.filter((entry: Json) => !entry.request.url.includes('$'));
    const before = await systemHistorySize();
    const { status, body } = await post(bundle);
    expect(status).toBe(405);
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue[0].diagnostics).toMatch(/^Bundle\.entry\[5\]: DELETE is not supported/);
    expect(await systemHistorySize()).toBe(before);
  });

  it('with its $lookup entry is refused whole, and writes nothing', async () => {
    const bundle = readExample('Bundle-bundle-transaction.json') as Json;
    bundle.entry = bundle.entry.filter((entry: Json) => entry.request.method !== 'DELETE');
    const before = await systemHistorySize();
    const { status, body } = await post(bundle);
    expect(status).toBe(400);
    expect(body.issue[0].diagnostics).toContain('$lookup');
    expect(await systemHistorySize()).toBe(before);
  });
});

describe('the spec XDS transaction example', () => {
  it('as written, is refused whole with 405: its authors are directory Practitioners, which the API does not write', async () => {
    const before = await systemHistorySize();
    const { status, body } = await post(readExample('Bundle-xds.json') as Json);
    expect(status).toBe(405);
    expect(body.issue[0].diagnostics).toMatch(/^Bundle\.entry\[2\]: Practitioner is a directory resource/);
    expect(await systemHistorySize()).toBe(before);
  });

  it('with its authors in the directory, creates the document, patient and binary with their references rewritten', async () => {
    const bundle = withAuthorsInDirectory();
    const { status, body } = await post(bundle);
    expect(status).toBe(200);
    expect(body.entry.map((entry: Json) => entry.response.status)).toEqual(Array(3).fill('201 Created'));
    const [documentReference, patient, binary] = body.entry.map((entry: Json) => entry.resource);
    expect(documentReference.subject.reference).toBe(`Patient/${patient.id}`);
    expect(documentReference.author.map((author: Json) => author.reference)).toEqual(['Practitioner/a3', 'Practitioner/a4']);
    expect(documentReference.content[0].attachment.url).toBe(`Binary/${binary.id}`);
    expect(documentReference.text.div).toContain(`href="Binary/${binary.id}"`);
    expect(binary.content).toBe((readExample('Bundle-xds.json') as Json).entry[4].resource.content);
    const read = (await (await node().request(`DocumentReference/${documentReference.id}`)).json()) as Json;
    expect(read).toEqual(documentReference);
  });

  it('resolves the conditional create to the existing patient when the criteria match it', async () => {
    // The example's criteria (`identifier=http://acme.org/xds/patients!89765a87b`) name an identifier its own Patient
    // does not carry (it has only the value `MRN`), so as written it creates a patient on every run. With criteria
    // that match the patient, the second run finds the first one and the document points at it.
    const bundle = withAuthorsInDirectory();
    bundle.entry[1].request.ifNoneExist = 'Patient?identifier=MRN';
    const { body } = await post(bundle);
    expect(body.entry[1].response.status).toBe('200 OK');
    const patients = (await (await node().request('Patient?identifier=MRN')).json()) as Json;
    expect(patients.entry).toHaveLength(1);
    expect(body.entry[0].resource.subject.reference).toBe(`Patient/${patients.entry[0].resource.id}`);
  });
});

describe('transactions are all-or-nothing', () => {
  it('a stale If-Match in the last entry rolls back the creates before it', async () => {
    const seeded = (await (await node().request('Patient/locked', { method: 'PUT', json: { resourceType: 'Patient', id: 'locked' } })).json()) as Json;
    await node().request('Patient/locked', { method: 'PUT', json: { resourceType: 'Patient', id: 'locked', active: true } });
    const before = await systemHistorySize();
    const { status, body } = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:0b8a1a3e-9d1a-4d8e-9f1a-1a2b3c4d5e6f', resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', id: 'locked', active: false }, request: { method: 'PUT', url: 'Patient/locked', ifMatch: `W/"${seeded.meta.versionId}"` } },
      ],
    });
    expect(status).toBe(412);
    expect(body.issue[0].diagnostics).toMatch(/^Bundle\.entry\[1\]/);
    expect(await systemHistorySize()).toBe(before);
    expect(((await (await node().request('Patient/locked')).json()) as Json).active).toBe(true);
  });

  it('an invalid resource anywhere refuses the transaction with the element located in the Bundle', async () => {
    const before = await systemHistorySize();
    const { status, body } = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', birthDate: '1974-13-45' }, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    expect(status).toBe(400);
    expect(body.issue[0].expression[0]).toBe('Bundle.entry[1].resource.birthDate');
    expect(await systemHistorySize()).toBe(before);
  });
});

describe('batch', () => {
  it('runs entries independently: failures do not undo successes', async () => {
    const { status, body } = await post({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'DELETE', url: 'Patient/1' } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
        { resource: { resourceType: 'Observation' }, request: { method: 'POST', url: 'Observation' } },
      ],
    });
    expect(status).toBe(200);
    expect(body.type).toBe('batch-response');
    expect(body.entry.map((entry: Json) => entry.response.status)).toEqual(['201 Created', '405 Method Not Allowed', '404 Not Found', '400 Bad Request']);
    expect(body.entry[1].response.outcome.resourceType).toBe('OperationOutcome');
    expect(body.entry[3].response.outcome.issue.map((issue: Json) => issue.code)).toContain('required');
    expect((await node().request(body.entry[0].response.location)).status).toBe(200);
  });

  it('refuses a Bundle that is not a batch or transaction, and entries without request', async () => {
    expect((await post({ resourceType: 'Bundle', type: 'collection' })).status).toBe(400);
    expect((await post({ resourceType: 'Patient' })).status).toBe(400);
    const missing = await post({ resourceType: 'Bundle', type: 'batch', entry: [{ resource: { resourceType: 'Patient' } }] });
    expect(missing.status).toBe(400);
  });
});
