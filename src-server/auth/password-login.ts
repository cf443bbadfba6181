import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log';
import { refusal, type FhirError } from '../fhir/outcome';
import { FailedAttempts } from './failed-attempts';
import { checkNewPassword, type LocalAccount, type LocalAccounts } from './local-accounts';
import type { LoginFlow } from './login-flow';
import { hashSecret } from './scrypt-hash';
import { SecretChecks } from './secret-checks';
import type { Sessions } from './sessions';
import type { Users } from './users';

/**
 * Logins with a local account's password (`POST /auth/password`, `POST /auth/password/change`): the hand-off code of
 * a login (login-flow.ts) for the right password, a refusal otherwise. What a flood of wrong passwords costs:
 * - Nothing is locked: the account's owner is never kept out by what others send. The right password, once proven
 *   since the node started, is answered at once whatever else arrives (secret-checks.ts keeps its HMAC in memory).
 * - A refusal is held back per source address, twice as long each time (failed-attempts.ts, the token endpoint's):
 *   100 ms, then up to 10 s, until the source is quiet for a minute; and a source with recent failures has at most
 *   MAX_CHECKING checks under way: one more is refused at once (429 `too-many-attempts`, `Retry-After`), so however
 *   many connections it opens, one source tries a few passwords every ten seconds.
 * - scrypt runs one check at a time on the thread pool, those of sources without failures first (secret-checks.ts).
 * An unknown login costs the same scrypt and gets the same answer as a wrong password (`bad-credentials`): the answer
 * never tells whether a login exists. Only the right password learns that the account is disabled or must change.
 */

/** Checks under way at once for one source that failed lately. */
const MAX_CHECKING = 4;
/** The memory key of checks for logins nobody has (their hash is nobody's). */
const UNKNOWN_LOGIN = '(unknown login)';

export interface PasswordAttempt {
  login: unknown;
  password: unknown;
  /** The source address, whose failures slow it down. */
  source: string;
}

export class PasswordLogin {
  private readonly secrets = new SecretChecks();
  private readonly failures = new FailedAttempts();
  private readonly checking = new Map<string, number>();
  /** A hash of nothing anyone knows, checked for unknown logins so that they take as long as known ones. */
  private decoy: Promise<string> | undefined;

  constructor(
    private readonly accounts: LocalAccounts,
    private readonly users: Users,
    private readonly sessions: Sessions,
    private readonly flow: LoginFlow,
    private readonly audit: AuditLog,
    /** Whether local accounts may log in (identity settings). */
    private readonly allowed: () => boolean,
  ) {}

  /** The hand-off code of a login with the right password; refusals as the class comment says. */
  async login(attempt: PasswordAttempt, codeChallenge: string, action: string): Promise<string> {
    return this.flow.handOff(await this.userOf(attempt, action), codeChallenge, action);
  }

  /**
   * The user whose password this is, when they may log in: the login of an app's authorization request
   * (app-login.ts), which then asks for their consent rather than handing a code to the UI.
   */
  async userOf(attempt: PasswordAttempt, action: string): Promise<string> {
    const account = await this.proven(attempt, action);
    if (account.mustChangePassword) {
      throw refusal(403, 'password-change-required', 'The password was reset by an administrator: set a new one (POST /auth/password/change)', 'password');
    }
    return account.userId;
  }

  /**
   * Replaces the password of the account whose current one is given (a forced change after a reset, or its owner's
   * wish), then logs in: the hand-off code. The user's other sessions end.
   */
  async change(attempt: PasswordAttempt, newPassword: unknown, codeChallenge: string, action: string): Promise<string> {
    const password = checkNewPassword(newPassword, 'newPassword');
    const account = await this.proven(attempt, action);
    if (password === attempt.password) throw refusal(400, 'password-unchanged', 'The new password must differ from the one it replaces', 'newPassword');
    await this.accounts.set(account.userId, account.login, password, false);
    this.sessions.endAllOf(account.userId);
    this.audit.record('password.changed', `user:${account.userId}`, 'POST', action, 200);
    return this.flow.handOff(account.userId, codeChallenge, action);
  }

  /** Entries held in memory: bounded by the logins proven and the sources that failed. */
  get size(): number {
    return this.secrets.size + this.failures.size + this.checking.size;
  }

  /** The account whose password this is (and which may log in), or the refusal, held back for its source. */
  private async proven({ login, password, source }: PasswordAttempt, action: string): Promise<LocalAccount> {
    if (!this.allowed()) throw refusal(403, 'local-accounts-off', 'Local accounts are turned off on this node: log in with the identity provider');
    if (typeof login !== 'string' || typeof password !== 'string' || login.length > 256 || password.length > 1024) {
      throw refusal(400, 'invalid-request', 'Send { "login", "password", "code_challenge" }', typeof login !== 'string' ? 'login' : 'password');
    }
    const account = this.accounts.byLogin(login);
    const key = account ? `local:${account.userId}` : UNKNOWN_LOGIN;
    const hash = account?.passwordHash ?? (await (this.decoy ??= hashSecret(randomBytes(32).toString('base64url'))));
    let matched = this.secrets.remembered(key, hash, password);
    if (matched === undefined) {
      const suspect = this.failures.recentlyFailed(source);
      const under = this.checking.get(source) ?? 0;
      if (suspect && under >= MAX_CHECKING) throw await this.refused(source, action, 429);
      this.checking.set(source, under + 1);
      try {
        matched = await this.secrets.matches(key, hash, password, suspect);
      } finally {
        const left = (this.checking.get(source) ?? 1) - 1;
        if (left > 0) this.checking.set(source, left);
        else this.checking.delete(source);
      }
    }
    if (!matched || !account) throw await this.refused(source, action, 401);
    if (this.users.get(account.userId).disabledAt) {
      this.audit.refused('login.refused', { address: source, clientId: `user:${account.userId}` }, 'POST', action, 403);
      throw refusal(403, 'account-disabled', 'This account is disabled: ask the practice administrator', 'login');
    }
    return account;
  }

  private async refused(source: string, action: string, status: 401 | 429): Promise<FhirError> {
    const delay = await this.failures.holdBack(source);
    this.audit.refused('login.refused', { address: source }, 'POST', action, status);
    if (status === 401) return refusal(401, 'bad-credentials', 'Unknown login or wrong password', 'password');
    const seconds = String(Math.max(1, Math.ceil(delay / 1000)));
    return refusal(429, 'too-many-attempts', `Too many wrong passwords from this address: try again in ${seconds} s`, 'password', { headers: { 'retry-after': seconds }, parameters: { seconds: Number(seconds) } });
  }
}
