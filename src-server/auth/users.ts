import { randomUUID } from 'node:crypto';
import { badRequest, notFound } from '../fhir/outcome';
import type { Db } from '../storage/database';
import type { UpstreamIdentity } from './oidc-login';
import type { PractitionerFinder } from './practitioner-link';

/**
 * The people who log in, as the node knows them: one row per identity at an issuer (its `sub`), with the national
 * id, e-mail and name the provider gave, the directory Practitioner they are, their roles and their practices.
 * A first login creates the user (practitioner when the directory knows them, staff otherwise, no practice until
 * an admin sets one); later logins refresh what the provider says and leave what the admin decided.
 */

export const ROLES = ['practitioner', 'staff', 'admin'] as const;
export type Role = (typeof ROLES)[number];

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
}

/** What an admin may change (`PATCH /admin/users/<id>`, `liaison users set`). */
export interface UserChange {
  roles?: Role[];
  organizations?: string[];
  /** null unlinks. */
  practitionerId?: string | null;
  disabled?: boolean;
}

/** A user as the demo seeds it: a fixed id, so that restarts re-point it at the demo provider's new address. */
export type SeededUser = Omit<User, 'createdAt' | 'lastLoginAt' | 'disabledAt'>;

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
}

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
      const existing = this.row('SELECT * FROM users WHERE issuer = ? AND subject = ?', identity.issuer, identity.subject);
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
    return (this.db.prepare('SELECT * FROM users ORDER BY created_at, user_id').all() as UserRow[]).map(fromRow);
  }

  get(userId: string): User {
    const row = this.row('SELECT * FROM users WHERE user_id = ?', userId);
    if (!row) throw notFound(`No user '${userId}'`);
    return fromRow(row);
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
      throw badRequest('Send a JSON object with any of: roles, organizations, practitionerId, disabled');
    }
    const unknownKey = Object.keys(change).find((key) => !CHANGE_KEYS.has(key));
    if (unknownKey) throw badRequest(`'${unknownKey}' cannot be changed: only roles, organizations, practitionerId, disabled`, unknownKey);
    const { roles, organizations, practitionerId, disabled } = change as Record<string, unknown>;
    const checked: UserChange = {};
    if (roles !== undefined) {
      if (!isStringArray(roles) || roles.length === 0 || roles.some((role) => !(ROLES as readonly string[]).includes(role))) {
        throw badRequest(`roles must be a non-empty list of ${ROLES.join(', ')}`, 'roles');
      }
      checked.roles = [...new Set(roles as Role[])];
    }
    if (organizations !== undefined) {
      if (!isStringArray(organizations) || organizations.length > MAX_ORGANIZATIONS) throw badRequest(`organizations must be a list of at most ${MAX_ORGANIZATIONS} Organization ids`, 'organizations');
      const unknown = organizations.find((id) => !this.exists('Organization', id));
      if (unknown !== undefined) throw badRequest(`No Organization '${unknown}' in the directory`, 'organizations');
      checked.organizations = [...new Set(organizations)];
    }
    if (practitionerId !== undefined) {
      if (practitionerId !== null && (typeof practitionerId !== 'string' || !this.exists('Practitioner', practitionerId))) {
        throw badRequest(`No Practitioner '${String(practitionerId)}' in the directory (null unlinks)`, 'practitionerId');
      }
      checked.practitionerId = practitionerId as string | null;
    }
    if (disabled !== undefined) {
      if (typeof disabled !== 'boolean') throw badRequest('disabled must be true or false', 'disabled');
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
  };
}
