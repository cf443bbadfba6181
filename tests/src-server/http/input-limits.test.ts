import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { validateResource } from '../../../src-server/fhir/validation/validate';
import { useTestNode } from '../../helpers/node';
import { extensions, storeUnchecked } from '../../helpers/unchecked-write';

/**
 * What one write may store (docs/architecture.md, "Input limits"): strings up to 1 MiB of UTF-8, resources up to
 * 100,000 elements, JSON bodies up to 32 MiB; inline binary data bounded as a Binary is. Refused writes write
 * nothing; resources stored before the limits stay readable.
 */

type Json = Record<string, any>;
const MiB = 1024 * 1024;

const node = useTestNode();

const versionCount = () => node().db.prepare('SELECT count(*) FROM resource_versions').pluck().get() as number;

const post = (path: string, body: unknown) => node().request(path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/fhir+json' } });

/** Expects a 400 whose one issue has `code` and points at `expression`, and that nothing was written. */
async function expectRefused(path: string, body: unknown, code: string, expression: string): Promise<Json> {
  const before = versionCount();
  const response = await post(path, body);
  expect(response.status).toBe(400);
  const outcome = (await response.json()) as Json;
  expect(outcome.resourceType).toBe('OperationOutcome');
  expect(outcome.issue).toEqual([expect.objectContaining({ severity: 'error', code, expression: [expression], location: [expression] })]);
  expect(versionCount()).toBe(before);
  return outcome.issue[0];
}

async function expectStored(path: string, body: unknown): Promise<Json> {
  const response = await post(path, body);
  expect(response.status, await response.clone().text().then((text) => text.slice(0, 300))).toBe(201);
  return (await response.json()) as Json;
}

// Values of elements the text index does not read (it indexes names and addresses): what is stored here is not
// the text index's to bound.
const withNote = (value: string) => ({ resourceType: 'Patient', extension: [{ url: 'urn:liaison:note', valueString: value }] });

describe('strings', () => {
  it('refuses a string of more than 1 MiB with 400 too-long naming the element, and writes nothing', async () => {
    const city = { resourceType: 'Patient', address: [{ city: 'a'.repeat(MiB + 1) }] };
    const issue = await expectRefused('Patient', city, 'too-long', 'Patient.address[0].city');
    expect(issue.diagnostics).toMatch(/at most 1 MiB \(1,048,576 bytes of UTF-8\): this one has 1,048,577/);
    // The same in a transaction: the element is named in its entry, and the other entry is not written either.
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', gender: 'other' } },
        { request: { method: 'POST', url: 'Patient' }, resource: city },
      ],
    };
    await expectRefused('', bundle, 'too-long', 'Bundle.entry[1].resource.address[0].city');
  });

  it('counts bytes of UTF-8, not characters: exactly 1 MiB is stored, one byte more is refused', async () => {
    for (const [character, bytes] of [['a', 1], ['é', 2], ['€', 3], ['😀', 4]] as const) {
      const exactly = character.repeat(Math.floor(MiB / bytes)) + 'a'.repeat(MiB % bytes);
      expect(Buffer.byteLength(exactly)).toBe(MiB);
      const stored = await expectStored('Patient', withNote(exactly));
      const read = (await (await node().request(`Patient/${stored.id}`)).json()) as Json;
      expect(read.extension[0].valueString).toBe(exactly);
      await expectRefused('Patient', withNote(`${exactly}a`), 'too-long', 'Patient.extension[0].valueString');
    }
    // 600,000 characters, under a million, but 1.2 MB.
    await expectRefused('Patient', withNote('é'.repeat(600_000)), 'too-long', 'Patient.extension[0].valueString');
  });
});

describe('elements', () => {
  // The Patient, its resourceType, the contact and its name: 4 elements before the given names.
  const withGivenNames = (count: number) => ({ resourceType: 'Patient', contact: [{ name: { given: Array.from({ length: count }, (_, index) => `g${index}`) } }] });

  it('stores a resource of 100,000 elements and refuses one more with 400 too-costly where the limit was crossed', async () => {
    await expectStored('Patient', withGivenNames(99_996));
    const issue = await expectRefused('Patient', withGivenNames(99_997), 'too-costly', 'Patient.contact[0].name.given[99996]');
    expect(issue.diagnostics).toMatch(/at most 100,000 elements/);
  });

  it('refuses a million given names and 300,000 identifiers, quickly', async () => {
    const started = performance.now();
    await expectRefused('Patient', { resourceType: 'Patient', name: [{ given: Array.from({ length: 1_000_000 }, (_, index) => `g${index}`) }] }, 'too-costly', 'Patient.name[0].given[99997]');
    await expectRefused('Patient', { resourceType: 'Patient', identifier: Array.from({ length: 300_000 }, (_, index) => ({ value: `id-${index}` })) }, 'too-costly', 'Patient.identifier[49999]');
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('inline binary data', () => {
  it('is bounded as a Binary is, not by the string limit: in a transaction Bundle and in an Attachment', async () => {
    const content = randomBytes(3 * MiB);
    const response = await post('', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Binary' }, resource: { resourceType: 'Binary', contentType: 'application/pdf', content: content.toString('base64') } },
        {
          request: { method: 'POST', url: 'DocumentReference' },
          resource: {
            resourceType: 'DocumentReference',
            status: 'current',
            type: { text: 'Compte rendu' },
            indexed: '2026-11-26T08:00:00Z',
            content: [{ attachment: { contentType: 'application/pdf', data: content.toString('base64') } }],
          },
        },
      ],
    });
    expect(response.status).toBe(200);
    const [binary, document] = ((await response.json()) as Json).entry.map((entry: Json) => entry.response);
    expect([binary.status, document.status]).toEqual(['201 Created', '201 Created']);
    const raw = await node().request(binary.location.split('/_history/')[0], { headers: { accept: 'application/pdf' } });
    expect(Buffer.from(await raw.arrayBuffer()).equals(content)).toBe(true);
  });

  it('goes to /fhir/Binary as FHIR JSON beyond the 32 MiB of other JSON bodies, streamed', async () => {
    const content = randomBytes(27 * MiB);
    const body = JSON.stringify({ resourceType: 'Binary', contentType: 'application/pdf', content: content.toString('base64') });
    expect(body.length).toBeGreaterThan(32 * MiB);
    const created = (await expectStored('Binary', body)) as Json;
    const raw = await node().request(`Binary/${created.id}`, { headers: { accept: 'application/pdf' } });
    expect(Buffer.from(await raw.arrayBuffer()).equals(content)).toBe(true);
  });
});

describe('JSON bodies', () => {
  it('take exactly 32 MiB, and answer 413 with an OperationOutcome one byte beyond, writing nothing', async () => {
    const padded = (bytes: number) => {
      const head = '{"resourceType":"Patient","gender":"other"';
      return `${head}${' '.repeat(bytes - head.length - 1)}}`;
    };
    expect(Buffer.byteLength(padded(32 * MiB))).toBe(32 * MiB);
    await expectStored('Patient', padded(32 * MiB));
    const before = versionCount();
    const response = await post('Patient', padded(32 * MiB + 1));
    expect(response.status).toBe(413);
    const outcome = (await response.json()) as Json;
    expect(outcome).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'too-long' }] });
    expect(outcome.issue[0].diagnostics).toMatch(/larger than the 32 MiB this endpoint accepts/);
    expect(versionCount()).toBe(before);
  });
});

describe('resources stored before the limits', () => {
  it('stay readable, searchable and in their history, and can be updated back within the limits', async () => {
    const id = 'stored-before-limits';
    // 2 MiB in one string and 120,003 elements: what a node took before the limits.
    const old = { resourceType: 'Patient', id, identifier: [{ system: 'urn:liaison:test', value: id }], extension: [{ url: 'urn:liaison:note', valueString: 'x'.repeat(2 * MiB) }, ...extensions(40_000)] };
    const stored = storeUnchecked(node().repository, old);

    const read = await node().request(`Patient/${id}`);
    expect(read.status).toBe(200);
    expect(await read.text()).toBe(stored.json);
    const found = (await (await node().request(`Patient?identifier=urn:liaison:test|${id}`)).json()) as Json;
    expect(found.entry.map((entry: Json) => entry.resource.id)).toEqual([id]);
    const history = (await (await node().request(`Patient/${id}/_history`)).json()) as Json;
    expect(history.entry.map((entry: Json) => entry.resource.meta.versionId)).toEqual([stored.versionId]);

    const updated = await node().request(`Patient/${id}`, { method: 'PUT', json: { resourceType: 'Patient', id, identifier: old.identifier, gender: 'other' } });
    expect(updated.status).toBe(200);
    expect((await node().request(`Patient/${id}/_history/${stored.versionId}`)).status).toBe(200);
  });
});

describe('the CapabilityStatement', () => {
  it('declares the limits to people and programs, and stays valid FHIR', async () => {
    const statement = (await (await fetch(`${node().fhir}/metadata`)).json()) as Json;
    const rest = statement.rest[0];
    const limits = rest.extension.find((extension: Json) => extension.url === 'http://liaison.health/fhir/StructureDefinition/input-limits');
    expect(Object.fromEntries(limits.extension.map((part: Json) => [part.url, part.valueUnsignedInt]))).toEqual({
      stringBytes: MiB,
      elements: 100_000,
      jsonBodyBytes: 32 * MiB,
      binaryBytes: 50 * MiB - 1,
    });
    expect(rest.documentation).toMatch(/1 MiB .* 100000 elements .* 32 MiB .* 50 MiB/s);
    expect(validateResource(statement)).toEqual([]);
  });
});
