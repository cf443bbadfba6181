import { createServer, type Server } from 'node:net';

/**
 * Ports for tests that must not depend on 8347 being free (other people's nodes, other test runs): whether a port is
 * free now, and a port held taken for as long as a test needs.
 */

export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  const server = createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => resolve(true));
  });
  if (free) await new Promise((resolve) => server.close(resolve));
  return free;
}

/** A port something else listens on (as another program would), until `release`. */
export async function takenPort(host = '127.0.0.1'): Promise<{ port: number; release(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return { port: address.port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}
