import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { openZipEntry, type ZipEntry } from './zip';

/**
 * Where an extraction's text is read from: a file (an import by hand), or an entry of the ZIP file the ANS publishes
 * (the daily refresh), inflated as it is read. Plain data, so the import thread gets it as it is.
 */
export type ExtractionSource = string | { zip: string; entry: ZipEntry };

/** The source's bytes, from its start. */
export function openBytes(source: ExtractionSource, highWaterMark?: number): Readable {
  return typeof source === 'string' ? createReadStream(source, { highWaterMark }) : openZipEntry(source.zip, source.entry, highWaterMark);
}

/** Its size in bytes (an entry's once inflated). */
export const sizeOf = (source: ExtractionSource): number => (typeof source === 'string' ? statSync(source).size : source.entry.size);

/** The name reports give it: the file's, or the entry's. */
export const nameOf = (source: ExtractionSource): string => (typeof source === 'string' ? basename(source) : basename(source.entry.name));
