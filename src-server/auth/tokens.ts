import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../storage/database';
import type { ClientRole, OAuthClient } from './clients';
import { Scopes } from './scopes';

/** Bearer tokens issued by this node: 256 random bits, stored only as a SHA-256 hash, with an expiry. */

export const TOKEN_LIFETIME_SECONDS = 3600;

/** Who is calling, as established from a valid bearer token. */
export interface Principal {
  clientId: string;
  role: ClientRole;
  scopes: Scopes;
  /** The client's own rate limit (calls per second), when an admin set one. */
  rateLimit?: number;
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
 * revocation made by another process (`liaison clients revoke`) takes to apply; revocations through this node
 * apply at once.
 */
const CACHE_SECONDS = 10;
const CACHE_MAX_ENTRIES = 10_000;

export class TokenStore {
  private readonly insert;
  private readonly lookup;
  private readonly revokeOne;
  /** Raw token → principal: every API call authenticates, and the hash plus two-table lookup dominated reads. */
  private readonly cache = new Map<string, { principal: Principal; validUntil: number }>();

  constructor(db: Db) {
    this.insert = db.prepare(
      'INSERT INTO oauth_tokens (token_hash, client_id, scopes, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.lookup = db.prepare<[string, number], { client_id: string; scopes: string; role: ClientRole; rate_limit: number | null; expires_at: number }>(
      `SELECT t.client_id, t.scopes, c.role, c.rate_limit, t.expires_at FROM oauth_tokens t JOIN oauth_clients c ON c.client_id = t.client_id
       WHERE t.token_hash = ? AND t.expires_at > ? AND t.revoked_at IS NULL AND c.revoked_at IS NULL`,
    );
    this.revokeOne = db.prepare<[string, string, string]>(
      'UPDATE oauth_tokens SET revoked_at = ? WHERE token_hash = ? AND client_id = ? AND revoked_at IS NULL',
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
    const principal: Principal = {
      clientId: row.client_id,
      role: row.role,
      scopes: new Scopes(row.scopes ? row.scopes.split(' ') : []),
      ...(row.rate_limit !== null ? { rateLimit: row.rate_limit } : {}),
    };
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(token, { principal, validUntil: Math.min(row.expires_at, now + CACHE_SECONDS * 1000) });
    return principal;
  }

  /** RFC 7009: revokes a token of `clientId` (another client's token, or an unknown one, is left alone). */
  revoke(token: string, clientId: string): void {
    this.revokeOne.run(new Date().toISOString(), hashToken(token), clientId);
    if (this.cache.get(token)?.principal.clientId === clientId) this.cache.delete(token);
  }

  /** Forgets every cached token of a client (revoked through this node): the next call asks the database. */
  forgetClient(clientId: string): void {
    for (const [token, entry] of this.cache) if (entry.principal.clientId === clientId) this.cache.delete(token);
  }
}
