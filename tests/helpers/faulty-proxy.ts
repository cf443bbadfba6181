import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP hop on 127.0.0.1 between a node and its peer, which the test can break: the network is down
 * (connections reset), a reply is lost after the peer committed, a request is delivered twice, or a reply is cut
 * in the middle. Faults apply to every request while the link is `down`, or to the next matching requests once.
 */

export type Fault = 'down' | 'lose-reply' | 'duplicate' | 'truncate';

export class FaultyProxy {
  /** Every request fails while true: the network between the two nodes is cut. */
  down = false;
  /** Requests whose path matches fail (connection reset) while set: one route of the peer is cut. */
  blocked: RegExp | undefined;
  /** Requests cut by a fault `down`: attempts the peer never saw. */
  cut = 0;
  /** Requests forwarded (each duplicate counts). */
  forwarded = 0;
  /** Changes replies on their way back (a peer with a skewed clock, an older protocol…). */
  rewrite: ((path: string, body: string) => string) | undefined;
  private readonly once: Array<{ fault: Fault; match: RegExp }> = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly target: string,
  ) {}

  static async start(target: string): Promise<FaultyProxy> {
    let proxy: FaultyProxy | undefined;
    // A failure of the proxy itself fails the test run: vitest reports the unhandled rejection.
    const server = createServer((request, response) => void proxy!.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    proxy = new FaultyProxy(server, `http://127.0.0.1:${port}`, target);
    return proxy;
  }

  /** Faults asked for with failNext that no request has met yet. */
  get unfired(): number {
    return this.once.length;
  }

  /** The next request whose path matches meets `fault`, once. */
  failNext(fault: Fault, match = /./): void {
    this.once.push({ fault, match });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const at = this.once.findIndex((entry) => entry.match.test(request.url ?? ''));
    const fault: Fault | undefined = this.down || this.blocked?.test(request.url ?? '') ? 'down' : at >= 0 ? this.once.splice(at, 1)[0].fault : undefined;
    if (fault === 'down') {
      this.cut++;
      return void request.socket.destroy();
    }
    try {
      if (fault === 'duplicate') await this.forward(request, Buffer.concat(chunks)).then((first) => first.arrayBuffer());
      const answer = await this.forward(request, Buffer.concat(chunks));
      let body = Buffer.from(await answer.arrayBuffer());
      if (this.rewrite) body = Buffer.from(this.rewrite(request.url ?? '', body.toString('utf8')));
      if (fault === 'lose-reply') return void request.socket.destroy();
      const headers = Object.fromEntries([...answer.headers].filter(([name]) => !['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)));
      if (fault === 'truncate') {
        response.writeHead(answer.status, { ...headers, 'content-length': String(body.length) });
        response.write(body.subarray(0, Math.floor(body.length / 2)));
        return void setTimeout(() => request.socket.destroy(), 10);
      }
      response.writeHead(answer.status, headers).end(body);
    } catch {
      request.socket.destroy();
    }
  }

  private forward(request: IncomingMessage, body: Buffer): Promise<Response> {
    this.forwarded++;
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && !['host', 'connection', 'content-length'].includes(entry[0])),
    );
    return fetch(`${this.target}${request.url}`, { method: request.method, headers, body: body.length ? body : undefined });
  }
}
