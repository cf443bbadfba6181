import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { subkey } from './data-key';

/**
 * Sealing with AES-256-GCM: a sealed text reads back only with its key, and any change to it is detected. The form
 * is `iv:tag:ciphertext` in base64url. It seals what the data folder keeps secret (the sync peers' client secrets, the
 * identity provider's client secret: under the data folder's key) and the logins waiting in browsers' login cookies
 * (under a key the running node keeps in memory).
 */

const KEY_BYTES = 32;

export function newSealingKey(): Buffer {
  return randomBytes(KEY_BYTES);
}


/**
 * The key file that sealed a data folder's secrets before the data key (issue 21): read once to reseal them under the
 * data key (sealed-secrets.ts), then removed.
 */
export const OLD_DATA_FOLDER_KEY_FILE = 'sync-secret.key';

/** The data keys of the data folders this process has opened (the node's, a command's). */
const folderKeys = new Map<string, Buffer>();

/** Holds the data key of `dataDir` for `dataFolderKey` and `folderDataKey` (startNode and the commands that open a folder call it). */
export function useDataKey(dataDir: string, dataKey: Buffer): void {
  folderKeys.set(resolve(dataDir), dataKey);
}

/** The data key of a folder this process opened; throws when it has not. */
export function folderDataKey(dataDir: string): Buffer {
  const key = folderKeys.get(resolve(dataDir));
  if (!key) throw new Error(`The data key of ${dataDir} is not loaded: its sealed secrets cannot be read.`);
  return key;
}

/**
 * The key that seals a data folder's secrets: the data key's 'sealing' subkey, so that nothing in the folder opens
 * without the data key. The one place that says where it comes from.
 */
export function dataFolderKey(dataDir: string): Buffer {
  return subkey(folderDataKey(dataDir), 'sealing');
}

export function seal(key: Buffer, text: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sealed = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), sealed].map((part) => part.toString('base64url')).join(':');
}

/** The text `seal` was given; throws when `sealed` was not made with this key, or was altered. */
export function unseal(key: Buffer, sealed: string): string {
  const [iv, tag, ciphertext] = sealed.split(':').map((part) => Buffer.from(part, 'base64url'));
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
}
