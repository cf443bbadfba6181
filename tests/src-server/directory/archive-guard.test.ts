import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateExtraction } from '../../../src-server/directory/generate';
import { ArchiveRefusedError, importDirectoryFile } from '../../../src-server/directory/import';
import { useTestNode } from '../../helpers/node';
import { openStore, tempDirs, writeExtraction } from './helpers';

/**
 * An import treats its file as the whole directory and archives what it lacks: a one-line file archived the whole
 * directory (issue 29). Past a small share (docs/directory.md, "Archiving guard") it stops before writing anything.
 */

const dir = tempDirs();
const versions = (store: ReturnType<typeof openStore>) => store.db.prepare('SELECT count(*) FROM resource_versions').pluck().get() as number;
const active = (store: ReturnType<typeof openStore>, type: string) =>
  store.db.prepare(`SELECT count(*) FROM resources r JOIN resource_versions v ON v.vseq = r.vseq WHERE r.resource_type = ? AND json_extract(v.body, '$.active') = 1`).pluck().get(type) as number;

async function directoryOf(lines: number) {
  const folder = dir();
  const store = openStore(folder);
  const generated = generateExtraction(folder, { lines, seed: 3 });
  await importDirectoryFile(store.db, store.repository, generated.activityFile);
  await importDirectoryFile(store.db, store.repository, generated.mssanteFile);
  const [header, first] = readFileSync(generated.activityFile, 'utf8').split('\n');
  const [mssanteHeader, firstMailbox] = readFileSync(generated.mssanteFile, 'utf8').split('\n');
  return { folder, store, header, first, mssanteHeader, firstMailbox };
}

describe('the archiving guard', () => {
  it('refuses a one-line activity file over a directory before writing anything, saying how many it would archive', async () => {
    const { folder, store, header, first } = await directoryOf(800);
    const practitioners = active(store, 'Practitioner');
    const before = versions(store);
    const oneLine = writeExtraction(folder, 'PS_LibreAcces_Personne_activite_202601010000.txt', [header.trimEnd(), first.trimEnd()]);

    const refusal = await importDirectoryFile(store.db, store.repository, oneLine).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ArchiveRefusedError);
    expect((refusal as ArchiveRefusedError).counts.Practitioner).toEqual({ archiving: practitioners - 1, active: practitioners });
    expect((refusal as ArchiveRefusedError).message).toMatch(/would archive \d+ of \d+ Practitioner/);
    expect(versions(store)).toBe(before);
    expect(active(store, 'Practitioner')).toBe(practitioners);

    // As an update only, the line is taken and nothing is archived.
    const update = await importDirectoryFile(store.db, store.repository, oneLine, { archive: 'never' });
    expect(update.resources.Practitioner.archived).toBe(0);
    expect(active(store, 'Practitioner')).toBe(practitioners);

    // Confirmed as the whole directory, it archives the rest.
    const replaced = await importDirectoryFile(store.db, store.repository, oneLine, { archive: 'confirmed' });
    expect(replaced.resources.Practitioner.archived).toBe(practitioners - 1);
    expect(active(store, 'Practitioner')).toBe(1);
    store.db.close();
  });

  it('refuses a one-line MSSanté file that would take most mailboxes away, unless confirmed', async () => {
    const { folder, store, mssanteHeader, firstMailbox } = await directoryOf(400);
    const before = versions(store);
    const oneLine = writeExtraction(folder, 'Extraction_Correspondance_MSSante_202601010000.txt', [mssanteHeader.trimEnd(), firstMailbox.trimEnd()]);
    const refusal = await importDirectoryFile(store.db, store.repository, oneLine).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ArchiveRefusedError);
    expect(versions(store)).toBe(before);
    const update = await importDirectoryFile(store.db, store.repository, oneLine, { archive: 'never' });
    expect(Object.values(update.resources).reduce((sum, counts) => sum + counts.updated, 0)).toBe(0);
    expect(versions(store)).toBe(before);
    store.db.close();
  });

  it('lets a daily publication through: a few entries gone is no accident', async () => {
    const { folder, store, header } = await directoryOf(400);
    const generated = generateExtraction(folder, { lines: 400, seed: 3 });
    const lines = readFileSync(generated.activityFile, 'utf8').split('\n').slice(1).filter((text) => text.trim() !== '');
    const daily = writeExtraction(folder, 'daily.txt', [header.trimEnd(), ...lines.slice(0, -3).map((text) => text.trimEnd())]);
    const report = await importDirectoryFile(store.db, store.repository, daily);
    expect(report.resources.Practitioner.archived).toBeGreaterThan(0);
    store.db.close();
  });
});

describe('the archiving guard through the admin API', () => {
  const node = useTestNode();
  const admin = async (path: string, json?: unknown) => {
    const response = await fetch(`${node().url}/admin/directory${path}`, {
      method: json ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${node().token}`, ...(json ? { 'content-type': 'application/json' } : {}) },
      ...(json ? { body: JSON.stringify(json) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const importAndWait = async (json: unknown) => {
    const started = await admin('/imports', json);
    expect(started.status).toBe(202);
    for (;;) {
      const job = (await admin(`/imports/${started.body.id}`)).body;
      if (job.status !== 'running') return job;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('ends a guarded import that would archive most of the directory with a coded refusal, and takes the admin\'s word', async () => {
    const folder = dir();
    const generated = generateExtraction(folder, { lines: 600, seed: 4 });
    expect((await importAndWait({ path: generated.activityFile })).status).toBe('done');
    const [header, first] = readFileSync(generated.activityFile, 'utf8').split('\n');
    const oneLine = writeExtraction(folder, 'one-line.txt', [header.trimEnd(), first.trimEnd()]);

    const refused = await importAndWait({ path: oneLine });
    expect(refused).toMatchObject({ status: 'failed', refusal: { code: 'directory-archive-unconfirmed', type: expect.any(String) } });
    expect(refused.refusal.archiving).toBeGreaterThan(refused.refusal.active / 2);
    const invalid = await admin('/imports', { path: oneLine, archive: 'everything' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.issue[0].details.coding[0].code).toBe('directory-archive-invalid');
    const confirmed = await importAndWait({ path: oneLine, archive: 'confirmed' });
    expect(confirmed.report.resources.Practitioner.archived).toBe(generated.persons - 1);
  });
});
