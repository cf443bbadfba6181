import { createHash, randomInt } from 'node:crypto';
import { createClient } from '../auth/clients';
import type { LocalAccounts } from '../auth/local-accounts';
import { SYNC_SCOPE } from '../auth/scopes';
import { ROLES, type SeededUser, type User, type Users } from '../auth/users';
import { isJson, type Json } from '../fhir/json';
import { refusal } from '../fhir/outcome';
import { resourceTypes } from '../fhir/validation/model';
import { ChangeLog } from '../store/change-log';
import type { Db } from '../store/database';
import type { GroupCommit } from '../store/group-commit';
import type { Repository } from '../store/repository';
import { loadNodeSettings, saveDirectorySettings } from '../node-settings';
import { applyVersions } from '../sync/apply';
import type { PeerStore } from '../sync/peers';
import { entryText, readVersions } from '../sync/protocol';

/**
 * A colleague's desktop joins the office (docs/login.md, "Join an existing office"):
 * 1. on the office node, an admin makes a join code for the colleague's account (`POST /admin/join-codes`): single
 *    use, for 24 hours, only its hash kept;
 * 2. on the new desktop, at set-up, the colleague gives the office's address and the code (`POST /setup/join`); the
 *    desktop sends it to the office (`POST /sync/join`), which answers the credentials of a new API client for the
 *    desktop (SYNC and the scopes sync needs, acting for the colleague's practice) and the colleague's account (login,
 *    password hash, roles, practices, Practitioner, name) with the practices' Organizations;
 * 3. the desktop stores the account as a user of its own (same id, same password) and the office as its sync peer,
 *    pulling and pushing records, and as its directory source, pulling the directory the office's node fetches (one
 *    imported copy per office, docs/sync.md "One directory per office"); the desktop fetches none itself (its
 *    `directory.source` setting is `off`); its set-up is done.
 */

export const JOIN_CODE_LIFETIME_MS = 24 * 3600_000;
/** Letters and digits nobody misreads: a code is read out or typed as well as pasted. */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** 20 characters of 32: 100 bits, with failures held back and a day to live. */
const CODE_LENGTH = 20;
const JOIN_TIMEOUT_MS = 15_000;
/** A desktop's first pull copies the office's records a page after another: ten calls a second would slow it down. */
const DESKTOP_RATE_LIMIT = 100;
/** A practice's Organization is edited now and then: its versions go with the join answer. */
const MAX_PRACTICE_VERSIONS = 1000;

/** What the office answers a desktop that joins with a valid code. */
export interface JoinAnswer {
  /** The office's node id. */
  node: string;
  clientId: string;
  clientSecret: string;
  user: SeededUser & { disabled: boolean };
  /** The colleague's local account, when they have one. */
  account?: { login: string; passwordHash: string; mustChangePassword: boolean };
  /** The Organizations of the colleague's practices: the desktop's directory may not have them (office peers carry no directory data). */
  practices: Json[];
  /**
   * Every version of those Organizations as sync carries them (entries of `$changes`, oldest first): the desktop
   * stores them as they are, so the directory it then follows from the office finds them there, not a copy of its
   * own that would conflict with them. Absent from an older office's answer.
   */
  practiceVersions?: Json[];
}

const normalized = (code: string) => code.toUpperCase().replace(/[^A-Z0-9]/g, '');
const hashOf = (code: string) => createHash('sha256').update(normalized(code)).digest('hex');

export class JoinCodes {
  constructor(
    private readonly db: Db,
    private readonly users: Users,
    private readonly accounts: LocalAccounts,
    private readonly repository: Repository,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new code for a colleague's account (404 `user-unknown` for nobody, or a disabled account). */
  create(userId: unknown): { code: string; expiresAt: string } {
    const user = typeof userId === 'string' ? this.users.find(userId) : undefined;
    if (!user || user.disabledAt) throw refusal(404, 'user-unknown', `No active user '${String(userId)}' on this node`, 'userId');
    const raw = Array.from({ length: CODE_LENGTH }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
    const code = raw.match(/.{4}/g)!.join('-');
    const expiresAt = this.now() + JOIN_CODE_LIFETIME_MS;
    this.db.prepare('INSERT INTO join_codes (code_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(hashOf(code), user.id, new Date(this.now()).toISOString(), expiresAt);
    return { code, expiresAt: new Date(expiresAt).toISOString() };
  }

  /**
   * A desktop's join: the code used up, an API client made for it, the account it is for. 401 `join-code` for an
   * unknown, expired or used code (the caller holds the answer back).
   */
  join(body: unknown): JoinAnswer {
    const { code, nodeId } = isJson(body) ? body : {};
    if (typeof code !== 'string' || typeof nodeId !== 'string' || nodeId.length > 100) throw refusal(400, 'invalid-request', 'Send { "code", "nodeId" }', 'code');
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT user_id FROM join_codes WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?').get(hashOf(code), this.now()) as { user_id: string } | undefined;
      if (!row) throw refusal(401, 'join-code', 'This join code is unknown, expired or already used: ask the office administrator for a new one', 'code');
      this.db.prepare('UPDATE join_codes SET used_at = ? WHERE code_hash = ?').run(this.now(), hashOf(code));
      const user = this.users.get(row.user_id);
      if (user.disabledAt) throw refusal(401, 'join-code', 'The account of this join code is disabled', 'code');
      const practice = user.organizations.length === 1 ? user.organizations[0] : undefined;
      const credentials = createClient(this.db, {
        name: `Poste de ${user.displayName} (${nodeId})`.slice(0, 200),
        scopes: syncScopes(),
        rateLimit: DESKTOP_RATE_LIMIT,
        ...(practice ? { organizationId: practice } : {}),
      });
      const account = this.accounts.ofUser(user.id);
      return {
        node: this.repository.nodeId,
        clientId: credentials.client_id,
        clientSecret: credentials.client_secret,
        user: seededOf(user),
        ...(account ? { account: { login: account.login, passwordHash: account.passwordHash, mustChangePassword: account.mustChangePassword } } : {}),
        practices: user.organizations.flatMap((id) => {
          const stored = this.repository.read('Organization', id);
          return stored ? [JSON.parse(stored.json) as Json] : [];
        }),
        practiceVersions: user.organizations.flatMap((id) => this.versionsOf('Organization', id)),
      };
    })();
  }

  /** A resource's versions as `$changes` entries, oldest first. */
  private versionsOf(resourceType: string, id: string): Json[] {
    const feed = new ChangeLog(this.db);
    const history = this.repository.history({ resourceType, id, count: MAX_PRACTICE_VERSIONS }).reverse();
    return history.flatMap((entry) => feed.after(entry.seq - 1, 1).map((row) => JSON.parse(entryText(row, '')) as Json));
  }
}

/** What a peer desktop needs to sync records both ways: SYNC, and reading and writing every type. */
function syncScopes(): string[] {
  return [SYNC_SCOPE, ...resourceTypes().flatMap((type) => ['READ', 'CREATE', 'UPDATE'].map((action) => `${type.toUpperCase()}_${action}`))];
}

function seededOf(user: User): JoinAnswer['user'] {
  return {
    id: user.id,
    issuer: user.issuer,
    subject: user.subject,
    ...(user.idnps ? { idnps: user.idnps } : {}),
    ...(user.email ? { email: user.email } : {}),
    displayName: user.displayName,
    ...(user.practitionerId ? { practitionerId: user.practitionerId } : {}),
    roles: user.roles,
    organizations: user.organizations,
    disabled: Boolean(user.disabledAt),
  };
}

export interface DesktopJoinServices {
  users: Users;
  accounts: LocalAccounts;
  repository: Repository;
  groupCommit: GroupCommit;
  peers: PeerStore;
  /** The data folder: its settings say this desktop does not fetch the directory. */
  dataDir: string;
}

/**
 * The desktop's side: asks the office at `officeUrl` to join with `code`, then stores the account and the office as
 * its peer, in one transaction. Refusals: 400 `invalid-request` (the address), 502 `office-unreachable`, 401
 * `join-code` (the office's), 502 `office-refused` (anything else it said).
 */
export async function joinOffice(officeUrl: unknown, code: unknown, services: DesktopJoinServices): Promise<{ userId: string; login?: string; peerId: string }> {
  const base = officeBase(officeUrl);
  if (typeof code !== 'string' || code.trim() === '' || code.length > 100) throw refusal(400, 'join-code', 'Give the join code the office administrator made for you', 'code');
  let response: Response;
  try {
    response = await fetch(`${base}/sync/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ code, nodeId: services.repository.nodeId }),
      redirect: 'manual',
      signal: AbortSignal.timeout(JOIN_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as Error).cause as Error | undefined;
    throw refusal(502, 'office-unreachable', `The office's node at ${base} cannot be reached: ${cause?.message ?? (error as Error).message}`, 'officeUrl');
  }
  const text = await response.text();
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = undefined;
  }
  if (!response.ok) {
    const issue = isJson(answer) && Array.isArray(answer.issue) && isJson(answer.issue[0]) ? answer.issue[0] : undefined;
    const refusalCode = isJson(issue?.details) && Array.isArray(issue.details.coding) && isJson(issue.details.coding[0]) ? issue.details.coding[0].code : undefined;
    const detail = typeof issue?.diagnostics === 'string' ? issue.diagnostics : text.slice(0, 200);
    if (refusalCode === 'join-code') throw refusal(401, 'join-code', `The office refused the code: ${detail}`, 'code');
    throw refusal(502, 'office-refused', `The office's node at ${base} refused to let this desktop join (${response.status}): ${detail}`, 'officeUrl');
  }
  const joined = checkAnswer(answer, base);
  const { users, accounts, repository, groupCommit, peers, dataDir } = services;
  const done = await groupCommit.run(
    () => {
      if (users.any()) throw refusal(409, 'setup-done', 'This node is set up already');
      if (joined.practiceVersions) storePracticeVersions(repository, joined.practiceVersions, joined.node);
      else storePractices(repository, joined.practices);
      const { disabled: _disabled, ...user } = joined.user;
      users.seed(user);
      if (joined.account) accounts.store(user.id, joined.account.login, joined.account.passwordHash, joined.account.mustChangePassword);
      const credentials = { url: base, clientId: joined.clientId, clientSecret: joined.clientSecret };
      const peer = peers.add({ name: 'Cabinet', kind: 'office', ...credentials });
      // The directory flows one way from the office's node, on a cursor of its own (the client reads every type).
      peers.add({ name: 'Annuaire du cabinet', kind: 'directory', ...credentials });
      return { userId: user.id, ...(joined.account ? { login: joined.account.login } : {}), peerId: peer.peerId };
    },
    { alone: true },
  );
  // The office's node fetches the directory; this desktop follows it (the refresh reads this setting).
  saveDirectorySettings(dataDir, { ...loadNodeSettings(dataDir).directory, source: 'off' });
  return done;
}

/** The office's versions of the practices, stored as they are (an Organization only: the answer names nothing else). */
function storePracticeVersions(repository: Repository, versions: Json[], office: string): void {
  const organizations = versions.filter((version) => isJson(version.resource) && version.resource.resourceType === 'Organization');
  applyVersions(repository, readVersions({ resourceType: 'Bundle', entry: organizations }), { receivedFrom: office });
}

/** An older office's answer: the practices' current versions, written as this desktop's own. */
function storePractices(repository: Repository, practices: Json[]): void {
  for (const practice of practices) {
    const { resourceType, id } = practice;
    if (resourceType === 'Organization' && typeof id === 'string' && !repository.exists('Organization', id)) repository.update('Organization', id, practice);
  }
}

function officeBase(officeUrl: unknown): string {
  let url: URL;
  try {
    url = new URL(String(officeUrl));
  } catch {
    throw refusal(400, 'invalid-request', `'${String(officeUrl)}' is not an address: give the office node's, e.g. https://cabinet.example:8347`, 'officeUrl');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash) {
    throw refusal(400, 'invalid-request', "The office's address is an http(s) URL without credentials, query or fragment", 'officeUrl');
  }
  return url.href.replace(/\/+$/, '').replace(/\/fhir$/, '');
}

/** The office's answer, checked before anything is stored (502 `office-refused` when it is not one). */
function checkAnswer(answer: unknown, base: string): JoinAnswer {
  const bad = (what: string) => refusal(502, 'office-refused', `The office's node at ${base} answered the join without ${what}`, 'officeUrl');
  if (!isJson(answer)) throw bad('a JSON object');
  const { node, clientId, clientSecret, user, account, practices, practiceVersions } = answer;
  if (typeof node !== 'string') throw bad("the office's node id");
  if (typeof clientId !== 'string' || typeof clientSecret !== 'string') throw bad('credentials');
  if (!isJson(user) || typeof user.id !== 'string' || typeof user.issuer !== 'string' || typeof user.subject !== 'string' || typeof user.displayName !== 'string') throw bad('the account');
  if (!Array.isArray(user.roles) || !Array.isArray(user.organizations)) throw bad("the account's roles and practices");
  if (account !== undefined && (!isJson(account) || typeof account.login !== 'string' || typeof account.passwordHash !== 'string')) throw bad('a valid login');
  if (user.disabled === true) throw refusal(502, 'office-refused', 'The office says this account is disabled', 'code');
  const checked = answer as unknown as JoinAnswer;
  return {
    ...checked,
    // Only what this node knows how to grant.
    user: { ...checked.user, roles: checked.user.roles.filter((role) => (ROLES as readonly unknown[]).includes(role)) },
    practices: Array.isArray(practices) ? practices.filter(isJson) : [],
    ...(Array.isArray(practiceVersions) ? { practiceVersions: practiceVersions.filter(isJson) } : {}),
  };
}
