import { connect, type Socket } from 'node:net';

/** Raw HTTP on a socket, for tests that need a request caught halfway. */

/**
 * An upload on a new connection, its body begun but not whole: resolves once the node is handling it (Node answers
 * `100 Continue` to `Expect: 100-continue` as it hands the request to Fastify), with the socket and what it received.
 */
export function uploadUnderWay(port: number, head: string, bodyStart: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    // `closed` only resolves.
    void closed.then(() => reject(new Error(`The connection closed before the node took the request: ${received}`)));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) resolve({ socket, received: () => received, closed });
    });
    socket.write(`${head}Expect: 100-continue\r\n\r\n${bodyStart}`);
  });
}
