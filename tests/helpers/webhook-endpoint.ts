import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a rest-hook endpoint received: one notification. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A practice software's endpoint: records what it receives and answers as told (a status, or never). */
export class Endpoint {
  readonly received: Received[] = [];
  /** The statuses of the next answers, then 200; 'hang' never answers. */
  answers: Array<number | 'hang'> = [];
  private readonly server: Server;
  private waiters: Array<() => void> = [];

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({ headers: request.headers, body: Buffer.concat(chunks) });
        for (const waiter of this.waiters.splice(0)) waiter();
        const answer = this.answers.shift() ?? 200;
        if (answer !== 'hang') response.writeHead(answer).end();
      });
    });
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** Resolves once `count` notifications have arrived in all (fails after a timeout). */
  async waitFor(count: number, timeoutMs = 20_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.received.length} notifications arrived, not ${count}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.received;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
