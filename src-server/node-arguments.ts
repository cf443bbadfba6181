import { parseArgs } from 'node:util';

/**
 * The node process's start arguments (`out/main/node-process.js`, built from node-process.ts), built in one place:
 * the desktop app's supervisor (src-main/node-supervisor.ts) and the tests that start the node as the app does both
 * call `nodeArguments`, and the entry reads them back with `parseNodeArguments`. Nothing about logins goes here: the
 * node reads its identity provider from the data folder's settings (node-settings.ts).
 */

/** The address the office's software is configured with: `http://127.0.0.1:8347/fhir`. Imports nothing, for src-main. */
export const DEFAULT_PORT = 8347;

export interface NodeArguments {
  dataDir: string;
  /** Where package.json and resources/ are (app.getAppPath()). */
  appRoot: string;
  /** The port to listen on; another one, said aloud, when it is taken. Default DEFAULT_PORT; 0 picks a free one. */
  port?: number;
  /** After a crash: the port of the previous run, tried when `port` is taken, so the window's address stays valid. */
  previousPort?: number;
  /** Origins allowed to call the node from a page (the window's app:// origin). */
  corsOrigins?: readonly string[];
}

export function nodeArguments({ dataDir, appRoot, port = DEFAULT_PORT, previousPort, corsOrigins = [] }: NodeArguments): string[] {
  return [
    '--data',
    dataDir,
    '--app-root',
    appRoot,
    '--port',
    String(port),
    ...(previousPort !== undefined && previousPort !== port ? ['--previous-port', String(previousPort)] : []),
    ...corsOrigins.flatMap((origin) => ['--cors-origin', origin]),
  ];
}

/** The arguments `nodeArguments` made; throws on a missing or malformed one. */
export function parseNodeArguments(args: readonly string[]): Required<Omit<NodeArguments, 'previousPort'>> & Pick<NodeArguments, 'previousPort'> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      data: { type: 'string' },
      'app-root': { type: 'string' },
      port: { type: 'string', default: String(DEFAULT_PORT) },
      'previous-port': { type: 'string' },
      'cors-origin': { type: 'string', multiple: true, default: [] },
    },
  });
  if (!values.data || !values['app-root']) throw new Error('--data and --app-root are required');
  return {
    dataDir: values.data,
    appRoot: values['app-root'],
    port: portOf(values.port, '--port'),
    ...(values['previous-port'] !== undefined ? { previousPort: portOf(values['previous-port'], '--previous-port') } : {}),
    corsOrigins: values['cors-origin'],
  };
}

function portOf(text: string, flag: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${flag} is a port from 0 to 65535, not '${text}'`);
  return port;
}
