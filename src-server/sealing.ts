import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/** The key kept in `file` (owner-only), created on first use. */
export function sealingKeyFile(file: string): Buffer {
  if (!existsSync(file)) writeFileSync(file, newSealingKey(), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  const key = readFileSync(file);
  if (key.length !== KEY_BYTES) throw new Error(`${file} is not a sealing key (${KEY_BYTES} bytes)`);
  return key;
}

/** The data folder's key file (its name predates its other uses: sync peers' secrets were the first). */
export const DATA_FOLDER_KEY_FILE = 'sync-secret.key';

/**
 * The key that seals a data folder's secrets, beside the database (owner-only), so that a copy of the database or of
 * settings.json alone does not carry them. The one place that says where it comes from.
 */
export function dataFolderKey(dataDir: string): Buffer {
  return sealingKeyFile(join(dataDir, DATA_FOLDER_KEY_FILE));
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
