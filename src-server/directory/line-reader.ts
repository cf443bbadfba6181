import { openBytes, type ExtractionSource } from './source';

/**
 * Streams a text file as batches of lines, decoding it as UTF-8 or Windows-1252 (what "Latin-1" exports really
 * are: ’ œ € sit in 0x80–0x9F), whichever the file is. ANS extractions have been published in both over the years.
 */

export type TextEncoding = 'utf-8' | 'windows-1252';

export interface LineBatch {
  /** 1-based number of the first line of the batch in the file. */
  firstLine: number;
  lines: string[];
}

/** How much of the file decides its encoding: a valid UTF-8 prefix this long is UTF-8 in practice. */
const SNIFF_BYTES = 4 * 1024 * 1024;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** UTF-8 when the file starts with a BOM or its first megabytes are valid UTF-8; Windows-1252 otherwise. */
export async function detectEncoding(source: ExtractionSource): Promise<TextEncoding> {
  const stream = openBytes(source);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= SNIFF_BYTES) break;
    }
  } finally {
    stream.destroy();
  }
  return encodingOf(Buffer.concat(chunks).subarray(0, SNIFF_BYTES));
}

export function encodingOf(sample: Uint8Array): TextEncoding {
  if (UTF8_BOM.every((byte, index) => sample[index] === byte)) return 'utf-8';
  try {
    // stream: a multi-byte character cut by the end of the sample is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return 'utf-8';
  } catch {
    return 'windows-1252';
  }
}

/** The file's lines, in batches (one per read chunk): per-line promises would cost more than parsing them. */
export async function* readLines(
  source: ExtractionSource,
  encoding: TextEncoding,
  { chunkBytes = 1024 * 1024, onBytes = () => {} }: { chunkBytes?: number; onBytes?: (bytes: number) => void } = {},
): AsyncGenerator<LineBatch> {
  // ignoreBOM false (the default) drops a leading BOM.
  const decoder = new TextDecoder(encoding);
  let pending = '';
  let nextLine = 1;
  for await (const chunk of openBytes(source, chunkBytes)) {
    onBytes((chunk as Buffer).length);
    const text = pending + decoder.decode(chunk as Buffer, { stream: true });
    const lines = text.split('\n');
    pending = lines.pop() ?? '';
    if (lines.length === 0) continue;
    yield { firstLine: nextLine, lines: lines.map(stripCarriageReturn) };
    nextLine += lines.length;
  }
  const rest = pending + decoder.decode();
  if (rest !== '') yield { firstLine: nextLine, lines: [stripCarriageReturn(rest)] };
}

const stripCarriageReturn = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);
