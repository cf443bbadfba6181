import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badRequest, notFound } from '../fhir/outcome';
import type { Db } from '../store/database';
import { isValidId } from '../store/repository';
import { ALL_SCOPES, GROUPED_SCOPES, isValidScope } from './scopes';
import { hashSecretSync } from './scrypt-hash';

/**
 * OAuth clients registered on this node: the practice's owner client, and the API clients of the office's software
 * (client_credentials, Lifen's machine-to-machine flow). Secrets are shown once and stored as scrypt hashes.
 */

/**
 * owner: the practice's own client (every scope); client: an office software's API client; ui: users' login sessions;
 * app: a software its users log in to through the node, acting for them (apps.ts).
 */
export type ClientRole = 'owner' | 'client' | 'ui' | 'app';

export interface OAuthClient {
  clientId: string;
  name: string;
  scopes: string[];
  role: ClientRole;
  /** Calls per second this client may make; undefined: the default (rate-limit.ts). */
  rateLimit?: number;
  /** The Practitioner the client acts for: it reaches that practitioner's patients only (auth/reach.ts). */
  practitionerId?: string;
  /** The practice Organization the client acts for: it reaches the practice's patients only. */
  organizationId?: string;
}

/** A client as an admin lists it: never its secret. */
export interface ClientInfo extends OAuthClient {
  createdAt: string;
  revokedAt?: string;
}

export interface ClientCredentials {
  client_id: string;
  client_secret: string;
}

export interface NewClient {
  name: string;
  scopes: string[];
  rateLimit?: number;
  /** On whose behalf it acts; neither: the whole node (every patient). */
  practitionerId?: string;
  organizationId?: string;
}

const MAX_NAME_LENGTH = 200;
/** Above this a limit means nothing on one node: it would only hide a typo. */
export const MAX_RATE_LIMIT = 10_000;

/** Checks what an admin asks for: a name, known scopes, a sane rate limit. Throws a 400 naming the problem. */
export function checkNewClient(client: NewClient): void {
  if (typeof client.name !== 'string' || client.name.trim() === '' || client.name.length > MAX_NAME_LENGTH) {
    throw badRequest('client-name-invalid', `A client needs a name of 1 to ${MAX_NAME_LENGTH} characters`, 'name');
  }
  if (!Array.isArray(client.scopes) || client.scopes.length === 0) throw badRequest('client-scopes-invalid', 'A client needs at least one scope (e.g. PATIENT_READ)', 'scopes');
  const unknown = client.scopes.filter((scope) => typeof scope !== 'string' || !isValidScope(scope) || scope === ALL_SCOPES);
  if (unknown.length > 0) {
    throw badRequest('client-scopes-invalid', `Unknown scope(s) ${unknown.map(String).join(', ')}: use <TYPE>_READ, _SEARCH, _CREATE or _UPDATE (e.g. PATIENT_SEARCH), Lifen's ${Object.keys(GROUPED_SCOPES).join(' or ')}, or SYNC for a peer node`, 'scopes');
  }
  if (client.rateLimit !== undefined) checkRateLimit(client.rateLimit);
  for (const field of ['practitionerId', 'organizationId'] as const) {
    const id = client[field];
    if (id !== undefined && !(typeof id === 'string' && isValidId(id))) throw badRequest('client-reference-invalid', `${field} must be a resource id (letters, digits, '-' and '.', up to 64)`, field);
  }
}

function checkRateLimit(rateLimit: unknown): asserts rateLimit is number {
  if (!(typeof rateLimit === 'number' && rateLimit > 0 && rateLimit <= MAX_RATE_LIMIT)) {
    throw badRequest('rate-limit-invalid', `rateLimit must be a number of calls per second above 0 and at most ${MAX_RATE_LIMIT}`, 'rateLimit');
  }
}

function insertClient(db: Db, client: NewClient, role: ClientRole): ClientCredentials {
  const credentials = { client_id: randomUUID(), client_secret: randomBytes(32).toString('base64url') };
  db.prepare(
    'INSERT INTO oauth_clients (client_id, name, secret_hash, scopes, role, created_at, rate_limit, practitioner_id, organization_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(
    credentials.client_id,
    client.name.trim(),
    hashSecretSync(credentials.client_secret),
    [...new Set(client.scopes)].join(' '),
    role,
    new Date().toISOString(),
    client.rateLimit ?? null,
    client.practitionerId ?? null,
    client.organizationId ?? null,
  );
  return credentials;
}

/** Registers an API client; its secret is in the result and nowhere else. */
export function createClient(db: Db, client: NewClient): ClientCredentials {
  checkNewClient(client);
  return insertClient(db, client, 'client');
}

interface ClientRow {
  client_id: string;
  name: string;
  secret_hash: string;
  scopes: string;
  role: ClientRole;
  rate_limit: number | null;
  practitioner_id: string | null;
  organization_id: string | null;
  created_at: string;
  revoked_at: string | null;
}

function fromRow(row: ClientRow): ClientInfo {
  return {
    clientId: row.client_id,
    name: row.name,
    scopes: row.scopes ? row.scopes.split(' ') : [],
    role: row.role,
    ...(row.rate_limit !== null ? { rateLimit: row.rate_limit } : {}),
    ...(row.practitioner_id !== null ? { practitionerId: row.practitioner_id } : {}),
    ...(row.organization_id !== null ? { organizationId: row.organization_id } : {}),
    createdAt: row.created_at,
    ...(row.revoked_at !== null ? { revokedAt: row.revoked_at } : {}),
  };
}

export function listClients(db: Db): ClientInfo[] {
  return (db.prepare("SELECT * FROM oauth_clients WHERE role IN ('owner', 'client') ORDER BY created_at, client_id").all() as ClientRow[]).map(fromRow);
}

/** Revokes an API client and, with it, every token it holds. The owner client cannot be revoked this way. */
export function revokeClient(db: Db, clientId: string): ClientInfo {
  const row = db.prepare('SELECT * FROM oauth_clients WHERE client_id = ?').get(clientId) as ClientRow | undefined;
  if (!row || row.role !== 'client') throw notFound('client-unknown', `No API client '${clientId}'`);
  if (row.revoked_at === null) {
    const now = new Date().toISOString();
    db.transaction(() => {
      db.prepare('UPDATE oauth_clients SET revoked_at = ? WHERE client_id = ?').run(now, clientId);
      db.prepare('UPDATE oauth_tokens SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL').run(now, clientId);
    })();
    row.revoked_at = now;
  }
  return fromRow(row);
}

/**
 * Sets the calls per second of an API client or the owner client, or of each user of the UI (its client,
 * `liaison-ui`); null: back to the default (rest/rate-limits.ts). Its tokens follow at their next lookup: the caller
 * forgets those it caches (TokenStore.forgetClient).
 */
export function setClientRateLimit(db: Db, clientId: string, rateLimit: unknown): ClientInfo {
  if (rateLimit !== null) checkRateLimit(rateLimit);
  const row = db.prepare('UPDATE oauth_clients SET rate_limit = ? WHERE client_id = ? AND revoked_at IS NULL RETURNING *').get(rateLimit, clientId) as
    | ClientRow
    | undefined;
  if (!row) throw notFound('client-unknown', `No active API client '${clientId}'`);
  return fromRow(row);
}

/** The rate the admin gave every user of the UI (the UI client's), if any. */
export function usersRateLimit(db: Db): number | undefined {
  return (db.prepare("SELECT rate_limit FROM oauth_clients WHERE role = 'ui'").get() as { rate_limit: number | null } | undefined)?.rate_limit ?? undefined;
}

/** An active client that may authenticate (owner or API client), with the hash its secret is checked against. */
export interface StoredClient {
  client: OAuthClient;
  secretHash: string;
}

/** Finds active clients by id, with one prepared statement: the token endpoint asks on every request. */
export function clientFinder(db: Db): (clientId: string) => StoredClient | undefined {
  const select = db.prepare<[string], ClientRow>("SELECT * FROM oauth_clients WHERE client_id = ? AND revoked_at IS NULL AND role IN ('owner', 'client')");
  return (clientId) => {
    const row = select.get(clientId);
    if (!row) return undefined;
    const { createdAt: _createdAt, revokedAt: _revokedAt, ...client } = fromRow(row);
    return { client, secretHash: row.secret_hash };
  };
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
  const credentials = insertClient(db, { name: 'owner', scopes: [ALL_SCOPES] }, 'owner');
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  // `mode` applies only when the file is new: a stale file left from an older database keeps its mode otherwise.
  chmodSync(file, 0o600);
  return { file, created: true };
}
