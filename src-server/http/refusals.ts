import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { AuditLog } from '../audit/audit-log';
import { MAX_BINARY_BYTES } from '../fhir/limits';
import { badRequest, codedIssue, FhirError, payloadTooLarge, unsupportedMediaType } from '../fhir/outcome';
import { auditAnswer } from './audit-answers';
import { FHIR_CONTENT_TYPE } from './fhir-exchange';
import { hasBody } from './request-body';

/**
 * Every refusal of the node is an OperationOutcome (DESIGN §2), those made before a route runs included: Fastify's
 * own (a malformed URL, a body over its limit, an unknown media type), Node's (headers or URL over `maxHeaderSize`:
 * 431; bytes that are not HTTP: 400), and those of a stopping node (503).
 */

/** Audited for a request whose client went away before sending all of it (nginx's "client closed request"). */
export const CLIENT_CLOSED_REQUEST = 499;

/** Sends a refusal as an OperationOutcome. */
export function sendRefusal(reply: FastifyReply, error: FhirError): FastifyReply {
  // A body not read to its end must not be read as the next request.
  if (hasBody(reply.request) && !reply.request.raw.complete) reply.header('connection', 'close');
  return reply.code(error.status).headers(error.headers).header('content-type', FHIR_CONTENT_TYPE).send(JSON.stringify(error.outcome));
}

/** The error handler: the error as an OperationOutcome, audited; a request its client abandoned is only audited. */
export function refuse(audit: AuditLog, error: FastifyError | FhirError, request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  if (!(error instanceof FhirError) && request.raw.destroyed && !request.raw.complete) {
    auditAnswer(audit, request, CLIENT_CLOSED_REQUEST);
    // Nobody to answer: the connection is gone.
    reply.hijack();
    return undefined;
  }
  const fhirError = error instanceof FhirError ? error : fromFastifyError(error, request);
  if (fhirError.status >= 500) request.log.error({ err: error }, 'request failed');
  auditAnswer(audit, request, fhirError.status);
  return sendRefusal(reply, fhirError);
}

/** Refusals Fastify makes before routing (`frameworkErrors`): a URL it cannot decode, a path parameter too long. */
export function refuseBeforeRouting(audit: AuditLog) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    refuse(audit, error, request, reply);
  };
}

/**
 * Node's refusals of what is not a request it can read (`clientErrorHandler`), written on the socket: no request,
 * hence no Fastify reply, exists yet.
 */
export function refuseClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new FhirError(431, codedIssue('too-long', 'headers-too-large', `The request line and headers are larger than the ${maxHeaderSize} bytes this node reads: shorten the URL (POST a search to _search) or the headers`))
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new FhirError(408, codedIssue('transient', 'request-timeout', 'The request took too long to arrive'))
        : badRequest('http-invalid', 'The request is not valid HTTP');
  const body = JSON.stringify(refusal.outcome);
  this.log.debug({ err: error }, 'client error');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\nContent-Type: ${FHIR_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * A stopping node answers 503 (an OperationOutcome) to requests that still arrive on open connections, as Fastify's
 * `return503OnClosing` would in its own JSON.
 */
export function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    reply.header('connection', 'close');
    done(new FhirError(503, codedIssue('transient', 'node-stopping', 'The node is stopping: try again once it is back')));
  });
}

function fromFastifyError(error: FastifyError, request: FastifyRequest): FhirError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return payloadTooLarge('body-too-large', 
        `The request body is larger than the ${request.routeOptions.bodyLimit / 1024 / 1024} MiB this endpoint accepts (a document under ${MAX_BINARY_BYTES / 1024 / 1024} MiB goes to /fhir/Binary on its own)`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType('media-type-unsupported', `Unsupported Content-Type: send application/fhir+json`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return badRequest('body-invalid', error.message);
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new FhirError(414, codedIssue('too-long', 'url-too-long', 'A segment of the URL is too long'));
    default:
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        // Whatever 4xx Fastify gives, one code: the request could not be read.
        return new FhirError(error.statusCode, codedIssue('invalid', 'request-refused', error.message));
      }
      if (error instanceof RangeError && /call stack/.test(error.message)) {
        return new FhirError(400, codedIssue('too-costly', 'request-too-deep', 'The request is nested too deeply'));
      }
      return new FhirError(500, codedIssue('exception', 'internal-error', 'Internal error: the request was not completed'));
  }
}
