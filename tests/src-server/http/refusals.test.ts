import { connect } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { fhirFetch, startTestNode, useTestNode } from '../../helpers/node';
import { uploadUnderWay } from '../../helpers/raw-http';
import { clientToken } from '../../helpers/users';

/**
 * What the node refuses, and how: every refusal is an OperationOutcome, those of Node and Fastify made before a route
 * runs included; compressed bodies are inflated within the same limits (or refused), never stored compressed; bodies
 * in another charset than UTF-8 are refused; a lower-case `bearer` is a bearer token.
 */

type Json = Record<string, any>;

const node = useTestNode();

async function expectOutcome(response: Response, status: number, pattern?: RegExp): Promise<Json> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  const body = JSON.parse(text) as Json;
  expect(body.resourceType).toBe('OperationOutcome');
  if (pattern) expect(body.issue[0].diagnostics).toMatch(pattern);
  return body;
}

/** Sends raw bytes on a new connection; resolves with what came back once the node closes it. */
function exchange(port: number, ...parts: Array<string | Buffer>): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('close', () => resolve(received));
    socket.on('error', () => undefined);
    for (const part of parts) socket.write(part);
  });
}

/** Resolves once the node no longer accepts connections on `port`: it is stopping. */
async function refusesConnections(port: number): Promise<void> {
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const probe = connect(port, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (!accepted) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A raw HTTP answer: its status, headers (lower case) and body. */
function parseAnswer(raw: string): { status: number; headers: Record<string, string>; body: Json } {
  const [head, ...rest] = raw.split('\r\n\r\n');
  const [statusLine, ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n\r\n')) as Json };
}

const port = () => Number(new URL(node().url).port);
const versionCount = () => (node().db.prepare('SELECT count(*) AS n FROM resource_versions').get() as { n: number }).n;
const binaryVersions = () => (node().db.prepare("SELECT count(*) AS n FROM resource_versions WHERE resource_type = 'Binary'").get() as { n: number }).n;

describe('every refusal is an OperationOutcome', () => {
  it('headers or a URL larger than Node reads: 431', async () => {
    for (const request of [
      `GET /fhir/Patient HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${node().token}\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`,
      `GET /fhir/Patient?name=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    ]) {
      const answer = parseAnswer(await exchange(port(), request));
      expect(answer.status).toBe(431);
      expect(answer.headers['content-type']).toMatch(/^application\/fhir\+json/);
      expect(answer.body.resourceType).toBe('OperationOutcome');
      expect(answer.body.issue[0].diagnostics).toMatch(/_search/);
    }
  });

  it('bytes that are not HTTP, and a URL Fastify cannot decode: 400', async () => {
    const garbage = parseAnswer(await exchange(port(), 'HELLO THERE\r\n\r\n'));
    expect(garbage.status).toBe(400);
    expect(garbage.body.resourceType).toBe('OperationOutcome');
    await expectOutcome(await node().request('Patient/%zz'), 400, /not a valid url/);
    await expectOutcome(await fetch(`${node().url}/admin/clients/%zz`), 400);
  });

  it('a path parameter longer than Fastify routes: 414', async () => {
    await expectOutcome(await fetch(`${node().url}/admin/directory/imports/${'a'.repeat(150)}`, { headers: { authorization: `Bearer ${node().token}` } }), 414);
  });

  it('a refusal keeps the connection open when no body is left unread', async () => {
    const answers = await exchange(
      port(),
      `GET /fhir/Patient/nobody HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${node().token}\r\n\r\n`,
      `GET /fhir/Patient/nobody HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${node().token}\r\nConnection: close\r\n\r\n`,
    );
    expect(answers.match(/HTTP\/1\.1 404/g)).toHaveLength(2);
  });

  it('404 outside /fhir, 405, 413, 415, 401 and 429', async () => {
    await expectOutcome(await fetch(`${node().url}/nothing/here`), 404);
    await expectOutcome(await fetch(`${node().url}/health`, { method: 'DELETE' }), 405);
    await expectOutcome(await node().request('Patient/p1', { method: 'DELETE' }), 405);
    await expectOutcome(await node().request('Patient/p1', { method: 'PATCH', body: '[]', headers: { 'content-type': 'application/json-patch+json' } }), 415);
    await expectOutcome(await node().request('Patient', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }), 415);
    await expectOutcome(await fetch(`${node().fhir}/Patient`), 401);
    // A body announced larger than the limit is refused before it is read, and the connection is not reused.
    const tooLarge = parseAnswer(await exchange(port(), `POST /fhir/Patient HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${node().token}\r\nContent-Type: application/fhir+json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n{`));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.connection).toBe('close');
    expect(tooLarge.body.resourceType).toBe('OperationOutcome');
    const limited = await clientToken(node(), { scopes: ['PATIENT_SEARCH'], rateLimit: 1 });
    const answers = await Promise.all([1, 2, 3].map(() => fhirFetch(node().fhir, limited, 'Patient')));
    const throttled = answers.find((answer) => answer.status === 429)!;
    expect(throttled.headers.get('retry-after')).not.toBeNull();
    await expectOutcome(throttled, 429);
  });

  it('a stopping node answers 503 to requests still arriving on open connections', async () => {
    const stopping = await startTestNode();
    const port = Number(new URL(stopping.url).port);
    // An upload keeps the connection busy while the node stops; the next request on it comes after.
    const upload = await uploadUnderWay(port, `POST /fhir/Binary HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${stopping.token}\r\nContent-Type: application/pdf\r\nContent-Length: 10\r\n`, '12345');
    const stopped = stopping.stop();
    await refusesConnections(port);
    upload.socket.write(`67890GET /fhir/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await upload.closed;
    await stopped;
    const answers = upload.received().split(/(?=HTTP\/1\.1 )/);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 100/);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 201/);
    const refused = parseAnswer(answers[2]);
    expect(refused.status).toBe(503);
    expect(refused.body.resourceType).toBe('OperationOutcome');
  });
});

describe('compressed bodies', () => {
  const patient = { resourceType: 'Patient', name: [{ family: 'Compressé' }] };
  const pdf = Buffer.from(`%PDF-1.4 ${'lettre de liaison '.repeat(200)}`);

  it('are inflated: JSON resources, documents and FHIR JSON Binaries', async () => {
    for (const [encoding, body] of [['gzip', gzipSync(JSON.stringify(patient))], ['deflate', deflateSync(JSON.stringify(patient))]] as const) {
      const created = await node().request('Patient', { method: 'POST', body, headers: { 'content-type': 'application/fhir+json', 'content-encoding': encoding } });
      expect(created.status, await created.clone().text()).toBe(201);
      expect(((await created.json()) as Json).name[0].family).toBe('Compressé');
    }
    const document = await node().request('Binary', { method: 'POST', body: gzipSync(pdf), headers: { 'content-type': 'application/pdf', 'content-encoding': 'gzip' } });
    expect(document.status).toBe(201);
    const stored = await node().request(`Binary/${((await document.json()) as Json).id}`, { headers: { accept: 'application/pdf' } });
    expect(Buffer.from(await stored.arrayBuffer()).equals(pdf)).toBe(true);
    const json = JSON.stringify({ resourceType: 'Binary', contentType: 'application/pdf', content: pdf.toString('base64') });
    const binary = await node().request('Binary', { method: 'POST', body: gzipSync(json), headers: { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' } });
    expect(binary.status).toBe(201);
    const content = await node().request(`Binary/${((await binary.json()) as Json).id}`, { headers: { accept: 'application/pdf' } });
    expect(Buffer.from(await content.arrayBuffer()).equals(pdf)).toBe(true);
  });

  it('are cut at the limit as they inflate: a zip bomb answers 413 and stores nothing', async () => {
    const versions = versionCount();
    const binaries = binaryVersions();
    // 40 MiB of spaces in a JSON resource (the limit is 32 MiB), 56 MiB of zeros as a document (50 MiB): some 100 KiB
    // once compressed.
    const fast = { level: 1 };
    const jsonBomb = gzipSync(Buffer.concat([Buffer.from('{"resourceType":"Patient",'), Buffer.alloc(40 * 1024 * 1024, ' '), Buffer.from('"active":true}')]), fast);
    const documentBomb = gzipSync(Buffer.alloc(56 * 1024 * 1024), fast);
    expect(jsonBomb.length + documentBomb.length).toBeLessThan(1024 * 1024);
    const started = Date.now();
    await expectOutcome(await node().request('Patient', { method: 'POST', body: jsonBomb, headers: { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' } }), 413, /32 MiB/);
    await expectOutcome(await node().request('Binary', { method: 'POST', body: documentBomb, headers: { 'content-type': 'application/pdf', 'content-encoding': 'gzip' } }), 413, /50 MiB/);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(versionCount()).toBe(versions);
    expect(binaryVersions()).toBe(binaries);
  });

  it('in an encoding the node does not inflate, or corrupt, are refused', async () => {
    const versions = versionCount();
    await expectOutcome(await node().request('Binary', { method: 'POST', body: pdf, headers: { 'content-type': 'application/pdf', 'content-encoding': 'br' } }), 415, /br/);
    await expectOutcome(await node().request('Patient', { method: 'POST', body: JSON.stringify(patient), headers: { 'content-type': 'application/fhir+json', 'content-encoding': 'compress' } }), 415);
    await expectOutcome(await node().request('Patient', { method: 'POST', body: JSON.stringify(patient), headers: { 'content-type': 'application/fhir+json', 'content-encoding': 'gzip' } }), 400, /gzip/);
    await expectOutcome(await node().request('Binary', { method: 'POST', body: pdf, headers: { 'content-type': 'application/pdf', 'content-encoding': 'gzip' } }), 400, /gzip/);
    expect(versionCount()).toBe(versions);
  });
});

describe('charsets', () => {
  it('JSON and forms are UTF-8: another declared charset is refused with 415', async () => {
    const versions = versionCount();
    const latin1 = Buffer.from(JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Hélène' }] }), 'latin1');
    await expectOutcome(await node().request('Patient', { method: 'POST', body: latin1, headers: { 'content-type': 'application/fhir+json; charset=latin1' } }), 415, /UTF-8/);
    await expectOutcome(await node().request('Patient', { method: 'POST', body: latin1, headers: { 'content-type': 'application/json;charset="ISO-8859-1"' } }), 415);
    await expectOutcome(await node().request('Patient/_search', { method: 'POST', body: 'name=h%E9l%E8ne', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=windows-1252' } }), 415);
    expect(versionCount()).toBe(versions);
    for (const type of ['application/fhir+json; charset=UTF-8', 'application/fhir+json;charset=utf-8', 'application/fhir+json']) {
      const created = await node().request('Patient', { method: 'POST', body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Hélène' }] }), headers: { 'content-type': type } });
      expect(created.status, type).toBe(201);
      expect(((await created.json()) as Json).name[0].family).toBe('Hélène');
    }
    // A document keeps its own charset: it is stored as it is.
    const text = await node().request('Binary', { method: 'POST', body: Buffer.from('Hélène', 'latin1'), headers: { 'content-type': 'text/plain; charset=iso-8859-1' } });
    expect(text.status).toBe(201);
  });
});

describe('the Authorization header', () => {
  it('takes the bearer scheme in any case (RFC 7235)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const answer = await fetch(`${node().fhir}/Patient?_count=1`, { headers: { authorization: `${scheme} ${node().token}` } });
      expect(answer.status, scheme).toBe(200);
    }
    await expectOutcome(await fetch(`${node().fhir}/Patient`, { headers: { authorization: `Bearer${node().token}` } }), 401);
  });
});

describe('contained resources', () => {
  it('may not contain resources themselves (dom-2)', async () => {
    const versions = versionCount();
    const organization = { resourceType: 'Organization', id: 'org1', name: 'Cabinet' };
    const nested = { resourceType: 'Patient', contained: [{ ...organization, contained: [{ resourceType: 'Organization', id: 'org2', name: 'Caché' }] }], managingOrganization: { reference: '#org1' } };
    const refused = await expectOutcome(await node().request('Patient', { method: 'POST', json: nested }), 400, /dom-2/);
    expect(refused.issue[0].expression).toEqual(['Patient.contained[0].contained']);
    expect(versionCount()).toBe(versions);
    expect((await node().request('Patient', { method: 'POST', json: { ...nested, contained: [organization] } })).status).toBe(201);
  });
});

describe('Binary', () => {
  it('GET /fhir/Binary/ is the type search, not an empty document', async () => {
    const answer = await node().request('Binary/', { headers: { accept: '*/*' } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    const bundle = (await answer.json()) as Json;
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.type).toBe('searchset');
  });

  it('an upload its client abandons is audited as such (499), not as a failure of the node', async () => {
    const since = new Date().toISOString();
    for (const type of ['application/pdf', 'application/fhir+json']) {
      const head = `POST /fhir/Binary HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${node().token}\r\nContent-Type: ${type}\r\nContent-Length: 1000000\r\n`;
      const upload = await uploadUnderWay(port(), head, type === 'application/pdf' ? '%PDF-1.4 début' : '{"resourceType":"Binary","contentType":"application/pdf","content":"JVBERi0xLjQg');
      upload.socket.destroy();
    }
    const uploads = async () => {
      const audit = (await (await fetch(`${node().url}/admin/audit?since=${since}`, { headers: { authorization: `Bearer ${node().token}` } })).json()) as Json;
      return audit.events.filter((event: Json) => event.action === 'POST /fhir/Binary').map((event: Json) => event.status);
    };
    await vi.waitFor(async () => expect(await uploads()).toHaveLength(2), { timeout: 15_000, interval: 50 });
    expect(await uploads()).toEqual([499, 499]);
  });
});
