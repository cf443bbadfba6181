import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isInsideFolder } from './data-dir';

/**
 * The data key of a data folder (docs/security.md): 256 random bits made at the folder's first start, from which every
 * key that protects the folder is derived (`subkey`). It is never written in clear inside the folder: it is kept
 * wrapped — by the operating system's keychain on the desktop, by a passphrase, or in a key file outside the folder —
 * and a recovery kit (the key wrapped by a passphrase the administrator chose) brings it back when all else is lost.
 */

export const DATA_KEY_BYTES = 32;

/** What each subkey protects; a subkey for one purpose tells nothing about another's. */
export type KeyPurpose = 'database' | 'content' | 'text-index' | 'sealing' | 'backup';

export function subkey(dataKey: Buffer, purpose: KeyPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, 'liaison data key', `liaison/${purpose}`, DATA_KEY_BYTES));
}

export function newDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

/** The key is absent or does not open the folder: the node does not start, and nothing was changed. */
export class DataKeyError extends Error {
  constructor(detail: string) {
    super(`La clé de chiffrement des données est absente ou fausse / The data key is missing or wrong: ${detail}`);
    this.name = 'DataKeyError';
  }
}

/** The data key wrapped by the desktop's keychain (Electron safeStorage), in the data folder. */
export const KEYCHAIN_WRAPPED_FILE = 'data-key.wrapped';
/** The data key wrapped by a passphrase (headless `LIAISON_PASSPHRASE`, or a desktop without keyring), in the data folder. */
export const PASSPHRASE_WRAPPED_FILE = 'data-key.passphrase.json';

/** The operating system's keychain as the desktop sees it (Electron safeStorage; a stand-in in tests). */
export interface Keychain {
  /** False where the system has no real protection to offer (Linux without a keyring: safeStorage's 'basic_text'). */
  available(): boolean;
  wrap(key: Buffer): Buffer;
  /** Throws when the wrapped key was made by another user's or another computer's keychain. */
  unwrap(wrapped: Buffer): Buffer;
}

/** Where a data folder's key comes from. */
export type KeySource =
  /** A file outside the folder holding the key in hex (0600); made at the folder's first start when it is missing. */
  | { kind: 'key-file'; file: string }
  /** A passphrase, which unwraps the key kept in `data-key.passphrase.json` (made at the folder's first start). */
  | { kind: 'passphrase'; passphrase: string }
  /** The desktop: the keychain wraps the key; without a keyring, `passphrase` is asked. */
  | { kind: 'keychain'; keychain: Keychain; passphrase: () => Promise<string> };

/** A folder that never held data: its key may be made now. */
export function isNewFolder(dataDir: string): boolean {
  return !['liaison.db', KEYCHAIN_WRAPPED_FILE, PASSPHRASE_WRAPPED_FILE].some((name) => existsSync(join(dataDir, name)));
}

/**
 * A folder written before the data key: its database in clear, no key kept for it. It gets its key now, and is
 * converted before the node opens it (encrypt-folder.ts).
 */
export function isFolderInClear(dataDir: string): boolean {
  return isPlaintextDatabase(join(dataDir, 'liaison.db')) && ![KEYCHAIN_WRAPPED_FILE, PASSPHRASE_WRAPPED_FILE].some((name) => existsSync(join(dataDir, name)));
}

const PLAINTEXT_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** True when `file` is a database in clear (its first bytes are SQLite's header; an encrypted one's are random). */
export function isPlaintextDatabase(file: string): boolean {
  if (!existsSync(file)) return false;
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(PLAINTEXT_HEADER.length);
    return readSync(fd, header, 0, header.length, 0) === header.length && header.equals(PLAINTEXT_HEADER);
  } finally {
    closeSync(fd);
  }
}

/**
 * The data key of `dataDir` from `source`; a new folder gets a new key, kept as the source says. Throws DataKeyError
 * when the key cannot be had (the database itself tells a wrong key from the right one when it opens).
 */
export async function loadDataKey(dataDir: string, source: KeySource, { create = isNewFolder(dataDir) }: { create?: boolean } = {}): Promise<Buffer> {
  const fresh = create;
  switch (source.kind) {
    case 'key-file':
      return keyFromFile(dataDir, source.file, fresh);
    case 'passphrase':
      return keyFromPassphrase(dataDir, source.passphrase, fresh);
    case 'keychain': {
      const wrappedFile = join(dataDir, KEYCHAIN_WRAPPED_FILE);
      const { keychain } = source;
      if (existsSync(wrappedFile)) {
        if (!keychain.available()) throw new DataKeyError(`${wrappedFile} is wrapped by this computer's keychain, which is not available now.`);
        try {
          return checkedKey(keychain.unwrap(readFileSync(wrappedFile)), wrappedFile);
        } catch (error) {
          if (error instanceof DataKeyError) throw error;
          throw new DataKeyError(`this computer's keychain does not open ${wrappedFile} (another user, or a reset keychain): recover the key with its recovery kit (liaison key import).`);
        }
      }
      // No keyring (Linux 'basic_text'), or a folder that was set up without one: a passphrase.
      if (!keychain.available() || existsSync(join(dataDir, PASSPHRASE_WRAPPED_FILE))) return keyFromPassphrase(dataDir, await source.passphrase(), fresh);
      if (!fresh) throw new DataKeyError(`${dataDir} holds data but no ${KEYCHAIN_WRAPPED_FILE}: recover the key with its recovery kit (liaison key import).`);
      const key = newDataKey();
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      writePrivateFile(wrappedFile, keychain.wrap(key));
      return key;
    }
  }
}

/**
 * Where a command run without a desktop (`liaison serve`, the other commands) finds the key: `LIAISON_KEY_FILE` (or
 * the key file named in the folder's settings), else `LIAISON_PASSPHRASE`, else the folder's key file in the user's
 * home (`defaultKeyFile`), made at the folder's first start: `npm start` and `liaison serve` work with nothing set.
 */
export function headlessKeySource(env: NodeJS.ProcessEnv = process.env, settingsKeyFile?: string, dataDir?: string): KeySource {
  const file = env.LIAISON_KEY_FILE || settingsKeyFile;
  if (file) return { kind: 'key-file', file: resolve(file) };
  if (env.LIAISON_PASSPHRASE) return { kind: 'passphrase', passphrase: env.LIAISON_PASSPHRASE };
  if (dataDir !== undefined) return { kind: 'key-file', file: defaultKeyFile(dataDir) };
  throw new DataKeyError('name the key file in LIAISON_KEY_FILE (outside the data folder) or give the passphrase in LIAISON_PASSPHRASE.');
}

/**
 * The key file of a folder when nothing names one: `~/.liaison/keys/<hash of the folder's path>.key` (0600, in a 0700
 * folder), outside the data folder, so a copy of the folder does not carry its key. A folder moved elsewhere names
 * its key file in LIAISON_KEY_FILE or its settings' `dataKeyFile`.
 */
export function defaultKeyFile(dataDir: string): string {
  return join(homedir(), '.liaison', 'keys', `${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 32)}.key`);
}

/** The key of a folder opened by a command with no desktop. */
export function loadHeadlessDataKey(dataDir: string, env: NodeJS.ProcessEnv = process.env, options: { create?: boolean } = {}): Promise<Buffer> {
  return loadDataKey(dataDir, headlessKeySource(env, keyFileSetting(dataDir), dataDir), options);
}

/** The key file named in the folder's settings (`"dataKeyFile": "/etc/liaison/data.key"`), if any. */
export function keyFileSetting(dataDir: string): string | undefined {
  let settings: { dataKeyFile?: unknown };
  try {
    settings = JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8')) as { dataKeyFile?: unknown };
  } catch {
    return undefined;
  }
  return typeof settings?.dataKeyFile === 'string' && settings.dataKeyFile ? resolve(dataDir, settings.dataKeyFile) : undefined;
}

function keyFromFile(dataDir: string, file: string, fresh: boolean): Buffer {
  if (isInsideFolder(dataDir, file)) throw new DataKeyError(`the key file ${file} is inside the data folder: a copy of the folder would carry its own key. Keep it elsewhere.`);
  if (!existsSync(file)) {
    if (!fresh) throw new DataKeyError(`the key file ${file} does not exist, and ${dataDir} already holds data: name its key file in LIAISON_KEY_FILE, or give its passphrase in LIAISON_PASSPHRASE.`);
    const key = newDataKey();
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writePrivateFile(file, Buffer.from(`${key.toString('hex')}\n`));
    return key;
  }
  if (process.platform !== 'win32') chmodSync(file, 0o600);
  const text = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new DataKeyError(`${file} is not a data key (64 hexadecimal digits).`);
  return Buffer.from(text, 'hex');
}

async function keyFromPassphrase(dataDir: string, passphrase: string, fresh: boolean): Promise<Buffer> {
  if (!passphrase) throw new DataKeyError('the passphrase is empty.');
  const file = join(dataDir, PASSPHRASE_WRAPPED_FILE);
  if (!existsSync(file)) {
    if (!fresh) throw new DataKeyError(`${dataDir} holds data but no ${PASSPHRASE_WRAPPED_FILE}: this folder's key is kept another way.`);
    const key = newDataKey();
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writePrivateFile(file, Buffer.from(JSON.stringify(wrapWithPassphrase(key, passphrase), null, 2)));
    return key;
  }
  return unwrapWithPassphrase(JSON.parse(readFileSync(file, 'utf8')) as PassphraseWrapped, passphrase, file);
}

/** The data key wrapped by a passphrase: what `data-key.passphrase.json` and a recovery kit hold. */
export interface PassphraseWrapped {
  format: 'liaison-data-key';
  version: 1;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  /** AES-256-GCM of the key under the scrypt-derived key: iv, tag, ciphertext, base64url. */
  iv: string;
  tag: string;
  wrapped: string;
  /** A recovery kit says which folder it opens (the database's node id), for the administrator. */
  nodeId?: string;
  createdAt?: string;
}

// scrypt N=2^17, r=8: about 128 MiB and a few tenths of a second, once per start (the database key is raw: no KDF per open).
const SCRYPT = { N: 1 << 17, r: 8, p: 1 };

function passphraseKey(passphrase: string, salt: Buffer, kdf: { N: number; r: number; p: number }): Buffer {
  return scryptSync(passphrase.normalize('NFC'), salt, DATA_KEY_BYTES, { ...kdf, maxmem: 256 * kdf.N * kdf.r + 16 * 1024 * 1024 });
}

export function wrapWithPassphrase(key: Buffer, passphrase: string, extra: Pick<PassphraseWrapped, 'nodeId'> = {}): PassphraseWrapped {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', passphraseKey(passphrase, salt, SCRYPT), iv);
  cipher.setAAD(Buffer.from('liaison-data-key/1'));
  const wrapped = Buffer.concat([cipher.update(key), cipher.final()]);
  return {
    format: 'liaison-data-key',
    version: 1,
    kdf: { name: 'scrypt', ...SCRYPT, salt: salt.toString('base64url') },
    iv: iv.toString('base64url'),
    tag: cipher.getAuthTag().toString('base64url'),
    wrapped: wrapped.toString('base64url'),
    ...extra,
    createdAt: new Date().toISOString(),
  };
}

export function unwrapWithPassphrase(kit: PassphraseWrapped, passphrase: string, where: string): Buffer {
  if (kit?.format !== 'liaison-data-key' || kit.version !== 1 || kit.kdf?.name !== 'scrypt') throw new DataKeyError(`${where} is not a Liaison data key (recovery kit or passphrase file).`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', passphraseKey(passphrase, Buffer.from(kit.kdf.salt, 'base64url'), kit.kdf), Buffer.from(kit.iv, 'base64url'));
    decipher.setAAD(Buffer.from('liaison-data-key/1'));
    decipher.setAuthTag(Buffer.from(kit.tag, 'base64url'));
    return checkedKey(Buffer.concat([decipher.update(Buffer.from(kit.wrapped, 'base64url')), decipher.final()]), where);
  } catch (error) {
    if (error instanceof DataKeyError) throw error;
    throw new DataKeyError(`the passphrase does not open ${where}.`);
  }
}

function checkedKey(key: Buffer, where: string): Buffer {
  if (key.length !== DATA_KEY_BYTES) throw new DataKeyError(`${where} does not hold a ${DATA_KEY_BYTES}-byte key.`);
  return key;
}

/** Whether two keys are the same, in constant time. */
export function sameKey(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Writes `file` owner-only and durably: a temporary file, fsynced, renamed over it. */
export function writePrivateFile(file: string, content: Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (process.platform !== 'win32') chmodSync(temporary, 0o600);
  renameSync(temporary, file);
  syncFolder(dirname(file));
}

/** fsync of a folder, so a rename in it survives a power loss (a no-op where folders cannot be opened: Windows). */
export function syncFolder(folder: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
