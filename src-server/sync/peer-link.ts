import type { Readable } from 'node:stream';
import type { DataKind } from '../store/change-log';
import { isValidId } from '../store/repository';

/**
 * The HTTP client of one peer: an OAuth token from its client credentials (renewed before it expires, or when the
 * peer answers 401), then the protocol's operations. Errors say what the peer answered, never the secret.
 */

export interface Handshake {
  node: string;
  protocol: string;
  fhirVersion: string;
  /** The peer's clock, as it answered. */
  time: string;
  /** The recipients the peer serves (`Practitioner/<id>`, `Organization/<id>`); none from a peer that does not say. */
  recipients: string[];
}

/** Recipients one handshake may name: a node has users and practices, not a directory's worth. */
export const MAX_HANDSHAKE_RECIPIENTS = 10_000;
const isRecipient = (reference: string) => {
  const [type, id, ...rest] = reference.split('/');
  return (type === 'Practitioner' || type === 'Organization') && id !== undefined && rest.length === 0 && isValidId(id);
};

/** A failed call: `retryAfterMs` when the peer asked to wait (429, 503). */
/**
 * What went wrong with a peer, for people: the Settings screen words each kind (the message, in English, is shown
 * beside it). Recorded with the error (`PeerInfo.lastProblem`), so that no client has to read the message.
 */
export type PeerProblem = 'unreachable' | 'certificate' | 'credentials' | 'rights' | 'busy' | 'peerFailed' | 'protocol' | 'fhirVersion' | 'other';

/** TLS's refusals of a peer's certificate (expired, self-signed, for another name…), by their OpenSSL or Node code. */
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/;

export class PeerError extends Error {
  readonly problem: PeerProblem;

  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
    problem?: PeerProblem,
  ) {
    super(message);
    this.name = 'PeerError';
    this.problem = problem ?? problemOfStatus(status);
  }
}

function problemOfStatus(status: number | undefined): PeerProblem {
  if (status === undefined) return 'other';
  if (status === 429 || status === 503) return 'busy';
  if (status === 401) return 'credentials';
  if (status === 403) return 'rights';
  return status >= 500 ? 'peerFailed' : 'other';
}

const TIMEOUT_MS = 30_000;
/** A Binary's content (up to 50 MiB) may take longer than a page. */
const CONTENT_TIMEOUT_MS = 10 * 60_000;
/** A token is renewed this long before it expires. */
const RENEW_MARGIN_MS = 60_000;

export class PeerLink {
  private token: { value: string; expiresAt: number } | undefined;
  /** The peer's FHIR base. */
  readonly base: string;

  constructor(
    private readonly url: string,
    private readonly clientId: string,
    private readonly secret: () => string,
    /** Aborts every call (the loop stops). */
    private readonly stopped: AbortSignal,
  ) {
    this.base = `${url}/fhir`;
  }

  async handshake(): Promise<Handshake> {
    const body = (await this.call('GET', '$handshake')) as { parameter?: Array<{ name: string; valueString?: string; valueInstant?: string; valueReference?: { reference?: unknown } }> };
    const value = (name: string) => body.parameter?.find((parameter) => parameter.name === name);
    const node = value('node')?.valueString;
    const protocol = value('protocol')?.valueString;
    const fhirVersion = value('fhirVersion')?.valueString;
    const time = value('time')?.valueInstant;
    if (!node || !protocol || !fhirVersion || !time) throw new PeerError(`${this.url} answered $handshake without node, protocol, fhirVersion and time`);
    const recipients = (body.parameter ?? []).flatMap((parameter) => {
      const reference = parameter.name === 'recipient' ? parameter.valueReference?.reference : undefined;
      return typeof reference === 'string' && isRecipient(reference) ? [reference] : [];
    });
    if (recipients.length > MAX_HANDSHAKE_RECIPIENTS) throw new PeerError(`${this.url} answered $handshake with ${recipients.length} recipients, more than the ${MAX_HANDSHAKE_RECIPIENTS} a node serves`);
    return { node, protocol, fhirVersion, time, recipients };
  }

  changes(cursor: string, count: number, kind: DataKind): Promise<unknown> {
    return this.call('GET', `$changes?${new URLSearchParams({ cursor, _count: String(count), data: kind })}`);
  }

  replicate(bundle: string, sender: string): Promise<unknown> {
    return this.call('POST', `$replicate?${new URLSearchParams({ sender })}`, bundle);
  }

  /**
   * The content of a Binary version, streamed: the peer's vread of `Binary/<id>/_history/<vid>` answered raw, under
   * the same scopes and reach as any read there. A refusal is a PeerError with the peer's status.
   */
  async content(id: string, versionId: string): Promise<AsyncIterable<Uint8Array>> {
    const path = `Binary/${encodeURIComponent(id)}/_history/${encodeURIComponent(versionId)}`;
    const response = await this.authorized('GET', path, { accept: 'application/octet-stream' }, undefined, CONTENT_TIMEOUT_MS);
    if (!response.ok) throw await failure(response, 'GET Binary content');
    return (response.body ?? []) as AsyncIterable<Uint8Array>;
  }

  /**
   * Uploads content the peer awaits (`POST $content?hash=`), streamed from `open()`. Answers the peer's status:
   * 204 stored, 404 the peer no longer awaits it; any other refusal is a PeerError.
   */
  async upload(hash: string, size: number, open: () => Promise<Readable>): Promise<number> {
    const response = await this.authorized(
      'POST',
      `$content?${new URLSearchParams({ hash })}`,
      { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      open,
      CONTENT_TIMEOUT_MS,
    );
    if (response.status === 404 || response.ok) {
      await response.body?.cancel();
      return response.status;
    }
    throw await failure(response, 'POST $content');
  }

  private async call(method: 'GET' | 'POST', path: string, body?: string): Promise<unknown> {
    const headers = { accept: 'application/fhir+json', ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}) };
    const response = await this.authorized(method, path, headers, body === undefined ? undefined : () => body);
    if (!response.ok) throw await failure(response, `${method} ${path.split('?')[0]}`);
    return response.json();
  }

  /** A call with this node's bearer token; a 401 renews the token and tries once more (`body` is made again). */
  private async authorized(
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body: (() => string | Readable | Promise<Readable>) | undefined,
    timeoutMs = TIMEOUT_MS,
    retried = false,
  ): Promise<Response> {
    const token = await this.bearer();
    const payload = await body?.();
    const response = await this.fetch(
      `${this.base}/${path}`,
      // A stream goes as it is read (`duplex: 'half'`), never buffered whole.
      { method, headers: { authorization: `Bearer ${token}`, ...headers }, body: payload as RequestInit['body'], ...(payload !== undefined && typeof payload !== 'string' ? { duplex: 'half' } : {}) },
      timeoutMs,
    );
    if (response.status === 401 && !retried) {
      this.token = undefined;
      await response.body?.cancel();
      if (payload !== undefined && typeof payload !== 'string') payload.destroy();
      return this.authorized(method, path, headers, body, timeoutMs, true);
    }
    return response;
  }

  private async bearer(): Promise<string> {
    if (this.token && this.token.expiresAt - RENEW_MARGIN_MS > Date.now()) return this.token.value;
    const response = await this.fetch(`${this.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.secret() }),
    });
    // Whatever the status (400 invalid_client, 401): the client id or secret are wrong, or the client was revoked.
    if (!response.ok) throw await failure(response, 'the token request', 'credentials');
    const issued = (await response.json()) as { access_token: string; expires_in: number };
    this.token = { value: issued.access_token, expiresAt: Date.now() + issued.expires_in * 1000 };
    return issued.access_token;
  }

  private async fetch(url: string, init: RequestInit, timeoutMs = TIMEOUT_MS): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.any([this.stopped, AbortSignal.timeout(timeoutMs)]) });
    } catch (error) {
      const cause = (error as Error).cause instanceof Error ? ((error as Error).cause as NodeJS.ErrnoException) : undefined;
      if (cause?.code && CERTIFICATE_CODE.test(cause.code)) throw new PeerError(`${this.url} has a certificate this node does not trust: ${cause.message} (${cause.code})`, undefined, undefined, 'certificate');
      throw new PeerError(`${this.url} is unreachable: ${cause?.message ?? (error as Error).message}`, undefined, undefined, 'unreachable');
    }
  }
}

/** A PeerError from a refusal: its status and the diagnostics of its OperationOutcome. */
async function failure(response: Response, what: string, problem?: PeerProblem): Promise<PeerError> {
  const text = await response.text();
  let detail = text.slice(0, 300);
  try {
    const parsed = JSON.parse(text) as { issue?: Array<{ diagnostics?: string }>; error_description?: string; error?: string };
    detail = parsed.issue?.map((issue) => issue.diagnostics).join('; ') ?? parsed.error_description ?? parsed.error ?? detail;
  } catch {
    // Not JSON: the text as it came.
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  return new PeerError(`The peer refused ${what} (${response.status}): ${detail}`, response.status, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined, problem);
}
