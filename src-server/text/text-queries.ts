import { textMatchKey, type TextMatch } from '../fhir/search/conditions';
import { parseQuery, type Filter } from '../fhir/search/parse';
import type { FhirRequest } from '../fhir/rest/types';
import { isResourceType } from '../fhir/validation/model';
import type { TextIndex } from './text-index';

/**
 * Searches are synchronous SQL; the text index answers asynchronously from its thread. So before a request runs,
 * the text filters of its searches (its own, or its Bundle's entries) are looked up, and the matches travel
 * with the request (FhirRequest.textMatches).
 */

/** Parameter names the text index may answer: a request without any of them needs no lookup (most reads). */
const TEXT_PARAMETER = /[?&.:](?:name|address|_content|_text)[=:]/;

/** Whether a URL's query may hold a text filter: a cheap test that keeps reads off the asynchronous path. */
export function mayHaveTextFilter(url: string): boolean {
  return TEXT_PARAMETER.test(url);
}

type Json = Record<string, unknown>;

/**
 * The text matches a request's searches need, at most `limit` per value (newest first), or undefined when it has no
 * text filter.
 */
export async function resolveTextMatches(request: FhirRequest, textIndex: TextIndex, limit: number): Promise<Map<string, TextMatch> | undefined> {
  const searches = searchesOf(request);
  if (searches.length === 0) return undefined;
  const wanted = new Map<string, { resourceType: string; field: Extract<Filter, { kind: 'text' }>['field']; value: string; parameter: string }>();
  for (const { resourceType, params } of searches) {
    let filters: Filter[];
    try {
      filters = parseQuery(resourceType, params, true).filters;
    } catch {
      continue; // the search itself will answer the error
    }
    for (const filter of textFilters(filters)) {
      for (const value of filter.values) wanted.set(textMatchKey(filter.resourceType, filter.field, value), { resourceType: filter.resourceType, field: filter.field, value, parameter: filter.name });
    }
  }
  if (wanted.size === 0) return undefined;
  const matches = new Map<string, TextMatch>();
  await Promise.all(
    [...wanted].map(async ([key, query]) => {
      const vseqs = await textIndex.search(query.resourceType, query.field, query.value, query.parameter, limit);
      matches.set(key, { vseqs, partial: vseqs.length >= limit });
    }),
  );
  return matches;
}

/** The searches a request makes: `GET [type]?…`, `POST [type]/_search`, a compartment search, or a Bundle's GET entries. */
function searchesOf(request: FhirRequest): Array<{ resourceType: string; params: URLSearchParams }> {
  const segments = request.path.split('/').filter(Boolean);
  if (segments.length === 0 && request.method === 'POST') return bundleSearches(request.body);
  const resourceType = segments.length === 3 ? segments[2] : segments[0];
  const isSearch =
    (request.method === 'GET' && (segments.length === 1 || (segments.length === 3 && isResourceType(segments[2])))) ||
    (request.method === 'POST' && segments.length === 2 && segments[1] === '_search');
  if (!isSearch || !resourceType || !isResourceType(resourceType)) return [];
  const params = new URLSearchParams(request.query);
  if (request.body instanceof URLSearchParams) for (const [name, value] of request.body) params.append(name, value);
  return TEXT_PARAMETER.test(`?${params}`) ? [{ resourceType, params }] : [];
}

function bundleSearches(body: unknown): Array<{ resourceType: string; params: URLSearchParams }> {
  const entries = (body as Json | undefined)?.entry;
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry) => {
    const request = (entry as Json)?.request as Json | undefined;
    if (request?.method !== 'GET' || typeof request.url !== 'string') return [];
    const [path, query = ''] = request.url.split('?');
    const resourceType = path.split('/').filter(Boolean).pop() ?? '';
    // Any type: chains reach the text types from others (`DocumentReference?author:Practitioner.name=…`).
    return isResourceType(resourceType) && TEXT_PARAMETER.test(`?${query}`) ? [{ resourceType, params: new URLSearchParams(query) }] : [];
  });
}

function textFilters(filters: Filter[]): Array<Extract<Filter, { kind: 'text' }>> {
  return filters.flatMap((filter): Array<Extract<Filter, { kind: 'text' }>> => {
    switch (filter.kind) {
      case 'text':
        return [filter];
      case 'chain':
        return textFilters(filter.inner);
      case 'has':
        return textFilters([filter.inner]);
      default:
        return [];
    }
  });
}
