import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ActivitySink } from '../../../src-server/directory/activity-sink';
import { generateExtraction } from '../../../src-server/directory/generate';
import { importDirectoryFile } from '../../../src-server/directory/import';
import { mapPerson, type Resource } from '../../../src-server/directory/person-resources';
import type { ActivityRecord } from '../../../src-server/directory/layouts';
import { ImportBatch } from '../../../src-server/directory/import-batch';
import { INDEX_TABLES } from '../../../src-server/store/search-index';
import { prepareWrite } from '../../../src-server/store/prepared-write';
import { reindexTypes } from '../../../src-server/store/reindex';
import type { Db } from '../../../src-server/store/database';
import { RPPS_PARAMETER } from '../../helpers/search-parameters';
import { DOCTOR, openStore, tempDirs } from './helpers';

/**
 * The activity file is read, mapped, checked and indexed in a thread of its own (activity-worker.ts), and the
 * import's caller only stores: what it stores must be what the repository's own writes would.
 */

const dir = tempDirs();
const DIRECTORY_TYPES = ['Practitioner', 'PractitionerRole', 'Organization'];

/** Every index row of the directory's resources, as text, in a stable order. */
function indexRowsOf(db: Db): string[] {
  return INDEX_TABLES.flatMap((table) =>
    (db.prepare(`SELECT i.* FROM ${table} i JOIN resources r ON r.vseq = i.vseq WHERE r.resource_type IN ('Practitioner', 'PractitionerRole', 'Organization')`).all() as object[]).map(
      (row) => `${table} ${JSON.stringify(row)}`,
    ),
  ).sort();
}

describe('the activity import thread', () => {
  it("stores and indexes what it imports exactly as the repository's own writes would, custom parameters included", async () => {
    const files = generateExtraction(dir(), { lines: 400, seed: 7 });
    const { db, repository } = openStore(dir());
    try {
      repository.update('SearchParameter', 'rpps', { ...RPPS_PARAMETER, id: 'rpps' });
      const report = await importDirectoryFile(db, repository, files.activityFile);
      expect(report.lines.accepted).toBe(400);
      expect(report.failures).toEqual([]);

      const imported = indexRowsOf(db);
      const rppsRows = db.prepare("SELECT count(*) FROM idx_token t JOIN search_params p USING (pid) WHERE p.resource_type = 'Practitioner' AND p.code = 'rpps'").pluck().get();
      const withRpps = db.prepare("SELECT count(*) FROM resources r JOIN resource_versions v USING (vseq) WHERE r.resource_type = 'Practitioner' AND instr(v.body, '\"https://rpps.esante.gouv.fr\"') > 0").pluck().get();
      expect(rppsRows).toBeGreaterThan(0);
      expect(rppsRows).toBe(withRpps);
      // The repository extracts every row again from the stored JSON: nothing may differ.
      reindexTypes(db, repository.searchIndex, DIRECTORY_TYPES);
      expect(indexRowsOf(db)).toEqual(imported);

      // Each stored version is the JSON the repository writes: resourceType, id, meta, then the resource.
      for (const { body } of db.prepare("SELECT body FROM resource_versions WHERE resource_type IN ('Practitioner', 'PractitionerRole', 'Organization') LIMIT 50").all() as Array<{ body: string }>) {
        const { resourceType, id, meta, ...rest } = JSON.parse(body) as Resource & { meta: object };
        expect(body).toBe(JSON.stringify({ resourceType, id, meta, ...rest }));
        expect(Object.keys(meta)).toEqual(['versionId', 'lastUpdated']);
      }
    } finally {
      db.close();
    }
  });

  it('leaves the index rows to the repository when a SearchParameter changes while the import runs', async () => {
    const { db, repository } = openStore(dir());
    try {
      const sink = new ActivitySink(new ImportBatch(repository), repository.definitions);
      const { practitioner } = mapPerson([new Proxy(DOCTOR, { get: (target, key) => (target as Record<string | symbol, string>)[key] ?? '' }) as ActivityRecord]);
      const prepared = prepareWrite(practitioner, repository.definitions, (code) => repository.searchIndex.paramId('Practitioner', code));
      // Written (by the node, say) after the import thread prepared the resource under the old definitions.
      repository.update('SearchParameter', 'rpps', { ...RPPS_PARAMETER, id: 'rpps' });
      await sink.write([{ prepared }]);
      const rows = db.prepare("SELECT t.code FROM idx_token t JOIN search_params p USING (pid) WHERE p.resource_type = 'Practitioner' AND p.code = 'rpps'").pluck().all();
      expect(rows).toEqual(['10001045367']);
    } finally {
      db.close();
    }
  });

  it('writes a big batch in short transactions, the node answering between them, and never undoes what it wrote meanwhile', async () => {
    const { db, repository } = openStore(dir());
    try {
      const batch = new ImportBatch(repository);
      const ids = Array.from({ length: 3000 }, (_, n) => `st-T${n}`);
      // Each write builds on the current version, as the MSSanté import does: what the node wrote meanwhile is kept.
      for (const id of ids) batch.put('Organization', id, (current) => ({ resourceType: 'Organization', id, name: current ? `${JSON.parse(current).name}, import` : 'import' }));
      let flushed = false;
      let answeredDuring = false;
      const last = ids[ids.length - 1];
      setImmediate(() => {
        answeredDuring = !flushed;
        repository.update('Organization', last, { resourceType: 'Organization', id: last, name: 'node' });
      });
      await batch.flush();
      flushed = true;
      expect(answeredDuring).toBe(true);
      expect(JSON.parse(repository.read('Organization', last)!.json).name).toBe('node, import');
      expect(batch.counts.Organization).toMatchObject({ created: 2999, updated: 1 });
    } finally {
      db.close();
    }
  });

  it('ends with the import when a write fails, so that nothing keeps the process alive', () => {
    const files = generateExtraction(dir(), { lines: 300, seed: 3 });
    const script = `
      import { importDirectoryFile } from './src-server/directory/import.ts';
      import { openDatabase } from './src-server/store/database.ts';
      import { Repository } from './src-server/store/repository.ts';
      const db = openDatabase(${JSON.stringify(join(dir(), 'liaison.db'))});
      const repository = new Repository(db);
      repository.writePrepared = () => { throw new Error('disk full'); };
      await importDirectoryFile(db, repository, ${JSON.stringify(files.activityFile)}, { chunkBytes: 4096 }).then(
        () => console.log('imported'),
        (error) => console.log('failed:', error.message),
      );
      db.close();
    `;
    const run = spawnSync('node', ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 90_000 });
    expect(run.stdout.trim()).toBe('failed: disk full');
    // Killed by the timeout (status null), the process would have been kept alive by the import's thread.
    expect(run.status).toBe(0);
  });
});
