import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BINARY_FOLDER } from '../../../src-server/node';
import { CHUNK_BYTES, HEADER_BYTES } from '../../../src-server/sealed-chunks';
import { ChangeLog } from '../../../src-server/store/change-log';
import { SNAPSHOT_FOLDER } from '../../../src-server/text/text-index';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';
import { samplePdf } from '../../helpers/pdf';

type Json = Record<string, any>;

const PATIENT_NAME = 'Quillebeuf-Zarathoustra';

/** Every file under `folder`, with its bytes. */
function filesUnder(folder: string): Array<{ path: string; bytes: Buffer }> {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => ({ path: join(entry.parentPath, entry.name), bytes: readFileSync(join(entry.parentPath, entry.name)) }));
}

async function postPdf(node: TestNode, pdf: Buffer): Promise<{ id: string; hash: string }> {
  const posted = await node.request('Binary', { method: 'POST', body: pdf, headers: { 'content-type': 'application/pdf' } });
  expect(posted.status).toBe(201);
  return { id: ((await posted.json()) as Json).id, hash: createHash('sha256').update(pdf).digest('hex') };
}

const readPdf = (node: TestNode, id: string) => node.request(`Binary/${id}`, { headers: { accept: 'application/pdf' } });

describe('documents and the text index at rest', () => {
  it('keeps no patient name, document byte or document hash readable under binaries/ and text-index/', async () => {
    const dataDir = tempDir();
    const node = await startTestNode({ dataDir });
    // A document naming the patient, with bytes found nowhere else.
    const marker = randomBytes(48).toString('hex');
    const pdf = samplePdf(`Compte rendu de ${PATIENT_NAME} ${marker}`);
    const { id, hash } = await postPdf(node, pdf);
    const patient = await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: PATIENT_NAME, given: ['Ysolde'] }] } });
    expect(patient.status).toBe(201);
    const reference = await node.request('DocumentReference', {
      method: 'POST',
      json: { resourceType: 'DocumentReference', status: 'current', description: `Lettre pour ${PATIENT_NAME}`, indexed: '2026-01-01T00:00:00Z', type: { text: 'lettre' }, content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${id}` } }] },
    });
    expect(reference.status).toBe(201);
    await node.textIndex.caughtUp(new ChangeLog(node.db).latestSeq());
    // The index holds the name (a search finds it), and the document reads back.
    const found = (await (await node.request(`Patient?name=${PATIENT_NAME.slice(0, 8)}`)).json()) as Json;
    expect(found.total ?? found.entry.length).toBe(1);
    expect(Buffer.from(await (await readPdf(node, id)).arrayBuffer()).equals(pdf)).toBe(true);
    await node.close();

    const files = [...filesUnder(join(dataDir, BINARY_FOLDER)), ...filesUnder(join(dataDir, SNAPSHOT_FOLDER))];
    expect(files.some((file) => file.path.includes(SNAPSHOT_FOLDER))).toBe(true);
    const needles: Buffer[] = [PATIENT_NAME, PATIENT_NAME.toLowerCase(), 'quillebeuf', 'zarathoustra', 'ysolde', marker, '%PDF'].map((text) => Buffer.from(text));
    needles.push(pdf.subarray(100, 140), Buffer.from(hash, 'hex'));
    for (const file of files) {
      expect(file.path).not.toContain(hash);
      for (const needle of needles) expect(file.bytes.includes(needle), `${needle.toString('latin1')} in ${file.path}`).toBe(false);
    }
    // After a restart, the index loads its sealed snapshot and the document reads back.
    const again = await startTestNode({ dataDir });
    try {
      await again.textIndex.caughtUp(new ChangeLog(again.db).latestSeq());
      expect((await again.textIndex.status()).startedFrom).toBe('snapshot');
      expect(Buffer.from(await (await readPdf(again, id)).arrayBuffer()).equals(pdf)).toBe(true);
    } finally {
      await again.stop();
    }
  });

  it('refuses a tampered document with a 500 OperationOutcome, before any byte, and goes on serving the others', async () => {
    const node = await startTestNode();
    try {
      const intact = await postPdf(node, samplePdf('An intact letter'));
      const small = await postPdf(node, samplePdf('A letter altered on disk'));
      const large = await postPdf(node, randomBytes(40 * CHUNK_BYTES + 123));
      const cut = await postPdf(node, randomBytes(3 * CHUNK_BYTES));
      const alter = (hash: string, at: (length: number) => number) => {
        const file = node.binaries.fileOf(hash)!;
        const bytes = readFileSync(file);
        bytes[at(bytes.length)] ^= 1;
        writeFileSync(file, bytes);
      };
      alter(small.hash, (length) => length - 30);
      const cutFile = node.binaries.fileOf(cut.hash)!;
      writeFileSync(cutFile, readFileSync(cutFile).subarray(0, HEADER_BYTES + 2 * (CHUNK_BYTES + 16)));

      for (const { id } of [small, cut]) {
        for (const accept of ['application/pdf', 'application/fhir+json']) {
          const answer = await node.request(`Binary/${id}`, { headers: { accept } });
          expect(answer.status, accept).toBe(500);
          const outcome = (await answer.json()) as Json;
          expect(outcome.resourceType).toBe('OperationOutcome');
          expect(outcome.issue[0].diagnostics).toMatch(/cannot be read: .*integrity check.*Nothing of it is served/);
        }
      }

      // A large document altered in its middle: headers are gone when chunk 37 is reached, so the transfer breaks
      // there; the client never gets a byte of it, nor a complete-looking answer.
      alter(large.hash, () => HEADER_BYTES + 37 * (CHUNK_BYTES + 16) + 5);
      const broken = await readPdf(node, large.id);
      expect(broken.status).toBe(200);
      await expect(broken.arrayBuffer()).rejects.toThrow();

      // The rest of the node serves.
      expect(Buffer.from(await (await readPdf(node, intact.id)).arrayBuffer()).equals(samplePdf('An intact letter'))).toBe(true);
      expect((await node.request('Binary?_total=accurate')).status).toBe(200);
      expect((await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Martin' }] } })).status).toBe(201);
    } finally {
      await node.stop();
    }
  });

  it('reads documents written in plaintext before sealing, and seals them at the next start', async () => {
    const dataDir = tempDir();
    const first = await startTestNode({ dataDir });
    const pdf = samplePdf('A letter from before sealing');
    const { id, hash } = await postPdf(first, pdf);
    await first.close();
    // As an earlier Liaison left it: the plaintext named by its SHA-256, and no marker saying all is sealed.
    const sealedFile = readdirSync(join(dataDir, BINARY_FOLDER), { recursive: true }).map(String).find((name) => /[0-9a-f]{64}$/.test(name))!;
    rmSync(join(dataDir, BINARY_FOLDER, sealedFile));
    rmSync(join(dataDir, BINARY_FOLDER, 'all-sealed'));
    mkdirSync(join(dataDir, BINARY_FOLDER, hash.slice(0, 2)), { recursive: true });
    writeFileSync(join(dataDir, BINARY_FOLDER, hash.slice(0, 2), hash), pdf);

    const second = await startTestNode({ dataDir });
    try {
      expect(Buffer.from(await (await readPdf(second, id)).arrayBuffer()).equals(pdf)).toBe(true);
      const sealedAgain = () => filesUnder(join(dataDir, BINARY_FOLDER)).filter((file) => /[0-9a-f]{64}$/.test(file.path));
      await expect.poll(() => sealedAgain().map((file) => file.path), { timeout: 10_000 }).toEqual([second.binaries.fileOf(hash)]);
      expect(sealedAgain()[0].bytes.includes(Buffer.from('A letter from before sealing'))).toBe(false);
      expect(Buffer.from(await (await readPdf(second, id)).arrayBuffer()).equals(pdf)).toBe(true);
    } finally {
      await second.stop();
    }
  });

  it('refuses a truncated or altered text-index snapshot, says so, and rebuilds the index from the database', async () => {
    const dataDir = tempDir();
    const first = await startTestNode({ dataDir });
    expect((await first.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: PATIENT_NAME }] } })).status).toBe(201);
    await first.textIndex.caughtUp(new ChangeLog(first.db).latestSeq());
    await first.close();
    const index = join(dataDir, SNAPSHOT_FOLDER, 'index.bin');
    for (const damage of [(bytes: Buffer) => bytes.subarray(0, bytes.length - 7), (bytes: Buffer) => Buffer.from(bytes.map((byte, at) => (at === HEADER_BYTES + 3 ? byte ^ 1 : byte)))]) {
      writeFileSync(index, damage(readFileSync(index)));
      const node = await startTestNode({ dataDir });
      try {
        await node.textIndex.caughtUp(new ChangeLog(node.db).latestSeq());
        const status = await node.textIndex.status();
        expect(status.startedFrom).toBe('rebuild');
        expect(status.snapshotRefused).toMatch(/refused and the index rebuilt from the database: The text index snapshot (is cut short|fails its integrity check)/);
        const health = (await (await fetch(`${node.url}/health`)).json()) as Json;
        expect(health.textIndex.snapshotRefused).toBe(status.snapshotRefused);
        const found = (await (await node.request(`Patient?name=${PATIENT_NAME.slice(0, 8)}`)).json()) as Json;
        expect(found.entry).toHaveLength(1);
      } finally {
        await node.close();
      }
    }
  });
});
