import type { FastifyInstance } from 'fastify';
import { isAbsolute } from 'node:path';
import { addLocalUser, resetPassword } from '../auth/account-admin';
import { createApp, disableApp, listApps, removeApp, type NewApp } from '../auth/apps';
import { createClient, listClients, revokeClient, setClientRateLimit, type NewClient } from '../auth/clients';
import type { AuditLog } from '../audit/audit-log';
import type { DailyBackup } from '../backup/daily-backup';
import type { Backups } from '../backup/module';
import { testIdentitySettings, type Identity } from '../auth/identity';
import type { LocalAccounts } from '../auth/local-accounts';
import { PracticeSettings } from '../auth/practice-settings';
import type { Sessions } from '../auth/sessions';
import type { SigningKeys } from '../auth/signing-key';
import type { TokenStore } from '../auth/tokens';
import { applyUserChange } from '../auth/user-change';
import type { Users } from '../auth/users';
import { badRequest, forbidden } from '../fhir/outcome';
import type { Db } from '../store/database';
import type { Repository } from '../store/repository';
import type { JoinCodes } from '../setup/join';
import { peerRoutes } from '../sync/peer-routes';
import type { PeerStore } from '../sync/peers';
import type { TextIndex } from '../text/text-index';
import { auditAnswer } from './audit-answers';
import { authenticate } from './bearer';

/**
 * `/admin`: what the practice's admin manages. For now the API clients of the office's software:
 * `GET /admin/clients`, `POST /admin/clients` (the secret is in that answer only),
 * `GET|POST /admin/apps`, `POST /admin/apps/<id>/disable`, `DELETE /admin/apps/<id>` (apps.ts: software whose users log
 * in through the node; a confidential app's secret is in the POST's answer only), `POST /admin/signing-keys/rotate` (a new
 * key signs apps' ID tokens at once: auth/signing-key.ts), `PATCH /admin/clients/<id>` (its rate limit), `DELETE /admin/clients/<id>`
 * (revokes the client and its tokens); `GET /admin/audit` (the audit trail, newest first, filtered by `since`,
 * `client`, `event`, paged by `before`); `GET /admin/users`, `PATCH /admin/users/<id>` (roles, practices, linked
 * Practitioner, disabled), `POST /admin/users` (a local account: its temporary password is in that answer only),
 * `POST /admin/users/<id>/reset-password`; `GET /admin/practices`, `PUT /admin/practices/<id>` (a practice's settings:
 * whether its practitioners share their patients, changed by the owner client or an admin of that practice, audited as
 * `practice.changed`); `GET|PUT /admin/identity` and `POST /admin/identity/test`, the identity
 * provider (its secret goes in, never out); `POST /admin/join-codes`, a colleague's desktop joining the office
 * (setup/join.ts); `/admin/peers`, the sync peers (sync/peer-routes.ts); `GET /admin/text-index`, the text index's
 * state and the resources it could not index, with why; `POST /admin/backup`, a backup of the data folder streamed
 * (sealed under the backup key, or the `passphrase` given). Admins are the owner client and users with the admin role.
 */

export interface AdminRoutesOptions {
  db: Db;
  tokens: TokenStore;
  audit: AuditLog;
  users: Users;
  accounts: LocalAccounts;
  sessions: Sessions;
  identity: Identity;
  joinCodes: JoinCodes;
  peers?: PeerStore;
  /** The versions sync keeps aside, listed with the peers. */
  repository: Repository;
  textIndex: TextIndex;
  backups: Backups;
  dailyBackup: DailyBackup;
  /** The keys signing apps' ID tokens (`POST /admin/signing-keys/rotate`). */
  signingKeys: () => Promise<SigningKeys>;
}

export async function adminRoutes(app: FastifyInstance, options: AdminRoutesOptions): Promise<void> {
  const { db, tokens, audit, users, accounts, sessions, identity, joinCodes, peers, repository, textIndex, backups, dailyBackup } = options;
  const accountServices = { db, users, accounts, sessions, tokens };
  app.addHook('onRequest', (request, _reply, done) => {
    try {
      const principal = authenticate(request, tokens);
      if (!principal.admin) throw forbidden('admin-only', 'Only an admin may manage API clients, users and the audit trail');
      request.principal = principal;
      done();
    } catch (error) {
      done(error as Error);
    }
  });

  // Errors are audited by the error handler; answers here (this plugin's routes only).
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode < 400) auditAnswer(audit, request, reply.statusCode);
    done();
  });

  app.get('/clients', async () => ({ clients: listClients(db) }));

  // The data folder's backup, streamed as it is made (backup/backup.ts); `liaison backup` writes it to its file.
  app.post('/backup', async (request, reply) => {
    const { passphrase } = (request.body ?? {}) as { passphrase?: unknown };
    if (passphrase !== undefined && typeof passphrase !== 'string') throw badRequest('invalid-request', 'passphrase must be a string');
    return reply.header('content-type', 'application/octet-stream').header('cache-control', 'no-store').send(backups.stream(passphrase));
  });
  // The daily backup: its folder (settings.json) and the last one's result; `POST .../now` runs one at once.
  app.get('/backup/daily', async () => dailyBackup.state());
  app.put('/backup/daily', async (request) => {
    const { folder } = (request.body ?? {}) as { folder?: unknown };
    if (folder !== undefined && folder !== null && (typeof folder !== 'string' || !isAbsolute(folder))) throw badRequest('invalid-request', 'folder must be an absolute path (or null: no daily backup)', 'folder');
    dailyBackup.choose(folder ?? undefined);
    return dailyBackup.state();
  });
  app.post('/backup/daily/now', async () => ({ ...dailyBackup.state(), last: await dailyBackup.runNow() }));

  if (peers) await app.register(peerRoutes, { prefix: '/peers', peers, repository });

  app.post('/clients', async (request, reply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('invalid-request', 'Send a JSON object: { "name", "scopes": [...], "rateLimit"?, "practitionerId"?, "organizationId"? }');
    const { name, scopes, rateLimit, practitionerId, organizationId } = body as Partial<NewClient>;
    const credentials = createClient(db, { name: name as string, scopes: scopes as string[], rateLimit, practitionerId, organizationId });
    return reply.code(201).header('cache-control', 'no-store').send(credentials);
  });

  app.get('/apps', async () => ({ apps: listApps(db) }));

  app.post('/apps', async (request, reply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('invalid-request', 'Send a JSON object: { "name", "redirectUris": [...], "public": true|false, "scopes": [...], "rateLimit"? }');
    const { name, redirectUris, public: isPublic, scopes, rateLimit } = body as Partial<NewApp>;
    const credentials = createApp(db, { name: name as string, redirectUris: redirectUris as string[], public: isPublic as boolean, scopes: scopes as string[], rateLimit });
    return reply.code(201).header('cache-control', 'no-store').send(credentials);
  });

  // Every grant of the app ends and its tokens stop at once (those cached here too).
  app.post<{ Params: { id: string } }>('/apps/:id/disable', async (request) => {
    const disabled = disableApp(db, request.params.id);
    tokens.forgetClient(disabled.clientId);
    return disabled;
  });

  app.delete<{ Params: { id: string } }>('/apps/:id', async (request) => {
    const removed = removeApp(db, request.params.id);
    tokens.forgetClient(removed.clientId);
    return removed;
  });

  // A new key signs ID tokens from now on; the previous one stays published until its tokens have expired.
  app.post('/signing-keys/rotate', async () => {
    const keys = await options.signingKeys();
    const { publicJwk } = await keys.rotate();
    return { kid: publicJwk.kid, published: (await keys.published()).map((key) => key.kid) };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/audit', async (request) => {
    const { since, client, event, before, _count: count } = request.query;
    if (since !== undefined && Number.isNaN(Date.parse(since))) throw badRequest('invalid-request', `since must be an instant, not '${since}'`, 'since');
    const limit = count === undefined ? 100 : Number(count);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badRequest('invalid-request', '_count must be an integer from 1 to 1000', '_count');
    const beforeSeq = before === undefined ? undefined : Number(before);
    if (beforeSeq !== undefined && !Number.isSafeInteger(beforeSeq)) throw badRequest('invalid-request', 'before must be an event sequence number', 'before');
    const events = audit.query({ since: since && new Date(since).toISOString(), clientId: client, event, before: beforeSeq, count: limit });
    return { events, ...(events.length === limit ? { next: `/admin/audit?${new URLSearchParams({ ...definedOnly({ since, client, event }), before: String(events[events.length - 1].seq), _count: String(limit) })}` } : {}) };
  });

  app.get('/users', async () => ({ users: users.list() }));

  const practices = new PracticeSettings(db);
  app.get('/practices', async () => ({ practices: practices.list() }));

  // Who sees whose patients changes at once: the reaches cached with the practice's members' tokens are dropped.
  app.put<{ Params: { id: string } }>('/practices/:id', async (request) => {
    const principal = request.principal!;
    const { id } = request.params;
    if (principal.role !== 'owner' && !principal.party?.organizationIds.includes(id)) throw forbidden('practice-not-yours', `Only an admin of the practice '${id}' (or the owner client) may change its settings`);
    const changed = practices.change(id, request.body, principal.clientId);
    tokens.forget((cached) => cached.party?.organizationIds.includes(id) === true);
    audit.record('practice.changed', principal.clientId, 'PUT', `/admin/practices/${id} sharesPatients=${changed.sharesPatients}`, 200);
    return changed;
  });

  // The list comes from the index's thread: while it is down, the state says why and the list is left out.
  app.get('/text-index', async () => {
    const [status, notIndexed] = await Promise.all([textIndex.status(), textIndex.notIndexed().catch(() => undefined)]);
    return { status, ...(notIndexed ? { notIndexed: notIndexed.entries, notIndexedCount: notIndexed.count } : {}) };
  });

  app.patch<{ Params: { id: string } }>('/users/:id', async (request) => applyUserChange(users, sessions, request.params.id, request.body, tokens));

  // Shown once: the answers carry a temporary password.
  app.post('/users', async (request, reply) => reply.code(201).header('cache-control', 'no-store').send(await addLocalUser(accountServices, request.body)));

  app.post<{ Params: { id: string } }>('/users/:id/reset-password', async (request, reply) => {
    const { temporaryPassword } = await resetPassword(accountServices, request.params.id);
    return reply.header('cache-control', 'no-store').send({ temporaryPassword });
  });

  app.get('/identity', async () => identity.view());

  app.put('/identity', async (request) => identity.save(request.body));

  app.post('/identity/test', async (request) => testIdentitySettings(request.body));

  app.post('/join-codes', async (request, reply) => {
    const body = request.body as { userId?: unknown } | undefined;
    return reply.code(201).header('cache-control', 'no-store').send(joinCodes.create(body?.userId));
  });

  // The client's calls per second (docs/access.md, "Rate limits"): `{ "rateLimit": 50 }`, or null for the default.
  app.patch<{ Params: { id: string } }>('/clients/:id', async (request) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || !('rateLimit' in body)) throw badRequest('invalid-request', 'Send a JSON object: { "rateLimit": <calls per second> | null }');
    const changed = setClientRateLimit(db, request.params.id, (body as { rateLimit: unknown }).rateLimit);
    tokens.forgetClient(changed.clientId);
    return changed;
  });

  app.delete<{ Params: { id: string } }>('/clients/:id', async (request) => {
    const revoked = revokeClient(db, request.params.id);
    tokens.forgetClient(revoked.clientId);
    return revoked;
  });
}

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
