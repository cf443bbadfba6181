import type { IdentitySettings } from '../node-settings';
import type { NodeModule } from '../rest/extensions';
import type { Store } from '../store/store';
import type { AuditLog } from '../audit/audit-log';
import { AppLogins } from './app-login';
import { appFinder, type StoredApp } from './apps';
import type { RunningDemo } from './demo';
import { Identity } from './identity';
import { plainProvider } from './identity-provider';
import { LocalAccounts } from './local-accounts';
import { LoginFlow } from './login-flow';
import type { OidcSettings } from './oidc-login';
import { PasswordLogin } from './password-login';
import { practitionerFinder } from './practitioner-link';
import { relyingPartyKey, type RelyingPartyKey } from './rp-key';
import { Sessions } from './sessions';
import { signingKeys, type SigningKeys } from './signing-key';
import { TokenStore } from './tokens';
import { Users } from './users';

/**
 * Who may call the node (docs/access.md, docs/login.md): OAuth clients and their tokens, the users, their sessions
 * and local accounts, and how they log in (the identity provider in force, the login flow, local passwords). The
 * scopes, reach and caller the FHIR API asks of a request (rest/caller.ts) are made from its token (scopes.ts,
 * reach.ts, caller.ts).
 */

export interface AuthSettings {
  dataDir: string;
  /** The identity settings of the data folder (node-settings.ts). */
  identity: IdentitySettings;
  /** An upstream OpenID provider for this run, over the saved one (`--oidc-issuer`). */
  oidc?: OidcSettings;
  /** Start a local demo OpenID provider with demo people, which wins over `oidc`. */
  demo?: boolean;
  /** Where the installer's default settings are. */
  defaultsFile?: string;
  /** Hears what the identity settings lack. */
  warn: (message: string) => void;
}

export interface AuthModule extends NodeModule {
  tokens: TokenStore;
  users: Users;
  sessions: Sessions;
  accounts: LocalAccounts;
  /** Users' logins: through the upstream identity provider (when there is one) and local accounts. */
  login: LoginFlow;
  passwords: PasswordLogin;
  /** The identity settings in force, changed by admins without a restart. */
  identity: Identity;
  /** The data folder's key pair as an OpenID relying party. */
  relyingPartyKey: () => Promise<RelyingPartyKey>;
  /** Apps logging their users in through the node (authorization code flow), and the active app of a client id. */
  appLogins: AppLogins;
  findApp: (clientId: string) => StoredApp | undefined;
  /** The keys that sign apps' ID tokens, rotated. */
  signingKeys: () => Promise<SigningKeys>;
  /** With `demo`: the demo provider and who can log in. */
  demo?: RunningDemo;
  close(): Promise<void>;
}

export async function authModule(store: Store, audit: AuditLog, settings: AuthSettings): Promise<AuthModule> {
  const { db, repository } = store;
  const tokens = new TokenStore(db);
  const users = new Users(db, practitionerFinder(store.search), (type, id) => repository.exists(type, id));
  const sessions = new Sessions(db, tokens);
  // Loaded only for the demo: oidc-provider has no place in a production node (and warns as it loads).
  const demo = settings.demo ? await (await import('./demo')).startDemo(repository, users) : undefined;
  // A provider for this run (the demo's, or flags) wins over the saved one; the saved one applies otherwise.
  const override = demo ? plainProvider('demo', { issuer: demo.provider.issuer, clientId: demo.provider.clientId }) : settings.oidc && plainProvider('oidc', settings.oidc);
  const login = new LoginFlow(db, users, sessions, audit);
  const identity = new Identity({
    dataDir: settings.dataDir,
    flow: login,
    settings: settings.identity,
    override,
    decryptionKey: () => relyingPartyKey(settings.dataDir).then(({ privateKey, publicJwk }) => ({ key: privateKey, kid: publicJwk.kid })),
    warn: settings.warn,
    defaultsFile: settings.defaultsFile,
  });
  const accounts = new LocalAccounts(db);
  const findApp = appFinder(db);
  const signing = () => signingKeys(settings.dataDir);
  return {
    tokens,
    users,
    sessions,
    accounts,
    login,
    passwords: new PasswordLogin(accounts, users, sessions, login, audit, () => identity.localAccounts),
    identity,
    relyingPartyKey: () => relyingPartyKey(settings.dataDir),
    appLogins: new AppLogins(findApp, sessions, users, repository, audit, signing),
    findApp,
    signingKeys: signing,
    ...(demo ? { demo } : {}),
    async close() {
      login.close();
      await demo?.provider.close();
    },
  };
}
