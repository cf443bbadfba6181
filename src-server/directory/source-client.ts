import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';

/**
 * HTTP(S) to the ANS extraction service (or the mirror or test server standing in): Node's own trust store plus the
 * IGC-Santé root as anchors (verification is never turned off), for these requests only; through the practice's
 * proxy when there is one (the proxy setting, else HTTPS_PROXY / HTTP_PROXY unless NO_PROXY names the host), by
 * CONNECT tunnelling (undici's ProxyAgent). A publication is told by its file name (Content-Disposition, which carries
 * its timestamp), its ETag or Last-Modified, from a HEAD (or, where HEAD is refused, a one-byte ranged GET): never by
 * downloading it. A download streams to a file with a size cap and resumes after a cut (Range + If-Range).
 */

export interface SourceConnection {
  /** PEM certificates trusted beside Node's own: the IGC-Santé root (and, in tests, their own CA). */
  extraCa: readonly string[];
  /** A proxy URL that wins over the environment's; 'none': never a proxy. */
  proxy?: string;
  /** Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read (process.env). */
  env?: NodeJS.ProcessEnv;
  /** Connect, headers and idle-body timeouts. */
  timeoutMs?: number;
  /** Stops a request (the node closing). */
  signal?: AbortSignal;
}

/** What the service publishes now at one URL. */
export interface Publication {
  /** The file name (`PS_LibreAcces_202612061410.zip`), else the ETag or Last-Modified it is known by. */
  name: string;
  /** When it was published, from the file name's timestamp (ISO, Paris time taken as UTC+1: minutes matter little). */
  publishedAt?: string;
  etag?: string;
  lastModified?: string;
  size?: number;
}

/** A failure of the service, the proxy or the download, with the refusal code Réglages says it with. */
export class SourceError extends Error {
  constructor(
    readonly code:
      | 'directory-source-unreachable'
      | 'directory-source-certificate'
      | 'directory-proxy-refused'
      | 'directory-source-answer'
      | 'directory-download-too-large',
    message: string,
    readonly parameters: Record<string, number | string> = {},
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|ERR_TLS/;

/** The dispatcher for `url`: direct or through the proxy, the extra anchors in both cases. */
export function dispatcherFor(url: URL, connection: SourceConnection): Dispatcher {
  const ca = [...rootCertificates, ...connection.extraCa];
  const timeout = connection.timeoutMs ?? 60_000;
  const proxy = proxyFor(url, connection);
  const options = { headersTimeout: timeout, bodyTimeout: timeout };
  if (!proxy) return new Agent({ ...options, connect: { ca, timeout } });
  return new ProxyAgent({ ...options, uri: proxy, requestTls: { ca, timeout }, proxyTls: { ca, timeout } });
}

/** The proxy for `url`: the setting, else the environment's (lower or upper case), unless NO_PROXY covers the host. */
export function proxyFor(url: URL, { proxy, env = process.env }: SourceConnection): string | undefined {
  if (proxy === 'none') return undefined;
  if (proxy) return proxy;
  const fromEnv = url.protocol === 'https:' ? (env.https_proxy ?? env.HTTPS_PROXY ?? env.http_proxy ?? env.HTTP_PROXY) : (env.http_proxy ?? env.HTTP_PROXY);
  if (!fromEnv) return undefined;
  const noProxy = (env.no_proxy ?? env.NO_PROXY ?? '').split(/[\s,]+/).filter(Boolean);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const bypassed = noProxy.some((entry) => {
    if (entry === '*') return true;
    const [name, entryPort] = entry.toLowerCase().replace(/^\*?\./, '.').split(/:(?=\d+$)/);
    if (entryPort && entryPort !== port) return false;
    return name.startsWith('.') ? host.endsWith(name) || host === name.slice(1) : host === name || host.endsWith(`.${name}`);
  });
  return bypassed ? undefined : fromEnv;
}

/** The same failure said with its code: the network, the certificate, the proxy. */
function said(error: unknown, url: URL): SourceError {
  if (error instanceof SourceError) return error;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = String((error as { code?: string }).code ?? cause?.code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  if (/Proxy response \((\d+)\)/.test(message)) return new SourceError('directory-proxy-refused', `The proxy refused the tunnel to ${url.host}: ${message}`);
  if (TLS_CODES.test(code)) return new SourceError('directory-source-certificate', `${url.host}'s certificate does not chain to a trusted anchor (IGC-Santé or the system's): ${code}`);
  return new SourceError('directory-source-unreachable', `${url.host} does not answer: ${code || message}`);
}

async function send(url: URL, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher }) {
  try {
    return await request(url, { ...options, maxRedirections: 5 });
  } catch (error) {
    throw said(error, url);
  }
}

/** What is published at `url` now, without downloading it. */
export async function probe(url: URL, connection: SourceConnection): Promise<Publication> {
  const dispatcher = dispatcherFor(url, connection);
  try {
    let answer = await send(url, { method: 'HEAD', dispatcher });
    await answer.body.dump();
    if (answer.statusCode === 405 || answer.statusCode === 501) {
      answer = await send(url, { method: 'GET', headers: { range: 'bytes=0-0' }, dispatcher });
      await answer.body.dump();
    }
    if (answer.statusCode !== 200 && answer.statusCode !== 206) throw new SourceError('directory-source-answer', `${url.host} answered ${answer.statusCode} for ${url.pathname}`, { status: answer.statusCode });
    return publicationOf(answer.headers);
  } finally {
    await dispatcher.close();
  }
}

const header = (headers: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

export function publicationOf(headers: Record<string, string | string[] | undefined>): Publication {
  const disposition = header(headers, 'content-disposition') ?? '';
  const encoded = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition)?.[1];
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(disposition)?.[1];
  const file = encoded ? decodeURIComponent(encoded) : plain?.trim();
  const etag = header(headers, 'etag');
  const lastModified = header(headers, 'last-modified');
  const range = /\/(\d+)$/.exec(header(headers, 'content-range') ?? '')?.[1];
  const length = range ?? (header(headers, 'content-range') ? undefined : header(headers, 'content-length'));
  const name = file ?? etag ?? lastModified;
  if (!name) throw new SourceError('directory-source-answer', 'The service names its publication neither by Content-Disposition, ETag nor Last-Modified', { status: 200 });
  const stamp = /_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})\.zip$/i.exec(file ?? '');
  return {
    name: file ? file.replace(/[^A-Za-z0-9._-]/g, '_') : name,
    ...(stamp ? { publishedAt: `${stamp[1]}-${stamp[2]}-${stamp[3]}T${stamp[4]}:${stamp[5]}:00` } : {}),
    ...(etag ? { etag } : {}),
    ...(lastModified ? { lastModified } : {}),
    ...(length !== undefined ? { size: Number(length) } : {}),
  };
}

/**
 * Downloads the publication to `file` (0600): into `file.part` first, resumed after a cut when the service still
 * publishes the same file (If-Range), else started again. At most `maxBytes`. Resolves once the whole file is there.
 */
export async function download(
  url: URL,
  publication: Publication,
  file: string,
  connection: SourceConnection & { maxBytes: number; attempts?: number; onBytes?: (bytes: number, total?: number) => void },
): Promise<void> {
  const part = `${file}.part`;
  const partOf = `${part}.json`;
  if (publication.size !== undefined && publication.size > connection.maxBytes) throw tooLarge(publication.size, connection.maxBytes);
  // A part of another publication is no use.
  const samePart = existsSync(partOf) && readFileSync(partOf, 'utf8') === JSON.stringify(publication);
  if (!samePart) {
    rmSync(part, { force: true });
    writeFileSync(partOf, JSON.stringify(publication), { mode: 0o600 });
  }
  const attempts = connection.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      if (await downloadOnce(url, publication, part, connection)) break;
    } catch (error) {
      if (attempt >= attempts || connection.signal?.aborted || (error instanceof SourceError && error.code !== 'directory-source-unreachable')) throw error;
    }
    connection.signal?.throwIfAborted();
    if (attempt >= attempts) throw new SourceError('directory-source-unreachable', `${url.host} kept cutting the download of ${publication.name}`);
  }
  renameSync(part, file);
  rmSync(partOf, { force: true });
}

/** One request: true once the file is whole, false when cut (the caller tries again, resuming). */
async function downloadOnce(url: URL, publication: Publication, part: string, connection: SourceConnection & { maxBytes: number; onBytes?: (bytes: number, total?: number) => void }): Promise<boolean> {
  const have = existsSync(part) ? statSync(part).size : 0;
  const validator = publication.etag ?? publication.lastModified;
  const resume = have > 0 && validator !== undefined;
  const dispatcher = dispatcherFor(url, connection);
  try {
    const answer = await send(url, { method: 'GET', dispatcher, signal: connection.signal, headers: resume ? { range: `bytes=${have}-`, 'if-range': validator } : {} });
    if (answer.statusCode === 416) {
      // The part is all there is (or more): start again rather than trust it.
      await answer.body.dump();
      rmSync(part, { force: true });
      return false;
    }
    if (answer.statusCode !== 200 && answer.statusCode !== 206) {
      await answer.body.dump();
      throw new SourceError('directory-source-answer', `${url.host} answered ${answer.statusCode} for ${url.pathname}`, { status: answer.statusCode });
    }
    const appending = answer.statusCode === 206 && resume && new RegExp(`^bytes ${have}-`).test(header(answer.headers, 'content-range') ?? '');
    if (answer.statusCode === 206 && !appending) {
      await answer.body.dump();
      rmSync(part, { force: true });
      return false;
    }
    const got = publicationOf(answer.headers);
    const total = got.size ?? publication.size;
    if (total !== undefined && total > connection.maxBytes) {
      await answer.body.dump();
      throw tooLarge(total, connection.maxBytes);
    }
    let bytes = appending ? have : 0;
    const cap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > connection.maxBytes) return done(tooLarge(bytes, connection.maxBytes));
        connection.onBytes?.(bytes, total);
        done(null, chunk);
      },
    });
    try {
      await pipeline(answer.body, cap, createWriteStream(part, { flags: appending ? 'a' : 'w', mode: 0o600 }));
    } catch (error) {
      if (error instanceof SourceError) throw error;
      return false;
    }
    return total === undefined || bytes === total;
  } finally {
    await dispatcher.close();
  }
}

const tooLarge = (size: number, max: number) =>
  new SourceError('directory-download-too-large', `The publication is ${size} bytes or more, over the ${max} the node downloads`, { max });
