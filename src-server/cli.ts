import { Command, InvalidArgumentError } from 'commander';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDataDir } from './data-dir';
import { DATABASE_FILE, DEFAULT_HOST, DEFAULT_PORT, startNode } from './node';
import { openDatabase } from './storage/database';
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
    .action(async (options: { data: string; host: string; port: number; logLevel: string }) => {
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
  return program;
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
