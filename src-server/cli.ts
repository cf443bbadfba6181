import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDataDir } from './data-dir';
import { registerBackupCommands } from './commands/backup';
import { defaultKeyFile, keyFileSetting, loadHeadlessDataKey } from './data-key';
import { atRestKeysOf, DEFAULT_HOST, DEFAULT_PORT, startNode } from './node';
import { addLocalUser, resetPassword } from './auth/account-admin';
import { createClient, listClients, revokeClient, setClientRateLimit, usersRateLimit, type ClientCredentials, type ClientInfo, type NewClient } from './auth/clients';
import { registerDirectoryCommands } from './commands/directory';
import { registerKeyCommands } from './commands/keys';
import { registerPeerCommands } from './commands/peers';
import { registerAppCommands } from './commands/apps';
import { saveIdentityChange, viewOf, type IdentityView } from './auth/identity';
import { DEFAULT_SCOPES } from './auth/identity-provider';
import { LocalAccounts } from './auth/local-accounts';
import type { OidcSettings } from './auth/oidc-login';
import { practitionerFinder } from './auth/practitioner-link';
import { Sessions } from './auth/sessions';
import { TokenStore, UI_CLIENT_ID } from './auth/tokens';
import { applyUserChange } from './auth/user-change';
import { ROLES, Users, type User, type UserChange } from './auth/users';
import { SearchEngine } from './store/search/search';
import { readFolder, readSecret, withDataFolder } from './folder-access';
import { DEFAULT_RATE_LIMIT, USER_RATE_LIMIT } from './http/rate-limit';
import { NODE_FILE } from './node-file';
import { effectiveIdentity, identityLayers, PROVIDER_KINDS } from './node-settings';
import type { Db } from './store/database';
import { reindexAll, type ReindexProgress } from './store/reindex';
import { Repository } from './store/repository';
import { rebuildTextIndex } from './text/rebuild';
import { SNAPSHOT_FOLDER } from './text/text-index';
import { LIAISON_VERSION } from './version';

/** The `liaison` command line. Each command is a thin shell over the server modules. */

const UI_DIR = fileURLToPath(new URL('../out/renderer', import.meta.url));

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return port;
}

export function buildCli(): Command {
  const program = new Command('liaison')
    .description('Liaison: a local FHIR STU3 node for medical practices')
    .version(LIAISON_VERSION)
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the node headless: FHIR API at /fhir, web UI at /, health at /health')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .option('--host <host>', 'address to listen on', DEFAULT_HOST)
    .option('--port <port>', 'port to listen on (another one, said aloud, when it is taken; 0 picks a free one)', parsePort, DEFAULT_PORT)
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'warn')
    .option('--allowed-host <name...>', 'more names clients use to reach the node (checked against the Host header)')
    .option('--cors-origin <origin...>', 'web origins allowed to call the API from a browser (none by default)')
    .option('--oidc-issuer <url>', 'OpenID provider users log in with for this run, over the saved one (`liaison auth set`); its client secret, if any, in $LIAISON_OIDC_CLIENT_SECRET')
    .option('--oidc-client-id <id>', "this node's client id at the OpenID provider")
    .option('--oidc-scopes <scopes>', `scopes asked of the OpenID provider (default "${DEFAULT_SCOPES}")`)
    .option('--demo', 'also start a local demo OpenID provider with demo practitioners and a secretary, and log in with it')
    .option('--ui-dir <dir>', 'serve the web UI from this folder (default: the one `npm run build` writes)', UI_DIR)
    .option('--channels <file>', 'how documents leave the node: SMTP relay of the MSSanté operator, DPI, DMP (default <data>/channels.json)')
    .action(async (options: ServeOptions) => {
      const dataDir = resolve(options.data);
      const oidc = oidcSettingsOf(options);
      if (options.host !== DEFAULT_HOST && options.host !== 'localhost' && options.host !== '::1') {
        console.warn(`Warning: listening on ${options.host} exposes the node beyond this computer.`);
      }
      // Nothing names where the key is: the folder's key file in the user's home, made now for a new folder.
      const keyFile = !process.env.LIAISON_KEY_FILE && !process.env.LIAISON_PASSPHRASE && !keyFileSetting(dataDir) ? defaultKeyFile(dataDir) : undefined;
      const keyIsNew = keyFile !== undefined && !existsSync(keyFile);
      const dataKey = await loadHeadlessDataKey(dataDir);
      if (keyIsNew) console.log(`The data key of ${dataDir} is in ${keyFile}: keep it, and a recovery kit apart (liaison key export).`);
      const node = await startNode({
        dataDir,
        dataKey,
        host: options.host,
        port: options.port,
        uiDir: resolve(options.uiDir),
        logger: { level: options.logLevel },
        allowedHosts: options.allowedHost,
        corsOrigins: options.corsOrigin,
        oidc,
        demo: options.demo,
        ...(options.channels ? { channelsFile: resolve(options.channels) } : {}),
        onReindex: printProgress('Search definitions changed: rebuilding the search index'),
      });
      if (node.portNote) console.warn(`Warning: ${node.portNote}`);
      console.log(`Liaison ${LIAISON_VERSION} listening on ${node.url}`);
      console.log(`  FHIR API:  ${node.url}/fhir`);
      console.log(`  Web UI:    ${node.url}/`);
      console.log(`  Data:      ${dataDir}`);
      console.log(`  Address for the practice's software: ${join(dataDir, NODE_FILE)}`);
      console.log(`  Owner API client credentials: ${node.ownerClientFile}`);
      const setupCode = node.firstRun.setupCode;
      if (setupCode) console.log(`  Set-up:    ${node.url}/#/setup?code=${setupCode}  (this data folder has no user yet: open it to set up the practice)`);
      const provider = node.identity.screen();
      if (provider && !node.demo) console.log(`  Login:     ${node.url}/auth/login through ${provider.label} (${provider.issuer})`);
      if (node.identity.localAccounts) console.log('  Local accounts may log in (login and password).');
      if (node.demo) {
        console.log(`  Demo login: ${node.url}/auth/login through the demo provider ${node.demo.issuer}`);
        for (const account of node.demo.accounts) {
          console.log(`    ${account.login.padEnd(14)} password "${account.password}"  ${account.displayName}, ${account.description}`);
        }
      }
      const stop = async (signal: string) => {
        console.log(`${signal}: stopping`);
        try {
          await node.close();
        } catch (error) {
          console.error('Closing the node failed', error);
          process.exit(1);
        }
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
  program
    .command('reindex')
    .description('rebuild the search index of every resource (the node must be stopped)')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .option('--text', 'rebuild the background text index instead (word-prefix names and addresses, _content, _text)')
    .action((options: { data: string; text?: boolean }) =>
      withDataFolder(options.data, {
        refusal: 'Reindexing needs the node stopped: stop it, then run liaison reindex again.',
        direct: (db, dataDir) => reindex(db, dataDir, options.text),
      }),
    );
  registerClientCommands(program);
  registerUserCommands(program);
  registerAuthCommands(program);
  registerDirectoryCommands(program, defaultDataDir());
  registerPeerCommands(program, defaultDataDir());
  registerAppCommands(program, defaultDataDir());
  registerKeyCommands(program, defaultDataDir());
  registerBackupCommands(program, defaultDataDir());
  return program;
}

async function reindex(db: Db, dataDir: string, text: boolean | undefined): Promise<void> {
  if (text) {
    const progress = printProgress('Rebuilding the text index');
    const { changes, notIndexed } = await rebuildTextIndex(db, join(dataDir, SNAPSHOT_FOLDER), atRestKeysOf(dataDir).textIndex, (done, total) => progress({ done, total }));
    console.log(`Text index rebuilt: ${changes} changes.`);
    if (notIndexed > 0) console.log(`${notIndexed} resource(s) could not be indexed: GET /admin/text-index on the running node lists them and why.`);
    return;
  }
  const repository = new Repository(db);
  const count = reindexAll(db, repository.searchIndex, printProgress('Rebuilding the search index'));
  console.log(`Search index rebuilt: ${count} resources.`);
}

/**
 * Commands that write go through the running node's admin API when one serves the folder (folder-access.ts), and
 * work on the folder directly, locked, when none does. Lists read the database as it is.
 */
function registerClientCommands(program: Command): void {
  const clients = program.command('clients').description("manage the API clients of the office's software (client_credentials)");
  clients
    .command('create')
    .description('register a client and print its credentials (the secret is shown this once)')
    .requiredOption('--name <name>', 'what the client is, e.g. "Logiciel de cabinet"')
    .requiredOption('--scope <scope...>', 'Lifen scopes: <TYPE>_READ, _SEARCH, _CREATE or _UPDATE, e.g. PATIENT_SEARCH')
    .option('--rate-limit <calls>', `calls per second (default ${DEFAULT_RATE_LIMIT})`, parseRate)
    .option('--practitioner <id>', "act for this Practitioner: reach only that practitioner's patients")
    .option('--organization <id>', "act for this practice Organization: reach only the practice's patients")
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action(async (options: { name: string; scope: string[]; rateLimit?: number; practitioner?: string; organization?: string; data: string }) => {
      const client: NewClient = {
        name: options.name,
        scopes: wordsOf(options.scope.join(' ')),
        ...(options.rateLimit !== undefined ? { rateLimit: options.rateLimit } : {}),
        ...(options.practitioner !== undefined ? { practitionerId: options.practitioner } : {}),
        ...(options.organization !== undefined ? { organizationId: options.organization } : {}),
      };
      const credentials = await withDataFolder(options.data, {
        direct: (db) => createClient(db, client),
        served: (api) => api.call<ClientCredentials>('POST', '/admin/clients', client),
      });
      console.log(JSON.stringify(credentials, null, 2));
      console.error('Keep the secret now: it is stored hashed and cannot be shown again.');
    });
  clients
    .command('list')
    .description('list the clients (never their secrets)')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action((options: { data: string }) =>
      readFolder(options.data, (db) => {
        for (const client of listClients(db)) {
          const status = client.revokedAt ? `revoked ${client.revokedAt}` : 'active';
          const rate = `${client.rateLimit ?? DEFAULT_RATE_LIMIT}/s`;
          const actsFor = [client.practitionerId && `Practitioner/${client.practitionerId}`, client.organizationId && `Organization/${client.organizationId}`].filter(Boolean).join(' ') || 'every patient';
          console.log(`${client.clientId}  ${client.role.padEnd(6)}  ${status.padEnd(7)}  ${rate.padEnd(9)}  ${client.name}  [${client.scopes.join(' ')}]  for ${actsFor}`);
        }
        console.log(`${UI_CLIENT_ID}  users of the UI: ${usersRateLimit(db) ?? USER_RATE_LIMIT}/s each`);
      }),
    );
  clients
    .command('set-rate <clientId> <calls>')
    .description(`set the calls per second of an API client or the owner client ("default": ${DEFAULT_RATE_LIMIT})`)
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action(async (clientId: string, calls: string, options: { data: string }) => {
      const rateLimit = calls === 'default' ? null : parseRate(calls);
      const changed = await withDataFolder(options.data, {
        direct: (db) => setClientRateLimit(db, clientId, rateLimit),
        served: (api) => api.call<ClientInfo>('PATCH', `/admin/clients/${encodeURIComponent(clientId)}`, { rateLimit }),
      });
      console.log(`Client ${clientId}: ${changed.rateLimit ?? DEFAULT_RATE_LIMIT} calls per second.`);
    });
  clients
    .command('revoke <clientId>')
    .description('revoke a client and its tokens')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action(async (clientId: string, options: { data: string }) => {
      await withDataFolder(options.data, {
        direct: (db) => revokeClient(db, clientId),
        served: (api) => api.call<ClientInfo>('DELETE', `/admin/clients/${encodeURIComponent(clientId)}`),
      });
      console.log(`Client ${clientId} revoked.`);
    });
}

function registerUserCommands(program: Command): void {
  const users = program.command('users').description('manage the people who log in: local accounts, roles, practices, linked Practitioner');
  users
    .command('list')
    .description('list the users')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action((options: { data: string }) =>
      readFolder(options.data, (db) => {
        for (const user of userServices(db).users.list()) {
          const status = user.disabledAt ? `disabled ${user.disabledAt}` : user.mustChangePassword ? 'must change password' : 'active';
          const who = user.login ? `login ${user.login}` : `<${user.email ?? user.subject}>`;
          console.log(`${user.id}  ${status}  ${user.displayName}  ${who}  [${user.roles.join(' ')}]  practices: ${user.organizations.join(' ') || '-'}  practitioner: ${user.practitionerId ?? '-'}`);
        }
      }),
    );
  users
    .command('add')
    .description('add a local account (login and password); its password is read from standard input, never the command line')
    .requiredOption('--login <login>', 'what they type to log in')
    .option('--name <name>', 'their name as screens show it (default: the login)')
    .requiredOption('--role <role...>', `${ROLES.join(', ')} (several: --role admin practitioner)`)
    .option('--organization <id...>', 'ids of their practice Organizations')
    .option('--practitioner <id>', 'id of the directory Practitioner they are')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action(async (options: { login: string; name?: string; role: string[]; organization?: string[]; practitioner?: string; data: string }) => {
      const password = await readSecret('Password (12 characters at least): ');
      const body = {
        login: options.login,
        displayName: options.name ?? options.login,
        roles: wordsOf(options.role.join(' ')),
        organizations: wordsOf((options.organization ?? []).join(' ')),
        ...(options.practitioner ? { practitionerId: options.practitioner } : {}),
        password,
      };
      const { user } = await withDataFolder(options.data, {
        direct: (db) => addLocalUser({ db, ...userServices(db) }, body),
        served: (api) => api.call<{ user: User }>('POST', '/admin/users', body),
      });
      console.log(JSON.stringify(user, null, 2));
    });
  users
    .command('reset-password <user>')
    .description('give a local account (by id or login) a temporary password, printed once; its owner sets a new one at the next login')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action(async (idOrLogin: string, options: { data: string }) => {
      const { temporaryPassword } = await withDataFolder(options.data, {
        direct: (db) => resetPassword({ db, ...userServices(db) }, idOrLogin),
        served: (api) => api.call<{ temporaryPassword: string }>('POST', `/admin/users/${encodeURIComponent(idOrLogin)}/reset-password`),
      });
      console.log(`Temporary password: ${temporaryPassword}`);
      console.error('Give it to its owner now: it is stored hashed and cannot be shown again. They choose their own at the next login.');
    });
  users
    .command('disable <user>')
    .description('refuse the logins of a user (by id or login) and end their sessions')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action(async (idOrLogin: string, options: { data: string }) => {
      const user = await changeUser(options.data, idOrLogin, { disabled: true });
      console.log(`${user.displayName} is disabled.`);
    });
  users
    .command('set <user>')
    .description("change a user's (by id or login) roles, practices, Practitioner or access")
    .option('--roles <roles>', 'practitioner, staff, admin (space or comma separated)')
    .option('--organizations <ids>', 'ids of the practice Organizations (space or comma separated; "" for none)')
    .option('--practitioner <id>', 'id of the directory Practitioner the user is ("none" unlinks)')
    .option('--disable', 'refuse their logins and end their sessions')
    .option('--enable', 'allow their logins again')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action(async (idOrLogin: string, options: { roles?: string; organizations?: string; practitioner?: string; disable?: boolean; enable?: boolean; data: string }) => {
      if (options.disable && options.enable) throw new InvalidArgumentError('--disable or --enable, not both');
      const change: UserChange = {
        ...(options.roles !== undefined ? { roles: wordsOf(options.roles) as UserChange['roles'] } : {}),
        ...(options.organizations !== undefined ? { organizations: wordsOf(options.organizations) } : {}),
        ...(options.practitioner !== undefined ? { practitionerId: options.practitioner === 'none' ? null : options.practitioner } : {}),
        ...(options.disable || options.enable ? { disabled: Boolean(options.disable) } : {}),
      };
      console.log(JSON.stringify(await changeUser(options.data, idOrLogin, change), null, 2));
    });
}

/** An admin's change to a user named by id or login. */
function changeUser(data: string, idOrLogin: string, change: UserChange): Promise<User> {
  return withDataFolder(data, {
    direct(db) {
      const { users, sessions } = userServices(db);
      const user = users.find(idOrLogin);
      if (!user) throw new Error(`No user '${idOrLogin}'`);
      return applyUserChange(users, sessions, user.id, change);
    },
    async served(api) {
      const { users } = await api.call<{ users: User[] }>('GET', '/admin/users');
      const user = users.find((candidate) => candidate.id === idOrLogin || candidate.login === idOrLogin.toLowerCase());
      if (!user) throw new Error(`No user '${idOrLogin}'`);
      return api.call<User>('PATCH', `/admin/users/${encodeURIComponent(user.id)}`, change);
    },
  });
}

function registerAuthCommands(program: Command): void {
  const auth = program.command('auth').description('who users log in with: Pro Santé Connect, another OpenID Connect provider, local accounts');
  auth
    .command('show')
    .description('the identity provider settings (never the client secret: only whether there is one)')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action(async (options: { data: string }) => {
      const view = await withDataFolder<IdentityView>(options.data, {
        direct: (_db, dataDir) => viewOf(effectiveIdentity(identityLayers(dataDir)), false),
        served: (api) => api.call<IdentityView>('GET', '/admin/identity'),
      });
      console.log(JSON.stringify(view, null, 2));
    });
  auth
    .command('set')
    .description('save the identity provider settings (applied at once by a running node); the client secret from $LIAISON_OIDC_CLIENT_SECRET or standard input')
    .requiredOption('--provider <kind>', PROVIDER_KINDS.join(', '))
    .option('--issuer <url>', 'the issuer of an OpenID Connect provider (oidc)')
    .option('--client-id <id>', 'the client id the provider registered this software with')
    .option('--scopes <scopes>', `scopes asked of the provider (default: "openid scope_all" for Pro Santé Connect, "${DEFAULT_SCOPES}" otherwise)`)
    .option('--no-local-accounts', 'refuse logins with local accounts (a provider is then the only way in)')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action(async (options: { provider: string; issuer?: string; clientId?: string; scopes?: string; localAccounts: boolean; data: string }) => {
      const secret = process.env.LIAISON_OIDC_CLIENT_SECRET ?? (options.provider === 'none' ? '' : await readSecret('Client secret (empty: keep the saved one, or none for a public client): '));
      const change = {
        provider: options.provider,
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.clientId ? { clientId: options.clientId } : {}),
        ...(options.scopes ? { scopes: options.scopes } : {}),
        ...(secret ? { clientSecret: secret } : {}),
        localAccounts: options.localAccounts,
      };
      const view = await withDataFolder<IdentityView>(options.data, {
        direct: (_db, dataDir) => viewOf(saveIdentityChange(dataDir, change), false),
        served: (api) => api.call<IdentityView>('PUT', '/admin/identity', change),
      });
      console.log(JSON.stringify(view, null, 2));
    });
}

const wordsOf = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/** Users, their local accounts and sessions over a data directory's database, for commands run while no node serves it. */
function userServices(db: Db): { users: Users; accounts: LocalAccounts; sessions: Sessions } {
  const repository = new Repository(db);
  const users = new Users(db, practitionerFinder(new SearchEngine(db, repository.searchIndex)), (type, id) => repository.exists(type, id));
  return { users, accounts: new LocalAccounts(db), sessions: new Sessions(db, new TokenStore(db)) };
}

interface ServeOptions {
  data: string;
  host: string;
  port: number;
  logLevel: string;
  allowedHost?: string[];
  corsOrigin?: string[];
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcScopes?: string;
  demo?: boolean;
  uiDir: string;
  channels?: string;
}

/** The upstream provider from the options; its secret only from the environment (argv is visible to every user). */
function oidcSettingsOf(options: ServeOptions): OidcSettings | undefined {
  if (options.demo && options.oidcIssuer) throw new InvalidArgumentError('--demo brings its own OpenID provider: leave out --oidc-issuer');
  if (!options.oidcIssuer) return undefined;
  if (!options.oidcClientId) throw new InvalidArgumentError('--oidc-issuer needs --oidc-client-id');
  const secret = process.env.LIAISON_OIDC_CLIENT_SECRET;
  return { issuer: options.oidcIssuer, clientId: options.oidcClientId, ...(secret ? { clientSecret: secret } : {}), ...(options.oidcScopes ? { scopes: options.oidcScopes } : {}) };
}

function parseRate(value: string): number {
  const rate = Number(value);
  if (!(rate > 0)) throw new InvalidArgumentError('a number of calls per second above 0');
  return rate;
}

/** A progress reporter printing at most every 5% (and at the end). */
function printProgress(title: string): (progress: ReindexProgress) => void {
  let lastPercent = -5;
  return ({ done, total }) => {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (lastPercent === -5) console.log(`${title}…`);
    if (percent - lastPercent >= 5 || done === total) {
      lastPercent = percent;
      console.log(`  ${done}/${total} resources (${percent}%)`);
    }
  };
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    console.error(`liaison: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
