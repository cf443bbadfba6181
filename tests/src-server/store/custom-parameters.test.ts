import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FhirError } from '../../../src-server/fhir/outcome';
import { openDatabase, type Db } from '../../../src-server/store/database';
import { SearchEngine } from '../../../src-server/store/search/search';
import { openRepository } from '../../../src-server/store/store';
import { tempDir } from '../../helpers/node';
import { RPPS_PARAMETER } from '../../helpers/search-parameters';

/**
 * Custom SearchParameters are a fact of one store (DESIGN §4): two stores open in one process, as the sync tests run
 * nodes, each search and index by their own definitions, whatever the other adds or opens after.
 */

const opened: Array<{ db: Db; dir: string }> = [];
afterEach(() => {
  for (const { db, dir } of opened.splice(0)) {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

function open() {
  const dir = tempDir();
  const db = openDatabase(join(dir, 'liaison.db'));
  opened.push({ db, dir });
  const repository = openRepository(db);
  return { repository, search: new SearchEngine(db, repository.searchIndex) };
}

const doctor = { resourceType: 'Practitioner', identifier: [{ system: 'https://rpps.esante.gouv.fr', value: '10001045367' }] };
const byRpps = (search: SearchEngine) => search.search({ resourceType: 'Practitioner', params: new URLSearchParams({ rpps: '10001045367' }), lenient: false, base: 'http://node/fhir' });

describe('custom SearchParameters', () => {
  it('are in force in their own store only, whatever other stores the process opens', () => {
    const office = open();
    office.repository.update('SearchParameter', 'rpps', { ...RPPS_PARAMETER, id: 'rpps' });
    office.repository.create('Practitioner', doctor);
    const desktop = open();
    desktop.repository.create('Practitioner', doctor);

    expect(byRpps(office.search).matches).toHaveLength(1);
    expect(() => byRpps(desktop.search)).toThrow(FhirError);
    expect(desktop.repository.definitions.custom).toEqual([]);
    expect(office.repository.definitions.custom.map((definition) => definition.code)).toEqual(['rpps']);
  });
});
