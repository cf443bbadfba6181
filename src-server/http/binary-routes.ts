import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import type { AuditLog } from '../audit/audit-log';
import type { Reaches } from '../auth/reach';
import { storedContentOf } from '../fhir/binary-content';
import { MAX_BINARY_BYTES } from '../fhir/limits';
import { notFound, serviceUnavailable } from '../fhir/outcome';
import { checkBinaryUpload, checkUploadedBinary } from '../rest/binary-upload';
import type { FhirApi } from '../rest/fhir-api';
import type { FhirResponse, Surface } from '../rest/types';
import type { BinaryStore, IncomingContent, StoredContent } from '../store/binary-store';
import { CONTENT_RETRY_AFTER_S, type ContentQueue } from '../sync/content';
import type { ContentUploads } from '../sync/content-upload';
import { auditAnswer } from './audit-answers';
import { readJsonBinary } from './binary-json';
import { baseUrl, FHIR_CONTENT_TYPE, preferences, send, toFhirRequest } from './fhir-exchange';
import { JSON_TYPES } from './request-body';

/**
 * `POST /fhir/Binary`, `PUT /fhir/Binary/<id>`, `GET /fhir/Binary/<id>[/_history/<vid>]` and `POST /fhir/$content`,
 * streamed:
 * - uploads come as the document itself (`Content-Type: application/pdf`, as the spec allows) or as FHIR JSON with
 *   base64 `content`; either way the content goes to the binary store as it arrives, refused at 50 MiB;
 * - a read answers the document itself, unless FHIR JSON is asked for (`Accept` or `_format`): then the Binary
 *   with its content in base64, streamed from the file. Content a sync peer has not delivered yet answers 503 with
 *   Retry-After; a vread serves the content of that version (how a peer fetches it, docs/sync.md);
 * - `POST $content?hash=<sha256>` is a sync peer's upload of content this node awaits (after a push), checked and
 *   kept by sync (sync/content-upload.ts).
 * What an upload may be is rest's (rest/binary-upload.ts); versioning is the interactions' as for any resource.
 */

export interface BinaryRoutesOptions {
  api: FhirApi;
  store: BinaryStore;
  /** Binary content awaited from sync peers. */
  syncContent?: ContentQueue;
  contentUploads: ContentUploads;
  audit: AuditLog;
  reaches: Reaches;
  /** The surface these routes serve (fhir-routes.ts). */
  surface: Surface;
}

const FHIR_JSON_TYPES = new Set(JSON_TYPES);
const FHIR_FORMATS = new Set(['json', ...FHIR_JSON_TYPES]);
/** A MIME type as a Binary may declare it; anything else is served as octet-stream. */
const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;
type JsonObject = Record<string, unknown>;

export async function binaryRoutes(app: FastifyInstance, { api, store, syncContent, contentUploads, audit, reaches, surface }: BinaryRoutesOptions): Promise<void> {
  // Errors are audited by the error handler; answers here.
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode < 400) auditAnswer(audit, request, reply.statusCode);
    done();
  });
  // The body is the request stream itself, whatever its type: no buffering, no general body limit.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  const upload = async (request: FastifyRequest<{ Params: { id?: string } }>, reply: FastifyReply) => {
    const prefer = preferences(request);
    const fhirRequest = toFhirRequest(request, prefer, reaches, undefined, surface);
    checkBinaryUpload(fhirRequest);
    const type = mediaType(request.headers['content-type']);
    const body = request.body as Readable;
    // A refused upload is answered before its end: the rest of it must not be read as the next request.
    reply.header('connection', 'close');
    const { resource, content: incoming } = FHIR_JSON_TYPES.has(type) ? await readJsonBinary(body, store) : { resource: rawBinary(type, request.params.id), content: await rawContent(store, body) };
    reply.removeHeader('connection');
    // Checked before the content joins the store, so that a refused Binary leaves no file behind.
    let content: StoredContent | undefined;
    try {
      checkUploadedBinary(resource, await incoming?.complete());
      content = await incoming?.store();
    } catch (error) {
      await incoming?.abort();
      throw error;
    }
    const response = await api.answer({ ...fhirRequest, body: resource, binaryContent: content }, baseUrl(request, surface));
    return send(reply, response, request, prefer);
  };
  // Inflated (request-body.ts) up to this: the content's base64 in FHIR JSON is 4/3 of the content, which the store
  // itself cuts at MAX_BINARY_BYTES.
  const uploads = { bodyLimit: 2 * MAX_BINARY_BYTES };
  app.post('/Binary', uploads, upload);
  app.put('/Binary/:id', uploads, upload);

  const read = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const prefer = preferences(request);
    const response = api.interactions.handle(toFhirRequest(request, prefer, reaches, undefined, surface), baseUrl(request, surface));
    // `Binary/` (no id) is the type's search: a Bundle, not a document.
    if (response.status !== 200 || typeof response.body !== 'string' || request.params.id === '') return send(reply, response, request, prefer);
    const resource = JSON.parse(response.body) as JsonObject;
    const stored = storedContentOf(resource);
    const file = stored && (await openContent(store, stored.hash, syncContent));
    if (wantsFhir(request)) {
      if (!file) return send(reply, response, request, prefer);
      reply.code(200).headers(response.headers).header('content-type', FHIR_CONTENT_TYPE);
      return reply.send(Readable.from(jsonWithContent(resource, file)));
    }
    return sendRaw(reply, response, resource, file ?? Buffer.from(String(resource.content ?? ''), 'base64'));
  };
  app.get('/Binary/:id', read);
  app.get('/Binary/:id/_history/:vid', read);

  app.post<{ Querystring: { hash?: string } }>('/$content', uploads, async (request, reply) => {
    const fhirRequest = toFhirRequest(request, preferences(request), reaches);
    const hash = contentUploads.check(fhirRequest, request.query.hash);
    // A refused upload is answered before its end: the rest of it must not be read as the next request.
    reply.header('connection', 'close');
    await contentUploads.receive(fhirRequest, baseUrl(request, surface), hash, request.body as Readable | undefined, (binary) =>
      request.log.warn({ hash, binary }, 'sync: uploaded Binary content refused: its hash or size is not the one the Binary names'),
    );
    reply.removeHeader('connection');
    return reply.code(204).send();
  });
}

/** The Binary of a raw upload: the document's own type, and the URL's id for a PUT. */
function rawBinary(type: string, id: string | undefined): Record<string, unknown> {
  return { resourceType: 'Binary', contentType: MIME_TYPE.test(type) ? type : 'application/octet-stream', ...(id ? { id } : {}) };
}

/** A raw upload streamed into the binary store's incoming content and completed, not yet stored. */
async function rawContent(store: BinaryStore, body: Readable): Promise<IncomingContent> {
  const incoming = await store.incoming();
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) await incoming.push(chunk);
    await incoming.complete();
    return incoming;
  } catch (error) {
    await incoming.abort();
    throw error;
  }
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

/** FHIR JSON when asked for by `_format` or `Accept`; the document itself otherwise (browsers, PDF viewers). */
function wantsFhir(request: FastifyRequest): boolean {
  const format = (request.query as Record<string, unknown>)._format;
  if (typeof format === 'string') return FHIR_FORMATS.has(format.split(';')[0].trim());
  return (request.headers.accept ?? '').split(',').some((part) => FHIR_JSON_TYPES.has(mediaType(part)));
}

async function openContent(store: BinaryStore, hash: string, syncContent: ContentQueue | undefined): Promise<Readable> {
  const file = await store.open(hash);
  if (file) return file;
  if (syncContent?.awaits(hash)) {
    throw serviceUnavailable('binary-content-pending', 'The content of this Binary is on its way from a sync peer: try again shortly', CONTENT_RETRY_AFTER_S);
  }
  throw notFound('binary-content-missing', 'The content of this Binary is missing from the binary store');
}

function sendRaw(reply: FastifyReply, response: FhirResponse, resource: JsonObject, content: Readable | Buffer): FastifyReply {
  const type = typeof resource.contentType === 'string' && MIME_TYPE.test(resource.contentType) ? resource.contentType : 'application/octet-stream';
  return reply
    .code(200)
    .headers(response.headers)
    .header('content-type', type)
    // An uploaded HTML or SVG document must not run as a page of this node's origin.
    .header('content-security-policy', "sandbox; default-src 'none'; frame-ancestors 'none'")
    .send(content);
}

/** The Binary's JSON with `content` in base64, encoded from the file chunk by chunk (3-byte groups stay whole). */
async function* jsonWithContent(resource: JsonObject, file: Readable): AsyncGenerator<string> {
  const { _content: _extension, ...rest } = resource;
  yield `${JSON.stringify(rest).slice(0, -1)}${Object.keys(rest).length > 0 ? ',' : ''}"content":"`;
  let carry = Buffer.alloc(0);
  for await (const chunk of file as AsyncIterable<Buffer>) {
    const bytes = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const whole = bytes.length - (bytes.length % 3);
    yield bytes.subarray(0, whole).toString('base64');
    carry = Buffer.from(bytes.subarray(whole));
  }
  yield `${carry.toString('base64')}"}`;
}
