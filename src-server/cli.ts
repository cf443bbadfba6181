import { Command, InvalidArgumentError } from 'commander';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDataDir } from './data-dir';
import { DATABASE_FILE, DEFAULT_HOST, DEFAULT_PORT, startNode } from './node';
import { createClient, listClients, revokeClient } from './auth/clients';
import { registerDirectoryCommands } from './directory/cli';
import { FhirError } from './fhir/outcome';
import { DEFAULT_RATE_LIMIT } from './http/rate-limit';
import { openDatabase, type Db } from './storage/database';
import { reindexAll, type ReindexProgress } from './storage/reindex';
import { Repository } from './storage/repository';
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
    .action(async (options: { data: string; host: string; port: number; logLevel: string; allowedHost?: string[]; corsOrigin?: string[] }) => {
      const dataDir = resolve(options.data);
      if (options.host !== DEFAULT_HOST && options.host !== 'localhost' && options.host !== '::1') {
        console.warn(`Warning: listening on ${options.host} exposes the node beyond this computer.`);
      }
      const node = await startNode({
        dataDir,
        host: options.host,
        port: options.port,
        uiDir: UI_DIR,
        logger: { level: options.logLevel },
        allowedHosts: options.allowedHost,
        corsOrigins: options.corsOrigin,
        onReindex: printProgress('Search definitions changed: rebuilding the search index'),
      });
      console.log(`Liaison ${LIAISON_VERSION} listening on ${node.url}`);
      console.log(`  FHIR API:  ${node.url}/fhir`);
      console.log(`  Web UI:    ${node.url}/`);
      console.log(`  Data:      ${dataDir}`);
      console.log(`  Owner API client credentials: ${node.ownerClientFile}`);
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
    .action((options: { data: string }) => {
      const db = openDatabase(join(resolve(options.data), DATABASE_FILE));
      try {
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
  registerDirectoryCommands(program, defaultDataDir());
  return program;
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
