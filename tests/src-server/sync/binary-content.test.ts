import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BINARY_FOLDER } from '../../../src-server/node';
import { fhirFetch, type TestNode } from '../../helpers/node';
import { samplePdf } from '../../helpers/pdf';
import { connect, eventually, peerClient, startSyncNodes, tokenFor } from '../../helpers/sync-nodes';

/**
 * Binary content travels with sync (docs/sync.md, "Binary content"): a PDF posted on one node (Binary, then the
 * DocumentReference that makes it visible) is read with the same bytes on its peer, pulled (fetched from the peer
 * after the page is stored) and pushed (uploaded by the sender after `$replicate`). Bytes that are not the ones the
 * Binary names are refused and leave no file; a peer reads only the content of Binaries within its reach.
 */

type Json = Record<string, any>;

/** `pulling` has `source` as its office peer: it pulls from it and pushes to it; `source` has no peer. */
let source: TestNode;
let pulling: TestNode;

beforeAll(async () => {
  [source, pulling] = await startSyncNodes(2);
  for (const id of ['dr-one', 'dr-two']) source.repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family: id }] });
  connect(pulling, source);
});
afterAll(async () => {
  await Promise.all([source?.stop(), pulling?.stop()]);
});

/** A patient of Dr One, a PDF and the DocumentReference pointing at it, posted through the API of `node`. */
async function postDocument(node: TestNode, text: string): Promise<{ binary: string; version: string; pdf: Buffer; hash: string }> {
  const patient = await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: text }], generalPractitioner: [{ reference: 'Practitioner/dr-one' }] } });
  expect(patient.status).toBe(201);
  const patientId = ((await patient.json()) as Json).id as string;
  const pdf = samplePdf(text);
  const binary = await node.request('Binary', { method: 'POST', body: pdf, headers: { 'content-type': 'application/pdf' } });
  expect(binary.status, await binary.clone().text()).toBe(201);
  const created = (await binary.json()) as Json;
  const reference = await node.request('DocumentReference', {
    method: 'POST',
    json: {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
      subject: { reference: `Patient/${patientId}` },
      indexed: '2026-11-26T09:30:00Z',
      content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${created.id}` } }],
    },
  });
  expect(reference.status, await reference.clone().text()).toBe(201);
  return { binary: created.id, version: created.meta.versionId, pdf, hash: createHash('sha256').update(pdf).digest('hex') };
}

async function readRaw(node: TestNode, binary: string, token = node.token): Promise<Response> {
  return fhirFetch(node.fhir, token, `Binary/${binary}`, { headers: { accept: 'application/pdf' } });
}

function awaited(node: TestNode): Array<{ hash: string; last_error: string | null; attempts: number }> {
  return node.db.prepare('SELECT hash, last_error, attempts FROM sync_content_wanted').all() as Array<{ hash: string; last_error: string | null; attempts: number }>;
}

function holds(node: TestNode, hash: string): boolean {
  return node.binaries.has(hash);
}

function leftovers(node: TestNode): string[] {
  return readdirSync(join(node.dataDir, BINARY_FOLDER, 'tmp'));
}

async function synced(node: TestNode, binary: string): Promise<void> {
  await eventually(() => node.repository.exists('Binary', binary) && awaited(node).length === 0, `Binary/${binary} and its content are on the other node`);
}

describe('Binary content through sync', () => {
  it('pull: a PDF posted on a node is read with the same bytes on the peer that pulls it', async () => {
    const { binary, pdf, hash } = await postDocument(source, 'Pulled letter');
    await synced(pulling, binary);
    const response = await readRaw(pulling, binary);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(pdf);
    expect(holds(pulling, hash)).toBe(true);
    // The FHIR JSON form too: the content in base64.
    const json = (await (await pulling.request(`Binary/${binary}`)).json()) as Json;
    expect(Buffer.from(json.content, 'base64')).toEqual(pdf);
  });

  it('push: a PDF posted on the pulling node is uploaded to the peer it pushes to, which has no way to call it', async () => {
    const { binary, pdf, hash } = await postDocument(pulling, 'Pushed letter');
    await synced(source, binary);
    const response = await readRaw(source, binary);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(pdf);
    expect(holds(source, hash)).toBe(true);
    // Nothing left owed once the peer has it.
    await eventually(() => (pulling.db.prepare('SELECT count(*) FROM sync_content_outbox').pluck().get() as number) === 0, 'the sender owes nothing');
  });

  it('refuses tampered content (wrong hash): no file is kept, reads answer 503 with Retry-After, and it is fetched again once right', async () => {
    // The source's file is, under its key, other bytes of the same size: the bytes it serves are not the ones its
    // Binary names (a peer running other code could send anything). Placed before the upload, which keeps the file
    // already there, so that the pulling node never sees the right bytes first.
    const bytes = samplePdf('Tampered letter');
    const hash = createHash('sha256').update(bytes).digest('hex');
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 10] ^= 0xff;
    const stored = async (content: Buffer) => {
      const incoming = await source.binaries.incoming();
      await incoming.push(content);
      await incoming.complete();
      return (await incoming.store()).hash;
    };
    const file = source.binaries.fileOf(hash)!;
    await stored(bytes);
    const genuine = readFileSync(file);
    renameSync(source.binaries.fileOf(await stored(tampered))!, file);
    const posted = await source.request('Binary', { method: 'POST', body: bytes, headers: { 'content-type': 'application/pdf' } });
    const binary = ((await posted.json()) as Json).id as string;

    await eventually(() => awaited(pulling).some((row) => row.hash === hash && row.attempts > 0), 'the pulling node tried and refused the content');
    const row = awaited(pulling).find((candidate) => candidate.hash === hash)!;
    expect(row.last_error).toMatch(/is not sha256:/);
    expect(holds(pulling, hash)).toBe(false);
    expect(leftovers(pulling)).toEqual([]);
    const waiting = await pulling.request(`Binary/${binary}`);
    expect(waiting.status).toBe(503);
    expect(waiting.headers.get('retry-after')).toBe('5');
    expect(((await waiting.json()) as Json).issue[0].diagnostics).toMatch(/on its way/);

    // An upload of the wrong bytes is refused the same way; an upload of content nobody awaits is a 404.
    const upload = (body: Buffer, uploadHash = hash) =>
      pulling.request(`$content?hash=${uploadHash}`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    const wrong = await upload(tampered);
    expect(wrong.status).toBe(422);
    expect(holds(pulling, hash)).toBe(false);
    expect(leftovers(pulling)).toEqual([]);
    const longer = await upload(Buffer.concat([bytes, Buffer.from('more')]));
    expect(longer.status).toBe(422);
    expect(leftovers(pulling)).toEqual([]);
    expect((await upload(bytes, 'a'.repeat(64))).status).toBe(404);
    expect((await upload(bytes, '../../etc/passwd')).status).toBe(400);

    // The source's file repaired: the next attempt (backing off) stores it.
    writeFileSync(file, genuine);
    await eventually(() => holds(pulling, hash) && !awaited(pulling).some((candidate) => candidate.hash === hash), 'the content is fetched again', 20_000);
    expect(Buffer.from(await (await readRaw(pulling, binary)).arrayBuffer())).toEqual(bytes);
  });

  it('gives content only to a peer that may see the Binary: SYNC scope, type scopes and reach', async () => {
    const { binary, version, pdf, hash } = await postDocument(source, 'Letter about a patient of Dr One');
    const scopes = ['SYNC', 'PATIENT_READ', 'DOCUMENTREFERENCE_READ', 'BINARY_READ', 'BINARY_CREATE'];
    const drTwo = await tokenFor(source, await peerClient(source, { scopes, practitionerId: 'dr-two' }));
    const drOne = await tokenFor(source, await peerClient(source, { scopes, practitionerId: 'dr-one' }));
    const fetchAs = (token: string) => fhirFetch(source.fhir, token, `Binary/${binary}/_history/${version}`, { headers: { accept: 'application/octet-stream' } });

    const refused = await fetchAs(drTwo);
    expect([403, 404]).toContain(refused.status);
    expect(Buffer.from(await refused.arrayBuffer()).includes(pdf.subarray(0, 200))).toBe(false);
    // Nor does its $changes name the Binary.
    const changes = (await (await fhirFetch(source.fhir, drTwo, '$changes?_count=1000')).json()) as Json;
    expect((changes.entry ?? []).some((entry: Json) => entry.resource.id === binary)).toBe(false);

    const allowed = await fetchAs(drOne);
    expect(allowed.status).toBe(200);
    expect(Buffer.from(await allowed.arrayBuffer())).toEqual(pdf);

    // Uploads need the SYNC scope.
    const noSync = await tokenFor(source, await peerClient(source, { scopes: ['BINARY_CREATE'] }));
    const upload = await fhirFetch(source.fhir, noSync, `$content?hash=${hash}`, { method: 'POST', body: pdf, headers: { 'content-type': 'application/octet-stream' } });
    expect(upload.status).toBe(403);
  });
});
