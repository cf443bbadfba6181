import { randomInt } from 'node:crypto';
import { refusal } from '../fhir/outcome';
import type { Db } from '../store/database';
import { hashSecret } from './scrypt-hash';

/**
 * Local accounts: a login and a password, for the first day (before any identity provider is set up), for offline
 * days (a provider's user may set a local password), and for practices that use no provider. The password is kept
 * as a scrypt hash with a salt of its own, hashed off the event loop. An admin's reset gives a temporary password
 * that the person must replace at their next login. Who the account is (roles, practices, Practitioner) is the
 * user's (users.ts); this is only how they prove it.
 */

export const MIN_PASSWORD_LENGTH = 12;
/** Beyond this a "password" is a way to make scrypt hash megabytes. */
export const MAX_PASSWORD_LENGTH = 256;
/** Letters and digits, lower case first, dots, dashes, underscores and @ (an e-mail address works). */
const LOGIN = /^[a-z0-9][a-z0-9._@-]{1,63}$/;
/** Temporary passwords: no 0/O or 1/l/I to misread when an admin reads one out. */
const TEMPORARY_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const TEMPORARY_LENGTH = 16;

export interface LocalAccount {
  userId: string;
  login: string;
  passwordHash: string;
  mustChangePassword: boolean;
}

interface AccountRow {
  user_id: string;
  login: string;
  password_hash: string;
  must_change_password: number;
}

/** The login as stored and compared: trimmed, lower case. 400 `login-invalid` when it is not one. */
export function checkLogin(value: unknown, field = 'login'): string {
  const login = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!LOGIN.test(login)) throw refusal(400, 'login-invalid', 'A login is 2 to 64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit', field);
  return login;
}

/** A new password: at least MIN_PASSWORD_LENGTH characters (400 `password-too-short`). */
export function checkNewPassword(value: unknown, field = 'password'): string {
  if (typeof value !== 'string' || [...value].length < MIN_PASSWORD_LENGTH) {
    throw refusal(400, 'password-too-short', `A password has at least ${MIN_PASSWORD_LENGTH} characters`, field);
  }
  if (value.length > MAX_PASSWORD_LENGTH) throw refusal(400, 'password-too-long', `A password has at most ${MAX_PASSWORD_LENGTH} characters`, field);
  return value;
}

/** A password an admin hands over once (reset, new account): replaced by its owner at the first login. */
export function temporaryPassword(): string {
  return Array.from({ length: TEMPORARY_LENGTH }, () => TEMPORARY_ALPHABET[randomInt(TEMPORARY_ALPHABET.length)]).join('');
}

export class LocalAccounts {
  private readonly statements;

  constructor(db: Db) {
    this.statements = {
      byLogin: db.prepare<[string], AccountRow>('SELECT * FROM local_accounts WHERE login = ?'),
      ofUser: db.prepare<[string], AccountRow>('SELECT * FROM local_accounts WHERE user_id = ?'),
      upsert: db.prepare(
        `INSERT INTO local_accounts (user_id, login, password_hash, must_change_password, password_changed_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET login = excluded.login, password_hash = excluded.password_hash,
           must_change_password = excluded.must_change_password, password_changed_at = excluded.password_changed_at`,
      ),
    };
  }

  byLogin(login: string): LocalAccount | undefined {
    const row = this.statements.byLogin.get(login.trim().toLowerCase());
    return row && accountOf(row);
  }

  ofUser(userId: string): LocalAccount | undefined {
    const row = this.statements.ofUser.get(userId);
    return row && accountOf(row);
  }

  /**
   * Gives `userId` the login and password (hashed here, off the event loop), replacing those it had. 409
   * `login-taken` when another user has that login. Call within the caller's transaction when it writes more.
   */
  async set(userId: string, login: string, password: string, mustChangePassword: boolean): Promise<void> {
    this.store(userId, login, await hashSecret(password), mustChangePassword);
  }

  /** As `set`, with a hash already made (an account that came from the office: setup/join.ts). */
  store(userId: string, login: string, passwordHash: string, mustChangePassword: boolean): void {
    const holder = this.statements.byLogin.get(login);
    if (holder && holder.user_id !== userId) throw refusal(409, 'login-taken', `The login '${login}' is someone else's`, 'login');
    this.statements.upsert.run(userId, login, passwordHash, mustChangePassword ? 1 : 0, new Date().toISOString());
  }

  /** Whether the login is free for `userId` (nobody's, or already theirs). */
  isFree(login: string, userId?: string): boolean {
    const holder = this.statements.byLogin.get(login);
    return !holder || holder.user_id === userId;
  }
}

function accountOf(row: AccountRow): LocalAccount {
  return { userId: row.user_id, login: row.login, passwordHash: row.password_hash, mustChangePassword: row.must_change_password === 1 };
}
