import { MAX_JSON_BODY_BYTES } from '../fhir/limits';
import { badRequest, FhirError } from '../fhir/outcome';
import type { ReplicaOutcome, ReplicaVersion } from '../store/repository';
import { isJson } from '../fhir/json';
import type { Change } from '../store/change-log';

/**
 * The sync protocol's wire format (docs/sync.md): versions travel as entries of FHIR Bundles, the resource as its
 * origin stored it, the parents and origin node as entry extensions; `$replicate` answers one outcome per entry.
 */

/** Major.minor: a different major refuses to sync; a newer minor only adds what older nodes may ignore. */
export const PROTOCOL_VERSION = '1.1';
export const FHIR_VERSION = '3.0.1';

const BASE = 'http://liaison.health/fhir/StructureDefinition';
export const PARENT_URL = `${BASE}/sync-parent`;
export const ORIGIN_URL = `${BASE}/sync-origin`;
export const CURSOR_URL = `${BASE}/sync-cursor`;
export const OUTCOME_URL = `${BASE}/sync-outcome`;
/** On a `$replicate` answer entry: the receiver lacks the Binary's content (valueCode `missing`): upload it. */
export const CONTENT_URL = `${BASE}/sync-content`;

/**
 * A page of versions (`$changes`, a push to `$replicate`) stops before the version that would take it past this many
 * bytes; a version larger than that goes alone. So no page is larger than a body the receiver takes, whatever the
 * number of versions it may hold.
 */
export const PAGE_BYTES = MAX_JSON_BODY_BYTES;

/**
 * What `$replicate` takes: a page, or one version alone as large as any node stores. Its resource came in a body of
 * MAX_JSON_BODY_BYTES at most, and its stored JSON adds meta, the entry around it and the digits of numbers written
 * out (`1e20` is stored as 100000000000000000000): twice the page leaves room for all of it, so that a pushing peer
 * is never refused a version for its size (it would try again forever).
 */
export const MAX_REPLICATE_BODY_BYTES = 2 * PAGE_BYTES;

/** The entries of a page of versions, as long as they stay within PAGE_BYTES. */
export class PageEntries {
  readonly entries: string[] = [];
  private bytes = 0;

  /** Adds an entry, unless it would take the page past PAGE_BYTES (false: the page is full). The first always goes. */
  add(entry: string): boolean {
    const bytes = this.bytes + Buffer.byteLength(entry);
    if (this.entries.length > 0 && bytes > PAGE_BYTES) return false;
    this.bytes = bytes;
    this.entries.push(entry);
    return true;
  }
}

/** A version as `$changes` reads it from the change log (store/change-log.ts). */
export type ChangeRow = Omit<Change, 'vseq' | 'received_from'>;

/** A Bundle entry of a version, as text: the stored body is spliced in without a parse. */
export function entryText(row: ChangeRow, base: string): string {
  const parents: string[] = JSON.parse(row.parent_ids);
  const extension = [...parents.map((parent) => ({ url: PARENT_URL, valueString: parent })), { url: ORIGIN_URL, valueString: row.origin_node }];
  const url = `${row.resource_type}/${row.resource_id}`;
  const created = parents.length === 0;
  return (
    `{"fullUrl":${JSON.stringify(`${base}/${url}`)},"extension":${JSON.stringify(extension)},"resource":${row.body},` +
    `"request":${JSON.stringify({ method: created ? 'POST' : 'PUT', url: created ? row.resource_type : url })},` +
    `"response":${JSON.stringify({ status: created ? '201 Created' : '200 OK', etag: `W/"${row.version_id}"`, lastModified: row.last_updated })}}`
  );
}

/** The `$changes` page: a history Bundle, the cursor after it (always), and a `next` link when there may be more. */
export function changesBundle(entries: string[], cursor: string, links: Array<{ relation: string; url: string }>): string {
  const meta = { extension: [{ url: CURSOR_URL, valueString: cursor }] };
  const entryMember = entries.length ? `,"entry":[${entries.join(',')}]` : '';
  return `{"resourceType":"Bundle","type":"history","meta":${JSON.stringify(meta)},"link":${JSON.stringify(links)}${entryMember}}`;
}

/** The body of a `$replicate` call: the versions as `$changes` gives them, in a batch Bundle. */
export function versionsBundle(entries: string[]): string {
  return `{"resourceType":"Bundle","type":"batch","entry":[${entries.join(',')}]}`;
}

type Json = Record<string, unknown>;

/** An entry read off the wire: a version to store, or why it cannot be one. */
export type WireEntry = { version: Omit<ReplicaVersion, 'receivedFrom'> } | { error: FhirError };

/** The entries of a Bundle of versions (`$changes` page or `$replicate` body). A body that is no Bundle is a 400. */
export function readVersions(body: unknown): WireEntry[] {
  if (!isJson(body) || body.resourceType !== 'Bundle') throw badRequest('replica-invalid', 'Send a Bundle of versions');
  if (body.entry === undefined) return [];
  if (!Array.isArray(body.entry)) throw badRequest('replica-invalid', 'Bundle.entry must be an array', 'Bundle.entry');
  return body.entry.map((entry, index) => {
    try {
      return { version: readVersion(entry) };
    } catch (error) {
      if (error instanceof FhirError) return { error: badRequest('replica-invalid', `Bundle.entry[${index}]: ${error.message}`, `Bundle.entry[${index}]`) };
      throw error;
    }
  });
}

function readVersion(entry: unknown): Omit<ReplicaVersion, 'receivedFrom'> {
  if (!isJson(entry) || !isJson(entry.resource)) throw badRequest('replica-invalid', 'an entry needs a resource');
  const resource = entry.resource;
  const meta = resource.meta;
  const extensions = Array.isArray(entry.extension) ? entry.extension.filter(isJson) : [];
  const valuesOf = (url: string) => extensions.filter((extension) => extension.url === url).map((extension) => extension.valueString);
  const parents = valuesOf(PARENT_URL);
  const [origin] = valuesOf(ORIGIN_URL);
  if (!parents.every((parent) => typeof parent === 'string')) throw badRequest('replica-invalid', 'parents must be version ids');
  if (typeof origin !== 'string') throw badRequest('replica-invalid', `an entry needs its origin node (extension ${ORIGIN_URL})`);
  if (typeof resource.resourceType !== 'string' || typeof resource.id !== 'string' || !isJson(meta) || typeof meta.versionId !== 'string') {
    throw badRequest('replica-invalid', 'the resource needs its resourceType, id and meta.versionId');
  }
  return { versionId: meta.versionId, resourceType: resource.resourceType, id: resource.id, parents: parents as string[], origin, resource };
}

/** What became of an entry of `$replicate`: an outcome, or a refusal with its status. */
export type EntryOutcome = { outcome: ReplicaOutcome; versionId: string; contentMissing?: boolean } | { outcome: 'refused'; error: FhirError };

const STATUS: Record<ReplicaOutcome, string> = { created: '201 Created', conflict: '201 Created', duplicate: '200 OK', deferred: '202 Accepted' };

/** The `$replicate` answer: a batch-response Bundle, one entry per version sent, in order. */
export function replicateResponse(outcomes: readonly EntryOutcome[]): Json {
  return {
    resourceType: 'Bundle',
    type: 'batch-response',
    entry: outcomes.map((result) => ({
      extension: [{ url: OUTCOME_URL, valueCode: result.outcome }, ...(result.outcome !== 'refused' && result.contentMissing ? [{ url: CONTENT_URL, valueCode: 'missing' }] : [])],
      response:
        result.outcome === 'refused'
          ? { status: String(result.error.status), outcome: result.error.outcome }
          : { status: STATUS[result.outcome], etag: `W/"${result.versionId}"` },
    })),
  };
}

/** The outcome codes of a `$replicate` answer, in order (the sender's view). */
export function readOutcomes(body: unknown): Array<ReplicaOutcome | 'refused'> {
  if (!isJson(body) || !Array.isArray(body.entry)) throw new Error('The peer answered $replicate without a batch-response Bundle');
  return body.entry.map((entry) => {
    const code = (isJson(entry) && Array.isArray(entry.extension) ? entry.extension.find((extension) => isJson(extension) && extension.url === OUTCOME_URL) : undefined) as Json | undefined;
    return (code?.valueCode as ReplicaOutcome | 'refused' | undefined) ?? 'refused';
  });
}

/** The indexes of the `$replicate` answer entries whose Binary content the receiver lacks. */
export function readMissingContent(body: unknown): number[] {
  if (!isJson(body) || !Array.isArray(body.entry)) return [];
  const missing: number[] = [];
  body.entry.forEach((entry, index) => {
    const extensions = isJson(entry) && Array.isArray(entry.extension) ? entry.extension : [];
    if (extensions.some((extension) => isJson(extension) && extension.url === CONTENT_URL && extension.valueCode === 'missing')) missing.push(index);
  });
  return missing;
}

/** The cursor of a `$changes` page and whether the peer has more after it. */
export function readPage(body: unknown): { cursor: string; more: boolean } {
  if (!isJson(body) || body.resourceType !== 'Bundle' || !isJson(body.meta)) throw new Error('The peer answered $changes without a history Bundle');
  const extensions = Array.isArray(body.meta.extension) ? body.meta.extension : [];
  const cursor = (extensions.find((extension) => isJson(extension) && extension.url === CURSOR_URL) as Json | undefined)?.valueString;
  if (typeof cursor !== 'string') throw new Error('The peer answered $changes without a cursor');
  const more = Array.isArray(body.link) && body.link.some((link) => isJson(link) && link.relation === 'next');
  return { cursor, more };
}

/** `_count` of a sync operation: `fallback` when absent, at most `max`; 400 unless a positive integer. */
export function readPageSize(raw: string | null, fallback: number, max: number): number {
  if (raw === null) return fallback;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) throw badRequest('count-invalid', `_count must be a positive integer, not '${raw}'`, '_count');
  return Math.min(count, max);
}

