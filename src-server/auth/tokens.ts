import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../storage/database';
import type { ClientRole, OAuthClient } from './clients';

/** Bearer tokens issued by this node: 256 random bits, stored only as a SHA-256 hash, with an expiry. */

export const TOKEN_LIFETIME_SECONDS = 3600;

/** Who is calling, as established from a valid bearer token. */
export interface Principal {
  clientId: string;
  role: ClientRole;
  scopes: string[];
}

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * How long a verified token is trusted from memory before the database is asked again. It bounds how long a
 * revocation takes to apply.
 */
const CACHE_SECONDS = 10;
const CACHE_MAX_ENTRIES = 10_000;

export class TokenStore {
  private readonly insert;
  private readonly lookup;
  /** Raw token → principal: every API call authenticates, and the hash plus two-table lookup dominated reads. */
  private readonly cache = new Map<string, { principal: Principal; validUntil: number }>();

  constructor(db: Db) {
    this.insert = db.prepare(
      'INSERT INTO oauth_tokens (token_hash, client_id, scopes, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.lookup = db.prepare<[string, number], { client_id: string; scopes: string; role: ClientRole; expires_at: number }>(
      `SELECT t.client_id, t.scopes, c.role, t.expires_at FROM oauth_tokens t JOIN oauth_clients c ON c.client_id = t.client_id
       WHERE t.token_hash = ? AND t.expires_at > ? AND t.revoked_at IS NULL AND c.revoked_at IS NULL`,
    );
  }

  issue(client: OAuthClient): IssuedToken {
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    const scope = client.scopes.join(' ');
    this.insert.run(hashToken(token), client.clientId, scope, new Date(now).toISOString(), now + TOKEN_LIFETIME_SECONDS * 1000);
    return { access_token: token, token_type: 'Bearer', expires_in: TOKEN_LIFETIME_SECONDS, scope };
  }

  /** The principal a token stands for, or undefined when it is unknown, expired or revoked. */
  authenticate(token: string): Principal | undefined {
    const now = Date.now();
    const cached = this.cache.get(token);
    if (cached && cached.validUntil > now) return cached.principal;
    const row = this.lookup.get(hashToken(token), now);
    if (!row) {
      this.cache.delete(token);
      return undefined;
    }
    const principal: Principal = { clientId: row.client_id, role: row.role, scopes: row.scopes ? row.scopes.split(' ') : [] };
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(token, { principal, validUntil: Math.min(row.expires_at, now + CACHE_SECONDS * 1000) });
    return principal;
  }
}
