import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Secrets stored as scrypt hashes with a salt of their own: API clients' secrets (clients.ts) and local accounts'
 * passwords (local-accounts.ts). The form is `<salt hex>:<hash hex>`, the same for both, so one check serves them.
 */

const KEY_LENGTH = 32;
const SALT_BYTES = 16;

const stored = (salt: Buffer, hash: Buffer) => `${salt.toString('hex')}:${hash.toString('hex')}`;

/** For a secret of 256 random bits, made by the node itself (a client's): quick enough to hash inline. */
export function hashSecretSync(secret: string): string {
  const salt = randomBytes(SALT_BYTES);
  return stored(salt, scryptSync(secret, salt, KEY_LENGTH));
}

/** For a person's password: hashed on libuv's thread pool, the event loop serving other requests meanwhile. */
export function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  return new Promise((resolve, reject) => scrypt(secret, salt, KEY_LENGTH, (error, hash) => (error ? reject(error) : resolve(stored(salt, hash)))));
}

/**
 * Whether `secret` is the one `hash` was made from. scrypt runs on libuv's thread pool (tens of milliseconds of
 * CPU): the event loop goes on serving other requests meanwhile.
 */
export function secretMatches(secret: string, hash: string): Promise<boolean> {
  const [saltHex, hashHex] = hash.split(':');
  if (!saltHex || !hashHex) return Promise.resolve(false); // the UI's public client has no secret
  const expected = Buffer.from(hashHex, 'hex');
  return new Promise((resolve, reject) => {
    scrypt(secret, Buffer.from(saltHex, 'hex'), KEY_LENGTH, (error, actual) => {
      if (error) reject(error);
      else resolve(actual.length === expected.length && timingSafeEqual(actual, expected));
    });
  });
}
