import { describe, expect, it } from 'vitest';
import { useTestNode } from '../../helpers/node';

/** Bad requests get a clear OperationOutcome with the right status, never crash the node, and write nothing. */

type Json = Record<string, any>;

const node = useTestNode();

async function versionCount(): Promise<number> {
  return (node().db.prepare('SELECT count(*) AS n FROM resource_versions').get() as { n: number }).n;
}

async function expectOutcome(response: Response, status: number, pattern?: RegExp): Promise<Json> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  const body = (await response.json()) as Json;
  expect(body.resourceType).toBe('OperationOutcome');
  expect(body.issue.length).toBeGreaterThan(0);
  if (pattern) expect(body.issue.map((issue: Json) => issue.diagnostics).join(' ')).toMatch(pattern);
  return body;
}

const post = (body: string | Uint8Array, contentType = 'application/fhir+json', path = 'Patient') =>
  node().request(path, { method: 'POST', body, headers: { 'content-type': contentType } });

describe('malformed or misdirected bodies', () => {
  it('are refused with 400/415 and write nothing', async () => {
    const before = await versionCount();
    await expectOutcome(await post('{"resourceType": "Patient",'), 400, /not valid JSON/);
    await expectOutcome(await post(''), 400, /empty/);
    await expectOutcome(await post('   '), 400, /empty/);
    await expectOutcome(await post('[1,2]'), 400);
    await expectOutcome(await post('"Patient"'), 400);
    await expectOutcome(await post('null'), 400);
    await expectOutcome(await post(JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'x' } })), 400, /Observation/);
    await expectOutcome(await post(JSON.stringify({ name: [{ family: 'NoType' }] })), 400);
    await expectOutcome(await post('resourceType=Patient', 'text/plain'), 415);
    await expectOutcome(await post('<Patient xmlns="http://hl7.org/fhir">', 'application/fhir+xml'), 400, /not well-formed XML/);
    await expectOutcome(await node().request('Patient', { method: 'POST' }), 400);
    expect(await versionCount()).toBe(before);
  });

  it('points at the offending element for unknown elements, wrong types and impossible dates', async () => {
    const cases: Array<[Json, string]> = [
      [{ resourceType: 'Patient', colour: 'blue' }, 'Patient.colour'],
      [{ resourceType: 'Patient', active: 'yes' }, 'Patient.active'],
      [{ resourceType: 'Patient', birthDate: '1974-13-45' }, 'Patient.birthDate'],
      [{ resourceType: 'Patient', birthDate: '2017-02-29' }, 'Patient.birthDate'],
      [{ resourceType: 'Patient', name: { family: 'NotAnArray' } }, 'Patient.name'],
      [{ resourceType: 'Patient', name: [{ given: 'NotAnArray' }] }, 'Patient.name[0].given'],
      [{ resourceType: 'Patient', multipleBirthInteger: 1.5 }, 'Patient.multipleBirthInteger'],
    ];
    const before = await versionCount();
    for (const [resource, expression] of cases) {
      const outcome = await expectOutcome(await post(JSON.stringify(resource)), 400);
      expect(outcome.issue[0].expression, JSON.stringify(resource)).toEqual([expression]);
      expect(outcome.issue[0].location).toEqual([expression]);
    }
    expect(await versionCount()).toBe(before);
  });

  it('cannot pollute prototypes through __proto__ or constructor keys', async () => {
    const response = await post('{"resourceType":"Patient","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');
    await expectOutcome(response, 400);
    expect(({} as Json).polluted).toBeUndefined();
  });
});

/** An extension holding an extension… `depth` levels deep, as JSON text (JSON.stringify itself would overflow). */
function nestedExtension(depth: number): string {
  return '{"url":"urn:x","extension":['.repeat(depth) + '{"url":"urn:leaf","valueString":"deep"}' + ']}'.repeat(depth);
}

describe('oversized and deeply nested bodies', () => {
  it('a 60 MB JSON body answers 413 and the node stays up', async () => {
    const before = await versionCount();
    const huge = JSON.stringify({ resourceType: 'Patient', text: { status: 'generated', div: `<div>${'x'.repeat(60 * 1024 * 1024)}</div>` } });
    await expectOutcome(await post(huge), 413, /larger than/);
    expect(await versionCount()).toBe(before);
    expect((await fetch(`${node().url}/health`)).status).toBe(200);
  });

  it('a resource of 10,000 nested levels answers 400 quickly and the node stays up', async () => {
    const started = Date.now();
    const outcome = await expectOutcome(await post(`{"resourceType":"Patient","extension":[${nestedExtension(10_000)}]}`), 400);
    expect(outcome.issue[0].code).toBe('too-costly');
    expect(Date.now() - started).toBeLessThan(5000);
    const deepArray = `{"resourceType":"Patient","extension":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`;
    await expectOutcome(await post(deepArray), 400);
    expect((await fetch(`${node().url}/health`)).status).toBe(200);
  });

  it('a transaction nested 10,000 levels deep is refused without writing', async () => {
    const before = await versionCount();
    const bundle =
      '{"resourceType":"Bundle","type":"transaction","entry":[' +
      '{"fullUrl":"urn:uuid:5d5e8b8c-1c1a-4f57-9a55-0f4f5b8a2d11","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},' +
      `{"resource":{"resourceType":"Patient","extension":[${nestedExtension(10_000)}]},"request":{"method":"POST","url":"Patient"}}]}`;
    await expectOutcome(await post(bundle, 'application/fhir+json', ''), 400);
    expect(await versionCount()).toBe(before);
  });
});

describe('paths, parameters and headers', () => {
  it('answer 400/404 with an OperationOutcome, never a crash or another file', async () => {
    await expectOutcome(await node().request('Patient/..%2F..%2Fetc%2Fpasswd'), 400);
    await expectOutcome(await node().request('../../etc/passwd'), 404);
    await expectOutcome(await node().request('Patient/1/_history/1/extra'), 404);
    await expectOutcome(await node().request('Patient?_lastUpdated=gt2017-13-01'), 400, /_lastUpdated/);
    await expectOutcome(await node().request('Patient?_count=-1'), 400, /_count/);
    await expectOutcome(await node().request('Patient?_cursor=not-a-cursor'), 400, /cursor/);
    await expectOutcome(await node().request('Patient/x', { method: 'PUT', json: { resourceType: 'Patient', id: 'x' }, headers: { 'if-match': 'garbage' } }), 400, /If-Match/);
  });

  it('binds search values as SQL parameters (injection attempts only match literally)', async () => {
    await node().request('Patient', { method: 'POST', json: { resourceType: 'Patient', identifier: [{ value: 'safe' }] } });
    const response = await node().request(`Patient?identifier=${encodeURIComponent("x') OR 1=1 --")}`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as Json).entry).toBeUndefined();
    const byId = await node().request(`Patient?_id=${encodeURIComponent("' OR ''='")}`);
    expect(((await byId.json()) as Json).entry).toBeUndefined();
  });
});
