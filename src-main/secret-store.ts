import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A secret kept on disk only encrypted by the operating system (Electron's safeStorage: Keychain, DPAPI, the Secret
 * Service). Where the system offers no real encryption (Linux without a keyring falls back to a fixed key) nothing
 * is written: the user logs in again next time rather than leaving a readable secret behind.
 */

export interface SystemCipher {
  /** True only when the secret is protected by the user's system credentials. */
  isAvailable(): boolean;
  encrypt(plainText: string): Buffer;
  decrypt(encrypted: Buffer): string;
}

export class SecretStore {
  constructor(
    private readonly file: string,
    private readonly cipher: SystemCipher,
  ) {}

  /** False when it could not be kept safely (and nothing was written). */
  save(secret: string): boolean {
    if (!this.cipher.isAvailable()) return false;
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, this.cipher.encrypt(secret).toString('base64'), { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, this.file);
    return true;
  }

  /** The secret, or null when there is none or it cannot be read any more (other user, reset keyring). */
  load(): string | null {
    if (!this.cipher.isAvailable()) return null;
    let stored: string;
    try {
      stored = readFileSync(this.file, 'utf8');
    } catch {
      return null;
    }
    try {
      return this.cipher.decrypt(Buffer.from(stored, 'base64'));
    } catch {
      this.clear();
      return null;
    }
  }

  clear(): void {
    rmSync(this.file, { force: true });
  }
}
