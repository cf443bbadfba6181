import type { FastifyReply, FastifyRequest } from 'fastify';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { FHIR_FORMATS, mediaTypesOf } from '../fhir/formats';
import { badRequest, payloadTooLarge, unsupportedMediaType } from '../fhir/outcome';

/**
 * What a request body must be before any route parses it (a `preParsing` hook on every route):
 * - `Content-Encoding: gzip` (or `deflate`) is inflated as it arrives, and the route's body limit counts the inflated
 *   bytes: a small zip bomb is cut at the limit (413), not inflated whole. Other encodings are refused (415), so
 *   that a compressed document is never stored as if it were the document.
 * - JSON and forms are read as UTF-8 (RFC 8259 §8.1): a body that declares another charset is refused (415) rather
 *   than misread.
 */

/** Media types whose bodies the node decodes as text. */
export const JSON_TYPES = mediaTypesOf(FHIR_FORMATS.find((format) => format.code === 'json')!);
const TEXT_TYPES = new Set([...JSON_TYPES, 'application/x-www-form-urlencoded']);
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;

export function checkRequestBody(request: FastifyRequest, _reply: FastifyReply, payload: Readable, done: (error: Error | null, payload?: Readable) => void): void {
  const { headers } = request;
  const type = headers['content-type'];
  if (type !== undefined && type.includes(';')) {
    const charset = CHARSET.exec(type)?.[1];
    if (charset !== undefined && charset.toLowerCase() !== 'utf-8' && TEXT_TYPES.has(type.slice(0, type.indexOf(';')).trim().toLowerCase())) {
      done(unsupportedMediaType('charset-unsupported', `The body must be UTF-8, not ${charset}: send charset=utf-8 or no charset`));
      return;
    }
  }
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding === undefined || encoding === '' || encoding === 'identity' || !hasBody(request)) {
    done(null, payload);
    return;
  }
  if (encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'deflate') {
    done(unsupportedMediaType('content-encoding-unsupported', `Content-Encoding '${encoding}' is not supported: send the body as it is, or gzip or deflate it`));
    return;
  }
  done(null, inflated(payload, encoding === 'deflate' ? 'deflate' : 'gzip', request.routeOptions.bodyLimit));
}

/** Whether the request says it carries a body. */
export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The body inflated as it arrives. Errors end it: the request's own (the client went away), a corrupt stream (400),
 * more than `limit` inflated bytes (413). It never destroys the request, which must stay open for the answer.
 */
function inflated(payload: Readable, encoding: 'gzip' | 'deflate', limit: number): Readable {
  const inflate = encoding === 'gzip' ? createGunzip() : createInflate();
  const body = new LimitedBody(limit);
  payload.on('data', (chunk: Buffer) => (body.receivedEncodedLength += chunk.length));
  payload.on('error', (error) => body.destroy(error));
  inflate.on('error', (error) => body.destroy(badRequest('body-invalid', `The request body is not valid ${encoding}: ${error.message}`)));
  body.on('close', () => {
    payload.unpipe(inflate);
    inflate.destroy();
  });
  // A body no parser reads (a refusal answered first) must not throw its error at the process.
  body.on('error', () => undefined);
  payload.pipe(inflate).pipe(body);
  return body;
}

/** Inflated bytes, refused past `limit`. */
class LimitedBody extends Transform {
  /** The bytes received as sent: Fastify checks Content-Length against them. */
  receivedEncodedLength = 0;
  private length = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.length += chunk.length;
    if (this.length > this.limit) callback(payloadTooLarge('body-too-large', `The request body inflates to more than the ${Math.floor(this.limit / 1024 / 1024)} MiB this endpoint accepts`));
    else callback(null, chunk);
  }
}
