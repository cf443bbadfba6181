import { isJson } from '../fhir/json';
import { refusal } from '../fhir/outcome';
import type { Db } from '../store/database';
import { checkLogin, checkNewPassword, temporaryPassword, type LocalAccounts } from './local-accounts';
import { hashSecret } from './scrypt-hash';
import type { Sessions } from './sessions';
import type { TokenStore } from './tokens';
import type { Role, User, Users } from './users';

/**
 * What an admin does with local accounts, from Réglages (`/admin/users`) and the command line (`liaison users add|
 * reset-password`) alike: add a colleague's account, reset a password. A new account or a reset gets a temporary
 * password, shown once, that its owner replaces at the next login; an admin may give the password instead (the
 * command line reads it from standard input), which is then the owner's own.
 */

export interface AccountAdminServices {
  db: Db;
  users: Users;
  accounts: LocalAccounts;
  sessions: Sessions;
  /** The running node's token cache, to forget at once (absent on the command line: the node notices within 10 s). */
  tokens?: TokenStore;
}

/** `{ login, displayName, roles, organizations, practitionerId?, password? }` → the user, and the temporary password unless one was given. */
export async function addLocalUser({ db, users, accounts }: AccountAdminServices, body: unknown): Promise<{ user: User; temporaryPassword?: string }> {
  if (!isJson(body)) throw refusal(400, 'invalid-request', 'Send { "login", "displayName", "roles", "organizations", "practitionerId"?, "password"? }');
  const login = checkLogin(body.login);
  if (!accounts.isFree(login)) throw refusal(409, 'login-taken', `The login '${login}' is someone else's`, 'login');
  const given = body.password === undefined ? undefined : checkNewPassword(body.password);
  const password = given ?? temporaryPassword();
  const passwordHash = await hashSecret(password);
  const user = db.transaction(() => {
    const created = users.createLocal({
      displayName: body.displayName as string,
      roles: body.roles as Role[],
      organizations: (body.organizations ?? []) as string[],
      ...(body.practitionerId !== undefined && body.practitionerId !== null ? { practitionerId: body.practitionerId as string } : {}),
    });
    accounts.store(created.id, login, passwordHash, given === undefined);
    return users.get(created.id);
  })();
  return { user, ...(given === undefined ? { temporaryPassword: password } : {}) };
}

/** A new temporary password for a local account: its owner sets their own at the next login; their sessions end. */
export async function resetPassword({ users, accounts, sessions, tokens }: AccountAdminServices, idOrLogin: string): Promise<{ user: User; temporaryPassword: string }> {
  const user = users.find(idOrLogin);
  if (!user) throw refusal(404, 'user-unknown', `No user '${idOrLogin}'`);
  const account = accounts.ofUser(user.id);
  if (!account) throw refusal(409, 'not-local-account', `${user.displayName} has no local account (they log in through the identity provider)`);
  const password = temporaryPassword();
  await accounts.set(user.id, account.login, password, true);
  sessions.endAllOf(user.id);
  tokens?.forget((principal) => principal.party?.userId === user.id);
  return { user: users.get(user.id), temporaryPassword: password };
}
