import type { DataKind } from './change-feed';

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
}

/** A failed call: `retryAfterMs` when the peer asked to wait (429, 503). */
export class PeerError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'PeerError';
  }
}

const TIMEOUT_MS = 30_000;
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
    const body = (await this.call('GET', '$handshake')) as { parameter?: Array<{ name: string; valueString?: string; valueInstant?: string }> };
    const value = (name: string) => body.parameter?.find((parameter) => parameter.name === name);
    const node = value('node')?.valueString;
    const protocol = value('protocol')?.valueString;
    const fhirVersion = value('fhirVersion')?.valueString;
    const time = value('time')?.valueInstant;
    if (!node || !protocol || !fhirVersion || !time) throw new PeerError(`${this.url} answered $handshake without node, protocol, fhirVersion and time`);
    return { node, protocol, fhirVersion, time };
  }

  changes(cursor: string, count: number, kind: DataKind): Promise<unknown> {
    return this.call('GET', `$changes?${new URLSearchParams({ cursor, _count: String(count), data: kind })}`);
  }

  replicate(bundle: string, sender: string): Promise<unknown> {
    return this.call('POST', `$replicate?${new URLSearchParams({ sender })}`, bundle);
  }

  private async call(method: 'GET' | 'POST', path: string, body?: string, retried = false): Promise<unknown> {
    const token = await this.bearer();
    const response = await this.fetch(`${this.base}/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', ...(body !== undefined ? { 'content-type': 'application/fhir+json' } : {}) },
      body,
    });
    if (response.status === 401 && !retried) {
      this.token = undefined;
      await response.body?.cancel();
      return this.call(method, path, body, true);
    }
    if (!response.ok) throw await failure(response, `${method} ${path.split('?')[0]}`);
    return response.json();
  }

  private async bearer(): Promise<string> {
    if (this.token && this.token.expiresAt - RENEW_MARGIN_MS > Date.now()) return this.token.value;
    const response = await this.fetch(`${this.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: this.clientId, client_secret: this.secret() }),
    });
    if (!response.ok) throw await failure(response, 'the token request');
    const issued = (await response.json()) as { access_token: string; expires_in: number };
    this.token = { value: issued.access_token, expiresAt: Date.now() + issued.expires_in * 1000 };
    return issued.access_token;
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.any([this.stopped, AbortSignal.timeout(TIMEOUT_MS)]) });
    } catch (error) {
      throw new PeerError(`${this.url} is unreachable: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`);
    }
  }
}

/** A PeerError from a refusal: its status and the diagnostics of its OperationOutcome. */
async function failure(response: Response, what: string): Promise<PeerError> {
  const text = await response.text();
  let detail = text.slice(0, 300);
  try {
    const parsed = JSON.parse(text) as { issue?: Array<{ diagnostics?: string }>; error_description?: string; error?: string };
    detail = parsed.issue?.map((issue) => issue.diagnostics).join('; ') ?? parsed.error_description ?? parsed.error ?? detail;
  } catch {
    // Not JSON: the text as it came.
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  return new PeerError(`The peer refused ${what} (${response.status}): ${detail}`, response.status, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
}
