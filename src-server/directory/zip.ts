import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { pipeline, Transform, type Readable } from 'node:stream';
import { crc32, createInflateRaw } from 'node:zlib';
import { basename } from 'node:path';

/**
 * The ANS publishes its extractions as ZIP files of a few hundred megabytes. They are read in place, entry by entry,
 * streamed (never unpacked whole): the central directory at the end of the file says where each entry is (a file cut
 * short has none, and is refused), and each entry's bytes are inflated by Node's zlib and checked against the size
 * and CRC-32 the directory gives as they are read. ZIP64 fields are understood (an entry of 4 GiB or more).
 * Node's native zlib rather than fflate's JavaScript inflate: a national file inflates several times faster.
 */

export class CorruptZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptZipError';
  }

  static of(file: string, why: string): CorruptZipError {
    return new CorruptZipError(`${basename(file)} is not a complete ZIP file: ${why}`);
  }
}

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  /** Where its local header starts. */
  headerOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
/** The end record (22 bytes) and the longest comment a ZIP can carry. */
const TAIL_BYTES = 22 + 0xffff;
const MAX_ENTRIES = 1000;

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, position);
  return buffer.subarray(0, read);
}

/** The entries the central directory lists; CorruptZipError when there is none or it does not hold together. */
export function readZipDirectory(file: string): ZipEntry[] {
  const fd = openSync(file, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const tailStart = Math.max(0, fileSize - TAIL_BYTES);
    const tail = readAt(fd, tailStart, fileSize - tailStart);
    let end = -1;
    for (let at = tail.length - 22; at >= 0; at--) {
      if (tail.readUInt32LE(at) === EOCD && at + 22 + tail.readUInt16LE(at + 20) === tail.length) {
        end = at;
        break;
      }
    }
    if (end < 0) throw CorruptZipError.of(file, 'no end of central directory (a download cut short?)');
    let count = tail.readUInt16LE(end + 10);
    let directorySize = tail.readUInt32LE(end + 12);
    let directoryOffset = tail.readUInt32LE(end + 16);
    if (end >= 20 && tail.readUInt32LE(end - 20) === ZIP64_LOCATOR) {
      const record = readAt(fd, Number(tail.readBigUInt64LE(end - 20 + 8)), 56);
      if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) throw CorruptZipError.of(file, 'its ZIP64 end record is missing');
      count = Number(record.readBigUInt64LE(32));
      directorySize = Number(record.readBigUInt64LE(40));
      directoryOffset = Number(record.readBigUInt64LE(48));
    }
    if (count > MAX_ENTRIES || directoryOffset + directorySize > fileSize) throw CorruptZipError.of(file, 'its central directory lies outside the file');
    const directory = readAt(fd, directoryOffset, directorySize);
    const entries: ZipEntry[] = [];
    let at = 0;
    for (let n = 0; n < count; n++) {
      if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_HEADER) throw CorruptZipError.of(file, `entry ${n + 1} of its central directory is damaged`);
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      const entry: ZipEntry = {
        name: directory.toString('utf8', at + 46, at + 46 + nameLength),
        method: directory.readUInt16LE(at + 10),
        crc32: directory.readUInt32LE(at + 16),
        compressedSize: directory.readUInt32LE(at + 20),
        size: directory.readUInt32LE(at + 24),
        headerOffset: directory.readUInt32LE(at + 42),
      };
      readZip64Sizes(entry, directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength));
      if (entry.method !== 0 && entry.method !== 8) throw CorruptZipError.of(file, `${entry.name} uses compression method ${entry.method}`);
      if (entry.headerOffset + entry.compressedSize > directoryOffset) throw CorruptZipError.of(file, `${entry.name} lies outside the file`);
      entries.push(entry);
      at += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
  } finally {
    closeSync(fd);
  }
}

/** The 64-bit sizes and offset of the ZIP64 extra field, for those the 32-bit fields mark 0xffffffff. */
function readZip64Sizes(entry: ZipEntry, extra: Buffer): void {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === 0x0001) {
      let field = at + 4;
      for (const key of ['size', 'compressedSize', 'headerOffset'] as const) {
        if (entry[key] !== 0xffffffff) continue;
        if (field + 8 > at + 4 + length) break;
        entry[key] = Number(extra.readBigUInt64LE(field));
        field += 8;
      }
    }
    at += 4 + length;
  }
}

/** An entry's bytes, inflated, its size and CRC-32 checked as they pass (the stream fails with CorruptZipError). */
export function openZipEntry(file: string, entry: ZipEntry, highWaterMark = 1024 * 1024): Readable {
  const fd = openSync(file, 'r');
  let header: Buffer;
  try {
    header = readAt(fd, entry.headerOffset, 30);
  } finally {
    closeSync(fd);
  }
  if (header.length < 30 || header.readUInt32LE(0) !== LOCAL_HEADER) throw CorruptZipError.of(file, `${entry.name} has no local header`);
  const start = entry.headerOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  const raw = createReadStream(file, { start, end: start + entry.compressedSize - 1, highWaterMark });
  let crc = 0;
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > entry.size) return done(CorruptZipError.of(file, `${entry.name} is longer than its directory says`));
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
    flush(done) {
      if (size !== entry.size) return done(CorruptZipError.of(file, `${entry.name} is shorter than its directory says`));
      if (crc >>> 0 !== entry.crc32 >>> 0) return done(CorruptZipError.of(file, `${entry.name} fails its CRC-32 check`));
      done();
    },
  });
  // Said as a damaged ZIP (listened to before pipeline's own listeners, which pass the error on as it is); a reader
  // stopping early (the encoding's sniff) closes the file through pipeline.
  const fail = (error: Error) => check.destroy(error instanceof CorruptZipError ? error : CorruptZipError.of(file, `${entry.name}: ${error.message}`));
  raw.on('error', fail);
  const ignore = () => {};
  if (entry.method === 0) return pipeline(raw, check, ignore);
  const inflate = createInflateRaw({ chunkSize: highWaterMark });
  inflate.on('error', fail);
  return pipeline(raw, inflate, check, ignore);
}

/** Reads every listed entry through to its end: resolves when each one's size and CRC check out. */
export async function verifyZip(file: string, entries: readonly ZipEntry[]): Promise<void> {
  for (const entry of entries) {
    for await (const _chunk of openZipEntry(file, entry)) {
      // read through: the check is in the stream
    }
  }
}
