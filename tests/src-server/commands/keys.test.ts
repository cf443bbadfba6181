import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { subkey, unwrapWithPassphrase, type PassphraseWrapped } from '../../../src-server/data-key';
import { isPlaintextDatabase, isPreviousCipherDatabase, keyDatabase, keyWithPreviousCipher, openDatabase } from '../../../src-server/store/database';
import { Repository } from '../../../src-server/store/repository';
import { killAllChildren, LIAISON_BIN, runCli } from '../../helpers/child-node';
import { noPassphrase, standInKeychain, testDataKey, testKeyFile, toPreviousCipher } from '../../helpers/data-key';
import { desktopDataKey } from '../../../src-main/desktop-data-key';
import { encryptFolderInClear } from '../../../src-server/encrypt-folder';
import { startTestNode, useTempDirs } from '../../helpers/node';

/**
 * The data key's recovery and `liaison encrypt`: a folder written in clear is converted crash-safely (killed at any
 * moment, the folder opens, old or new, with everything in it), and a lost key comes back from its recovery kit.
 */

const folder = useTempDirs('liaison-keys-');
afterAll(killAllChildren);

const PATIENTS = 3000;

/** A folder as a Liaison before encryption left it: the database in clear, a text index snapshot. */
function plaintextFolder(): string {
  const dataDir = folder('liaison-plain-');
  const db = openDatabase(join(dataDir, 'liaison.db'));
  const repository = new Repository(db);
  repository.transaction(() => {
    for (let index = 0; index < PATIENTS; index++) repository.create('Patient', { resourceType: 'Patient', name: [{ family: `Clairvoyant${index}`, given: ['Ermengarde'] }] });
  });
  db.close();
  mkdirSync(join(dataDir, 'text-index'));
  writeFileSync(join(dataDir, 'text-index', 'index.bin'), 'Clairvoyant0 Ermengarde');
  return dataDir;
}

/** A folder as a Liaison before AEGIS-256 left it: the database encrypted with SQLCipher 4 under the folder's key. */
function previousCipherFolder(): string {
  const dataDir = plaintextFolder();
  rmSync(join(dataDir, 'text-index'), { recursive: true, force: true });
  toPreviousCipher(join(dataDir, 'liaison.db'), subkey(testDataKey(dataDir), 'database'));
  return dataDir;
}

/** How the folder's database is on disk: in clear, in the previous cipher, or in the store's. */
function stateOf(dataDir: string): 'clear' | 'previous' | 'current' {
  const file = join(dataDir, 'liaison.db');
  if (isPlaintextDatabase(file)) return 'clear';
  return isPreviousCipherDatabase(file, subkey(testDataKey(dataDir), 'database')) ? 'previous' : 'current';
}

/** How many Patients the folder's database holds, opened as it is on disk (any of its states), with the folder's key. */
function patientsIn(dataDir: string): number {
  const file = join(dataDir, 'liaison.db');
  const state = stateOf(dataDir);
  const key = subkey(testDataKey(dataDir), 'database');
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    if (state === 'current') keyDatabase(db, key);
    if (state === 'previous') keyWithPreviousCipher(db, key);
    return db.prepare("SELECT count(*) FROM resources WHERE resource_type = 'Patient'").pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Runs `liaison encrypt` and SIGKILLs it after `ms` (or lets it finish first). */
function encryptKilledAfter(dataDir: string, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const child = spawn(process.execPath, [LIAISON_BIN, 'encrypt', '--data', dataDir], { env: { ...process.env, LIAISON_KEY_FILE: testKeyFile(dataDir) }, stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) => child.once('exit', (code, signal) => (clearTimeout(timer), resolve({ code, signal }))));
}

describe('liaison encrypt', () => {
  it('converts a folder in clear, says the disk it needs, and the node then serves it encrypted', async () => {
    const dataDir = plaintextFolder();
    const run = await runCli(['encrypt', '--data', dataDir]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/MiB of database; needs \d+\.\d MiB free, \d+\.\d MiB available/);
    expect(isPlaintextDatabase(join(dataDir, 'liaison.db'))).toBe(false);
    expect(readFileSync(join(dataDir, 'liaison.db')).includes(Buffer.from('Clairvoyant'))).toBe(false);
    expect(existsSync(join(dataDir, 'text-index'))).toBe(false);
    expect(patientsIn(dataDir)).toBe(PATIENTS);
    const again = await runCli(['encrypt', '--data', dataDir]);
    expect(again.stdout).toContain('is encrypted already');
    const node = await startTestNode({ dataDir });
    try {
      const found = (await (await node.request('Patient?family=Clairvoyant12&_total=accurate')).json()) as { total: number };
      expect(found.total).toBe(111); // Clairvoyant12, 120…129, 1200…1299
    } finally {
      await node.close();
    }
  });

  it('converts a folder encrypted by an earlier Liaison (SQLCipher 4) to AEGIS-256, and the node then serves it', async () => {
    const dataDir = previousCipherFolder();
    expect(stateOf(dataDir)).toBe('previous');
    const run = await runCli(['encrypt', '--data', dataDir]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('to the store\'s cipher (AEGIS-256)');
    expect(stateOf(dataDir)).toBe('current');
    expect(readFileSync(join(dataDir, 'liaison.db')).includes(Buffer.from('Clairvoyant'))).toBe(false);
    expect(patientsIn(dataDir)).toBe(PATIENTS);
    expect((await runCli(['encrypt', '--data', dataDir])).stdout).toContain('is encrypted already');
    // On the desktop the same happens at start, before the node opens the folder.
    const desktopDir = previousCipherFolder();
    expect(encryptFolderInClear(desktopDir, testDataKey(desktopDir))).toContain('AEGIS-256');
    expect(encryptFolderInClear(desktopDir, testDataKey(desktopDir))).toBeUndefined();
    const node = await startTestNode({ dataDir: desktopDir });
    try {
      const found = (await (await node.request('Patient?family=Clairvoyant2999&_total=accurate')).json()) as { total: number };
      expect(found.total).toBe(1);
    } finally {
      await node.close();
    }
  });

  it('killed at any moment, leaves the folder whole, as it was or converted, and finishes when run again', async () => {
    // How long a whole run takes here, to kill the next ones all along it.
    const timing = plaintextFolder();
    const started = Date.now();
    expect((await encryptKilledAfter(timing, 120_000)).code).toBe(0);
    const whole = Date.now() - started;
    // Most of a run is the process starting: the kills crowd towards its end, where the conversion is, with some randomness.
    // Folders in clear and folders of the previous cipher, in turn: the same copy-then-rename either way.
    for (const [round, at] of [0.5, 0.8, 0.9, 0.95, 1, 0.8, 0.9, 0.95].entries()) {
      const dataDir = round % 2 === 0 ? plaintextFolder() : previousCipherFolder();
      const ms = Math.round(whole * (at + (Math.random() - 0.5) * 0.1));
      await encryptKilledAfter(dataDir, ms);
      expect(patientsIn(dataDir), `round ${round} killed after ${ms} ms (${stateOf(dataDir)})`).toBe(PATIENTS);
      expect((await encryptKilledAfter(dataDir, 120_000)).code).toBe(0);
      expect(stateOf(dataDir)).toBe('current');
      expect(patientsIn(dataDir)).toBe(PATIENTS);
      expect(existsSync(join(dataDir, 'liaison.db.encrypting'))).toBe(false);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 600_000);

  it('on the desktop, happens at start: the keychain makes the key, the node process converts the folder before opening it', async () => {
    const dataDir = plaintextFolder();
    const dataKey = await desktopDataKey(dataDir, standInKeychain(), noPassphrase)();
    expect(existsSync(join(dataDir, 'data-key.wrapped'))).toBe(true);
    expect(encryptFolderInClear(dataDir, dataKey)).toContain('Encrypted');
    expect(isPlaintextDatabase(join(dataDir, 'liaison.db'))).toBe(false);
    // The next start: nothing left to do, the same key from the keychain.
    expect(encryptFolderInClear(dataDir, dataKey)).toBeUndefined();
    expect(await desktopDataKey(dataDir, standInKeychain(), noPassphrase)()).toEqual(dataKey);
    const node = await startTestNode({ dataDir, dataKey });
    try {
      const found = (await (await node.request('Patient?family=Clairvoyant2999&_total=accurate')).json()) as { total: number };
      expect(found.total).toBe(1);
    } finally {
      await node.close();
    }
  });

  it('refuses while a node serves the folder', async () => {
    const dataDir = folder();
    const node = await startTestNode({ dataDir });
    try {
      const run = await runCli(['encrypt', '--data', dataDir]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('already served by a Liaison node');
    } finally {
      await node.close();
    }
  });
});

describe('the recovery kit', () => {
  it('is offered by the first-run set-up: with the set-up code only, a passphrase of 12 characters at least', async () => {
    const dataDir = folder();
    const node = await startTestNode({ dataDir });
    try {
      const ask = (passphrase: unknown, code = node.firstRun.setupCode ?? '') =>
        fetch(`${node.url}/setup/recovery-kit`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-liaison-setup-code': code }, body: JSON.stringify({ passphrase }) });
      const short = await ask('court');
      expect(short.status).toBe(400);
      expect(await short.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ expression: ['passphrase'] }] });
      expect((await ask('une phrase de secours', 'wrong-code')).status).toBe(401);
      const answer = await ask('une phrase de secours');
      expect(answer.status).toBe(200);
      const kit = (await answer.json()) as PassphraseWrapped;
      expect(kit.nodeId).toBe(node.repository.nodeId);
      expect(unwrapWithPassphrase(kit, 'une phrase de secours', 'kit')).toEqual(testDataKey(dataDir));
      // Once the node is set up, nobody gets the key this way, not even with the old code.
      const code = node.firstRun.setupCode ?? '';
      node.firstRun.finished();
      const after = await ask('une phrase de secours', code);
      expect(after.status).toBe(409);
      expect(JSON.stringify(await after.json())).not.toContain('wrapped');
    } finally {
      await node.close();
    }
  });

  it('brings a lost key back: export, lose the key file, import to a new key file, the node opens the folder', async () => {
    const dataDir = folder();
    const node = await startTestNode({ dataDir });
    await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', id: 'gardee', name: [{ family: 'Gardée' }] } });
    await node.close();
    const kit = join(folder('liaison-kit-'), 'kit.json');
    const short = await runCli(['key', 'export', '--data', dataDir, '--out', kit], 60_000, { input: 'court\n' });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('at least 12 characters');
    const exported = await runCli(['key', 'export', '--data', dataDir, '--out', kit], 60_000, { input: 'la phrase du kit de secours\n' });
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(kit, 'utf8')).not.toContain(testDataKey(dataDir).toString('hex'));

    const wrong = await runCli(['key', 'import', '--data', dataDir, '--kit', kit, '--key-file', join(folder(), 'k')], 60_000, { input: 'pas la bonne phrase\n' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('the passphrase does not open');
    const recovered = join(folder('liaison-recovered-'), 'data.key');
    const imported = await runCli(['key', 'import', '--data', dataDir, '--kit', kit, '--key-file', recovered], 60_000, { input: 'la phrase du kit de secours\n' });
    expect(imported.code, imported.stderr).toBe(0);
    expect(readFileSync(recovered, 'utf8').trim()).toBe(testDataKey(dataDir).toString('hex'));
    const listed = await runCli(['clients', 'list', '--data', dataDir], 60_000, { env: { LIAISON_KEY_FILE: recovered } });
    expect(listed.code, listed.stderr).toBe(0);
  });

  it('key rotate wraps the same key under a new passphrase: the old one no longer opens the folder', async () => {
    const dataDir = folder();
    const first = { LIAISON_KEY_FILE: '', LIAISON_PASSPHRASE: 'première phrase secrète' };
    expect((await runCli(['clients', 'list', '--data', dataDir], 60_000, { env: first })).code).toBe(0);
    const rotated = await runCli(['key', 'rotate', '--data', dataDir], 60_000, { env: first, input: 'deuxième phrase secrète\n' });
    expect(rotated.code, rotated.stderr).toBe(0);
    expect((await runCli(['clients', 'list', '--data', dataDir], 60_000, { env: first })).stderr).toContain('the passphrase does not open');
    expect((await runCli(['clients', 'list', '--data', dataDir], 60_000, { env: { ...first, LIAISON_PASSPHRASE: 'deuxième phrase secrète' } })).code).toBe(0);
  });
});
