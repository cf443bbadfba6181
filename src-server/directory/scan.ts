import { detectLayout, type AnyLayout, type Layout } from './layouts';
import { readLines, type TextEncoding } from './line-reader';
import { parseLine, splitFields } from './parse';
import { nameOf, type ExtractionSource } from './source';

/**
 * An extraction file's records, chunk by chunk: blank lines skipped, the header line read for the layout, every
 * other line parsed and handed to `accept`, which takes it or says why not. A line refused is reported with its
 * number and skipped; it never stops the scan.
 */

export class NotAnExtractionError extends Error {}

export interface ScannedChunk {
  /** Bytes of the file read so far. */
  bytes: number;
  /** Lines of this chunk read, taken, refused. */
  read: number;
  accepted: number;
  rejected: number;
  /** This chunk's refused lines (line number, why), while the scan has kept fewer than MAX_REJECTIONS_KEPT. */
  rejections: Array<{ line: number; reason: string }>;
}

const MAX_REJECTIONS_KEPT = 1000;

/** The layout of the file: its first non-blank line, a known header or a known headerless line. */
export async function readLayout(source: ExtractionSource, encoding: TextEncoding): Promise<AnyLayout> {
  for await (const batch of readLines(source, encoding, { chunkBytes: 64 * 1024 })) {
    const first = batch.lines.find((line) => line.trim() !== '');
    if (first === undefined) continue;
    const layout = detectLayout(splitFields(first));
    if (!layout) throw new NotAnExtractionError(`${nameOf(source)} is neither a PS_LibreAcces_Personne_activite nor an Extraction_Correspondance_MSSante file: its first line is not a known header`);
    return layout;
  }
  throw new NotAnExtractionError(`${nameOf(source)} is empty`);
}

export async function* scanExtraction<R>(
  source: ExtractionSource,
  encoding: TextEncoding,
  layout: Layout<R>,
  accept: (record: R) => string | undefined,
  chunkBytes?: number,
): AsyncGenerator<ScannedChunk> {
  let bytes = 0;
  let kept = 0;
  let headerSkipped = !layout.hasHeader;
  for await (const batch of readLines(source, encoding, { chunkBytes, onBytes: (read) => (bytes += read) })) {
    const chunk: ScannedChunk = { bytes, read: 0, accepted: 0, rejected: 0, rejections: [] };
    batch.lines.forEach((text, index) => {
      if (text.trim() === '') return;
      if (!headerSkipped) {
        headerSkipped = true;
        return;
      }
      chunk.read++;
      const parsed = parseLine(layout, text);
      const reason = parsed.ok ? accept(parsed.record) : parsed.reason;
      if (reason === undefined) {
        chunk.accepted++;
        return;
      }
      chunk.rejected++;
      if (kept++ < MAX_REJECTIONS_KEPT) chunk.rejections.push({ line: batch.firstLine + index, reason });
    });
    chunk.bytes = bytes;
    yield chunk;
  }
}
