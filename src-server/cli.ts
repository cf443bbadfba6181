import { Command, InvalidArgumentError } from 'commander';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDataDir } from './data-dir';
import { DATABASE_FILE, DEFAULT_HOST, DEFAULT_PORT, startNode } from './node';
import { createClient, listClients, revokeClient } from './auth/clients';
import { registerDirectoryCommands } from './directory/cli';
import { registerPeerCommands } from './sync/cli';
import { DEFAULT_SCOPES, type OidcSettings } from './auth/oidc-login';
import { practitionerFinder } from './auth/practitioner-link';
import { Sessions } from './auth/sessions';
import { TokenStore } from './auth/tokens';
import { applyUserChange } from './auth/user-change';
import { Users, type UserChange } from './auth/users';
import { SearchEngine } from './fhir/search/search';
import { FhirError } from './fhir/outcome';
import { DEFAULT_RATE_LIMIT } from './http/rate-limit';
import { openDatabase, type Db } from './storage/database';
import { reindexAll, type ReindexProgress } from './storage/reindex';
import { Repository } from './storage/repository';
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
    .option('--port <port>', 'port to listen on (0 picks a free one)', parsePort, DEFAULT_PORT)
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'warn')
    .option('--allowed-host <name...>', 'more names clients use to reach the node (checked against the Host header)')
    .option('--cors-origin <origin...>', 'web origins allowed to call the API from a browser (none by default)')
    .option('--oidc-issuer <url>', 'OpenID provider users log in with (Pro Santé Connect…); its client secret, if any, in $LIAISON_OIDC_CLIENT_SECRET')
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
      const node = await startNode({
        dataDir,
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
      console.log(`Liaison ${LIAISON_VERSION} listening on ${node.url}`);
      console.log(`  FHIR API:  ${node.url}/fhir`);
      console.log(`  Web UI:    ${node.url}/`);
      console.log(`  Data:      ${dataDir}`);
      console.log(`  Owner API client credentials: ${node.ownerClientFile}`);
      if (oidc) console.log(`  Login:     ${node.url}/auth/login through ${oidc.issuer}`);
      if (node.demo) {
        console.log(`  Demo login: ${node.url}/auth/login through the demo provider ${node.demo.issuer}`);
        for (const account of node.demo.accounts) {
          console.log(`    ${account.login.padEnd(14)} password "${account.password}"  ${account.displayName}, ${account.description}`);
        }
      }
      const stop = async (signal: string) => {
        console.log(`${signal}: stopping`);
        await node.close();
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
    .action(async (options: { data: string; text?: boolean }) => {
      const dataDir = resolve(options.data);
      const db = openDatabase(join(dataDir, DATABASE_FILE));
      try {
        if (options.text) {
          const progress = printProgress('Rebuilding the text index');
          const { changes, notIndexed } = await rebuildTextIndex(db, join(dataDir, SNAPSHOT_FOLDER), (done, total) => progress({ done, total }));
          console.log(`Text index rebuilt: ${changes} changes.`);
          if (notIndexed > 0) console.log(`${notIndexed} resource(s) could not be indexed: GET /admin/text-index on the running node lists them and why.`);
          return;
        }
        const repository = new Repository(db);
        repository.loadCustomParameters();
        const count = reindexAll(db, repository.searchIndex, printProgress('Rebuilding the search index'));
        console.log(`Search index rebuilt: ${count} resources.`);
      } finally {
        db.close();
      }
    });
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
    .action((options: { name: string; scope: string[]; rateLimit?: number; practitioner?: string; organization?: string; data: string }) =>
      withDatabase(options.data, (db) => {
        const credentials = createClient(db, {
          name: options.name,
          scopes: options.scope.flatMap((scope) => scope.split(/[\s,]+/)).filter(Boolean),
          rateLimit: options.rateLimit,
          practitionerId: options.practitioner,
          organizationId: options.organization,
        });
        console.log(JSON.stringify(credentials, null, 2));
        console.error('Keep the secret now: it is stored hashed and cannot be shown again.');
      }),
    );
  clients
    .command('list')
    .description('list the clients (never their secrets)')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action((options: { data: string }) =>
      withDatabase(options.data, (db) => {
        for (const client of listClients(db)) {
          const status = client.revokedAt ? `revoked ${client.revokedAt}` : 'active';
          const rate = client.role === 'owner' ? 'unlimited' : `${client.rateLimit ?? DEFAULT_RATE_LIMIT}/s`;
          const actsFor = [client.practitionerId && `Practitioner/${client.practitionerId}`, client.organizationId && `Organization/${client.organizationId}`].filter(Boolean).join(' ') || 'every patient';
          console.log(`${client.clientId}  ${client.role.padEnd(6)}  ${status.padEnd(7)}  ${rate.padEnd(9)}  ${client.name}  [${client.scopes.join(' ')}]  for ${actsFor}`);
        }
      }),
    );
  clients
    .command('revoke <clientId>')
    .description('revoke a client and its tokens (a running node notices within 10 seconds)')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action((clientId: string, options: { data: string }) =>
      withDatabase(options.data, (db) => {
        revokeClient(db, clientId);
        console.log(`Client ${clientId} revoked.`);
      }),
    );
  const users = program.command('users').description('manage the people who log in: roles, practices, linked Practitioner');
  users
    .command('list')
    .description('list the users')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action((options: { data: string }) =>
      withDatabase(options.data, (db) => {
        for (const user of userServices(db).users.list()) {
          const status = user.disabledAt ? `disabled ${user.disabledAt}` : 'active';
          console.log(`${user.id}  ${status}  ${user.displayName}  <${user.email ?? user.subject}>  [${user.roles.join(' ')}]  practices: ${user.organizations.join(' ') || '-'}  practitioner: ${user.practitionerId ?? '-'}`);
        }
      }),
    );
  users
    .command('set <userId>')
    .description("change a user's roles, practices, Practitioner or access (a running node applies it within 10 seconds)")
    .option('--roles <roles>', 'practitioner, staff, admin (space or comma separated)')
    .option('--organizations <ids>', 'ids of the practice Organizations (space or comma separated; "" for none)')
    .option('--practitioner <id>', 'id of the directory Practitioner the user is ("none" unlinks)')
    .option('--disable', 'refuse their logins and end their sessions')
    .option('--enable', 'allow their logins again')
    .option('--data <dir>', 'data directory', defaultDataDir())
    .action((userId: string, options: { roles?: string; organizations?: string; practitioner?: string; disable?: boolean; enable?: boolean; data: string }) =>
      withDatabase(options.data, (db) => {
        if (options.disable && options.enable) throw new InvalidArgumentError('--disable or --enable, not both');
        const change: UserChange = {
          ...(options.roles !== undefined ? { roles: wordsOf(options.roles) as UserChange['roles'] } : {}),
          ...(options.organizations !== undefined ? { organizations: wordsOf(options.organizations) } : {}),
          ...(options.practitioner !== undefined ? { practitionerId: options.practitioner === 'none' ? null : options.practitioner } : {}),
          ...(options.disable || options.enable ? { disabled: Boolean(options.disable) } : {}),
        };
        const { users: store, sessions } = userServices(db);
        console.log(JSON.stringify(applyUserChange(store, sessions, userId, change), null, 2));
      }),
    );
  registerDirectoryCommands(program, defaultDataDir());
  registerPeerCommands(program, defaultDataDir());
  return program;
}

const wordsOf = (text: string) => text.split(/[\s,]+/).filter(Boolean);

/** Users and their sessions over a data directory's database, for commands run while the node is stopped. */
function userServices(db: Db): { users: Users; sessions: Sessions } {
  const repository = new Repository(db);
  const users = new Users(db, practitionerFinder(new SearchEngine(db, repository.searchIndex)), (type, id) => repository.exists(type, id));
  return { users, sessions: new Sessions(db, new TokenStore(db)) };
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

/** Opens the data directory's database for a command, and closes it whatever happens. */
function withDatabase(dataDir: string, work: (db: Db) => void): void {
  const db = openDatabase(join(resolve(dataDir), DATABASE_FILE));
  try {
    work(db);
  } catch (error) {
    // A refused request (bad scope, unknown client) reads as the node would say it.
    throw error instanceof FhirError ? new Error(error.message) : error;
  } finally {
    db.close();
  }
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
