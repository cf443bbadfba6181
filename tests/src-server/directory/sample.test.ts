import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { importDirectorySample } from '../../../src-server/directory/sample';
import { openDatabase, type Db } from '../../../src-server/store/database';
import { openRepository } from '../../../src-server/store/store';
import { tempDir } from '../../helpers/node';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function store(): { db: Db; repository: ReturnType<typeof openRepository> } {
  const folder = tempDir();
  folders.push(folder);
  const db = openDatabase(join(folder, 'liaison.db'));
  return { db, repository: openRepository(db) };
}

const archived = (db: Db) => db.prepare(`SELECT count(*) FROM resources r JOIN resource_versions v ON v.vseq = r.vseq WHERE r.resource_type = 'Practitioner' AND json_extract(v.body, '$.active') = 0`).pluck().get();

describe('the demo directory sample', () => {
  it('fills an empty node, and importing it again writes nothing', async () => {
    const { db, repository } = store();
    const [activity] = await importDirectorySample(db, repository);
    expect(activity.resources.Practitioner.created).toBeGreaterThan(100);
    const [again] = await importDirectorySample(db, repository);
    expect(again.resources.Practitioner.created + again.resources.Practitioner.updated).toBe(0);
    db.close();
  });

  it('leaves a node that holds a directory of its own untouched, rather than archiving what the sample lacks', async () => {
    const { db, repository } = store();
    repository.transaction(() => {
      for (let n = 0; n < 1500; n++) repository.update('Practitioner', `pp-${n}`, { resourceType: 'Practitioner', id: `pp-${n}`, active: true, name: [{ family: `Nom${n}` }] });
    });
    expect(await importDirectorySample(db, repository)).toEqual([]);
    expect(archived(db)).toBe(0);
    db.close();
  });
});
