import type { SearchParameters } from '../fhir/search/parameters';
import { parseQuery, type Filter, type ParsedQuery } from '../fhir/search/parse';
import { isResourceType } from '../fhir/validation/model';
import type { OperationSearch } from '../rest/extensions';
import type { TextMatcher, TextRound } from '../rest/fhir-api';
import { searchParameters } from '../rest/search-body';
import type { FhirRequest } from '../rest/types';
import { DEFAULT_TOTAL } from '../rest/interactions';
import { textMatchKey, type TextMatch } from '../store/search/conditions';
import { Visibility } from '../store/search/visibility';
import { TOTAL_CAP } from '../store/search/search';
import { FIRST_TEXT_MATCHES, MAX_TEXT_MATCHES, type TextIndex } from './text-index';

/**
 * Searches are synchronous SQL; the text index answers asynchronously from its thread. So before a request runs,
 * the text filters of its searches (its own, or its Bundle's entries) are looked up, and the matches travel
 * with the request (FhirRequest.textMatches): the text matcher of the FHIR API (rest/fhir-api.ts).
 */
export class TextQueries implements TextMatcher {
  constructor(
    private readonly textIndex: TextIndex,
    /** The search definitions in force in the store the searches run on. */
    private readonly definitions: () => SearchParameters,
  ) {}

  mayMatch(request: FhirRequest): boolean {
    return mayHaveTextFilter(request.query);
  }

  matches(request: FhirRequest, round: TextRound): Promise<Map<string, TextMatch> | undefined> {
    const searches = searchesOf(request).map(({ compartment, ...search }) => ({ ...search, restricted: compartment || Visibility.restricts(request, search.resourceType) }));
    return resolveTextMatches(searches, this.textIndex, this.definitions(), round);
  }

  matchesOf(searches: readonly OperationSearch[], round: TextRound): Promise<Map<string, TextMatch> | undefined> {
    // An operation's searches may see less than its caller: counted over SQL, as restricted ones are.
    const restricted = searches.filter(({ params }) => mayHaveTextFilter(params)).map((search) => ({ ...search, restricted: true }));
    return resolveTextMatches(restricted, this.textIndex, this.definitions(), round);
  }
}

/** Parameter names the text index may answer, alone or at the end of a chain: a request without any needs no lookup (most reads). */
const TEXT_PARAMETER_NAME = /(?:^|[.:])(?:name|address|_content|_text)(?::|$)/;

/** Whether a query may hold a text filter: a cheap test that keeps reads off the asynchronous path. */
export function mayHaveTextFilter(query: URLSearchParams): boolean {
  for (const name of query.keys()) if (TEXT_PARAMETER_NAME.test(name)) return true;
  return false;
}

type Json = Record<string, unknown>;

/**
 * The text matches searches need, newest first, or undefined when they have no text filter. Which matches
 * a search is first given: on the `newest` round only the newest (few enough to hand over at once, see
 * firstRoundLimit), a value's list `partial` when it may have been cut; on the `all` round MAX_TEXT_MATCHES, when it
 * ran out of them (PartialTextMatches).
 */
async function resolveTextMatches(searches: readonly TextSearch[], textIndex: TextIndex, definitions: SearchParameters, round: TextRound): Promise<Map<string, TextMatch> | undefined> {
  if (searches.length === 0) return undefined;
  const wanted = new Map<string, { resourceType: string; field: Extract<Filter, { kind: 'text' }>['field']; value: string; parameter: string; limit: number; countUpTo: number }>();
  for (const { resourceType, params, restricted } of searches) {
    let query: ParsedQuery;
    try {
      query = parseQuery(definitions, resourceType, params, true);
    } catch {
      continue; // the search itself will answer the error
    }
    const firstRound = firstRoundLimit(query, params.has('_total') ? query.total : DEFAULT_TOTAL, restricted);
    for (const filter of textFilters(query.filters)) {
      // A text filter inside a chain or `_has` is a clause, which needs every match (PartialTextMatches).
      const { limit, countUpTo } = round === 'all' || !query.filters.includes(filter) ? { limit: MAX_TEXT_MATCHES, countUpTo: 0 } : firstRound;
      for (const value of filter.values) {
        const key = textMatchKey(filter.resourceType, filter.field, value);
        const earlier = wanted.get(key);
        wanted.set(key, {
          resourceType: filter.resourceType,
          field: filter.field,
          value,
          parameter: filter.name,
          limit: Math.max(limit, earlier?.limit ?? 0),
          countUpTo: Math.max(countUpTo, earlier?.countUpTo ?? 0),
        });
      }
    }
  }
  if (wanted.size === 0) return undefined;
  const matches = new Map<string, TextMatch>();
  await Promise.all(
    [...wanted].map(async ([key, query]) => {
      const { vseqs, count, indexedSeq } = await textIndex.search(query.resourceType, query.field, query.value, query.parameter, query.limit, query.countUpTo || undefined);
      matches.set(key, { vseqs, partial: query.limit < MAX_TEXT_MATCHES && vseqs.length >= query.limit, ...(count !== undefined ? { count } : {}), ...(indexedSeq !== undefined ? { indexedSeq } : {}) });
    }),
  );
  return matches;
}

/** Candidates per result asked for when a text filter is a search's only filter: a few versions replaced since. */
const SPARE_FACTOR = 4;

/**
 * How many matches a search's first round asks for, and up to what count. When the text filter is its only filter
 * and it reads the first page newest first, every current match is a result: a page and some spare. Otherwise other
 * filters may reject candidates, or the page is further on: FIRST_TEXT_MATCHES. The index thread answers every text
 * search, so the fewer it hands over, the more searches a second it serves (national: 1,966 -> 2,409 req/s).
 */
function firstRoundLimit(query: ParsedQuery, total: ParsedQuery['total'], restricted: boolean): { limit: number; countUpTo: number } {
  const alone = query.filters.length === 1 && query.sort.length === 0 && query.cursor === undefined && total !== 'accurate' && query.summary !== 'count';
  if (!alone) return { limit: FIRST_TEXT_MATCHES, countUpTo: 0 };
  const page = Math.min(FIRST_TEXT_MATCHES, (query.count + 1) * SPARE_FACTOR);
  if (total !== 'estimate') return { limit: page, countUpTo: 0 };
  // The API's default total counts the matches up to TOTAL_CAP + 1. On a type the caller may all see, the index
  // counts them as it walks (WriteOrderPager.count reads that count): it hands over a page, not 1,001 vseqs. When
  // the caller sees only some, SQL counts the visible ones among the list, which must then hold them all.
  return restricted ? { limit: Math.max(page, TOTAL_CAP + 1), countUpTo: 0 } : { limit: page, countUpTo: TOTAL_CAP + 1 };
}

/**
 * A search whose text filters are looked up. `restricted`: its rows are only some of the type's (what the caller may
 * see, a compartment), so its total is counted over SQL among the whole list rather than taken from the index.
 */
interface TextSearch extends OperationSearch {
  restricted: boolean;
}

/** A search a request makes, and whether it is a compartment's. */
type RequestSearch = OperationSearch & { compartment: boolean };

/** The searches a request makes: `GET [type]?…`, `POST [type]/_search`, a compartment search, or a Bundle's GET entries. */
function searchesOf(request: FhirRequest): RequestSearch[] {
  const segments = request.path.split('/').filter(Boolean);
  if (segments.length === 0 && request.method === 'POST') return bundleSearches(request.body);
  const resourceType = segments.length === 3 ? segments[2] : segments[0];
  const isSearch =
    (request.method === 'GET' && (segments.length === 1 || (segments.length === 3 && isResourceType(segments[2])))) ||
    (request.method === 'POST' && segments.length === 2 && segments[1] === '_search');
  if (!isSearch || !resourceType || !isResourceType(resourceType)) return [];
  let params: URLSearchParams;
  try {
    params = searchParameters(request);
  } catch {
    return []; // the search itself will answer the error
  }
  return mayHaveTextFilter(params) ? [{ resourceType, params, compartment: segments.length === 3 }] : [];
}

function bundleSearches(body: unknown): RequestSearch[] {
  const entries = (body as Json | undefined)?.entry;
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry) => {
    const request = (entry as Json)?.request as Json | undefined;
    if (request?.method !== 'GET' || typeof request.url !== 'string') return [];
    const [path, query = ''] = request.url.split('?');
    const segments = path.split('/').filter(Boolean);
    const resourceType = segments[segments.length - 1] ?? '';
    // Any type: chains reach the text types from others (`DocumentReference?author:Practitioner.name=…`).
    const params = new URLSearchParams(query);
    return isResourceType(resourceType) && mayHaveTextFilter(params) ? [{ resourceType, params, compartment: segments.length === 3 }] : [];
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
