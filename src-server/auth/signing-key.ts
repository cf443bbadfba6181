import { createHash, createPrivateKey, generateKeyPair, sign, type JsonWebKey } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomically } from '../node-settings';
import { dataFolderKey, seal, unseal } from '../sealing';
import { oncePerFolder } from './rp-key';
import { TOKEN_LIFETIME_SECONDS } from './tokens';

/**
 * The node's keys as an authorization server: they sign the ID tokens apps receive (ES256, app-login.ts). Kept in
 * `<data>/oidc-signing-key.json` sealed under the data folder's key like the relying party's key (rp-key.ts), newest
 * first. The newest signs; a new one is made every ROTATION_DAYS days (or at once: `rotate`, `liaison apps
 * rotate-key`), and the one it replaces stays published at `GET /oauth/jwks` until every ID token it signed has
 * expired (RETIRED_KEY_KEPT_MS), then is dropped. Each key's kid is its RFC 7638 thumbprint, in every ID token's header.
 */

export const SIGNING_KEY_FILE = 'oidc-signing-key.json';
export const SIGNING_ALGORITHM = 'ES256';
export const ROTATION_DAYS = 30;
const ROTATION_MS = ROTATION_DAYS * 86_400_000;
/** An ID token lives TOKEN_LIFETIME_SECONDS; five minutes more for the clocks of the apps that check it. */
export const RETIRED_KEY_KEPT_MS = (TOKEN_LIFETIME_SECONDS + 300) * 1000;

export type PublicSigningJwk = JsonWebKey & { kid: string; use: 'sig'; alg: string };

export interface SigningKey {
  /** A compact JWS of `claims`, signed with this key. */
  sign(claims: Record<string, unknown>): string;
  publicJwk: PublicSigningJwk;
}

/** A key as its file keeps it: the private JWK, when it was made and when a newer one replaced it (ms). */
interface StoredKey {
  jwk: JsonWebKey;
  createdAt: number;
  retiredAt?: number;
}

type LoadedKey = StoredKey & SigningKey;

const generate = promisify(generateKeyPair);

/** The data folder's signing keys, read (or the first made) once per process. */
export const signingKeys = oncePerFolder((dataDir) => SigningKeys.open(dataDir));

export class SigningKeys {
  /** The keys newest first; every change goes through it in turn, so two rotations never race. */
  private keys: Promise<LoadedKey[]>;

  private constructor(
    private readonly file: string,
    private readonly sealingKey: Buffer,
    keys: LoadedKey[],
    private readonly now: () => number,
  ) {
    this.keys = Promise.resolve(keys);
  }

  /** The keys of `dataDir`, the first made and saved if there is none; `now` is the clock (ms) rotation follows. */
  static async open(dataDir: string, now: () => number = Date.now): Promise<SigningKeys> {
    const file = join(dataDir, SIGNING_KEY_FILE);
    const sealingKey = dataFolderKey(dataDir);
    if (!existsSync(file)) {
      const first = await makeKey(now());
      writeFileSync(file, `${seal(sealingKey, stored([first]))}\n`, { mode: 0o600, flag: 'wx' });
      return new SigningKeys(file, sealingKey, [first], now);
    }
    const saved = JSON.parse(unseal(sealingKey, readFileSync(file, 'utf8').trim())) as { keys: StoredKey[] } | JsonWebKey;
    // A file written before rotation holds the one key itself: it counts from now, and is kept in today's form.
    if ('kty' in saved) {
      const keys = [loaded({ jwk: saved, createdAt: now() })];
      writeFileAtomically(file, `${seal(sealingKey, stored(keys))}\n`);
      return new SigningKeys(file, sealingKey, keys, now);
    }
    return new SigningKeys(file, sealingKey, (saved as { keys: StoredKey[] }).keys.map(loaded), now);
  }

  /** The key that signs now (a new one first, if the current one is ROTATION_DAYS old). */
  async current(): Promise<SigningKey> {
    return (await this.update(false))[0];
  }

  /** The public halves to publish: the current key and those retired whose ID tokens may still be unexpired. */
  async published(): Promise<PublicSigningJwk[]> {
    return (await this.update(false)).map((key) => key.publicJwk);
  }

  /** A new key signs from now on; the one it replaces stays published until its ID tokens have expired. */
  async rotate(): Promise<SigningKey> {
    return (await this.update(true))[0];
  }

  private update(rotate: boolean): Promise<LoadedKey[]> {
    const before = this.keys;
    const after = before.then(async (keys) => {
      const now = this.now();
      let next = keys.filter((key) => key.retiredAt === undefined || key.retiredAt + RETIRED_KEY_KEPT_MS > now);
      if (rotate || next[0].createdAt + ROTATION_MS <= now) {
        next = [await makeKey(now), ...next.map((key) => (key.retiredAt === undefined ? { ...key, retiredAt: now } : key))];
      }
      if (next.length !== keys.length || next[0] !== keys[0]) writeFileAtomically(this.file, `${seal(this.sealingKey, stored(next))}\n`);
      return next;
    });
    // A failed save leaves the keys as they were (and the file too: it is replaced whole or not at all).
    this.keys = after.catch(() => before);
    return after;
  }
}

async function makeKey(now: number): Promise<LoadedKey> {
  return loaded({ jwk: (await generate('ec', { namedCurve: 'P-256' })).privateKey.export({ format: 'jwk' }), createdAt: now });
}

const stored = (keys: readonly StoredKey[]): string => JSON.stringify({ keys: keys.map(({ jwk, createdAt, retiredAt }) => ({ jwk, createdAt, retiredAt })) });

function loaded(key: StoredKey): LoadedKey {
  const { crv, x, y } = key.jwk;
  const kid = createHash('sha256').update(JSON.stringify({ crv, kty: 'EC', x, y })).digest('base64url');
  const privateKey = createPrivateKey({ key: key.jwk, format: 'jwk' });
  const header = base64url({ alg: SIGNING_ALGORITHM, typ: 'JWT', kid });
  return {
    ...key,
    sign(claims) {
      const input = `${header}.${base64url(claims)}`;
      // JWS wants the raw r‖s signature (RFC 7518 §3.4), not DER.
      return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    },
    publicJwk: { kty: 'EC', crv, x, y, kid, use: 'sig', alg: SIGNING_ALGORITHM },
  };
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
