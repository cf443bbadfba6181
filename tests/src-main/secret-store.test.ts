import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretStore, type SystemCipher } from '../../src-main/secret-store';
import { tempDir } from '../helpers/node';

/** Stands in for safeStorage: reversible, and visibly not the plain text. */
const cipher = (available = true): SystemCipher => ({
  isAvailable: () => available,
  encrypt: (text) => Buffer.from([...Buffer.from(text)].map((byte) => byte ^ 0x5a)),
  decrypt: (data) => {
    if (data.length === 0) throw new Error('cannot decrypt');
    return Buffer.from([...data].map((byte) => byte ^ 0x5a)).toString();
  },
});

const dir = tempDir('liaison-secrets-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SecretStore', () => {
  it('keeps the secret only encrypted, readable by the user alone', () => {
    const file = join(dir, 'login.bin');
    const store = new SecretStore(file, cipher());
    expect(store.load()).toBeNull();
    expect(store.save('refresh-token-123')).toBe(true);
    expect(readFileSync(file, 'utf8')).not.toContain('refresh-token-123');
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(store.load()).toBe('refresh-token-123');
    store.clear();
    expect(existsSync(file)).toBe(false);
  });

  it('writes nothing when the system cannot encrypt', () => {
    const file = join(dir, 'none.bin');
    expect(new SecretStore(file, cipher(false)).save('refresh-token')).toBe(false);
    expect(existsSync(file)).toBe(false);
  });

  it('forgets a secret it can no longer decrypt', () => {
    const file = join(dir, 'stale.bin');
    writeFileSync(file, '');
    expect(new SecretStore(file, cipher()).load()).toBeNull();
    expect(existsSync(file)).toBe(false);
  });
});
