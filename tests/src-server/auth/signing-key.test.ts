import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RETIRED_KEY_KEPT_MS, ROTATION_DAYS, SIGNING_KEY_FILE, SigningKeys, type PublicSigningJwk } from '../../../src-server/auth/signing-key';
import { TOKEN_LIFETIME_SECONDS } from '../../../src-server/auth/tokens';
import { dataFolderKey, seal, unseal, useDataKey } from '../../../src-server/sealing';

/**
 * The keys that sign apps' ID tokens (auth/signing-key.ts) on a real data folder, with the clock in the test's hands:
 * a new key every ROTATION_DAYS days or at once, the retired one published until the ID tokens it signed have
 * expired, then dropped from the JWKS and from the sealed file.
 */

const DAY = 86_400_000;
let dataDir: string;
let clock: number;
const now = () => clock;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'liaison-signing-'));
  useDataKey(dataDir, randomBytes(32));
  clock = Date.parse('2026-12-07T10:00:00Z');
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** Whether `jws` verifies against the published key its header names. */
async function verifies(jws: string, published: PublicSigningJwk[]): Promise<boolean> {
  const jwk = published.find((key) => key.kid === decodeProtectedHeader(jws).kid);
  if (!jwk) return false;
  await compactVerify(jws, await importJWK(jwk, 'ES256'));
  return true;
}

const storedKids = async () => (await (await SigningKeys.open(dataDir, now)).published()).map((key) => key.kid);

describe('the ID-token signing keys', () => {
  it('are made at first need, sealed, and the same after a restart', async () => {
    const keys = await SigningKeys.open(dataDir, now);
    const key = await keys.current();
    expect(key.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) });
    expect(JSON.stringify(await keys.published())).not.toContain('"d"');
    const file = readFileSync(join(dataDir, SIGNING_KEY_FILE), 'utf8');
    expect(file).not.toContain(key.publicJwk.x);
    expect(unseal(dataFolderKey(dataDir), file.trim())).toContain('"d"');
    expect(await storedKids()).toEqual([key.publicJwk.kid]);
  });

  it(`rotate every ${ROTATION_DAYS} days; the retired key is published until its ID tokens have expired, then dropped`, async () => {
    const keys = await SigningKeys.open(dataDir, now);
    const first = await keys.current();
    clock += (ROTATION_DAYS - 1) * DAY;
    expect(await keys.current()).toBe(first);
    const oldToken = first.sign({ sub: 'u', exp: Math.floor(clock / 1000) + TOKEN_LIFETIME_SECONDS });

    clock += DAY;
    const second = await keys.current();
    expect(second.publicJwk.kid).not.toBe(first.publicJwk.kid);
    const newToken = second.sign({ sub: 'u' });
    expect(decodeProtectedHeader(newToken).kid).toBe(second.publicJwk.kid);
    // A token signed just before the rotation still verifies, for as long as it lives; so after a restart.
    expect(await verifies(oldToken, await keys.published())).toBe(true);
    expect(await verifies(newToken, await keys.published())).toBe(true);
    expect(await storedKids()).toEqual([second.publicJwk.kid, first.publicJwk.kid]);

    clock += RETIRED_KEY_KEPT_MS - 1;
    expect((await keys.published()).map((key) => key.kid)).toEqual([second.publicJwk.kid, first.publicJwk.kid]);
    clock += 1;
    expect((await keys.published()).map((key) => key.kid)).toEqual([second.publicJwk.kid]);
    expect(await verifies(oldToken, await keys.published())).toBe(false);
    // Gone from the file too, not only from the answer.
    expect(await storedKids()).toEqual([second.publicJwk.kid]);
    expect(unseal(dataFolderKey(dataDir), readFileSync(join(dataDir, SIGNING_KEY_FILE), 'utf8').trim())).not.toContain(first.publicJwk.x);
  });

  it('rotate at once when asked, twice in a row too; each retired key keeps its own expiry', async () => {
    const keys = await SigningKeys.open(dataDir, now);
    const first = await keys.current();
    const [second, third] = await Promise.all([keys.rotate(), keys.rotate()]);
    expect(new Set([first, second, third].map((key) => key.publicJwk.kid)).size).toBe(3);
    expect(await keys.current()).toBe(third);
    expect((await keys.published()).map((key) => key.kid)).toEqual([third, second, first].map((key) => key.publicJwk.kid));
    clock += RETIRED_KEY_KEPT_MS;
    expect((await keys.published()).map((key) => key.kid)).toEqual([third.publicJwk.kid]);
  });

  it('take over the one key of a folder written before rotation, with its kid', async () => {
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    writeFileSync(join(dataDir, SIGNING_KEY_FILE), `${seal(dataFolderKey(dataDir), JSON.stringify(jwk))}\n`, { mode: 0o600 });
    const keys = await SigningKeys.open(dataDir, now);
    const key = await keys.current();
    expect(key.publicJwk.x).toBe(jwk.x);
    // It counts from its take-over: rotated ROTATION_DAYS later, not at once.
    clock += ROTATION_DAYS * DAY - 1;
    expect(await storedKids()).toEqual([key.publicJwk.kid]);
    clock += 1;
    expect((await storedKids())[1]).toBe(key.publicJwk.kid);
  });
});
