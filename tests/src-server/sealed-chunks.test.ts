import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, HEADER_BYTES, openBytes, openingStream, openSealedFile, plainSize, readSealedFileSync, sealBytes, SealedDataError, SealedFileWriter, sealingStream } from '../../src-server/sealed-chunks';

const KEY = randomBytes(32);
const SEALED_CHUNK = CHUNK_BYTES + 16;
const dir = mkdtempSync(join(tmpdir(), 'liaison-sealed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** The plaintext sealed through the stream transform, in pieces of awkward sizes. */
async function sealedThroughStream(plain: Buffer): Promise<Buffer> {
  const pieces = [];
  for (let at = 0; at < plain.length; at += 7_777) pieces.push(plain.subarray(at, at + 7_777));
  return collect(Readable.from(pieces).pipe(sealingStream(KEY)));
}

// Past 16 chunks too: readSealedFileSync reads them a run of 16 at a time.
const sizes = [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES, 3 * CHUNK_BYTES + 12_345, 16 * CHUNK_BYTES, 16 * CHUNK_BYTES + 1, 33 * CHUNK_BYTES + 7];

describe('sealed chunks', () => {
  it('round-trips any size through the stream, the file writer and reader, and whole', async () => {
    for (const size of sizes) {
      const plain = randomBytes(size);
      const sealed = await sealedThroughStream(plain);
      expect(plainSize(sealed.length), `size ${size}`).toBe(size);
      expect(sealed.includes(plain.subarray(0, 64)) && size >= 64).toBe(false);
      expect((await collect(Readable.from([sealed]).pipe(openingStream(KEY, 'test')))).equals(plain)).toBe(true);
      const path = join(dir, `file-${size}`);
      const writer = await SealedFileWriter.create(path, KEY);
      await writer.write(plain);
      await writer.finish();
      expect(readSealedFileSync(path, KEY, 'test').equals(plain)).toBe(true);
      const opened = await openSealedFile(path, KEY, 'test', 0);
      expect(opened.size).toBe(size);
      expect((await collect(opened.stream)).equals(plain)).toBe(true);
      expect(openBytes(KEY, sealBytes(KEY, plain), 'test').equals(plain)).toBe(true);
    }
  });

  it('seals the same content differently each time (a random salt per file)', async () => {
    const plain = randomBytes(1000);
    expect((await sealedThroughStream(plain)).equals(await sealedThroughStream(plain))).toBe(false);
  });

  it('refuses a flipped bit, swapped or dropped chunks, a cut at a chunk boundary, another key, another format', async () => {
    const plain = randomBytes(3 * CHUNK_BYTES + 500);
    const sealed = await sealedThroughStream(plain);
    const header = sealed.subarray(0, HEADER_BYTES);
    const chunk = (index: number) => sealed.subarray(HEADER_BYTES + index * SEALED_CHUNK, HEADER_BYTES + (index + 1) * SEALED_CHUNK);
    const flipped = Buffer.from(sealed);
    flipped[HEADER_BYTES + SEALED_CHUNK + 10] ^= 1;
    const otherFile = await sealedThroughStream(randomBytes(3 * CHUNK_BYTES + 500));
    const attacks: Record<string, Buffer> = {
      flipped,
      swapped: Buffer.concat([header, chunk(1), chunk(0), chunk(2), chunk(3)]),
      dropped: Buffer.concat([header, chunk(0), chunk(2), chunk(3)]),
      'cut at a chunk boundary': Buffer.concat([header, chunk(0), chunk(1)]),
      'cut inside the last chunk': sealed.subarray(0, sealed.length - 5),
      'header of another file': Buffer.concat([otherFile.subarray(0, HEADER_BYTES), sealed.subarray(HEADER_BYTES)]),
      'salt changed': Buffer.concat([header.subarray(0, 20), Buffer.from([header[20] ^ 1]), sealed.subarray(21)]),
      'another format version': Buffer.concat([header.subarray(0, 4), Buffer.from([2]), sealed.subarray(5)]),
      'not sealed': Buffer.from('%PDF-1.4 a plaintext document'),
      empty: Buffer.alloc(0),
    };
    for (const [name, bytes] of Object.entries(attacks)) {
      await expect(collect(Readable.from([bytes]).pipe(openingStream(KEY, 'The file'))), name).rejects.toBeInstanceOf(SealedDataError);
      const path = join(dir, 'attacked');
      writeFileSync(path, bytes);
      expect(() => readSealedFileSync(path, KEY, 'The file'), name).toThrow(SealedDataError);
      await expect((async () => collect((await openSealedFile(path, KEY, 'The file', 0)).stream))(), name).rejects.toBeInstanceOf(SealedDataError);
    }
    const path = join(dir, 'other-key');
    writeFileSync(path, sealed);
    expect(() => readSealedFileSync(path, randomBytes(32), 'The file')).toThrow(/integrity check at chunk 0/);
  });

  it('checks the first and last chunks before giving out a stream, and never a byte of a chunk that fails', async () => {
    const plain = randomBytes(40 * CHUNK_BYTES);
    const path = join(dir, 'large');
    const writer = await SealedFileWriter.create(path, KEY);
    await writer.write(plain);
    await writer.finish();
    const sealed = readFileSync(path);

    // The last chunk altered: refused at open, before anything is served.
    const lastAltered = Buffer.from(sealed);
    lastAltered[lastAltered.length - 20] ^= 1;
    writeFileSync(path, lastAltered);
    await expect(openSealedFile(path, KEY, 'The file')).rejects.toThrow(/chunk 39 \(its last\)/);

    // Chunk 37 altered: the stream gives out chunks 0 to 36, each checked, then errs.
    const middleAltered = Buffer.from(sealed);
    middleAltered[HEADER_BYTES + 37 * SEALED_CHUNK + 100] ^= 1;
    writeFileSync(path, middleAltered);
    const { stream } = await openSealedFile(path, KEY, 'The file');
    const given: Buffer[] = [];
    await expect(
      (async () => {
        for await (const part of stream) given.push(part as Buffer);
      })(),
    ).rejects.toThrow(/chunk 37/);
    expect(Buffer.concat(given).equals(plain.subarray(0, 37 * CHUNK_BYTES))).toBe(true);
    // Read a chunk at a time: never more than one chunk in hand.
    expect(Math.max(...given.map((part) => part.length))).toBe(CHUNK_BYTES);
  });
});
