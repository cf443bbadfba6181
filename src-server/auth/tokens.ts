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

export class TokenStore {
  private readonly insert;
  private readonly lookup;

  constructor(db: Db) {
    this.insert = db.prepare(
      'INSERT INTO oauth_tokens (token_hash, client_id, scopes, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.lookup = db.prepare<[string, number], { client_id: string; scopes: string; role: ClientRole }>(
      `SELECT t.client_id, t.scopes, c.role FROM oauth_tokens t JOIN oauth_clients c ON c.client_id = t.client_id
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
    const row = this.lookup.get(hashToken(token), Date.now());
    return row && { clientId: row.client_id, role: row.role, scopes: row.scopes ? row.scopes.split(' ') : [] };
  }
}
