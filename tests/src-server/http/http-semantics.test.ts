import { describe, expect, it } from 'vitest';
import { useTestNode } from '../../helpers/node';

/**
 * HTTP as RFC 9110 and the FHIR RESTful API say: a 405 lists in `Allow` the methods the path does allow; an answer in
 * no format the request accepts is a 406 (not a 415, which is about the request's body); a body the node cannot
 * read is a 415. Every refusal is an OperationOutcome.
 */

type Json = Record<string, any>;

const node = useTestNode();

async function expectOutcome(response: Response, status: number): Promise<Json> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = JSON.parse(text) as Json;
  expect(body.resourceType).toBe('OperationOutcome');
  return body;
}

const allowOf = (response: Response) =>
  response.headers
    .get('allow')
    ?.split(',')
    .map((method) => method.trim())
    .sort();

describe('405 names the methods allowed in Allow', () => {
  it.each([
    ['DELETE', 'Patient/p1', ['GET', 'HEAD', 'PUT']],
    ['PATCH', 'Patient/p1', ['GET', 'HEAD', 'PUT']],
    ['DELETE', 'Patient', ['GET', 'HEAD', 'POST']],
    ['PUT', 'Patient', ['GET', 'HEAD', 'POST']],
    ['DELETE', 'Patient?identifier=x', ['GET', 'HEAD', 'POST', 'PUT']],
    ['POST', 'metadata', ['GET', 'HEAD']],
    ['DELETE', '_history', ['GET', 'HEAD']],
    ['POST', 'Patient/p1/_history/1', ['GET', 'HEAD']],
    ['POST', 'Practitioner', ['GET', 'HEAD']],
    ['PUT', 'Practitioner/p1', ['GET', 'HEAD']],
    ['PUT', 'Organization?identifier=x', ['GET', 'HEAD']],
    ['DELETE', 'Binary/b1', ['GET', 'HEAD', 'PUT']],
    ['POST', '$changes', ['GET', 'HEAD']],
    ['GET', 'CommunicationRequest/$send-to-mss', ['POST']],
    ['GET', '$content', ['POST']],
  ])('%s /fhir/%s → 405, Allow: %s', async (method, path, allowed) => {
    const response = await node().request(path, { method, ...(['POST', 'PUT', 'PATCH'].includes(method) ? { json: { resourceType: path.split(/[/?]/)[0] || 'Bundle' } } : {}) });
    await expectOutcome(response, 405);
    expect(allowOf(response)).toEqual(allowed);
  });

  it.each([
    ['DELETE', '/health', ['GET', 'HEAD']],
    ['GET', '/oauth/token', ['POST']],
    ['PUT', '/oauth/revoke', ['POST']],
  ])('outside /fhir too: %s %s → 405, Allow: %s', async (method, path, allowed) => {
    const response = await fetch(`${node().url}${path}`, { method });
    await expectOutcome(response, 405);
    expect(allowOf(response)).toEqual(allowed);
    await expectOutcome(await fetch(`${node().url}/nothing/here`, { method }), 404);
  });

  it('a method the Allow of a 405 lists is indeed allowed there', async () => {
    const refused = await node().request('Practitioner', { method: 'POST', json: { resourceType: 'Practitioner' } });
    await expectOutcome(refused, 405);
    for (const method of allowOf(refused)!) expect((await node().request('Practitioner', { method })).status).toBe(200);
  });
});

describe('406 for an answer in no format the request accepts', () => {
  it.each(['text/csv', 'text/html', 'application/pdf, text/plain;q=0.5', 'application/fhir+json;q=0, text/csv', 'image/png'])('Accept: %s → 406', async (accept) => {
    await expectOutcome(await node().request('Patient', { headers: { accept } }), 406);
    await expectOutcome(await node().request('metadata', { headers: { accept } }), 406);
  });

  it.each(['csv', 'text/csv', 'turtle'])('_format=%s → 406', async (format) => {
    await expectOutcome(await node().request(`Patient?_format=${encodeURIComponent(format)}`), 406);
  });

  it.each([
    '*/*',
    'application/json',
    'application/fhir+json',
    'application/json+fhir',
    'application/*',
    'text/csv;q=0.9, application/fhir+json;q=0.1',
    'text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8',
    'application/fhir+json; fhirVersion=3.0',
  ])('Accept: %s is served FHIR JSON', async (accept) => {
    const response = await node().request('Patient', { headers: { accept } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  });

  it('_format=json wins over an Accept the node cannot serve', async () => {
    expect((await node().request('Patient?_format=json', { headers: { accept: 'text/csv' } })).status).toBe(200);
    expect((await node().request('Patient?_format=application/fhir%2Bjson', { headers: { accept: 'text/csv' } })).status).toBe(200);
  });

  it("a Binary's read still answers the document in its own type, whatever else Accept lists", async () => {
    const created = await node().request('Binary', { method: 'POST', body: 'bonjour', headers: { 'content-type': 'text/plain' } });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as Json;
    const raw = await node().request(`Binary/${id}`, { headers: { accept: 'text/plain' } });
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe('bonjour');
    const fhir = await node().request(`Binary/${id}`, { headers: { accept: 'application/fhir+json' } });
    expect(((await fhir.json()) as Json).resourceType).toBe('Binary');
  });
});

describe('415 for a body the node cannot read', () => {
  it.each([
    ['text/plain', '{"resourceType":"Patient"}'],
    ['text/csv', 'family\nMartin'],
    ['application/x-www-form-urlencoded', 'resourceType=Patient'],
    ['multipart/form-data; boundary=x', '--x--'],
    ['application/fhir+json; charset=latin1', '{"resourceType":"Patient"}'],
  ])('POST /fhir/Patient with Content-Type %s → 415 and nothing written', async (contentType, body) => {
    const before = ((await (await node().request('Patient?_summary=count')).json()) as Json).total;
    await expectOutcome(await node().request('Patient', { method: 'POST', body, headers: { 'content-type': contentType } }), 415);
    expect(((await (await node().request('Patient?_summary=count')).json()) as Json).total).toBe(before);
  });

  it('a form is read as search parameters only: as a Bundle or an update it is 415', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    await expectOutcome(await node().request('', { method: 'POST', body: 'resourceType=Bundle&type=batch', headers: form }), 415);
    await expectOutcome(await node().request('Patient/p1', { method: 'PUT', body: 'resourceType=Patient&id=p1', headers: form }), 415);
    expect((await node().request('Patient/_search', { method: 'POST', body: 'family=Martin', headers: form })).status).toBe(200);
  });
});
