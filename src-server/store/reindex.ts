import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BUILT_IN_DEFINITION_FILES, type SearchParameters } from '../fhir/search/parameters';
import type { Db } from './database';
import { INDEX_TABLES, type SearchIndex } from './search-index';

/**
 * Rebuilding the search index when what it is built from changes: the SearchParameter definitions shipped in
 * resources/, the custom ones in force, or the extraction code (bump EXTRACTION_VERSION when it indexes differently).
 */

export const EXTRACTION_VERSION = 3;
const FINGERPRINT_KEY = 'search_index_fingerprint';
const BATCH = 1000;

export interface ReindexProgress {
  done: number;
  total: number;
}

let builtInDefinitions: Buffer[] | undefined;

/** What an index built under these definitions is built from; a different recorded value means it must be rebuilt. */
export function searchIndexFingerprint(definitions: SearchParameters): string {
  builtInDefinitions ??= BUILT_IN_DEFINITION_FILES.map((path) => readFileSync(new URL(`../../${path}`, import.meta.url)));
  const hash = createHash('sha256');
  for (const definitions of builtInDefinitions) hash.update(definitions);
  return hash
    .update(`extraction:${EXTRACTION_VERSION}`)
    .update(JSON.stringify(definitions.custom))
    .digest('hex');
}

export function isIndexCurrent(db: Db, definitions: SearchParameters): boolean {
  const row = db.prepare('SELECT value FROM node_meta WHERE key = ?').get(FINGERPRINT_KEY) as { value: string } | undefined;
  return row?.value === searchIndexFingerprint(definitions);
}

export function recordIndexFingerprint(db: Db, definitions: SearchParameters): void {
  db.prepare('INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(
    FINGERPRINT_KEY,
    searchIndexFingerprint(definitions),
  );
}

/**
 * Drops every index row and indexes every current resource again, in batches of one transaction each. The
 * fingerprint is recorded last: a rebuild cut short is started over on the next start.
 */
export function reindexAll(db: Db, index: SearchIndex, onProgress: (progress: ReindexProgress) => void = () => {}): number {
  const total = (db.prepare('SELECT count(*) AS n FROM resources').get() as { n: number }).n;
  db.transaction(() => {
    for (const table of INDEX_TABLES) db.exec(`DELETE FROM ${table}`);
  })();
  // Walks versions in storage order and keeps the current ones: a range scan, whatever the store's size.
  const page = db.prepare<[number, number], { vseq: number; body: string }>(
    `SELECT v.vseq, v.body FROM resource_versions v
     JOIN resources r ON r.resource_type = v.resource_type AND r.resource_id = v.resource_id AND r.vseq = v.vseq
     WHERE v.vseq > ? ORDER BY v.vseq LIMIT ?`,
  );
  // Rows inserted at each batch's end, many to a statement, and the practitioners' workplace rows derived once a batch.
  const indexBatch = db.transaction((rows: Array<{ vseq: number; body: string }>) =>
    index.deferRows(() => {
      for (const row of rows) index.write(row.vseq, JSON.parse(row.body) as Record<string, unknown>);
    }),
  );
  let done = 0;
  let after = 0;
  for (;;) {
    const rows = page.all(after, BATCH);
    if (rows.length === 0) break;
    indexBatch(rows);
    done += rows.length;
    after = rows[rows.length - 1].vseq;
    onProgress({ done, total });
  }
  recordIndexFingerprint(db, index.definitions);
  return done;
}

/**
 * Indexes again the resources of some types, in the caller's transaction: what a change of custom parameters
 * needs (their base types only).
 */
export function reindexTypes(db: Db, index: SearchIndex, types: Iterable<string>): void {
  const rows = db.prepare<[string], { vseq: number; body: string }>(
    'SELECT r.vseq, v.body FROM resources r JOIN resource_versions v ON v.vseq = r.vseq WHERE r.resource_type = ?',
  );
  for (const type of types) {
    for (const row of rows.all(type)) index.write(row.vseq, JSON.parse(row.body) as Record<string, unknown>, row.vseq);
  }
  recordIndexFingerprint(db, index.definitions);
}
