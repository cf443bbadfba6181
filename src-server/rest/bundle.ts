import { v7 as uuidv7 } from 'uuid';
import { STATUS_CODES } from 'node:http';
import { badRequest, FhirError, type CodedIssue, unsupportedMediaType } from '../fhir/outcome';
import { assertValid } from '../fhir/validation/validate';
import type { FhirInteractions } from './extensions';
import type { FhirRequest, FhirResponse } from './types';

/**
 * `POST /fhir` with a batch or transaction Bundle. A transaction runs in one SQLite transaction: any failing
 * entry rolls every entry back and answers with that entry's OperationOutcome. Batch entries are independent.
 */

type JsonObject = Record<string, unknown>;

interface BundleEntry {
  fullUrl?: string;
  resource?: JsonObject;
  request: { method: string; url: string; ifMatch?: string; ifNoneMatch?: string; ifModifiedSince?: string; ifNoneExist?: string };
}

interface ResponseEntry {
  resource?: unknown;
  response: { status: string; location?: string; etag?: string; lastModified?: string; outcome?: unknown };
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE']);
/** The spec's processing order inside a transaction (DELETE, POST, PUT, GET; see orderOf); responses keep the request order. */
const TRANSACTION_ORDER = ['DELETE', 'POST Binary', 'PUT Binary', 'POST', 'PUT', 'GET'];

export function processBundle(interactions: FhirInteractions, request: FhirRequest, base: string): object {
  // A form is a search's parameters (POST Type/_search), not a Bundle the node could read.
  if (request.body instanceof URLSearchParams) throw unsupportedMediaType('body-form-not-accepted', 'POST on the FHIR base takes a Bundle as FHIR JSON, not a form');
  const bundle = request.body as JsonObject | undefined;
  if (typeof bundle !== 'object' || bundle === null || bundle.resourceType !== 'Bundle') {
    throw badRequest('bundle-expected', 'POST on the FHIR base takes a Bundle of type batch or transaction', 'resourceType');
  }
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    throw badRequest('bundle-type-invalid', `Bundle.type must be batch or transaction, not '${String(bundle.type)}'`, 'Bundle.type');
  }
  // The entries' resources are validated as each is written, where a failure is placed at its entry.
  const shell = { ...bundle, entry: (bundle.entry as BundleEntry[] | undefined)?.map(({ resource: _resource, ...entry }) => entry) };
  assertValid(shell);
  const entries = (bundle.entry ?? []) as BundleEntry[];
  entries.forEach(checkEntry);
  const inherited: Inherited = { scopes: request.scopes, reach: request.reach, caller: request.caller, lenient: request.lenient, textMatches: request.textMatches, surface: request.surface };
  const responseType = `${bundle.type}-response`;
  if (bundle.type === 'batch') {
    return { resourceType: 'Bundle', type: responseType, entry: entries.map((entry) => runBatchEntry(interactions, entry, base, inherited)) };
  }
  const responses = interactions.repository.transaction(() => runTransaction(interactions, entries, base, inherited));
  return { resourceType: 'Bundle', type: responseType, ...(responses.length ? { entry: responses } : {}) };
}

function checkEntry(entry: BundleEntry, index: number): void {
  const { method, url } = entry.request ?? {};
  if (typeof method !== 'string' || !METHODS.has(method) || typeof url !== 'string') {
    throw badRequest('bundle-entry-invalid', `Bundle.entry[${index}].request needs a method (GET, POST, PUT, DELETE) and a url`, `Bundle.entry[${index}].request`);
  }
  if ((method === 'POST' || method === 'PUT') && entry.resource === undefined) {
    throw badRequest('bundle-entry-invalid', `Bundle.entry[${index}] is a ${method} without a resource`, `Bundle.entry[${index}].resource`);
  }
}

/** What an entry's request inherits from the Bundle's. */
type Inherited = Pick<FhirRequest, 'scopes' | 'reach' | 'caller' | 'lenient' | 'textMatches' | 'surface'>;

function toRequest(entry: BundleEntry, base: string, inherited: Inherited, assignedId?: string): FhirRequest {
  const { method, url, ifMatch, ifNoneMatch, ifModifiedSince, ifNoneExist } = entry.request;
  const relative = url.startsWith(`${base}/`) ? url.slice(base.length + 1) : url.replace(/^\//, '');
  const question = relative.indexOf('?');
  return {
    ...inherited,
    method,
    path: question < 0 ? relative : relative.slice(0, question),
    query: new URLSearchParams(question < 0 ? '' : relative.slice(question + 1)),
    body: entry.resource,
    ifMatch,
    ifNoneMatch,
    ifModifiedSince,
    ifNoneExist,
    assignedId,
  };
}

function runBatchEntry(interactions: FhirInteractions, entry: BundleEntry, base: string, inherited: Inherited): ResponseEntry {
  try {
    // Each entry in its own (nested) transaction: a failing entry leaves nothing behind, the others stay.
    return responseEntry(interactions.repository.transaction(() => interactions.handle(toRequest(entry, base, inherited), base)));
  } catch (error) {
    if (!(error instanceof FhirError)) throw error;
    return { response: { status: statusLine(error.status), outcome: error.outcome } };
  }
}

function runTransaction(interactions: FhirInteractions, entries: BundleEntry[], base: string, inherited: Inherited): ResponseEntry[] {
  const targets = resolveTargets(interactions, entries, base, inherited);
  rewriteReferences(entries, referenceMap(entries, targets));
  const responses: ResponseEntry[] = new Array(entries.length);
  const ranks = entries.map((entry) => TRANSACTION_ORDER.indexOf(orderOf(entry)));
  // A stable sort: entries of the same rank keep the Bundle's order.
  for (const index of entries.map((_, index) => index).sort((a, b) => ranks[a] - ranks[b])) {
    try {
      responses[index] = responseEntry(interactions.handle(toRequest(entries[index], base, inherited, targets.get(index)?.reserved), base));
    } catch (error) {
      throw error instanceof FhirError ? inEntry(error, index) : error;
    }
  }
  return responses;
}

/**
 * Where an entry falls in TRANSACTION_ORDER. Binary writes come before the other creates and updates: a Binary
 * points at nothing, while a DocumentReference naming one needs it to exist (documents/document-content-rule.ts),
 * whichever entry the client put first.
 */
function orderOf({ request, resource }: BundleEntry): string {
  return resource?.resourceType === 'Binary' && (request.method === 'POST' || request.method === 'PUT') ? `${request.method} Binary` : request.method;
}

interface Target {
  /** `Type/id` the entry's resource will have once the transaction ran. */
  reference: string;
  /** The id reserved for a create, so other entries can point at it before it is written. */
  reserved?: string;
}

/** Where each create or update of a transaction will land, known before any entry runs. */
function resolveTargets(interactions: FhirInteractions, entries: BundleEntry[], base: string, inherited: Inherited): Map<number, Target> {
  const targets = new Map<number, Target>();
  entries.forEach((entry, index) => {
    const { method, url, ifNoneExist } = entry.request;
    const type = entry.resource?.resourceType;
    if (typeof type !== 'string') return;
    if (method === 'POST' && url.replace(/^\//, '') === type) {
      const matched = ifNoneExist === undefined ? undefined : interactions.matchOne(type, ifNoneExist, 'If-None-Exist', base, inherited);
      const existing = matched ?? interactions.existingFor(type, entry.resource!, toRequest(entry, base, inherited), base);
      if (existing) targets.set(index, { reference: `${type}/${existing.id}` });
      else {
        const reserved = uuidv7();
        targets.set(index, { reference: `${type}/${reserved}`, reserved });
      }
    } else if (method === 'PUT' && /^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(url)) {
      targets.set(index, { reference: url });
    }
  });
  return targets;
}

/**
 * What references to each entry look like in the Bundle, mapped to where the entry lands: its fullUrl
 * (`urn:uuid:…`, `urn:oid:…` or absolute), and for an absolute RESTful fullUrl also the relative `Type/id` form.
 */
function referenceMap(entries: BundleEntry[], targets: Map<number, Target>): Map<string, string> {
  const map = new Map<string, string>();
  for (const [index, target] of targets) {
    const fullUrl = entries[index].fullUrl;
    if (!fullUrl) continue;
    map.set(fullUrl, target.reference);
    const restful = /(?:^|\/)([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})$/.exec(fullUrl);
    if (restful && /^https?:/.test(fullUrl)) map.set(restful[1], target.reference);
  }
  return map;
}

/**
 * Rewrites every value that names another entry (references, uri/url elements) and the narrative's links to it,
 * as the spec's transaction rules ask.
 */
function rewriteReferences(entries: BundleEntry[], map: Map<string, string>): void {
  if (map.size === 0) return;
  const rewriteLinks = (html: string) =>
    html.replace(/\b(href|src)="([^"]*)"/g, (whole, attribute: string, url: string) => (map.has(url) ? `${attribute}="${map.get(url)}"` : whole));
  // An explicit stack rather than recursion: resources are not depth-checked until they are written.
  const pending: unknown[] = entries.map((entry) => entry.resource);
  while (pending.length > 0) {
    const node = pending.pop();
    if (typeof node !== 'object' || node === null) continue;
    const container = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(container)) {
      if (typeof value === 'string') {
        if (map.has(value)) container[key] = map.get(value);
        else if (key === 'div') container[key] = rewriteLinks(value);
      } else pending.push(value);
    }
  }
}

function responseEntry(response: FhirResponse): ResponseEntry {
  const { location, etag } = response.headers;
  const lastModified = response.written?.lastUpdated ?? (response.headers['last-modified'] ? new Date(response.headers['last-modified']).toISOString() : undefined);
  const body = typeof response.body === 'string' ? JSON.parse(response.body) : response.body;
  return {
    ...(body !== undefined ? { resource: body } : {}),
    response: { status: statusLine(response.status), ...(location ? { location } : {}), ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) },
  };
}

function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`.trim();
}

/** Places a failing entry's issues at that entry, for the transaction's answer. */
function inEntry(error: FhirError, index: number): FhirError {
  const issues: CodedIssue[] = error.issues.map((issue) => ({
    ...issue,
    diagnostics: `Bundle.entry[${index}]: ${issue.diagnostics}`,
    expression: issue.expression?.map((path) => `Bundle.entry[${index}].resource.${path.replace(/^[A-Za-z]+\./, '')}`) ?? [`Bundle.entry[${index}]`],
  }));
  return new FhirError(error.status, issues, error.headers);
}
