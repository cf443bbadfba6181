import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { desktopDataKey } from '../../src-main/desktop-data-key';
import { DataKeyError, KEYCHAIN_WRAPPED_FILE, loadDataKey, PASSPHRASE_WRAPPED_FILE, subkey } from '../../src-server/data-key';
import { seal, unseal } from '../../src-server/sealing';
import { openDatabase } from '../../src-server/store/database';
import { makeFolderPrivate } from '../../src-server/private-folder';
import { killAllChildren, runCli } from '../helpers/child-node';
import { standInKeychain, testDatabaseKey, testDataKey, toPreviousCipher } from '../helpers/data-key';
import { startTestNode, useTempDirs } from '../helpers/node';

/**
 * A stolen or shared data folder reveals no patient data: the database (its WAL and shared memory included) is
 * encrypted under the folder's data key, the folder is private to its user whatever made it, and without the right
 * key the node refuses to start, changing nothing.
 */

const folder = useTempDirs('liaison-at-rest-');
afterAll(killAllChildren);

const DATABASE_FILES = ['liaison.db', 'liaison.db-wal', 'liaison.db-shm'];

/** Which of `names` appear, in UTF-8, in the database's files as they are on disk. */
function namesOnDisk(dataDir: string, names: string[]): string[] {
  const bytes = Buffer.concat(DATABASE_FILES.filter((name) => existsSync(join(dataDir, name))).map((name) => readFileSync(join(dataDir, name))));
  return names.filter((name) => bytes.includes(Buffer.from(name)));
}

/** Every path under the folder and its mode, `d755` for a folder, `f644` for a file. */
const modes = (dataDir: string): Record<string, string> => {
  const found: Record<string, string> = {};
  const visit = (path: string, name: string) => {
    const stat = statSync(path);
    found[name] = `${stat.isDirectory() ? 'd' : 'f'}${(stat.mode & 0o777).toString(8)}`;
    if (stat.isDirectory()) for (const child of readdirSync(path)) visit(join(path, child), `${name}/${child}`);
  };
  visit(dataDir, '.');
  return found;
};

describe('the database on disk', () => {
  it('holds none of the patients’ names, neither while the node runs nor after it stopped', async () => {
    const node = await startTestNode();
    const names = ['Zébulonnesque', 'Quixotterand', 'Wolframinette'];
    for (const family of names) {
      const created = await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family, given: ['Anatolie'] }], birthDate: '1970-01-01' } });
      expect(created.status).toBe(201);
    }
    // While it runs the writes sit in the WAL: encrypted too.
    expect(existsSync(join(node.dataDir, 'liaison.db-wal'))).toBe(true);
    expect(namesOnDisk(node.dataDir, [...names, 'Anatolie'])).toEqual([]);
    // Control: the names are there to be found, and found through the node.
    const search = (await (await node.request('Patient?family=Quixotterand')).json()) as { total?: number; entry?: unknown[] };
    expect(search.entry).toHaveLength(1);
    const dataDir = node.dataDir;
    await node.close();
    expect(namesOnDisk(dataDir, [...names, 'Anatolie'])).toEqual([]);
    // Without the key, SQLite sees no database at all.
    const raw = new Database(join(dataDir, 'liaison.db'), { readonly: true });
    expect(() => raw.prepare('SELECT count(*) FROM resources').get()).toThrow(/file is not a database/);
    raw.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('a wrong or missing key', () => {
  it('is refused with a clear French and English message, nothing changed, and the right key opens the folder again', async () => {
    const dataDir = folder();
    const node = await startTestNode({ dataDir });
    expect((await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', id: 'kept', name: [{ family: 'Gardée' }] } })).status).toBe(201);
    await node.request('Patient/kept', { method: 'PUT', json: { resourceType: 'Patient', id: 'kept', name: [{ family: 'Gardée' }] } });
    await node.close();
    const before = Object.fromEntries(DATABASE_FILES.filter((name) => existsSync(join(dataDir, name))).map((name) => [name, readFileSync(join(dataDir, name))]));

    await expect(startTestNode({ dataDir, dataKey: Buffer.alloc(32, 1) })).rejects.toThrow(DataKeyError);
    await expect(startTestNode({ dataDir, dataKey: Buffer.alloc(32, 1) })).rejects.toThrow(
      /La clé de chiffrement des données est absente ou fausse \/ The data key is missing or wrong/,
    );
    // The command line: no key given at all.
    const missing = await runCli(['serve', '--data', dataDir, '--port', '0'], 60_000, { env: { LIAISON_KEY_FILE: '' } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('La clé de chiffrement des données est absente ou fausse / The data key is missing or wrong');
    expect(missing.stderr).toContain('LIAISON_KEY_FILE');
    expect(missing.stderr).not.toMatch(/^\s+at /m);
    // A key file naming another key.
    const otherKey = join(folder('liaison-other-key-'), 'other.key');
    writeFileSync(otherKey, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    const wrong = await runCli(['serve', '--data', dataDir, '--port', '0'], 60_000, { env: { LIAISON_KEY_FILE: otherKey } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('The data key is missing or wrong');

    for (const [name, bytes] of Object.entries(before)) expect(readFileSync(join(dataDir, name)).equals(bytes), name).toBe(true);
    const again = await startTestNode({ dataDir });
    expect((await again.request('Patient/kept')).status).toBe(200);
    await again.close();
  });

  it('never opens a database in clear where an encrypted one is expected: it says to run liaison encrypt', async () => {
    const dataDir = folder();
    const plain = new Database(join(dataDir, 'liaison.db'));
    plain.exec("CREATE TABLE t (x); INSERT INTO t VALUES ('Dupont')");
    plain.close();
    const before = readFileSync(join(dataDir, 'liaison.db'));
    await expect(startTestNode({ dataDir })).rejects.toThrow(/is not encrypted: encrypt it with `liaison encrypt --data <folder>`/);
    expect(readFileSync(join(dataDir, 'liaison.db')).equals(before)).toBe(true);
  });
});

describe('the cipher of the pages (AEGIS-256)', () => {
  it('refuses a page changed on disk rather than reading it (each page carries its own tag)', async () => {
    const dataDir = folder();
    const node = await startTestNode({ dataDir });
    for (let index = 0; index < 200; index++) {
      await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: `Altérée${index}` }] } });
    }
    await node.close();
    const file = join(dataDir, 'liaison.db');
    // Compacted first, so that every page is in use: a free page is never read, whatever it holds.
    const compacted = openDatabase(file, { key: testDatabaseKey(dataDir) });
    compacted.exec('VACUUM');
    expect(compacted.pragma('freelist_count', { simple: true })).toBe(0);
    compacted.close();
    const bytes = readFileSync(file);
    // One byte flipped in the middle of a page well inside the file (not the first page, which holds the salt).
    const at = Math.floor(bytes.length / 4096 / 2) * 4096 + 1000;
    bytes[at] ^= 0xff;
    writeFileSync(file, bytes);
    const db = openDatabase(file, { key: testDatabaseKey(dataDir) });
    try {
      // Every page read (indexes included): the changed one cannot be decrypted, so SQLite reports it corrupt.
      expect(() => db.pragma('integrity_check')).toThrow(/malformed|corrupt/i);
    } finally {
      db.close();
    }
  });

  it('names a folder encrypted by an earlier Liaison (SQLCipher 4) and the command that converts it; nothing changed', async () => {
    const dataDir = folder();
    const node = await startTestNode({ dataDir });
    await node.close();
    toPreviousCipher(join(dataDir, 'liaison.db'), testDatabaseKey(dataDir));
    const before = readFileSync(join(dataDir, 'liaison.db'));
    await expect(startTestNode({ dataDir })).rejects.toThrow(/encrypted in an earlier Liaison's format: convert it with `liaison encrypt --data <folder>`/);
    expect(readFileSync(join(dataDir, 'liaison.db')).equals(before)).toBe(true);
    // A wrong key is still said as a wrong key, not as the earlier format.
    await expect(startTestNode({ dataDir, dataKey: Buffer.alloc(32, 1) })).rejects.toThrow(DataKeyError);
  });
});

describe('a data folder made beforehand, world-readable', () => {
  it('is made private at start (folder 0700, files 0600), said once in the log, and the files made afterwards are private too', async () => {
    const dataDir = folder();
    const first = await startTestNode({ dataDir });
    await first.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Privée' }] } });
    await first.close();
    // As a folder made under umask 022 would be, with a settings file and a stray subfolder.
    writeFileSync(join(dataDir, 'settings.json'), '{}\n');
    mkdirSync(join(dataDir, 'binaries', 'ab'), { recursive: true });
    writeFileSync(join(dataDir, 'binaries', 'ab', 'content'), 'x');
    for (const [name, mode] of Object.entries(modes(dataDir))) chmodSync(join(dataDir, name), mode.startsWith('d') ? 0o755 : 0o644);
    expect(modes(dataDir)['./liaison.db']).toBe('f644');

    let log = '';
    const stream = new Writable({ write: (chunk: Buffer, _encoding, done) => ((log += chunk.toString()), done()) });
    const node = await startTestNode({ dataDir, logger: { level: 'warn', stream } });
    await node.request('Patient', { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Nouvelle' }] } });
    const running = modes(dataDir);
    await node.close();
    for (const [name, mode] of Object.entries({ ...running, ...modes(dataDir) })) {
      expect(mode, name).toBe(mode.startsWith('d') ? 'd700' : 'f600');
    }
    // The WAL and shared memory the node made while running, node.json, the lock: all private.
    expect(Object.keys(running)).toEqual(expect.arrayContaining(['./liaison.db-wal', './liaison.db-shm', './node.json']));
    const lines = log.split('\n').filter((line) => line.includes('private'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Made the data folder .* private \(folders 0700, files 0600\): fixed \d+ \(\. 0755, .*liaison\.db 0644/);
  });

  it('on Windows grants the current user alone through icacls (not run here: the path is checked with a stand-in)', () => {
    const calls: unknown[][] = [];
    const previous = { USERNAME: process.env.USERNAME, USERDOMAIN: process.env.USERDOMAIN };
    Object.assign(process.env, { USERNAME: 'marie', USERDOMAIN: 'CABINET' });
    try {
      makeFolderPrivate('C:\\Users\\marie\\AppData\\Roaming\\Liaison', 'win32', ((...args: unknown[]) => calls.push(args)) as never);
    } finally {
      for (const [name, value] of Object.entries(previous)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    expect(calls).toEqual([['icacls', ['C:\\Users\\marie\\AppData\\Roaming\\Liaison', '/inheritance:r', '/grant:r', 'CABINET\\marie:(OI)(CI)F', '/T', '/C', '/Q'], expect.anything()]]);
  });
});

describe('one key hierarchy', () => {
  it('reseals the secrets of a folder made before the data key under it, and removes the old key file', async () => {
    const dataDir = folder();
    const first = await startTestNode({ dataDir });
    const { peerId } = first.sync.peers.add({ name: 'Poste', url: 'http://127.0.0.1:9', clientId: 'abc', clientSecret: 'secret-du-pair' });
    await first.close();
    // As an older Liaison left it: sync-secret.key beside the database, the secrets sealed with it.
    const oldKey = randomBytes(32);
    writeFileSync(join(dataDir, 'sync-secret.key'), oldKey, { mode: 0o600 });
    const db = openDatabase(join(dataDir, 'liaison.db'), { key: testDatabaseKey(dataDir) });
    db.prepare('UPDATE sync_peers SET secret = ?').run(seal(oldKey, 'secret-du-pair'));
    db.close();
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify({ identity: { provider: 'oidc', issuer: 'https://idp.example', clientId: 'liaison', clientSecret: seal(oldKey, 'secret-idp'), localAccounts: true } }));

    let log = '';
    const stream = new Writable({ write: (chunk: Buffer, _encoding, done) => ((log += chunk.toString()), done()) });
    const node = await startTestNode({ dataDir, logger: { level: 'warn', stream } });
    try {
      expect(node.sync.peers.secretOf(peerId)).toBe('secret-du-pair');
      expect(existsSync(join(dataDir, 'sync-secret.key'))).toBe(false);
      const settings = JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')) as { identity: { clientSecret: string } };
      expect(unseal(subkey(testDataKey(dataDir), 'sealing'), settings.identity.clientSecret)).toBe('secret-idp');
      expect(log).toContain('now sealed under its data key; sync-secret.key was removed');
    } finally {
      await node.close();
    }
  });
});

describe('where the key comes from', () => {
  it('headless: LIAISON_KEY_FILE naming a missing file gives a new folder its key, kept owner-only outside the folder', async () => {
    const dataDir = folder();
    const keyFile = join(folder('liaison-keys-'), 'sub', 'data.key');
    const key = await loadDataKey(dataDir, { kind: 'key-file', file: keyFile });
    expect(readFileSync(keyFile, 'utf8').trim()).toBe(key.toString('hex'));
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(await loadDataKey(dataDir, { kind: 'key-file', file: keyFile })).toEqual(key);
    // Not inside the folder: a copy of the folder would carry its key.
    await expect(loadDataKey(dataDir, { kind: 'key-file', file: join(dataDir, 'data.key') })).rejects.toThrow(/inside the data folder/);
    // A name starting with two dots is still inside (it once passed for a path climbing out).
    await expect(loadDataKey(dataDir, { kind: 'key-file', file: join(dataDir, '..data.key') })).rejects.toThrow(/inside the data folder/);
    // A folder that holds data never gets a new key: its missing key file is an error.
    const node = await startTestNode({ dataDir, dataKey: key });
    await node.close();
    rmSync(keyFile);
    await expect(loadDataKey(dataDir, { kind: 'key-file', file: keyFile })).rejects.toThrow(/does not exist, and .* already holds data/);
  });

  it('headless: LIAISON_PASSPHRASE wraps a new key in the folder; a wrong passphrase is refused', async () => {
    const dataDir = folder();
    const key = await loadDataKey(dataDir, { kind: 'passphrase', passphrase: 'cheval agrafe pile correcte' });
    const wrapped = readFileSync(join(dataDir, PASSPHRASE_WRAPPED_FILE), 'utf8');
    expect(wrapped).not.toContain(key.toString('hex'));
    expect(wrapped).not.toContain(key.toString('base64url'));
    expect(await loadDataKey(dataDir, { kind: 'passphrase', passphrase: 'cheval agrafe pile correcte' })).toEqual(key);
    await expect(loadDataKey(dataDir, { kind: 'passphrase', passphrase: 'cheval agrafe pile fausse' })).rejects.toThrow(/The data key is missing or wrong: the passphrase does not open/);
  });

  it('liaison serve with LIAISON_PASSPHRASE runs an encrypted node', async () => {
    const dataDir = folder();
    const env = { LIAISON_KEY_FILE: '', LIAISON_PASSPHRASE: 'une phrase assez longue' };
    const listed = await runCli(['clients', 'list', '--data', dataDir], 60_000, { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(existsSync(join(dataDir, PASSPHRASE_WRAPPED_FILE))).toBe(true);
    const again = await runCli(['clients', 'list', '--data', dataDir], 60_000, { env: { ...env, LIAISON_PASSPHRASE: 'une autre phrase' } });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('the passphrase does not open');
  });

  it('desktop: the keychain wraps a new folder’s key in data-key.wrapped, and unwraps it at each start', async () => {
    const dataDir = folder();
    const keychain = standInKeychain();
    const asked: string[] = [];
    const key = await desktopDataKey(dataDir, keychain, async () => (asked.push('asked'), 'x'))();
    const wrapped = readFileSync(join(dataDir, KEYCHAIN_WRAPPED_FILE));
    expect(wrapped.includes(key)).toBe(false);
    expect(statSync(join(dataDir, KEYCHAIN_WRAPPED_FILE)).mode & 0o777).toBe(0o600);
    // The next run of the app: the same key, nothing asked.
    expect(await desktopDataKey(dataDir, keychain, async () => 'x')()).toEqual(key);
    expect(asked).toEqual([]);
    // Another user's (or a reset) keychain: a clear refusal pointing at the recovery kit.
    const other = { ...keychain, unwrap: () => { throw new Error('decrypt failed'); } };
    await expect(desktopDataKey(dataDir, other, async () => 'x')()).rejects.toThrow(/keychain does not open .* recovery kit/);
  });

  it('desktop without a keyring (Linux basic_text): the passphrase is asked, at the first start and the next ones', async () => {
    const dataDir = folder();
    const noKeyring = standInKeychain(false);
    const key = await desktopDataKey(dataDir, noKeyring, async () => 'phrase du cabinet médical')();
    expect(existsSync(join(dataDir, KEYCHAIN_WRAPPED_FILE))).toBe(false);
    expect(existsSync(join(dataDir, PASSPHRASE_WRAPPED_FILE))).toBe(true);
    expect(await desktopDataKey(dataDir, noKeyring, async () => 'phrase du cabinet médical')()).toEqual(key);
    const load = desktopDataKey(dataDir, noKeyring, async () => 'pas la bonne');
    await expect(load()).rejects.toThrow(/passphrase does not open/);
    // A failed attempt is not kept: the next launch asks again.
    await expect(load()).rejects.toThrow(/passphrase does not open/);
  });
});
