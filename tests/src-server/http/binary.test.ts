import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BINARY_CONTENT_URL } from '../../../src-server/fhir/binary-content';
import { tempDir, useTestNode } from '../../helpers/node';
import { killAllChildren, serve } from '../../helpers/child-node';

/** Binary content streamed to and from content-addressed files, limited to 50 MiB while it arrives. */

type Json = Record<string, any>;
const MiB = 1024 * 1024;

const node = useTestNode();
afterAll(() => killAllChildren());

/** A raw HTTP request whose answer is read even when the server answers before the whole body was sent. */
function send(url: string, method: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    // A refused upload closes the connection while the body is still going out.
    request.on('error', (error: NodeJS.ErrnoException) => (['EPIPE', 'ECONNRESET'].includes(error.code ?? '') ? undefined : reject(error)));
    request.end(body);
  });
}

const auth = () => ({ authorization: `Bearer ${node().token}` });
/** The content files in the binary store (named by 64 hex digits; its marker files aside). */
const storedFiles = (dataDir: string) =>
  readdirSync(join(dataDir, 'binaries'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /^[0-9a-f]{64}$/.test(entry.name))
    .map((entry) => entry.name);

describe('Binary upload as the document itself', () => {
  it('stores the content in a file and reads it back byte for byte, raw or as FHIR JSON', async () => {
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(3 * MiB + 1)]);
    const created = await send(`${node().fhir}/Binary`, 'POST', { ...auth(), 'content-type': 'application/pdf' }, pdf);
    expect(created.status).toBe(201);
    const binary = JSON.parse(created.body.toString()) as Json;
    expect(binary).toMatchObject({ resourceType: 'Binary', contentType: 'application/pdf' });
    expect(binary._content.extension[0].url).toBe(BINARY_CONTENT_URL);
    expect(created.headers.location).toMatch(new RegExp(`/Binary/${binary.id}/_history/`));

    const raw = await send(`${node().fhir}/Binary/${binary.id}`, 'GET', auth());
    expect(raw.status).toBe(200);
    expect(raw.headers['content-type']).toBe('application/pdf');
    expect(raw.headers['content-security-policy']).toContain('sandbox');
    expect(raw.body.equals(pdf)).toBe(true);

    const json = await send(`${node().fhir}/Binary/${binary.id}`, 'GET', { ...auth(), accept: 'application/fhir+json' });
    const resource = JSON.parse(json.body.toString()) as Json;
    expect(resource.content).toBe(pdf.toString('base64'));
    expect(resource._content).toBeUndefined();
    expect(resource.meta.versionId).toBe(binary.meta.versionId);

    // One file per content, named by a keyed hash of its SHA-256 (not the SHA-256 itself, which would confirm a known
    // document is here); nothing left in the temporary folder.
    const hash = binary._content.extension[0].valueString.split(':')[1] as string;
    expect(storedFiles(node().dataDir)).toContain(basename(node().binaries.fileOf(hash)!));
    expect(storedFiles(node().dataDir)).not.toContain(hash);
    expect(readdirSync(join(node().dataDir, 'binaries', 'tmp'))).toEqual([]);
  });

  it('needs BINARY_CREATE before a byte is stored', async () => {
    const admin = await fetch(`${node().url}/admin/clients`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'reader', scopes: ['BINARY_READ'] }) });
    const { client_id, client_secret } = (await admin.json()) as Json;
    const token = ((await (await fetch(`${node().url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret }) })).json()) as Json).access_token;
    const before = storedFiles(node().dataDir).length;
    const refused = await send(`${node().fhir}/Binary`, 'POST', { authorization: `Bearer ${token}`, 'content-type': 'application/pdf' }, randomBytes(MiB));
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body.toString()).issue[0].diagnostics).toContain('BINARY_CREATE');
    expect(storedFiles(node().dataDir).length).toBe(before);
  });
});

describe('Binary upload as FHIR JSON', () => {
  it('decodes base64 content into the store as it arrives', async () => {
    const content = randomBytes(2 * MiB + 2);
    const created = await send(`${node().fhir}/Binary`, 'POST', { ...auth(), 'content-type': 'application/fhir+json' }, Buffer.from(JSON.stringify({ resourceType: 'Binary', contentType: 'image/png', content: content.toString('base64') })));
    expect(created.status).toBe(201);
    const binary = JSON.parse(created.body.toString()) as Json;
    const raw = await send(`${node().fhir}/Binary/${binary.id}`, 'GET', auth());
    expect(raw.headers['content-type']).toBe('image/png');
    expect(raw.body.equals(content)).toBe(true);
    // PUT with the id replaces the content; the previous version keeps its file.
    const replaced = await send(`${node().fhir}/Binary/${binary.id}`, 'PUT', { ...auth(), 'content-type': 'text/plain' }, Buffer.from('bonjour'));
    expect(replaced.status).toBe(200);
    expect((await send(`${node().fhir}/Binary/${binary.id}`, 'GET', auth())).body.toString()).toBe('bonjour');
  });

  it('refuses bad base64, a forged content extension and JSON that is not a Binary, storing nothing', async () => {
    const before = storedFiles(node().dataDir).length;
    const post = (body: string) => send(`${node().fhir}/Binary`, 'POST', { ...auth(), 'content-type': 'application/fhir+json' }, Buffer.from(body));
    for (const body of [
      JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain', content: 'not base64!' }),
      JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain', content: 'YWJj=' }),
      JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain', _content: { extension: [{ url: BINARY_CONTENT_URL, valueString: `sha256:${'0'.repeat(64)}:1` }] } }),
      JSON.stringify({ resourceType: 'Patient', content: 'YWJj' }),
      '{"resourceType":"Binary","content":"YWJj"',
    ]) {
      const answer = await post(body);
      expect(answer.status, body).toBe(400);
      expect(JSON.parse(answer.body.toString()).resourceType).toBe('OperationOutcome');
    }
    // Through the general FHIR route too (e.g. a Bundle entry): only the node names files.
    const forged = await node().request('Binary/forged', { method: 'PUT', json: { resourceType: 'Binary', id: 'forged', contentType: 'text/plain', _content: { extension: [{ url: BINARY_CONTENT_URL, valueString: `sha256:${'0'.repeat(64)}:1` }] } } });
    expect(forged.status).toBe(400);
    expect(storedFiles(node().dataDir).length).toBe(before);
  });
});

describe('the 50 MiB limit, on a node in its own process', () => {
  it('refuses 50 MiB while it streams in; stores 49 MiB byte-identical with peak memory under 3x its size', async () => {
    const dataDir = tempDir();
    const served = await serve(dataDir);
    const headers = { authorization: `Bearer ${served.token}`, 'content-type': 'application/pdf' };
    const peakMemory = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${served.child.pid}/status`, 'utf8'))![1]) * 1024;
    await send(`${served.fhir}/metadata`, 'GET', {});
    const baseline = peakMemory();

    const tooLarge = await send(`${served.fhir}/Binary`, 'POST', headers, randomBytes(50 * MiB));
    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.body.toString()).issue[0].code).toBe('too-long');
    const asJson = await send(`${served.fhir}/Binary`, 'POST', { ...headers, 'content-type': 'application/fhir+json' }, Buffer.from(`{"resourceType":"Binary","contentType":"text/plain","content":"${Buffer.alloc(50 * MiB).toString('base64')}"}`));
    expect(asJson.status).toBe(413);
    const search = JSON.parse((await send(`${served.fhir}/Binary?_total=accurate`, 'GET', { authorization: headers.authorization })).body.toString()) as Json;
    expect(search.total).toBe(0);
    expect(existsSync(join(dataDir, 'binaries')) ? storedFiles(dataDir) : []).toEqual([]);

    const document = randomBytes(49 * MiB);
    const created = await send(`${served.fhir}/Binary`, 'POST', headers, document);
    expect(created.status).toBe(201);
    const { id } = JSON.parse(created.body.toString()) as Json;
    const readBack = await send(`${served.fhir}/Binary/${id}`, 'GET', { authorization: headers.authorization });
    expect(readBack.body.equals(document)).toBe(true);
    expect(peakMemory() - baseline).toBeLessThan(3 * document.length);
    served.child.kill('SIGTERM');
    await served.exited;
  }, 60_000);
});
