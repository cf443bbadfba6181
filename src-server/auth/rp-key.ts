import { createHash, generateKeyPair, type JsonWebKey, type webcrypto } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomically } from '../node-settings';
import { dataFolderKey, seal, unseal } from '../sealing';

/**
 * The node's own key as a relying party: a provider that encrypts its userinfo answers (a JWE, Pro Santé Connect can)
 * encrypts them to it. Made at first need (RSA 2048, RSA-OAEP-256), kept in `<data>/oidc-rp-key.json` sealed under
 * the data folder's key; its public half is served at `GET /auth/jwks` for the provider's registration (`jwks_uri`).
 */

export const RP_KEY_FILE = 'oidc-rp-key.json';
export const RP_KEY_ALGORITHM = 'RSA-OAEP-256';

export interface RelyingPartyKey {
  /** For openid-client's decryption. */
  privateKey: webcrypto.CryptoKey;
  /** The public key as a JWKS entry (`use: enc`). */
  publicJwk: JsonWebKey & { kid: string; use: 'enc'; alg: string };
}

const generate = promisify(generateKeyPair);

/** The sealed key file sealed again by `reseal` (a change of sealing key). */
export function resealRelyingPartyKey(dataDir: string, reseal: (sealed: string) => string): void {
  resealKeyFile(dataDir, RP_KEY_FILE, reseal);
}

/** A key file of the data folder (`sealedJwk`) sealed again by `reseal`. */
export function resealKeyFile(dataDir: string, name: string, reseal: (sealed: string) => string): void {
  const file = join(dataDir, name);
  if (!existsSync(file)) return;
  const sealed = readFileSync(file, 'utf8').trim();
  const resealed = reseal(sealed);
  if (resealed !== sealed) writeFileAtomically(file, `${resealed}\n`);
}

/** The data folder's key, made and saved on first use (off the event loop). */
export const relyingPartyKey = oncePerFolder(load);

/** A data folder's key loaded (or made) once and shared; a failure is not kept: the next use tries again. */
export function oncePerFolder<K>(load: (dataDir: string) => Promise<K>): (dataDir: string) => Promise<K> {
  const loading = new Map<string, Promise<K>>();
  return (dataDir) => {
    let key = loading.get(dataDir);
    if (!key) {
      key = load(dataDir);
      loading.set(dataDir, key);
      key.catch(() => loading.delete(dataDir));
    }
    return key;
  };
}

/** A private key of the data folder as a JWK, read from its file sealed under the data folder's key, made by `make` at first need. */
export async function sealedJwk(dataDir: string, name: string, make: () => Promise<JsonWebKey>): Promise<JsonWebKey> {
  const file = join(dataDir, name);
  const sealingKey = dataFolderKey(dataDir);
  if (existsSync(file)) return JSON.parse(unseal(sealingKey, readFileSync(file, 'utf8').trim())) as JsonWebKey;
  const jwk = await make();
  writeFileSync(file, `${seal(sealingKey, JSON.stringify(jwk))}\n`, { mode: 0o600, flag: 'wx' });
  return jwk;
}

async function load(dataDir: string): Promise<RelyingPartyKey> {
  const jwk = await sealedJwk(dataDir, RP_KEY_FILE, async () => (await generate('rsa', { modulusLength: 2048 })).privateKey.export({ format: 'jwk' }));
  const { n, e } = jwk;
  // RFC 7638 thumbprint: the same key has the same kid wherever it is published.
  const kid = createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
  const privateKey = await globalThis.crypto.subtle.importKey('jwk', jwk as webcrypto.JsonWebKey, { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt', 'unwrapKey']);
  return { privateKey, publicJwk: { kty: 'RSA', n, e, kid, use: 'enc', alg: RP_KEY_ALGORITHM } };
}
