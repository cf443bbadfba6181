import type { GroupCommit } from '../store/group-commit';
import { PartialTextMatches, type TextMatches } from '../store/search/conditions';
import type { OperationSearch } from './extensions';
import type { Interactions } from './interactions';
import type { FhirRequest, FhirResponse } from './types';

/**
 * The FHIR API as a caller meets it, free of HTTP: what runs around an interaction. Reads run at once; writes join
 * the next group commit and are answered once it is durable (store/group-commit.ts). A search with text filters
 * first asks the text matcher, which answers asynchronously; the answer is recorded in the audit trail. rest/ defines
 * the matcher and the audit sink it needs, which text/ and audit/ implement and node.ts wires.
 */

/** Which matches a search is first given: `newest` (a page's worth, see text/text-queries.ts), then `all`. */
export type TextRound = 'newest' | 'all';

/** The text index as searches need it (text/text-queries.ts implements it). */
export interface TextMatcher {
  /** Whether the request may hold a text filter in its URL: a cheap test that keeps most requests off the asynchronous path. */
  mayMatch(request: FhirRequest): boolean;
  /** What the text index matches for the text filters of the request's searches, newest first; undefined: it has none. */
  matches(request: FhirRequest, round: TextRound): Promise<TextMatches | undefined>;
  /** The same for the searches an operation runs (FhirOperation.searches). */
  matchesOf(searches: readonly OperationSearch[], round: TextRound): Promise<TextMatches | undefined>;
}

/** Where the answers of the FHIR API are recorded (audit/audit-log.ts implements it). */
export interface AuditSink {
  record(event: 'access' | 'access.denied', clientId: string | undefined, method: string, action: string, status: number): void;
}

export interface FhirApiServices {
  groupCommit: GroupCommit;
  textMatcher: TextMatcher;
  audit: AuditSink;
}

const WRITE_METHODS = new Set(['POST', 'PUT']);

export class FhirApi {
  constructor(
    readonly interactions: Interactions,
    private readonly services: FhirApiServices,
  ) {}

  /**
   * The answer to a request: at once when it needs nothing asynchronous (a read without text filters, most of them),
   * else once the text index answered or the write committed. Refusals are thrown (FhirError), the caller answers
   * them; answers are recorded when the request says how (FhirRequest.audit).
   */
  answer(request: FhirRequest, base: string): FhirResponse | Promise<FhirResponse> {
    // Searches in the URL, in a POST _search form, or in a Bundle's entries; not creates and updates.
    const searchesInBody = request.method === 'POST' && (request.path === '' || request.path.endsWith('/_search'));
    // An operation that searches says which searches (`$search-for-mss`): their text filters are looked up the same way.
    const operationSearches = this.interactions.operationSearches(request);
    if (!searchesInBody && !operationSearches?.length && !this.services.textMatcher.mayMatch(request)) return this.run(request, base);
    const { textMatcher } = this.services;
    const lookUp = (round: TextRound) => (operationSearches ? textMatcher.matchesOf(operationSearches, round) : textMatcher.matches(request, round));
    const withMatches = (round: TextRound) => lookUp(round).then((textMatches) => (textMatches ? { ...request, textMatches } : request));
    // A Bundle's entries answer their errors in place: they get every match at once.
    if (request.path === '') return withMatches('all').then((withAll) => this.run(withAll, base));
    // A page nearly always comes from the newest matches; a search that needs more (it ran out of them, or a clause
    // needs them all: store/search) asks again for all of them.
    return withMatches('newest')
      .then((withNewest) => this.run(withNewest, base))
      .catch(async (error: unknown) => {
        if (!(error instanceof PartialTextMatches)) throw error;
        return this.run(await withMatches('all'), base);
      });
  }

  private run(request: FhirRequest, base: string): FhirResponse | Promise<FhirResponse> {
    const { interactions } = this;
    if (!WRITE_METHODS.has(request.method) || interactions.readsOnly(request)) return this.audited(request, interactions.handle(request, base));
    return this.services.groupCommit.run(() => interactions.handle(request, base), { alone: interactions.writesAlone(request) }).then((response) => this.audited(request, response));
  }

  private audited(request: FhirRequest, response: FhirResponse): FhirResponse {
    const { audit } = request;
    if (audit) this.services.audit.record(response.status === 403 ? 'access.denied' : 'access', audit.clientId, audit.method, audit.url, response.status);
    return response;
  }
}
