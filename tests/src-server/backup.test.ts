import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../../src-server/backup/backup';
import { atRestKeysOf } from '../../src-server/node';
import { ChangeLog } from '../../src-server/store/change-log';
import { runCli, spawnCli } from '../helpers/child-node';
import { testDataKey } from '../helpers/data-key';
import { startTestNode, tempDir, type TestNode } from '../helpers/node';
import { tokenOf } from '../helpers/users';
import { samplePdf } from '../helpers/pdf';

type Json = Record<string, any>;

const PASSPHRASE = 'cheval agrafe batterie';
const withPassphrase = { env: { LIAISON_BACKUP_PASSPHRASE: PASSPHRASE } };

let node: TestNode;
let sourceDir: string;
const patients: string[] = [];
let binary: { id: string; pdf: Buffer };
const work = tempDir('liaison-backup-test-');

beforeAll(async () => {
  sourceDir = tempDir();
  node = await startTestNode({ dataDir: sourceDir });
  for (const family of ['Abgrall', 'Kerbrat', 'Le Moal']) {
    const created = await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family, given: ['Anne'] }] } });
    patients.push(((await created.json()) as Json).id);
  }
  const pdf = Buffer.concat([samplePdf('Compte rendu Abgrall'), randomBytes(300_000)]);
  const posted = await node.request('Binary', { method: 'POST', body: pdf, headers: { 'content-type': 'application/pdf' } });
  binary = { id: ((await posted.json()) as Json).id, pdf };
});

afterAll(async () => {
  await node?.stop();
});

/**
 * A node on a restored folder holds the same patients and document, and its text index is rebuilt. The folder keeps
 * the data key it was backed up under (its recovery kit opens it), so the node opens it with the source's key.
 */
async function expectSameData(dataDir: string): Promise<void> {
  const restored = await startTestNode({ dataDir, dataKey: testDataKey(sourceDir) });
  try {
    for (const id of patients) {
      const [mine, theirs] = await Promise.all([node.request(`Patient/${id}`), restored.request(`Patient/${id}`)]);
      expect(theirs.status).toBe(200);
      expect(await theirs.json()).toEqual(await mine.json());
    }
    const read = await restored.request(`Binary/${binary.id}`, { headers: { accept: 'application/pdf' } });
    expect(Buffer.from(await read.arrayBuffer()).equals(binary.pdf)).toBe(true);
    await restored.textIndex.caughtUp(new ChangeLog(restored.db).latestSeq());
    const found = (await (await restored.request('Patient?name=kerbr')).json()) as Json;
    expect(found.entry.map((entry: Json) => entry.resource.id)).toEqual([patients[1]]);
  } finally {
    await restored.close();
  }
}

describe('liaison backup and restore', () => {
  it('backs up a running node through its admin API, and restores it into an empty folder with the same data', async () => {
    const out = join(work, 'served.lbak');
    const backup = await runCli(['backup', '--data', sourceDir, '--out', out, '--passphrase'], 60_000, withPassphrase);
    expect(backup.code, backup.stderr).toBe(0);
    const bytes = readFileSync(out);
    // Sealed: no name, no document bytes, no SQLite header in the clear.
    for (const needle of ['Abgrall', 'Kerbrat', 'SQLite format 3', '%PDF']) expect(bytes.includes(Buffer.from(needle)), needle).toBe(false);
    expect(bytes.includes(binary.pdf.subarray(-64))).toBe(false);

    const target = join(work, 'restored-served');
    const restore = await runCli(['restore', '--in', out, '--data', target], 60_000, withPassphrase);
    expect(restore.code, restore.stderr).toBe(0);
    await expectSameData(target);
    // The node kept serving.
    expect((await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Apres' }] } })).status).toBe(201);
  }, 120_000);

  it('seals a backup under the backup key of the data key by default, which restores it', async () => {
    const out = join(work, 'data-key.lbak');
    const backup = await runCli(['backup', '--data', sourceDir, '--out', out]);
    expect(backup.code, backup.stderr).toBe(0);
    const target = join(work, 'restored-data-key');
    await expect(restoreBackup(out, target, { key: randomBytes(32) })).rejects.toThrow(/integrity check.*Is it the right key\? Nothing was restored/);
    expect(existsSync(target)).toBe(false);
    await expect(restoreBackup(out, target, { passphrase: PASSPHRASE })).rejects.toThrow(/sealed under the data key/);
    expect((await restoreBackup(out, target, { key: atRestKeysOf(sourceDir).backup })).files).toBeGreaterThan(3);
    await expectSameData(target);
  }, 120_000);

  it('refuses a non-empty folder, a wrong passphrase, and a backup cut short or altered, restoring nothing', async () => {
    const out = join(work, 'refusals.lbak');
    expect((await runCli(['backup', '--data', sourceDir, '--out', out, '--passphrase'], 60_000, withPassphrase)).code).toBe(0);
    const occupied = join(work, 'occupied');
    mkdirSync(occupied);
    writeFileSync(join(occupied, 'notes.txt'), 'mine');
    const intoOccupied = await runCli(['restore', '--in', out, '--data', occupied], 60_000, withPassphrase);
    expect(intoOccupied.code).not.toBe(0);
    expect(intoOccupied.stderr).toMatch(/is not empty/);
    expect(readdirSync(occupied)).toEqual(['notes.txt']);

    const target = join(work, 'never');
    await expect(restoreBackup(out, target, { passphrase: 'another passphrase' })).rejects.toThrow(/Is it the right passphrase\?/);
    const bytes = readFileSync(out);
    const cut = join(work, 'cut.lbak');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100_000));
    await expect(restoreBackup(cut, target, { passphrase: PASSPHRASE })).rejects.toThrow(/cut short|integrity check/);
    const altered = join(work, 'altered.lbak');
    writeFileSync(altered, Buffer.from(bytes.map((byte, at) => (at === 5_000 ? byte ^ 1 : byte))));
    await expect(restoreBackup(altered, target, { passphrase: PASSPHRASE })).rejects.toThrow(/integrity check at chunk 0/);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(work).filter((name) => name.includes('restoring'))).toEqual([]);
  }, 120_000);

  it('is refused to an office program that is not an admin, whatever its scopes: no backup, no daily folder set', async () => {
    const made = await fetch(`${node.url}/admin/clients`, { method: 'POST', headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'logiciel du cabinet', scopes: ['PATIENT_READ', 'BINARY_READ', 'DOCUMENTREFERENCE_READ'] }) });
    const token = await tokenOf(node, (await made.json()) as { client_id: string; client_secret: string });
    const asProgram = (path: string, body: unknown) =>
      fetch(`${node.url}${path}`, { method: path.endsWith('/daily') ? 'PUT' : 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const backup = await asProgram('/admin/backup', { passphrase: 'la phrase du programme' });
    expect(backup.status).toBe(403);
    expect(((await backup.json()) as Json).resourceType).toBe('OperationOutcome');
    const daily = await asProgram('/admin/backup/daily', { folder: tempDir() });
    expect(daily.status).toBe(403);
    const state = (await (await fetch(`${node.url}/admin/backup/daily`, { headers: { authorization: `Bearer ${node.token}` } })).json()) as Json;
    expect(state.folder).toBeUndefined();
  });

  it('backs up a folder no node serves, directly', async () => {
    const stopped = tempDir();
    const other = await startTestNode({ dataDir: stopped });
    await other.request('Patient', { method: 'POST', json: { resourceType: 'Patient', id: 'p1', name: [{ family: 'Stopped' }] } });
    await other.close();
    const out = join(work, 'direct.lbak');
    const backup = await runCli(['backup', '--data', stopped, '--out', out, '--passphrase'], 60_000, withPassphrase);
    expect(backup.code, backup.stderr).toBe(0);
    const target = join(work, 'restored-direct');
    await restoreBackup(out, target, { passphrase: PASSPHRASE });
    const restored = await startTestNode({ dataDir: target, dataKey: testDataKey(stopped) });
    try {
      expect((await restored.request('Patient?family=stopped')).status).toBe(200);
      expect(((await (await restored.request('Patient?family=stopped')).json()) as Json).entry).toHaveLength(1);
    } finally {
      await restored.close();
    }
  }, 120_000);

  it('kill -9 of the command at random moments, in a loop, leaves no file under the backup name but a complete one, and the node serving', async () => {
    const out = join(work, 'killed.lbak');
    // Documents enough that writing the backup takes a while.
    for (let index = 0; index < 3; index++) {
      const posted = await node.request('Binary', { method: 'POST', body: randomBytes(8 * 1024 * 1024), headers: { 'content-type': 'application/octet-stream' } });
      expect(posted.status).toBe(201);
    }
    let writes = 0;
    let writing = true;
    // Writes go on all along.
    const load = (async () => {
      while (writing) {
        const created = await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: `Charge${writes}` }] } });
        expect(created.status).toBe(201);
        writes++;
      }
    })();
    try {
      // Kills fall within the time a whole backup takes (the command's start included), at random.
      const started = performance.now();
      expect((await runCli(['backup', '--data', sourceDir, '--out', join(work, 'timed.lbak'), '--passphrase'], 60_000, withPassphrase)).code).toBe(0);
      const takes = performance.now() - started;
      let midway = 0;
      for (let round = 0; round < 6; round++) {
        const child = spawnCli(['backup', '--data', sourceDir, '--out', out, '--passphrase'], withPassphrase.env);
        const exited = new Promise((resolve) => child.on('close', resolve));
        if (round % 2 === 0) await new Promise((resolve) => setTimeout(resolve, takes * Math.random()));
        else {
          // Every other round, once the file is being written: a few milliseconds into it.
          const deadline = performance.now() + 30_000;
          while (!existsSync(`${out}.partial`) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
        }
        child.kill('SIGKILL');
        await exited;
        if (existsSync(`${out}.partial`)) midway++;
        // Whatever the moment: no backup under its name, or a whole one that restores.
        if (existsSync(out)) {
          const target = join(work, `restored-killed-${round}`);
          expect((await restoreBackup(out, target, { passphrase: PASSPHRASE })).files).toBeGreaterThan(3);
        }
        expect((await fetch(`${node.url}/health`)).status).toBe(200);
      }
      // Some kills came while the file was being written (the others before it began, or after it was done).
      expect(midway).toBeGreaterThan(0);
      const writesBefore = writes;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(writes).toBeGreaterThan(writesBefore);
      // Then a backup left to finish replaces whatever is there.
      expect((await runCli(['backup', '--data', sourceDir, '--out', out, '--passphrase'], 60_000, withPassphrase)).code).toBe(0);
      const target = join(work, 'restored-after-kills');
      await restoreBackup(out, target, { passphrase: PASSPHRASE });
      expect(readdirSync(sourceDir).filter((name) => name.startsWith('.backup-'))).toEqual([]);
    } finally {
      writing = false;
      await load;
    }
  }, 180_000);

  it('runs the daily backup into the folder chosen in the settings, and says when and how the last one went', async () => {
    const admin = (path: string, init: RequestInit = {}) =>
      fetch(`${node.url}/admin/backup/daily${path}`, { ...init, headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' } });
    expect(await (await admin('')).json()).toEqual({});
    expect((await admin('', { method: 'PUT', body: JSON.stringify({ folder: 'relative/path' }) })).status).toBe(400);
    const folder = join(work, 'daily');
    expect(await (await admin('', { method: 'PUT', body: JSON.stringify({ folder }) })).json()).toEqual({ folder });
    expect(JSON.parse(readFileSync(join(sourceDir, 'settings.json'), 'utf8')).backup).toEqual({ folder });
    const ran = (await (await admin('/now', { method: 'POST', body: '{}' })).json()) as Json;
    expect(ran.last).toMatchObject({ ok: true });
    expect(readdirSync(folder)).toEqual([ran.last.file.split('/').pop()]);
    expect(((await (await admin('')).json()) as Json).last.at).toBe(ran.last.at);
    const target = join(work, 'restored-daily');
    await restoreBackup(ran.last.file, target, { key: atRestKeysOf(sourceDir).backup });
    await expectSameData(target);
    // A folder it cannot write to: the failure is the last result, said in words.
    writeFileSync(join(work, 'a-file'), '');
    expect((await admin('', { method: 'PUT', body: JSON.stringify({ folder: join(work, 'a-file', 'inside') }) })).status).toBe(200);
    const failed = (await (await admin('/now', { method: 'POST', body: '{}' })).json()) as Json;
    expect(failed.last).toMatchObject({ ok: false, error: expect.stringMatching(/ENOTDIR|not a directory/), problem: 'folderMissing' });
    expect((await admin('', { method: 'PUT', body: JSON.stringify({ folder: null }) })).status).toBe(200);
  }, 120_000);
});
