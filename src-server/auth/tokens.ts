import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../store/database';
import type { ClientRole, OAuthClient } from './clients';
import { Scopes } from './scopes';

/** Bearer tokens issued by this node: 256 random bits, stored only as a SHA-256 hash, with an expiry. */

export const TOKEN_LIFETIME_SECONDS = 3600;

/** Who is calling, as established from a valid bearer token. */
export interface Principal {
  /**
   * The API client, `user:<userId>` for a user's login session, or `<app client id>|user:<userId>` for an app acting
   * for a user (rate limit and audit key).
   */
  clientId: string;
  role: ClientRole;
  scopes: Scopes;
  /** The client's own rate limit (calls per second), when an admin set one (for a user: the UI client's, every user's). */
  rateLimit?: number;
  /** Whose patients the caller reaches (auth/access.ts); undefined: the whole node (owner, practice-wide clients). */
  party?: Party;
  /** May manage clients, users and read the audit trail: the owner client, or a user with the admin role. */
  admin: boolean;
  /** The login session (or app grant) a user's token belongs to. */
  sessionId?: string;
  /** The app acting for the user, for an app's token. */
  appId?: string;
}

/** The user or practice a caller acts for. */
export interface Party {
  userId?: string;
  /** The directory Practitioner the user is. */
  practitionerId?: string;
  /** The practice Organizations the user (or the client's practice) belongs to. */
  organizationIds: readonly string[];
  /** Staff work for their practices' practitioners, and reach those practitioners' patients too. */
  staff: boolean;
  /** The one patient an app's grant is confined to (SMART `launch/patient`: the patient the user chose). */
  launchPatientId?: string;
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

/**
 * Live tokens a client (the owner, an API client) may hold: issuing one more deletes its oldest. A client needs one
 * an hour; a hundred leaves room for many processes sharing one software's credentials, and bounds the rows a
 * client minting tokens in a loop leaves behind.
 */
export const MAX_LIVE_TOKENS_PER_CLIENT = 100;
/** A login session needs one at a time (the UI refreshes before expiry): ten leave room for overlapping refreshes. */
export const MAX_LIVE_TOKENS_PER_SESSION = 10;

export class TokenStore {
  private readonly insert;
  private readonly lookup;
  private readonly revokeOne;
  private readonly revokeOfSession;
  private readonly dropOldestOfClient;
  private readonly dropOldestOfSession;
  /** Raw token → principal: every API call authenticates, and the hash plus two-table lookup dominated reads. */
  private readonly cache = new Map<string, { principal: Principal; validUntil: number; tokenHash: string }>();

  constructor(db: Db) {
    this.insert = db.prepare(
      'INSERT INTO oauth_tokens (token_hash, client_id, scopes, issued_at, expires_at, session_id) VALUES (?, ?, ?, ?, ?, ?)',
    );
    // A session's token stands for its user; a client's token for the practitioner or practice the client acts for.
    this.lookup = db.prepare<[string, number, number], TokenRow>(
      `SELECT t.client_id, t.scopes, c.role, c.rate_limit, t.expires_at, t.session_id,
              c.practitioner_id AS client_practitioner_id, c.organization_id AS client_organization_id,
              u.user_id, u.practitioner_id, u.organizations, u.roles, s.patient_id AS launch_patient_id
       FROM oauth_tokens t JOIN oauth_clients c ON c.client_id = t.client_id
       LEFT JOIN sessions s ON s.session_id = t.session_id
       LEFT JOIN users u ON u.user_id = s.user_id
       WHERE t.token_hash = ? AND t.expires_at > ? AND t.revoked_at IS NULL AND c.revoked_at IS NULL
         AND (t.session_id IS NULL OR (s.ended_at IS NULL AND s.expires_at > ? AND u.user_id IS NOT NULL AND u.disabled_at IS NULL))`,
    );
    this.revokeOne = db.prepare<[string, string, string]>(
      'UPDATE oauth_tokens SET revoked_at = ? WHERE token_hash = ? AND client_id = ? AND revoked_at IS NULL',
    );
    this.revokeOfSession = db.prepare<[string, string]>('UPDATE oauth_tokens SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL');
    // The holder's live tokens past the newest `cap` - 1 besides the new one (so that a tie cannot drop it), found
    // through the partial indexes of live tokens.
    this.dropOldestOfClient = db.prepare<[string, number, string, number], { token_hash: string }>(
      `DELETE FROM oauth_tokens WHERE token_hash IN (
         SELECT token_hash FROM oauth_tokens WHERE client_id = ? AND session_id IS NULL AND revoked_at IS NULL AND expires_at > ? AND token_hash != ?
         ORDER BY expires_at DESC LIMIT -1 OFFSET ?)
       RETURNING token_hash`,
    );
    this.dropOldestOfSession = db.prepare<[string, number, string, number], { token_hash: string }>(
      `DELETE FROM oauth_tokens WHERE token_hash IN (
         SELECT token_hash FROM oauth_tokens WHERE session_id = ? AND revoked_at IS NULL AND expires_at > ? AND token_hash != ?
         ORDER BY expires_at DESC LIMIT -1 OFFSET ?)
       RETURNING token_hash`,
    );
    this.insertToken = db.transaction(this.insertToken.bind(this));
  }

  /** A client's token, with `scopes` when it asked for fewer than its grant (the caller checked them). */
  issue(client: OAuthClient, scopes: readonly string[] = client.scopes): IssuedToken {
    return this.insertToken(client.clientId, scopes, null);
  }

  /**
   * An access token of a user's login session (auth/sessions.ts), under the UI's built-in client, or of a user's grant
   * to an app, under the app's client id.
   */
  issueForSession(sessionId: string, scopes: readonly string[], clientId: string = UI_CLIENT_ID): IssuedToken {
    return this.insertToken(clientId, scopes, sessionId);
  }

  /** Inserts a token and, in the same transaction, deletes its holder's oldest live tokens beyond the cap. */
  private insertToken(clientId: string, scopes: readonly string[], sessionId: string | null): IssuedToken {
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    const scope = scopes.join(' ');
    const tokenHash = hashToken(token);
    this.insert.run(tokenHash, clientId, scope, new Date(now).toISOString(), now + TOKEN_LIFETIME_SECONDS * 1000, sessionId);
    const dropped =
      sessionId === null
        ? this.dropOldestOfClient.all(clientId, now, tokenHash, MAX_LIVE_TOKENS_PER_CLIENT - 1)
        : this.dropOldestOfSession.all(sessionId, now, tokenHash, MAX_LIVE_TOKENS_PER_SESSION - 1);
    if (dropped.length > 0) {
      const hashes = new Set(dropped.map((row) => row.token_hash));
      for (const [cached, entry] of this.cache) if (hashes.has(entry.tokenHash)) this.cache.delete(cached);
    }
    return { access_token: token, token_type: 'Bearer', expires_in: TOKEN_LIFETIME_SECONDS, scope };
  }

  /** The principal a token stands for, or undefined when it is unknown, expired or revoked. */
  authenticate(token: string): Principal | undefined {
    const now = Date.now();
    const cached = this.cache.get(token);
    if (cached && cached.validUntil > now) return cached.principal;
    const tokenHash = hashToken(token);
    const row = this.lookup.get(tokenHash, now, now);
    if (!row) {
      this.cache.delete(token);
      return undefined;
    }
    const principal = principalOf(row);
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(token, { principal, validUntil: Math.min(row.expires_at, now + CACHE_SECONDS * 1000), tokenHash });
    return principal;
  }

  /** RFC 7009: revokes a token of `clientId` (another client's token, or an unknown one, is left alone). */
  revoke(token: string, clientId: string): void {
    this.revokeOne.run(new Date().toISOString(), hashToken(token), clientId);
    if (this.cache.get(token)?.principal.clientId === clientId) this.cache.delete(token);
  }

  /** Revokes every access token of a login session (logout, refresh token theft, user disabled), at once. */
  revokeSession(sessionId: string): void {
    this.revokeOfSession.run(new Date().toISOString(), sessionId);
    this.forget((principal) => principal.sessionId === sessionId);
  }

  /** Forgets every cached token of a client (revoked or changed through this node): the next call asks the database. */
  forgetClient(clientId: string): void {
    // Users' tokens are the UI client's, and apps' tokens the app's, under keys of their own.
    this.forget((principal) => principal.clientId === clientId || principal.appId === clientId || (clientId === UI_CLIENT_ID && principal.role === 'ui'));
  }

  /** Forgets cached tokens after a session ended or a user changed (logout, roles, practices, disabled). */
  forget(which: (principal: Principal) => boolean): void {
    for (const [token, entry] of this.cache) if (which(entry.principal)) this.cache.delete(token);
  }
}

/** The built-in public client that owns the access tokens of users' login sessions (migration 4). */
export const UI_CLIENT_ID = 'liaison-ui';

interface TokenRow {
  client_id: string;
  scopes: string;
  role: ClientRole;
  rate_limit: number | null;
  expires_at: number;
  session_id: string | null;
  client_practitioner_id: string | null;
  client_organization_id: string | null;
  user_id: string | null;
  practitioner_id: string | null;
  organizations: string | null;
  roles: string | null;
  launch_patient_id: string | null;
}

const words = (text: string | null) => (text ? text.split(' ').filter(Boolean) : []);

function principalOf(row: TokenRow): Principal {
  const roles = words(row.roles);
  let party: Party | undefined;
  if (row.user_id !== null) {
    party = {
      userId: row.user_id,
      ...(row.practitioner_id !== null ? { practitionerId: row.practitioner_id } : {}),
      organizationIds: words(row.organizations),
      staff: roles.includes('staff'),
      ...(row.launch_patient_id !== null ? { launchPatientId: row.launch_patient_id } : {}),
    };
  } else if (row.client_practitioner_id !== null || row.client_organization_id !== null) {
    // A practice's client works for the practice's practitioners; a practitioner's client for that practitioner.
    party = {
      ...(row.client_practitioner_id !== null ? { practitionerId: row.client_practitioner_id } : {}),
      organizationIds: row.client_organization_id !== null ? [row.client_organization_id] : [],
      staff: row.client_practitioner_id === null,
    };
  }
  // An app acting for a user has the user's reach and the scopes of the grant, never the user's admin role.
  const app = row.role === 'app';
  return {
    clientId: row.user_id === null ? row.client_id : app ? `${row.client_id}|user:${row.user_id}` : `user:${row.user_id}`,
    role: row.role,
    scopes: new Scopes(words(row.scopes)),
    ...(row.rate_limit !== null ? { rateLimit: row.rate_limit } : {}),
    ...(party ? { party } : {}),
    admin: row.role === 'owner' || (!app && roles.includes('admin')),
    ...(row.session_id !== null ? { sessionId: row.session_id } : {}),
    ...(app ? { appId: row.client_id } : {}),
  };
}
