import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from '../store/database';
import { ALL_SCOPES } from './scopes';
import type { IssuedToken, TokenStore } from './tokens';

/**
 * Login sessions: one per login, holding the user's access tokens (1 h, tokens.ts) and refresh tokens (256 random
 * bits, stored as SHA-256 hashes, rotated on each use). A refresh token used twice means it was copied: the session
 * ends, so neither the thief nor the user keeps it. Ending a session (logout, user disabled) revokes all its tokens.
 */

export const SESSION_LIFETIME_MS = 12 * 3600_000;
/** A user's tokens reach every type: what data they reach is the user's party (access rules), not scopes. */
const USER_SCOPES = [ALL_SCOPES];

/** An app a user allowed (Réglages, "Applications autorisées"). */
export interface AllowedApp {
  clientId: string;
  name: string;
  scopes: string[];
  /** When they first allowed it, among the grants that still live. */
  since: string;
}

/** A user's grant to an app (app-login.ts): the app's tokens carry the scopes the user consented to, for that user. */
export interface AppGrant {
  clientId: string;
  scopes: readonly string[];
  /** SMART `launch/patient`: the patient the user chose, to whose compartment the grant is confined (auth/reach.ts). */
  patientId?: string;
}

export interface SessionTokens extends IssuedToken {
  refresh_token: string;
  /** SMART App Launch's launch context: the grant's patient, in every answer (refreshes too). */
  patient?: string;
}

export type RefreshResult =
  | { tokens: SessionTokens; userId: string }
  /**
   * unknown: never issued, expired, or its session ended; reused: a rotated token came back, the session is ended;
   * held: the caller's `admit` said no, and the refresh token is still unused.
   */
  | { refused: 'unknown' | 'reused' | 'held'; userId?: string };

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

interface RefreshRow {
  session_id: string;
  used_at: number | null;
  user_id: string;
  session_expires_at: number;
  client_id: string | null;
  scopes: string | null;
  patient_id: string | null;
}

export class Sessions {
  private readonly statements;

  constructor(
    db: Db,
    private readonly tokens: TokenStore,
    private readonly now: () => number = Date.now,
  ) {
    this.statements = {
      insertSession: db.prepare('INSERT INTO sessions (session_id, user_id, created_at, expires_at, client_id, scopes, patient_id) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertRefresh: db.prepare('INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES (?, ?, ?)'),
      // Only a live session of an enabled user can be refreshed, by the client it is for (the UI's: NULL; an app's);
      // a used token is returned too, to detect its reuse.
      findRefresh: db.prepare<[string, number, number, string | null], RefreshRow>(
        `SELECT r.session_id, r.used_at, s.user_id, s.expires_at AS session_expires_at, s.client_id, s.scopes, s.patient_id
         FROM refresh_tokens r JOIN sessions s ON s.session_id = r.session_id JOIN users u ON u.user_id = s.user_id
         WHERE r.token_hash = ? AND r.expires_at > ? AND s.ended_at IS NULL AND s.expires_at > ? AND u.disabled_at IS NULL AND s.client_id IS ?`,
      ),
      markUsed: db.prepare<[number, string]>('UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL'),
      endSession: db.prepare<[number, string]>('UPDATE sessions SET ended_at = ? WHERE session_id = ? AND ended_at IS NULL'),
      liveSessionsOf: db.prepare<[string], { session_id: string }>('SELECT session_id FROM sessions WHERE user_id = ? AND ended_at IS NULL'),
      // The live grant of an app that an access or refresh token (its hash) belongs to.
      grantOfToken: db.prepare<[string, string, string, string], { session_id: string; user_id: string }>(
        `SELECT s.session_id, s.user_id FROM sessions s
         WHERE s.client_id = ? AND s.ended_at IS NULL AND s.session_id IN (
           SELECT session_id FROM oauth_tokens WHERE token_hash = ? AND client_id = ?
           UNION ALL SELECT session_id FROM refresh_tokens WHERE token_hash = ?)`,
      ),
      liveGrantsOf: db.prepare<[string, number], { session_id: string; client_id: string; name: string; scopes: string | null; created_at: number }>(
        `SELECT s.session_id, s.client_id, c.name, s.scopes, s.created_at FROM sessions s JOIN oauth_clients c ON c.client_id = s.client_id
         WHERE s.user_id = ? AND s.ended_at IS NULL AND s.expires_at > ? AND c.revoked_at IS NULL ORDER BY s.created_at`,
      ),
    };
    // Each in one transaction: a session never exists without its tokens, nor a refresh token used without its successor.
    this.start = db.transaction(this.start.bind(this));
    this.refresh = db.transaction(this.refresh.bind(this));
  }

  /** A new session for a user who just logged in, with its first tokens. */
  open(userId: string): SessionTokens {
    return this.start(userId).tokens;
  }

  /** A user's new grant to an app (a session of the app's), with its first tokens. */
  grant(userId: string, grant: AppGrant): { tokens: SessionTokens; sessionId: string } {
    return this.start(userId, grant);
  }

  private start(userId: string, grant?: AppGrant): { tokens: SessionTokens; sessionId: string } {
    const sessionId = randomUUID();
    const expiresAt = this.now() + SESSION_LIFETIME_MS;
    this.statements.insertSession.run(sessionId, userId, this.now(), expiresAt, grant?.clientId ?? null, grant ? grant.scopes.join(' ') : null, grant?.patientId ?? null);
    return { tokens: this.issue(sessionId, expiresAt, grant), sessionId };
  }

  /**
   * New tokens for a refresh token of a session of `clientId` (undefined: the UI's), which is used up, if `admit`
   * lets the user have them (its rate limit). Another client's refresh token is unknown to it.
   */
  refresh(refreshToken: string, admit: (userId: string) => boolean = () => true, clientId?: string): RefreshResult {
    const tokenHash = hash(refreshToken);
    const row = this.statements.findRefresh.get(tokenHash, this.now(), this.now(), clientId ?? null);
    if (!row) return { refused: 'unknown' };
    if (row.used_at !== null) {
      this.end(row.session_id);
      return { refused: 'reused', userId: row.user_id };
    }
    if (!admit(row.user_id)) return { refused: 'held', userId: row.user_id };
    this.statements.markUsed.run(this.now(), tokenHash);
    const grant = row.client_id === null ? undefined : { clientId: row.client_id, scopes: row.scopes ? row.scopes.split(' ') : [], ...(row.patient_id !== null ? { patientId: row.patient_id } : {}) };
    return { tokens: this.issue(row.session_id, row.session_expires_at, grant), userId: row.user_id };
  }

  /** Ends a session: its access tokens stop working at once, its refresh tokens cannot be used. */
  end(sessionId: string): void {
    this.statements.endSession.run(this.now(), sessionId);
    this.tokens.revokeSession(sessionId);
  }

  /** The apps a user allowed and whose grant still lives, one line per app (its scopes the newest grant's). */
  grantsOf(userId: string): AllowedApp[] {
    const apps = new Map<string, AllowedApp>();
    for (const row of this.statements.liveGrantsOf.all(userId, this.now())) {
      apps.set(row.client_id, {
        clientId: row.client_id,
        name: row.name,
        scopes: row.scopes ? row.scopes.split(' ') : [],
        since: apps.get(row.client_id)?.since ?? new Date(row.created_at).toISOString(),
      });
    }
    return [...apps.values()];
  }

  /** The user takes back what they allowed an app: its grants end, its tokens for them stop at once. */
  endGrantsOf(userId: string, clientId: string): number {
    const grants = this.statements.liveGrantsOf.all(userId, this.now()).filter((row) => row.client_id === clientId);
    for (const grant of grants) this.end(grant.session_id);
    return grants.length;
  }

  /** RFC 7009 for an app: the grant one of its tokens (access or refresh) belongs to ends; its user, if there was one. */
  endGrantHolding(token: string, clientId: string): string | undefined {
    const tokenHash = hash(token);
    const grant = this.statements.grantOfToken.get(clientId, tokenHash, clientId, tokenHash);
    if (grant) this.end(grant.session_id);
    return grant?.user_id;
  }

  /** Ends every session of a user (disabled by an admin). */
  endAllOf(userId: string): void {
    for (const { session_id } of this.statements.liveSessionsOf.all(userId)) this.end(session_id);
  }

  private issue(sessionId: string, sessionExpiresAt: number, grant?: AppGrant): SessionTokens {
    const refreshToken = randomBytes(32).toString('base64url');
    this.statements.insertRefresh.run(hash(refreshToken), sessionId, sessionExpiresAt);
    const issued = grant ? this.tokens.issueForSession(sessionId, grant.scopes, grant.clientId) : this.tokens.issueForSession(sessionId, USER_SCOPES);
    return { ...issued, refresh_token: refreshToken, ...(grant?.patientId !== undefined ? { patient: grant.patientId } : {}) };
  }
}
