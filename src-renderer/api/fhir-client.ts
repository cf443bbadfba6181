import type { Binary, Bundle, OperationOutcome, Parameters, Resource } from './fhir-types';

/**
 * A thin typed client of the node's FHIR API. It knows the REST shapes (search Bundles, OperationOutcome errors,
 * ETags) and nothing of the screens; how a request reaches the node, with whose token, is the transport's business.
 */

/** Sends a request to the node: `path` starts with `/fhir/…` (or is the absolute URL of a Bundle link). */
export type Transport = (path: string, init?: RequestInit) => Promise<Response>;

export type SearchParams = Record<string, string | number | undefined | ReadonlyArray<string>>;

const FHIR_JSON = 'application/fhir+json';

/** An answer of the node that is not a success, with the words of its OperationOutcome. */
export class FhirApiError extends Error {
  constructor(
    readonly status: number,
    /** The OperationOutcome's own text (details, else diagnostics): what the node says went wrong. */
    readonly detail: string,
    readonly outcome?: OperationOutcome,
    /** `Retry-After` of a 429 or 503, in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail || `HTTP ${status}`);
    this.name = 'FhirApiError';
  }
}

/** The node could not be reached at all (stopped, restarting, network). */
export class NodeUnreachableError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'NodeUnreachableError';
  }
}

export function searchQuery(params: SearchParams): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === '') continue;
    if (Array.isArray(value)) for (const item of value) query.append(name, item);
    else query.append(name, String(value));
  }
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** What a failed answer says, in the node's words: OperationOutcome text, an OAuth error description, or the status. */
export async function errorOf(response: Response): Promise<FhirApiError> {
  const retryAfter = Number(response.headers.get('retry-after') ?? NaN);
  const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined;
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return new FhirApiError(response.status, '', undefined, retryAfterSeconds);
  }
  if (isOutcome(body)) {
    const detail = body.issue
      .map((issue) => issue.details?.text ?? issue.diagnostics)
      .filter((text): text is string => Boolean(text))
      .join(' ');
    return new FhirApiError(response.status, detail, body, retryAfterSeconds);
  }
  const description = (body as { error_description?: unknown } | null)?.error_description;
  return new FhirApiError(response.status, typeof description === 'string' ? description : '', undefined, retryAfterSeconds);
}

function isOutcome(body: unknown): body is OperationOutcome {
  return typeof body === 'object' && body !== null && (body as Resource).resourceType === 'OperationOutcome' && Array.isArray((body as OperationOutcome).issue);
}

export class FhirClient {
  constructor(private readonly transport: Transport) {}

  /**
   * A search. The node counts the matches by default (`total`, up to its cap); the UI pages by links and never shows
   * that count, so it asks for none (`_total=none`) and spares the node the count, unless the caller asks otherwise.
   */
  async search<T extends Resource>(type: string, params: SearchParams = {}, signal?: AbortSignal): Promise<Bundle<T>> {
    return this.json<Bundle<T>>(`/fhir/${type}${searchQuery({ ...params, _total: params._total ?? 'none' })}`, { signal });
  }

  /** The page a Bundle link points at (`next`, `previous`). */
  async page<T extends Resource>(url: string, signal?: AbortSignal): Promise<Bundle<T>> {
    return this.json<Bundle<T>>(url, { signal });
  }

  async read<T extends Resource>(type: string, id: string, signal?: AbortSignal): Promise<T> {
    return this.json<T>(`/fhir/${type}/${encodeURIComponent(id)}`, { signal });
  }

  async create<T extends Resource>(resource: T): Promise<T> {
    return this.json<T>(`/fhir/${resource.resourceType}`, { method: 'POST', body: JSON.stringify(resource), headers: { 'content-type': FHIR_JSON } });
  }

  /** An update; with the version the user edited, so that someone else's change in between is refused (412). */
  async update<T extends Resource>(resource: T): Promise<T> {
    const headers: Record<string, string> = { 'content-type': FHIR_JSON };
    if (resource.meta?.versionId) headers['if-match'] = `W/"${resource.meta.versionId}"`;
    return this.json<T>(`/fhir/${resource.resourceType}/${encodeURIComponent(resource.id ?? '')}`, { method: 'PUT', body: JSON.stringify(resource), headers });
  }

  /**
   * A FHIR operation (`$name` after `/fhir/`, e.g. `$conflicts` or `Patient/p1/$resolve`, or a link's absolute URL):
   * a GET without parameters, a POST of them; `ifMatchVersion`: only if the instance is still at that version (412 otherwise).
   */
  async operation<T extends Resource = Parameters>(path: string, parameters?: Parameters, signal?: AbortSignal, ifMatchVersion?: string): Promise<T> {
    const url = /^https?:\/\//.test(path) ? path : `/fhir/${path}`;
    if (!parameters) return this.json<T>(url, { signal });
    return this.json<T>(url, { method: 'POST', body: JSON.stringify(parameters), headers: { 'content-type': FHIR_JSON, ...(ifMatchVersion ? { 'if-match': `W/"${ifMatchVersion}"` } : {}) }, signal });
  }

  /** Uploads a document as itself (`Content-Type` of the file), streamed by the node into its binary store. */
  async uploadBinary(content: Blob): Promise<Binary> {
    return this.json<Binary>('/fhir/Binary', { method: 'POST', body: content, headers: { 'content-type': content.type || 'application/octet-stream' } });
  }

  /** The document a Binary holds, as bytes. */
  async binaryContent(id: string, signal?: AbortSignal): Promise<ArrayBuffer> {
    const response = await this.send(`/fhir/Binary/${encodeURIComponent(id)}`, { signal, headers: { accept: '*/*' } });
    if (!response.ok) throw await errorOf(response);
    return response.arrayBuffer();
  }

  private async json<T>(path: string, init: RequestInit): Promise<T> {
    const headers = new Headers(init.headers);
    if (!headers.has('accept')) headers.set('accept', FHIR_JSON);
    const response = await this.send(path, { ...init, headers });
    if (!response.ok) throw await errorOf(response);
    return (await response.json()) as T;
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.transport(path, init);
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new NodeUnreachableError(error);
    }
  }
}

/** The resources of a search Bundle that matched, in order. */
export function matches<T extends Resource>(bundle: Bundle<T>): T[] {
  return (bundle.entry ?? []).filter((entry) => entry.search?.mode !== 'include' && entry.resource).map((entry) => entry.resource as T);
}

/** The resources of a type a Bundle carries (matches or includes). */
export function resourcesOf<T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? []).map((entry) => entry.resource).filter((resource): resource is T => resource?.resourceType === type);
}

export function linkOf(bundle: Bundle, relation: string): string | undefined {
  return bundle.link?.find((link) => link.relation === relation)?.url;
}
