import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateExtraction } from '../../../src-server/directory/generate';
import { definitionsOf } from '../../../src-server/store/custom-parameters';
import { isIndexCurrent } from '../../../src-server/store/reindex';
import { openDatabase } from '../../../src-server/store/database';
import { tempDir, useTestNode } from '../../helpers/node';
import { keyEnv, testDatabaseKey } from '../../helpers/data-key';

/** The directory through a real node (admin API, read-only FHIR) and the `liaison directory import` command. */

const files = tempDir('liaison-directory-files-');
const generated = generateExtraction(files, { lines: 3000, seed: 3 });
afterAll(() => rmSync(files, { recursive: true, force: true }));

const node = useTestNode();

async function admin(path: string, init: RequestInit & { json?: unknown; token?: string } = {}) {
  const { json, token, ...rest } = init;
  return fetch(`${node().url}/admin/directory${path}`, {
    ...rest,
    headers: { authorization: `Bearer ${token ?? node().token}`, ...(json ? { 'content-type': 'application/json' } : {}) },
    ...(json ? { body: JSON.stringify(json) } : {}),
  });
}

async function waitFor(id: string): Promise<Record<string, any>> {
  for (;;) {
    const job = (await (await admin(`/imports/${id}`)).json()) as Record<string, any>;
    if (job.status !== 'running') return job;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('directory admin API', () => {
  it('imports a file while the FHIR API keeps the directory read-only (405), then serves what it wrote', async () => {
    const started = await admin('/imports', { method: 'POST', json: { path: generated.activityFile } });
    expect(started.status).toBe(202);
    const job = (await started.json()) as { id: string; status: string };
    expect(job.status).toBe('running');
    // While the import writes: no client writes directory types, whatever its scopes.
    const writes = await Promise.all([
      node().request('Practitioner', { method: 'POST', json: { resourceType: 'Practitioner', name: [{ family: 'Intrus' }] } }),
      node().request('Organization/st-x', { method: 'PUT', json: { resourceType: 'Organization', id: 'st-x', name: 'Intrus' } }),
      admin('/imports', { method: 'POST', json: { path: generated.activityFile } }),
    ]);
    expect(writes.map((response) => response.status)).toEqual([405, 405, 409]);
    expect(((await writes[0].json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    const done = await waitFor(job.id);
    expect(done).toMatchObject({ status: 'done', report: { kind: 'activity', lines: { read: 3000, rejected: 0 } } });
    const mailboxes = await waitFor(((await (await admin('/imports', { method: 'POST', json: { path: generated.mssanteFile } })).json()) as { id: string }).id);
    expect(mailboxes.report.unmatchedMailboxes).toBe(0);

    const bundle = (await (await node().request('Practitioner?identifier=urn:oid:1.2.250.1.71.4.2.1|810100000001')).json()) as { entry: Array<{ resource: { id: string } }> };
    expect(bundle.entry.map((entry) => entry.resource.id)).toEqual(['pp-810100000001']);
    const roles = (await (await node().request('PractitionerRole?practitioner=Practitioner/pp-810100000001')).json()) as { entry?: unknown[] };
    expect(roles.entry?.length).toBeGreaterThan(0);
    const listed = (await (await admin('/imports')).json()) as { running: unknown; reports: Array<{ kind: string }> };
    expect(listed.running).toBeNull();
    expect(listed.reports.map((report) => report.kind)).toEqual(['mssante', 'activity']);
  });

  it('is for admins only, and checks the path it is given', async () => {
    expect((await admin('/imports', { method: 'POST', json: { path: generated.activityFile }, token: 'not-a-token' })).status).toBe(401);
    const created = await fetch(`${node().url}/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node().token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'EHR', scopes: ['PRACTITIONER_READ'] }),
    });
    const { client_id, client_secret } = (await created.json()) as { client_id: string; client_secret: string };
    const token = (await (await fetch(`${node().url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'client_credentials', client_id, client_secret }) })).json()) as { access_token: string };
    expect((await admin('/imports', { method: 'POST', json: { path: generated.activityFile }, token: token.access_token })).status).toBe(403);
    expect((await admin('/imports', { method: 'POST', json: { path: 'relative.txt' } })).status).toBe(400);
    expect((await admin('/imports', { method: 'POST', json: { path: join(files, 'missing.txt') } })).status).toBe(400);
  });
});

describe('liaison directory import', () => {
  it('imports into a data directory with progress on stderr and a summary on stdout', () => {
    const data = tempDir();
    try {
      const run = spawnSync('node', ['bin/liaison.js', 'directory', 'import', generated.activityFile, generated.mssanteFile, '--data', data], { encoding: 'utf8', env: keyEnv(data) });
      expect(run.status).toBe(0);
      expect(run.stderr).toMatch(/100% — 3,000 lines/);
      expect(run.stdout).toMatch(/PS_LibreAcces_Personne_activite_\d+\.txt \(activity, 52 columns, utf-8\) .* 3000 lines imported, 0 rejected/);
      expect(run.stdout).toMatch(/Extraction_Correspondance_MSSante_\d+\.txt \(mssante, 31 columns/);
      const db = openDatabase(join(data, 'liaison.db'), { key: testDatabaseKey(data) });
      const counts = db.prepare("SELECT resource_type, total FROM resource_counts WHERE resource_type IN ('Practitioner', 'PractitionerRole') ORDER BY 1").all();
      // The new data directory's search index is marked current: the next start does not build it all again.
      const indexCurrent = isIndexCurrent(db, definitionsOf(db));
      db.close();
      expect(indexCurrent).toBe(true);
      expect(counts).toEqual([
        { resource_type: 'Practitioner', total: expect.any(Number) },
        { resource_type: 'PractitionerRole', total: expect.any(Number) },
      ]);
      const missing = spawnSync('node', ['bin/liaison.js', 'directory', 'import', join(files, 'missing.txt'), '--data', data], { encoding: 'utf8', env: keyEnv(data) });
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toContain('liaison:');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });
});
