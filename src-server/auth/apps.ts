import { randomBytes, randomUUID } from 'node:crypto';
import { badRequest, notFound } from '../fhir/outcome';
import type { Db } from '../store/database';
import { checkNewClient, type ClientRole } from './clients';
import { ALL_SCOPES, SYNC_SCOPE } from './scopes';
import { hashSecretSync } from './scrypt-hash';

/**
 * Apps: the office's other software that logs its users in through the node (authorization code flow, app-login.ts)
 * and then acts for them. An app is an OAuth client of the node (`oauth_clients`, role `app`: its name, the scopes it
 * may ask for, its rate, `revoked_at` once disabled) with its redirect URIs and whether it is public (PKCE only) or
 * confidential (a secret, shown once, stored as a scrypt hash like an API client's). Its tokens belong to a user's
 * grant (a session with the app's client id, sessions.ts), so the node's clients, users and access rules stay the one
 * source of truth.
 */

export const APP_ROLE: ClientRole = 'app';

export interface NewApp {
  name: string;
  redirectUris: string[];
  /** Public: a browser or desktop app that can keep no secret; it proves itself by PKCE alone. */
  public: boolean;
  /** What it may ask its users for (Lifen scopes, as an API client's). */
  scopes: string[];
  rateLimit?: number;
}

export interface AppInfo extends NewApp {
  clientId: string;
  createdAt: string;
  disabledAt?: string;
}

/** An active app as the authorization endpoints need it, with the hash its secret is checked against ('' when public). */
export interface StoredApp {
  app: AppInfo;
  secretHash: string;
}

export interface AppCredentials {
  client_id: string;
  /** Confidential apps only: shown this once. */
  client_secret?: string;
}

const MAX_REDIRECT_URIS = 10;
const MAX_URI_LENGTH = 2000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]']);

/**
 * A redirect URI an app may register: an exact `https://` URI, or a loopback one, `http://127.0.0.1` or `http://[::1]`
 * (RFC 8252 §7.3: a native app listens on a port the system picks, so any port matches it). Never a fragment
 * (RFC 6749 §3.1.2), never `localhost` (RFC 8252 §8.3: a name can be made to point elsewhere).
 */
export function checkRedirectUri(uri: unknown): string {
  if (typeof uri !== 'string' || uri.length > MAX_URI_LENGTH) throw badRequest('app-redirect-uri-invalid', `A redirect URI is a string of at most ${MAX_URI_LENGTH} characters`, 'redirectUris', { uri: String(uri).slice(0, 200) });
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw badRequest('app-redirect-uri-invalid', `'${uri.slice(0, 200)}' is not an absolute URI`, 'redirectUris', { uri: uri.slice(0, 200) });
  }
  if (uri.includes('#')) throw badRequest('app-redirect-uri-invalid', `A redirect URI has no fragment: '${uri.slice(0, 200)}'`, 'redirectUris', { uri: uri.slice(0, 200) });
  if (url.username || url.password) throw badRequest('app-redirect-uri-invalid', `A redirect URI carries no credentials: '${uri.slice(0, 200)}'`, 'redirectUris', { uri: uri.slice(0, 200) });
  const loopback = url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !loopback) {
    throw badRequest('app-redirect-uri-invalid', `'${uri.slice(0, 200)}' must be an https:// URI, or http://127.0.0.1 or http://[::1] (a native app's loopback, any port)`, 'redirectUris', { uri: uri.slice(0, 200) });
  }
  return uri;
}

/** Whether `given` is one of the app's redirect URIs: the same text, or a registered loopback URI on another port. */
export function redirectUriAllowed(registered: readonly string[], given: string): boolean {
  if (registered.includes(given)) return true;
  const loopback = loopbackWithoutPort(given);
  return loopback !== undefined && registered.some((uri) => loopbackWithoutPort(uri) === loopback);
}

function loopbackWithoutPort(uri: string): string | undefined {
  if (!uri.startsWith('http://')) return undefined;
  try {
    const url = new URL(uri);
    if (!LOOPBACK_HOSTS.has(url.hostname) || uri.includes('#') || url.username || url.password) return undefined;
    url.port = '';
    return url.href;
  } catch {
    return undefined;
  }
}

/** Checks what an admin asks for; throws a 400 naming the problem. */
export function checkNewApp(app: NewApp): void {
  checkNewClient({ name: app.name, scopes: app.scopes, ...(app.rateLimit !== undefined ? { rateLimit: app.rateLimit } : {}) });
  // An app acts for a user: it never syncs a node, nor holds every scope.
  const notForApps = app.scopes.filter((scope) => scope === SYNC_SCOPE || scope === ALL_SCOPES);
  if (notForApps.length > 0) throw badRequest('app-scope-not-allowed', `An app may not ask for ${notForApps.join(', ')}`, 'scopes', { scope: notForApps.join(', ') });
  if (typeof app.public !== 'boolean') throw badRequest('app-kind-invalid', 'public must be true (PKCE only, no secret) or false (a secret, shown once)', 'public');
  if (!Array.isArray(app.redirectUris) || app.redirectUris.length === 0 || app.redirectUris.length > MAX_REDIRECT_URIS) {
    throw badRequest('app-redirect-uris-count', `An app needs 1 to ${MAX_REDIRECT_URIS} redirect URIs`, 'redirectUris', { max: MAX_REDIRECT_URIS });
  }
  app.redirectUris.forEach(checkRedirectUri);
}

/** Registers an app; a confidential app's secret is in the result and nowhere else. */
export function createApp(db: Db, app: NewApp): AppCredentials {
  checkNewApp(app);
  const clientId = randomUUID();
  const secret = app.public ? undefined : randomBytes(32).toString('base64url');
  db.transaction(() => {
    db.prepare('INSERT INTO oauth_clients (client_id, name, secret_hash, scopes, role, created_at, rate_limit) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      clientId,
      app.name.trim(),
      secret === undefined ? '' : hashSecretSync(secret),
      [...new Set(app.scopes)].join(' '),
      APP_ROLE,
      new Date().toISOString(),
      app.rateLimit ?? null,
    );
    db.prepare('INSERT INTO oauth_apps (client_id, redirect_uris, public) VALUES (?, ?, ?)').run(clientId, JSON.stringify([...new Set(app.redirectUris)]), app.public ? 1 : 0);
  })();
  return { client_id: clientId, ...(secret !== undefined ? { client_secret: secret } : {}) };
}

interface AppRow {
  client_id: string;
  name: string;
  secret_hash: string;
  scopes: string;
  rate_limit: number | null;
  created_at: string;
  revoked_at: string | null;
  redirect_uris: string;
  public: number;
}

const SELECT_APPS = 'SELECT c.*, a.redirect_uris, a.public FROM oauth_clients c JOIN oauth_apps a ON a.client_id = c.client_id';

function fromRow(row: AppRow): AppInfo {
  return {
    clientId: row.client_id,
    name: row.name,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    public: row.public === 1,
    scopes: row.scopes ? row.scopes.split(' ') : [],
    ...(row.rate_limit !== null ? { rateLimit: row.rate_limit } : {}),
    createdAt: row.created_at,
    ...(row.revoked_at !== null ? { disabledAt: row.revoked_at } : {}),
  };
}

export function listApps(db: Db): AppInfo[] {
  return (db.prepare(`${SELECT_APPS} ORDER BY c.created_at, c.client_id`).all() as AppRow[]).map(fromRow);
}

/** Finds active apps by id, with one prepared statement: every authorization request and token exchange asks. */
export function appFinder(db: Db): (clientId: string) => StoredApp | undefined {
  const select = db.prepare<[string], AppRow>(`${SELECT_APPS} WHERE c.client_id = ? AND c.revoked_at IS NULL`);
  return (clientId) => {
    const row = select.get(clientId);
    return row && { app: fromRow(row), secretHash: row.secret_hash };
  };
}

function appRow(db: Db, clientId: string): AppRow {
  const row = db.prepare(`${SELECT_APPS} WHERE c.client_id = ?`).get(clientId) as AppRow | undefined;
  if (!row) throw notFound('app-unknown', `No app '${clientId}'`);
  return row;
}

/**
 * Disables an app: every grant its users gave it ends and every token it holds is revoked, in one transaction (the
 * caller forgets the tokens it caches). It stays listed, disabled, for the audit trail's sake.
 */
export function disableApp(db: Db, clientId: string): AppInfo {
  const row = appRow(db, clientId);
  if (row.revoked_at === null) {
    const now = new Date();
    db.transaction(() => {
      db.prepare('UPDATE oauth_clients SET revoked_at = ? WHERE client_id = ?').run(now.toISOString(), clientId);
      db.prepare('UPDATE sessions SET ended_at = ? WHERE client_id = ? AND ended_at IS NULL').run(now.getTime(), clientId);
      db.prepare('UPDATE oauth_tokens SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL').run(now.toISOString(), clientId);
    })();
    row.revoked_at = now.toISOString();
  }
  return fromRow(row);
}

/** Removes an app and everything it held (grants, tokens); the audit trail keeps its id. */
export function removeApp(db: Db, clientId: string): AppInfo {
  const info = fromRow(appRow(db, clientId));
  db.transaction(() => {
    db.prepare('DELETE FROM refresh_tokens WHERE session_id IN (SELECT session_id FROM sessions WHERE client_id = ?)').run(clientId);
    db.prepare('DELETE FROM oauth_tokens WHERE client_id = ?').run(clientId);
    db.prepare('DELETE FROM sessions WHERE client_id = ?').run(clientId);
    db.prepare('DELETE FROM oauth_apps WHERE client_id = ?').run(clientId);
    db.prepare('DELETE FROM oauth_clients WHERE client_id = ?').run(clientId);
  })();
  return info;
}
