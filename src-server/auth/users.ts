import { randomUUID } from 'node:crypto';
import { badRequest, notFound, refusal } from '../fhir/outcome';
import type { Db } from '../store/database';
import type { UpstreamIdentity } from './oidc-login';
import type { PractitionerFinder } from './practitioner-link';

/**
 * The people who log in, as the node knows them: one row per identity at an issuer (its `sub`), with the national
 * id, e-mail and name the provider gave, the directory Practitioner they are, their roles and their practices.
 * A first login creates the user (practitioner when the directory knows them, staff otherwise, no practice until
 * an admin sets one); later logins refresh what the provider says and leave what the admin decided. Accounts made on
 * the node itself (set-up, an admin: local-accounts.ts) have the issuer `local`.
 */

export const ROLES = ['practitioner', 'staff', 'admin'] as const;
export type Role = (typeof ROLES)[number];
/** The issuer of the users made on the node (a login and password), whose subject is their user id. */
export const LOCAL_ISSUER = 'local';

export interface User {
  id: string;
  issuer: string;
  subject: string;
  idnps?: string;
  email?: string;
  displayName: string;
  practitionerId?: string;
  roles: Role[];
  organizations: string[];
  createdAt: string;
  lastLoginAt?: string;
  disabledAt?: string;
  /** The login of their local account (an account made on the node, or a provider's user's offline password). */
  login?: string;
  /** They may log in with a login and password. */
  localAccount: boolean;
  /** Their password was reset by an admin: the next login sets a new one. */
  mustChangePassword: boolean;
}

/** A user an admin (or the set-up) makes on the node. */
export interface NewLocalUser {
  displayName: string;
  roles: Role[];
  organizations: string[];
  practitionerId?: string;
}

/** What an admin may change (`PATCH /admin/users/<id>`, `liaison users set`). */
export interface UserChange {
  roles?: Role[];
  organizations?: string[];
  /** null unlinks. */
  practitionerId?: string | null;
  disabled?: boolean;
}

/** A user as the demo seeds it (a fixed id, so that restarts re-point it at the demo provider's new address), or as a desktop receives it from its office. */
export type SeededUser = Omit<User, 'createdAt' | 'lastLoginAt' | 'disabledAt' | 'login' | 'localAccount' | 'mustChangePassword'>;

interface UserRow {
  user_id: string;
  issuer: string;
  subject: string;
  idnps: string | null;
  email: string | null;
  display_name: string;
  practitioner_id: string | null;
  roles: string;
  organizations: string;
  created_at: string;
  last_login_at: string | null;
  disabled_at: string | null;
  login: string | null;
  must_change_password: number | null;
}

/** A user with their local login, if any. */
const SELECT_USER = 'SELECT u.*, a.login, a.must_change_password FROM users u LEFT JOIN local_accounts a ON a.user_id = u.user_id';
const MAX_DISPLAY_NAME = 200;

const CHANGE_KEYS = new Set(['roles', 'organizations', 'practitionerId', 'disabled']);
const MAX_ORGANIZATIONS = 50;

export class Users {
  constructor(
    private readonly db: Db,
    private readonly findPractitioner: PractitionerFinder,
    /** Whether a directory resource exists (practices and practitioners an admin links). */
    private readonly exists: (resourceType: string, id: string) => boolean,
  ) {}

  /**
   * The user of an identity that just logged in, created or refreshed. A disabled user is returned untouched: the
   * caller refuses the login.
   */
  signIn(identity: UpstreamIdentity): User {
    const idnps = text(identity.claims.SubjectNameID);
    const email = text(identity.claims.email);
    const displayName = displayNameOf(identity.claims) ?? email ?? identity.subject;
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      const existing = this.row(`${SELECT_USER} WHERE u.issuer = ? AND u.subject = ?`, identity.issuer, identity.subject);
      if (existing?.disabled_at) return fromRow(existing);
      // Linked at the first login, or at a later one when the directory was imported in between.
      const practitionerId = existing?.practitioner_id ?? (idnps ? this.findPractitioner(idnps) : undefined) ?? null;
      if (existing) {
        this.db
          .prepare('UPDATE users SET idnps = ?, email = ?, display_name = ?, practitioner_id = ?, last_login_at = ? WHERE user_id = ?')
          .run(idnps ?? null, email ?? null, displayName, practitionerId, now, existing.user_id);
        return this.get(existing.user_id);
      }
      const userId = randomUUID();
      this.db
        .prepare(
          `INSERT INTO users (user_id, issuer, subject, idnps, email, display_name, practitioner_id, roles, organizations, created_at, last_login_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)`,
        )
        .run(userId, identity.issuer, identity.subject, idnps ?? null, email ?? null, displayName, practitionerId, practitionerId ? 'practitioner' : 'staff', now, now);
      return this.get(userId);
    })();
  }

  list(): User[] {
    return (this.db.prepare(`${SELECT_USER} ORDER BY u.created_at, u.user_id`).all() as UserRow[]).map(fromRow);
  }

  get(userId: string): User {
    const row = this.row(`${SELECT_USER} WHERE u.user_id = ?`, userId);
    if (!row) throw notFound('user-unknown', `No user '${userId}'`);
    return fromRow(row);
  }

  /** The user of an id, or of a local login (the command line names either). */
  find(idOrLogin: string): User | undefined {
    return fromRowOrNot(this.row(`${SELECT_USER} WHERE u.user_id = ? OR a.login = ? COLLATE NOCASE LIMIT 1`, idOrLogin, idOrLogin));
  }

  /** Whether the data folder has any user at all (none: the first run's set-up is open). */
  any(): boolean {
    return this.db.prepare('SELECT 1 FROM users LIMIT 1').get() !== undefined;
  }

  /**
   * Makes a user on the node (issuer `local`), after checking what an admin gives: roles, practices and Practitioner
   * as `update` checks them, a display name. Its login and password are the caller's to add (local-accounts.ts), in
   * the same transaction.
   */
  createLocal(user: NewLocalUser): User {
    const displayName = typeof user.displayName === 'string' ? user.displayName.trim() : '';
    if (displayName === '' || displayName.length > MAX_DISPLAY_NAME) throw refusal(400, 'display-name-missing', `A user needs a name of 1 to ${MAX_DISPLAY_NAME} characters`, 'displayName');
    const checked = this.checkChange({ roles: user.roles, organizations: user.organizations, ...(user.practitionerId !== undefined ? { practitionerId: user.practitionerId } : {}) });
    const userId = randomUUID();
    this.db
      .prepare(
        `INSERT INTO users (user_id, issuer, subject, display_name, practitioner_id, roles, organizations, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(userId, LOCAL_ISSUER, userId, displayName, checked.practitionerId ?? null, (checked.roles ?? []).join(' '), (checked.organizations ?? []).join(' '), new Date().toISOString());
    return this.get(userId);
  }

  /** Applies an admin's change after checking all of it (400 naming the first problem). */
  update(userId: string, change: unknown): User {
    const checked = this.checkChange(change);
    const user = this.get(userId);
    const roles = checked.roles ?? user.roles;
    const organizations = checked.organizations ?? user.organizations;
    const practitionerId = checked.practitionerId === undefined ? user.practitionerId : checked.practitionerId;
    const disabledAt = checked.disabled === undefined ? user.disabledAt : checked.disabled ? (user.disabledAt ?? new Date().toISOString()) : undefined;
    this.db
      .prepare('UPDATE users SET roles = ?, organizations = ?, practitioner_id = ?, disabled_at = ? WHERE user_id = ?')
      .run(roles.join(' '), organizations.join(' '), practitionerId ?? null, disabledAt ?? null, userId);
    return this.get(userId);
  }

  /** Creates or re-points a user with a fixed id (the demo's accounts), keeping their sessions' history. */
  seed(user: SeededUser): void {
    this.db
      .prepare(
        `INSERT INTO users (user_id, issuer, subject, idnps, email, display_name, practitioner_id, roles, organizations, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET issuer = excluded.issuer, subject = excluded.subject, idnps = excluded.idnps,
           email = excluded.email, display_name = excluded.display_name, practitioner_id = excluded.practitioner_id,
           roles = excluded.roles, organizations = excluded.organizations`,
      )
      .run(user.id, user.issuer, user.subject, user.idnps ?? null, user.email ?? null, user.displayName, user.practitionerId ?? null, user.roles.join(' '), user.organizations.join(' '), new Date().toISOString());
  }

  private checkChange(change: unknown): UserChange {
    if (typeof change !== 'object' || change === null || Array.isArray(change)) {
      throw badRequest('invalid-request', 'Send a JSON object with any of: roles, organizations, practitionerId, disabled');
    }
    const unknownKey = Object.keys(change).find((key) => !CHANGE_KEYS.has(key));
    if (unknownKey) throw badRequest('invalid-request', `'${unknownKey}' cannot be changed: only roles, organizations, practitionerId, disabled`, unknownKey);
    const { roles, organizations, practitionerId, disabled } = change as Record<string, unknown>;
    const checked: UserChange = {};
    if (roles !== undefined) {
      if (!isStringArray(roles) || roles.length === 0 || roles.some((role) => !(ROLES as readonly string[]).includes(role))) {
        throw refusal(400, 'roles-invalid', `roles must be a non-empty list of ${ROLES.join(', ')}`, 'roles');
      }
      checked.roles = [...new Set(roles as Role[])];
    }
    if (organizations !== undefined) {
      if (!isStringArray(organizations) || organizations.length > MAX_ORGANIZATIONS) throw refusal(400, 'organizations-invalid', `organizations must be a list of at most ${MAX_ORGANIZATIONS} Organization ids`, 'organizations');
      const unknown = organizations.find((id) => !this.exists('Organization', id));
      if (unknown !== undefined) throw refusal(400, 'practice-unknown', `No Organization '${unknown}' in the directory`, 'organizations');
      checked.organizations = [...new Set(organizations)];
    }
    if (practitionerId !== undefined) {
      if (practitionerId !== null && (typeof practitionerId !== 'string' || !this.exists('Practitioner', practitionerId))) {
        throw refusal(400, 'practitioner-unknown', `No Practitioner '${String(practitionerId)}' in the directory (null unlinks)`, 'practitionerId');
      }
      checked.practitionerId = practitionerId as string | null;
    }
    if (disabled !== undefined) {
      if (typeof disabled !== 'boolean') throw badRequest('invalid-request', 'disabled must be true or false', 'disabled');
      checked.disabled = disabled;
    }
    return checked;
  }

  private row(sql: string, ...values: string[]): UserRow | undefined {
    return this.db.prepare(sql).get(...values) as UserRow | undefined;
  }
}

const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

function displayNameOf(claims: Record<string, unknown>): string | undefined {
  return text(claims.name) ?? text([text(claims.given_name), text(claims.family_name)].filter(Boolean).join(' '));
}

const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

const words = (value: string) => value.split(' ').filter(Boolean);

const fromRowOrNot = (row: UserRow | undefined) => row && fromRow(row);

function fromRow(row: UserRow): User {
  return {
    id: row.user_id,
    issuer: row.issuer,
    subject: row.subject,
    ...(row.idnps !== null ? { idnps: row.idnps } : {}),
    ...(row.email !== null ? { email: row.email } : {}),
    displayName: row.display_name,
    ...(row.practitioner_id !== null ? { practitionerId: row.practitioner_id } : {}),
    roles: words(row.roles) as Role[],
    organizations: words(row.organizations),
    createdAt: row.created_at,
    ...(row.last_login_at !== null ? { lastLoginAt: row.last_login_at } : {}),
    ...(row.disabled_at !== null ? { disabledAt: row.disabled_at } : {}),
    ...(row.login ? { login: row.login } : {}),
    localAccount: Boolean(row.login),
    mustChangePassword: row.must_change_password === 1,
  };
}
