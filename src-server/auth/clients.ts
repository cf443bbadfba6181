import { randomBytes, randomUUID, scryptSync, timingSafeEqual } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../storage/database';

/** OAuth clients registered on this node. Secrets are shown once and stored as scrypt hashes. */

export type ClientRole = 'owner' | 'client';

export interface OAuthClient {
  clientId: string;
  name: string;
  scopes: string[];
  role: ClientRole;
}

export interface ClientCredentials {
  client_id: string;
  client_secret: string;
}

const SCRYPT_KEY_LENGTH = 32;

function hashSecret(secret: string): string {
  const salt = randomBytes(16);
  return `${salt.toString('hex')}:${scryptSync(secret, salt, SCRYPT_KEY_LENGTH).toString('hex')}`;
}

function secretMatches(secret: string, stored: string): boolean {
  const [saltHex, hashHex] = stored.split(':');
  const expected = Buffer.from(hashHex, 'hex');
  const actual = scryptSync(secret, Buffer.from(saltHex, 'hex'), SCRYPT_KEY_LENGTH);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function createClient(db: Db, name: string, scopes: string[], role: ClientRole): ClientCredentials {
  const credentials = { client_id: randomUUID(), client_secret: randomBytes(32).toString('base64url') };
  db.prepare(
    'INSERT INTO oauth_clients (client_id, name, secret_hash, scopes, role, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(credentials.client_id, name, hashSecret(credentials.client_secret), scopes.join(' '), role, new Date().toISOString());
  return credentials;
}

/** The client whose id and secret these are, or undefined (unknown, revoked or wrong secret). */
export function verifyClient(db: Db, clientId: string, secret: string): OAuthClient | undefined {
  const row = db
    .prepare<[string], { client_id: string; name: string; secret_hash: string; scopes: string; role: ClientRole }>(
      'SELECT client_id, name, secret_hash, scopes, role FROM oauth_clients WHERE client_id = ? AND revoked_at IS NULL',
    )
    .get(clientId);
  if (!row || !secretMatches(secret, row.secret_hash)) return undefined;
  return { clientId: row.client_id, name: row.name, scopes: row.scopes ? row.scopes.split(' ') : [], role: row.role };
}

export const OWNER_CLIENT_FILE = 'owner-client.json';

/**
 * On the first start of a data directory, creates the owner client and writes its credentials to
 * `<data>/owner-client.json` (mode 0600), the one place they are ever shown.
 */
export function ensureOwnerClient(db: Db, dataDir: string): { file: string; created: boolean } {
  const file = join(dataDir, OWNER_CLIENT_FILE);
  const existing = db.prepare("SELECT 1 FROM oauth_clients WHERE role = 'owner' AND revoked_at IS NULL").get();
  if (existing) return { file, created: false };
  const credentials = createClient(db, 'owner', ['*'], 'owner');
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only when the file is new: a stale file left from an older database keeps its mode otherwise.
  chmodSync(file, 0o600);
  return { file, created: true };
}
