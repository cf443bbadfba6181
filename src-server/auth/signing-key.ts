import { createHash, createPrivateKey, generateKeyPair, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { oncePerFolder, sealedJwk } from './rp-key';

/**
 * The node's key as an authorization server: it signs the ID tokens apps receive (ES256, app-login.ts). Made at first
 * need (P-256), kept in `<data>/oidc-signing-key.json` sealed under the data folder's key like the relying party's
 * key (rp-key.ts); its public half is at `GET /oauth/jwks`, with a kid that is its RFC 7638 thumbprint.
 */

export const SIGNING_KEY_FILE = 'oidc-signing-key.json';
export const SIGNING_ALGORITHM = 'ES256';

export interface SigningKey {
  /** A compact JWS of `claims`, signed with this key. */
  sign(claims: Record<string, unknown>): string;
  publicJwk: JsonWebKey & { kid: string; use: 'sig'; alg: string };
}

const generate = promisify(generateKeyPair);

/** The data folder's signing key, made and saved on first use. */
export const signingKey = oncePerFolder(load);

async function load(dataDir: string): Promise<SigningKey> {
  const jwk = await sealedJwk(dataDir, SIGNING_KEY_FILE, async () => (await generate('ec', { namedCurve: 'P-256' })).privateKey.export({ format: 'jwk' }));
  const { crv, x, y } = jwk;
  const kid = createHash('sha256').update(JSON.stringify({ crv, kty: 'EC', x, y })).digest('base64url');
  const privateKey: KeyObject = createPrivateKey({ key: jwk, format: 'jwk' });
  const header = base64url({ alg: SIGNING_ALGORITHM, typ: 'JWT', kid });
  return {
    sign(claims) {
      const input = `${header}.${base64url(claims)}`;
      // JWS wants the raw r‖s signature (RFC 7518 §3.4), not DER.
      return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    },
    publicJwk: { kty: 'EC', crv, x, y, kid, use: 'sig', alg: SIGNING_ALGORITHM },
  };
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
