import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { zipSync } from 'fflate';

/**
 * Stand-ins for the ANS extraction service (docs/directory.md, "Daily refresh"), on 127.0.0.1: an HTTPS server with a
 * certificate of the test's own CA (given to the node as its extra trust anchor), publishing ZIPs at the ANS paths
 * with the ANS headers (Content-Disposition with the timestamped file name, ETag, Last-Modified, ranges); and a
 * CONNECT proxy that counts its tunnels.
 */

export interface TestCa {
  /** The CA's certificate (PEM): the anchor a node is given. */
  ca: string;
  key: Buffer;
  cert: Buffer;
}

/** A CA of the test's own and a certificate it signs for 127.0.0.1, made with openssl in `folder`. */
export function testCa(folder: string, name = 'Test CA'): TestCa {
  const file = (base: string) => join(folder, `${name.replace(/\W/g, '-')}-${base}`);
  const quiet = { stdio: 'ignore' as const };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', `/CN=${name}`], quiet);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1'], quiet);
  writeFileSync(file('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  execFileSync('openssl', ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('ext.cnf')], quiet);
  return { ca: readFileSync(file('ca.pem'), 'utf8'), key: readFileSync(file('server.key')), cert: readFileSync(file('server.pem')) };
}

/** A ZIP of the ANS's shape: the extraction as `<prefix>_<stamp>.txt`, and another entry beside it. */
export function publicationZip(prefix: string, stamp: string, text: Buffer | string): Buffer {
  return Buffer.from(zipSync({ [`${prefix}_${stamp}.txt`]: Buffer.from(text), [`LISEZMOI_${stamp}.txt`]: Buffer.from('Extraction de test\n') }, { level: 6 }));
}

interface Published {
  file: string;
  body: Buffer;
  etag: string;
  lastModified: string;
}

const PATHS = { activity: 'PS_LibreAcces', mssante: 'Extraction_Correspondance_MSSante' } as const;
export type Kind = keyof typeof PATHS;

export class AnsServer {
  private readonly published: Partial<Record<Kind, Published>> = {};
  /** Full or ranged GETs of each publication's body (a HEAD is not one). */
  readonly downloads: Record<Kind, number> = { activity: 0, mssante: 0 };
  /** The Range headers of the GETs, in order. */
  readonly ranges: string[] = [];
  private cut: Partial<Record<Kind, number>> = {};

  private constructor(
    private readonly server: Server | HttpServer,
    readonly url: string,
  ) {}

  /** Over HTTPS with `certificate`; without one over plain HTTP (a node in a child process, which cannot be given a test CA). */
  static async start(certificate?: TestCa): Promise<AnsServer> {
    let ans: AnsServer | undefined;
    const handle = (request: IncomingMessage, response: import('node:http').ServerResponse) => ans!.handle(request, response);
    const server = certificate ? createServer({ key: certificate.key, cert: certificate.cert }, handle) : createHttpServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ans = new AnsServer(server, `${certificate ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return ans;
  }

  /** Publishes `zip` as the `kind` extraction of `stamp` (YYYYMMDDhhmm). */
  publish(kind: Kind, stamp: string, zip: Buffer): void {
    this.published[kind] = { file: `${PATHS[kind]}_${stamp}.zip`, body: zip, etag: `"${kind}-${stamp}-${zip.length}"`, lastModified: new Date().toUTCString() };
  }

  /** The next GET of `kind` sends `bytes` bytes then cuts the connection. */
  cutNext(kind: Kind, bytes: number): void {
    this.cut[kind] = bytes;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: import('node:http').ServerResponse): void {
    const kind = (Object.keys(PATHS) as Kind[]).find((candidate) => request.url === `/annuaire-sante-webservices/V300/services/extraction/${PATHS[candidate]}`);
    const published = kind && this.published[kind];
    if (!kind || !published) {
      response.writeHead(404).end();
      return;
    }
    const headers = {
      'content-type': 'application/zip',
      'content-disposition': `attachment; filename="${published.file}"`,
      etag: published.etag,
      'last-modified': published.lastModified,
      'accept-ranges': 'bytes',
    };
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const ifRange = request.headers['if-range'];
    const from = range && (!ifRange || ifRange === published.etag) ? Number(range[1]) : 0;
    if (request.method === 'HEAD') {
      response.writeHead(200, { ...headers, 'content-length': published.body.length }).end();
      return;
    }
    this.downloads[kind]++;
    this.ranges.push(request.headers.range ?? '');
    const body = published.body.subarray(from);
    response.writeHead(from > 0 ? 206 : 200, {
      ...headers,
      'content-length': body.length,
      ...(from > 0 ? { 'content-range': `bytes ${from}-${published.body.length - 1}/${published.body.length}` } : {}),
    });
    const cut = this.cut[kind];
    if (cut !== undefined) {
      delete this.cut[kind];
      // The bytes sent reach the client before the connection breaks, as when a line drops mid-download.
      response.write(body.subarray(0, cut), () => setTimeout(() => response.socket?.destroy(), 300));
      return;
    }
    response.end(body);
  }
}

/** An HTTP proxy that tunnels CONNECT requests (and refuses them while `refusing`), counting them by target. */
export class ConnectProxy {
  readonly tunnels: string[] = [];
  refusing = false;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: HttpServer,
    readonly url: string,
  ) {}

  static async start(): Promise<ConnectProxy> {
    let proxy: ConnectProxy | undefined;
    const server = createHttpServer((_request, response) => response.writeHead(405).end());
    server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => proxy!.tunnel(request, client, head));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new ConnectProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private tunnel(request: IncomingMessage, client: Socket, head: Buffer): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    if (this.refusing) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    this.tunnels.push(request.url ?? '');
    const [host, port] = (request.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  }
}
