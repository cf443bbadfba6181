import { randomUUID } from 'node:crypto';
import { TokenStore } from '../../src-server/auth/tokens';
import type { Db } from '../../src-server/store/database';

/** Who a test user is: their roles (`practitioner`, `staff`, `admin`…), linked Practitioner and practices. */
export interface TestUser {
  userId: string;
  /** Space-separated, as the users table keeps them. */
  roles: string;
  practitionerId: string | null;
  /** Space-separated Organization ids of the user's practices. */
  organizations: string;
  scopes?: string[];
}

/**
 * A user of the node with a login session, and the access token the login flow would give them (issued the same
 * way): their requests see only what their reach allows (docs/access.md).
 */
export function userToken(db: Db, user: TestUser): string {
  const now = Date.now();
  db.prepare('INSERT INTO users (user_id, issuer, subject, display_name, practitioner_id, roles, organizations, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    user.userId,
    'https://idp.example',
    user.userId,
    user.userId,
    user.practitionerId,
    user.roles,
    user.organizations,
    new Date(now).toISOString(),
  );
  const sessionId = randomUUID();
  db.prepare('INSERT INTO sessions (session_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(sessionId, user.userId, now, now + 3_600_000);
  return new TokenStore(db).issueForSession(sessionId, user.scopes ?? ['*']).access_token;
}

type NewTestClient = { scopes: string[]; practitionerId?: string; organizationId?: string; rateLimit?: number; name?: string };

/** An API client made through the admin API: its credentials (a sync test configures a peer with them). */
export async function createApiClient(node: { url: string; token: string }, client: NewTestClient): Promise<{ client_id: string; client_secret: string }> {
  const created = await fetch(`${node.url}/admin/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'EHR', rateLimit: 1000, ...client }),
  });
  if (created.status !== 201) throw new Error(`client creation answered ${created.status}: ${await created.text()}`);
  return (await created.json()) as { client_id: string; client_secret: string };
}

/** A token for an API client's credentials (client_credentials). */
export async function tokenOf(node: { url: string }, { client_id, client_secret }: { client_id: string; client_secret: string }): Promise<string> {
  const issued = await fetch(`${node.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret }) });
  return ((await issued.json()) as { access_token: string }).access_token;
}

/** An API client of the office's software, made through the admin API, and a token for it. */
export async function clientToken(node: { url: string; token: string }, client: NewTestClient): Promise<string> {
  return tokenOf(node, await createApiClient(node, client));
}
