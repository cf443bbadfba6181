import { isValidId, type HistoryEntry, type HistoryQuery, type Repository, type StoredResource, type WriteResult } from '../store/repository';
import { refuseForgedContent, withStoredContent } from '../fhir/binary-content';
import { DIRECTORY_TYPES } from '../fhir/directory';
import { badRequest, conflict, forbidden, methodNotAllowed, notFound, preconditionFailed, unsupportedMediaType } from '../fhir/outcome';
import { isCompartmentType } from '../fhir/search/compartments';
import { TOTAL_CAP, type SearchEngine, type SearchResult } from '../store/search/search';
import { isWhole, shapeResource } from '../fhir/search/shaping';
import { Visibility } from '../store/search/visibility';
import { isResourceType } from '../fhir/validation/model';
import { takeWriteOnly } from '../fhir/write-only';
import { withConflictTags } from '../fhir/conflict-tags';
import { processBundle } from './bundle';
import { CapabilityStatements } from './capability';
import { pendingWrite, type CompletedWrite, type DerivedSearch, type FhirExtensions, type FhirInteractions, type FhirOperation, type OperationSearch, type SurfaceMapping, type WriteRule } from './extensions';
import { readPageCount, readSince } from './paging-parameters';
import { ReplicaRules } from './replica-rules';
import { lifenLinkQuery, lifenPaging, type LifenPaging } from './lifen-paging';
import { searchParameters } from './search-body';
import type { FhirRequest, FhirResponse } from './types';

/**
 * The FHIR RESTful interactions, free of HTTP: one entry point for HTTP routes and Bundle entries.
 * Every path of the API passes here, so the rules (no DELETE, id checks, locking) hold everywhere.
 */
export class Interactions implements FhirInteractions {
  /** Operations by `level name`. */
  private readonly operations = new Map<string, FhirOperation[]>();
  private readonly writeRules = new Map<string, WriteRule[]>();
  /** What of the write rules holds for the versions sync peers push (`$replicate`). */
  readonly replicaRules: ReplicaRules;
  private readonly mapping: SurfaceMapping;
  private readonly derivedSearches: readonly DerivedSearch[];
  private readonly capabilities: CapabilityStatements;

  constructor(
    readonly repository: Repository,
    readonly searchEngine: SearchEngine,
    extensions: FhirExtensions = {},
  ) {
    for (const operation of extensions.operations ?? []) pushTo(this.operations, `${operation.level} ${operation.name}`, operation);
    for (const rule of extensions.writeRules ?? []) for (const type of rule.types) pushTo(this.writeRules, type, rule);
    this.replicaRules = new ReplicaRules(extensions.writeRules ?? []);
    this.capabilities = new CapabilityStatements(extensions.operations ?? []);
    this.mapping = extensions.mapping ?? NO_MAPPING;
    this.derivedSearches = extensions.derivedSearches ?? [];
  }

  /** A stored resource's JSON as the request's surface answers it. */
  private answered(request: FhirRequest, stored: StoredResource): string {
    const json = withConflictMarks(this.repository, stored);
    return request.surface === undefined || request.surface === 'fhir' ? json : this.mapping.answer(request.surface, stored.resourceType, json);
  }

  /** The request's resource, with the vendor conventions mapped onto the node's. */
  private resourceOf(request: FhirRequest, type: string): JsonObject {
    return this.mapping.resource(type, requireResource(request, type));
  }

  handle(request: FhirRequest, base: string): FhirResponse {
    const segments = request.path.split('/').filter((segment) => segment !== '');
    const operationAt = segments.findIndex((segment) => segment.startsWith('$'));
    if (operationAt >= 0) return this.operation(request, base, segments, operationAt);
    const found = this.route(segments);
    if (!found) throw notFound('endpoint-unknown', `No FHIR endpoint at '${request.path}'`);
    const call: RouteCall = { request, base, ...found.params };
    const run = found.route.methods[request.method];
    if (!run || !allows(found.route, call, request.method)) throw methodNotAllowed('method-not-allowed', refusedMethod(found.route, call), withHead(allowedMethods(found.route, call)));
    return run(call);
  }

  /**
   * The interactions by path below the base (operations aside: `$name` segments, see `operation`), tried in order.
   * A route's parameters are checked as they are read, left to right, so an unknown type is a 404 and a malformed id
   * a 400 whatever follows them; a path no route takes is a 404, a method a route lacks a 405.
   */
  private readonly routes: readonly Route[] = [
    {
      path: [],
      methods: {
        POST: ({ request, base }) => ok(processBundle(this, request, base)),
        GET: () => {
          throw badRequest('system-search-unsupported', 'System-level search is not supported: search a resource type');
        },
      },
      on: () => 'the FHIR base',
    },
    { path: ['metadata'], methods: { GET: ({ base }) => ok(this.capabilities.of(base, this.repository.definitions)) }, on: pathOf },
    {
      path: ['_history'],
      methods: {
        GET: ({ request, base }) => {
          request.scopes.requireAll('The history of every type');
          return this.history(request, base, {});
        },
      },
      on: pathOf,
    },
    {
      path: [TYPE],
      methods: {
        GET: ({ request, base, type }) => this.search(type!, request, base),
        POST: ({ request, base, type }) => this.create(type!, request, base),
        PUT: ({ request, base, type }) => this.conditionalUpdate(type!, request, base),
      },
      writes: ['POST', 'PUT'],
      on: ({ type }) => type!,
    },
    {
      path: [TYPE, '_history'],
      methods: {
        GET: ({ request, base, type }) => {
          request.scopes.require(type!, 'SEARCH');
          return this.history(request, base, { resourceType: type });
        },
      },
      on: pathOf,
    },
    { path: [TYPE, '_search'], methods: { POST: ({ request, base, type }) => this.search(type!, request, base) }, on: ({ type }) => `${type}/_search` },
    {
      path: [TYPE, ID],
      methods: {
        GET: ({ request, base, type, id }) => this.read(type!, id!, request, base),
        PUT: ({ request, base, type, id }) => this.update(type!, id!, request, base),
      },
      writes: ['PUT'],
      on: ({ type, id }) => `${type}/${id}`,
    },
    // History and vread judge each version by its own content (docs/access.md), not by the current one.
    {
      path: [TYPE, ID, '_history'],
      methods: {
        GET: ({ request, base, type, id }) => {
          request.scopes.require(type!, 'READ');
          return this.history(request, base, { resourceType: type, id });
        },
      },
      on: pathOf,
    },
    {
      path: [TYPE, ID, '_history', VERSION],
      methods: {
        GET: ({ request, base, type, id, version }) => {
          request.scopes.require(type!, 'READ');
          return this.vread(type!, id!, version!, request, base);
        },
      },
      on: pathOf,
    },
    { path: [TYPE, ID, MEMBER], methods: { GET: ({ request, base, type, id, member }) => this.search(member!, request, base, { type: type!, id: id! }) }, on: pathOf },
  ];

  /** The first route that takes the path, with its parameters. */
  private route(segments: string[]): { route: Route; params: RouteParams } | undefined {
    for (const route of this.routes) {
      if (route.path.length !== segments.length) continue;
      const params: RouteParams = {};
      if (route.path.every((part, index) => this.takes(part, segments[index], params))) return { route, params };
    }
    return undefined;
  }

  /** Whether a segment is what the route's part asks for; a type or an id that cannot be one refuses the request. */
  private takes(part: string, segment: string, params: RouteParams): boolean {
    switch (part) {
      case TYPE:
        params.type = this.resourceType(segment);
        return true;
      case ID:
        params.id = this.resourceId(segment);
        return true;
      case VERSION:
        params.version = segment;
        return true;
      case MEMBER:
        // `Patient/123/Encounter`: a type searched within the compartment of the resource before it.
        if (!isResourceType(segment) || !isCompartmentType(params.type!)) return false;
        params.member = segment;
        return true;
      default:
        return part === segment;
    }
  }

  /** Whether the request is a bulk-writing operation, to be committed in a transaction of its own (FhirOperation.alone). */
  writesAlone(request: FhirRequest): boolean {
    return this.operationOf(request)?.operation.alone === true;
  }

  /** Whether the request is an operation that only reads, even when POSTed (FhirOperation.readOnly). */
  readsOnly(request: FhirRequest): boolean {
    return this.operationOf(request)?.operation.readOnly === true;
  }

  /** The searches an operation call will run (FhirOperation.searches), undefined when it is not one that searches. */
  operationSearches(request: FhirRequest): OperationSearch[] | undefined {
    const found = this.operationOf(request);
    return found?.operation.searches?.({ request, type: found.type });
  }

  /** The operation a request calls, if it calls one, and the type in its URL. */
  private operationOf(request: FhirRequest): { operation: FhirOperation; type?: string } | undefined {
    if (!request.path.includes('$')) return undefined;
    const segments = request.path.split('/').filter((segment) => segment !== '');
    const at = segments.findIndex((segment) => segment.startsWith('$'));
    if (at < 0 || (at >= 1 && !isResourceType(segments[0]))) return undefined;
    const type = at >= 1 ? segments[0] : undefined;
    const operation = this.operationAt(segments, at, type);
    return operation && { operation, type };
  }

  private operationAt(segments: string[], at: number, type: string | undefined): FhirOperation | undefined {
    const level = (['system', 'type', 'instance'] as const)[at];
    return level && at === segments.length - 1 ? this.operations.get(`${level} ${segments[at]}`)?.find((candidate) => !candidate.types || candidate.types.includes(type!)) : undefined;
  }

  /** `$name` on the base, a type or an instance (whose reading rules apply: a hidden one does not exist). */
  private operation(request: FhirRequest, base: string, segments: string[], at: number): FhirResponse {
    const name = segments[at];
    const level = (['system', 'type', 'instance'] as const)[at];
    const type = at >= 1 ? this.resourceType(segments[0]) : undefined;
    const operation = this.operationAt(segments, at, type);
    if (!operation) throw badRequest('operation-unknown', `Operation '${name}' is not supported ${type ? `on ${type}` : 'on the base'} by this node`);
    if (!(operation.methods as readonly string[]).includes(request.method)) throw methodNotAllowed('method-not-allowed', `${request.method} is not allowed on ${name}: use ${operation.methods.join(' or ')}`, withHead(operation.methods));
    let id: string | undefined;
    if (level === 'instance') {
      id = this.resourceId(segments[1]);
      request.scopes.require(type!, 'READ');
      this.readable(type!, id, request, base);
    }
    return operation.run({ request, base, type, id, interactions: this });
  }

  private resourceType(segment: string): string {
    if (!isResourceType(segment)) throw notFound('resource-type-unknown', `Unknown resource type '${segment}'`);
    return segment;
  }

  private resourceId(segment: string): string {
    if (!isValidId(segment)) throw badRequest('id-invalid', `'${segment}' is not a valid resource id`);
    return segment;
  }

  /**
   * The current version of a resource the caller may see. One the access rules hide is answered as if it did not
   * exist: a 403 would tell that it does.
   */
  private readable(type: string, id: string, request: FhirRequest, base: string): StoredResource {
    const stored = this.repository.read(type, id);
    if (!stored || !this.searchEngine.isVisible(stored, request, base)) throw notFound('resource-not-found', `${type}/${id} does not exist`);
    return stored;
  }

  /**
   * Runs a write of a `type` so that nothing outside the caller's access is touched or made: the resource it replaces
   * and the version it makes must both be visible to the caller, or the transaction rolls back with a 403. A new
   * resource the rules let its creator name first is the exception — a new Binary that nothing names yet: it is seen
   * through the DocumentReference that the Lifen sequence posts next, which only its uploader may post
   * (documents/document-content-rule.ts). A new Binary under an id a document already names would fill someone
   * else's document, and is refused like any write out of reach. The creator of a new resource of a type whose
   * creator counts (a Subscription, a Binary) is recorded.
   */
  private withinAccess(type: string, request: FhirRequest, base: string, write: () => FhirResponse): FhirResponse {
    if (!Visibility.restricts(request, type)) return write();
    return this.repository.transaction(() => {
      const response = write();
      const made = response.written;
      const created = made !== undefined && response.status === 201;
      if (created) this.recordCreator(type, made.id, request);
      const claimed = created && this.replicaRules.claimable(type, made.id, { request, base, interactions: this });
      if (made && !claimed && !this.searchEngine.isVisible(made, request, base)) {
        throw forbidden('outside-access', `This ${made.resourceType} would be outside your access: link it to a patient you follow (or name yourself or your practice)`);
      }
      return response;
    });
  }

  /** Records the caller as the creator of a new resource of a type whose creator counts (`resource_owners`): a Subscription, a Binary. */
  recordCreator(type: string, id: string, request: FhirRequest): void {
    if (request.caller && Visibility.recordsCreator(type)) this.repository.owners.record(type, id, request.caller);
  }

  private read(type: string, id: string, request: FhirRequest, base: string): FhirResponse {
    request.scopes.require(type, 'READ');
    const stored = this.readable(type, id, request, base);
    if (notModified(stored, request)) return { status: 304, headers: versionHeaders(stored) };
    return { status: 200, body: this.answered(request, stored), headers: versionHeaders(stored) };
  }

  private vread(type: string, id: string, versionId: string, request: FhirRequest, base: string): FhirResponse {
    const stored = this.repository.vread(type, id, versionId);
    // A version hidden from the caller answers as one that does not exist.
    if (!stored || (Visibility.restricts(request, type) && !this.searchEngine.isVersionVisible(stored, request, base))) throw notFound('version-not-found', `${type}/${id} has no version '${versionId}'`);
    // The current version says the resource's open conflicts, as a read does; an older one is history.
    const current = this.repository.conflicts.kindsOf(type, id).length > 0 && this.repository.read(type, id)?.versionId === versionId;
    return { status: 200, body: current ? this.answered(request, stored) : stored.json, headers: versionHeaders(stored) };
  }

  private create(type: string, request: FhirRequest, base: string): FhirResponse {
    checkWritable(type);
    request.scopes.require(type, 'CREATE');
    const resource = this.resourceOf(request, type);
    if (request.ifNoneExist !== undefined) {
      const existing = this.matchOne(type, request.ifNoneExist, 'If-None-Exist', base, request);
      if (existing) return { status: 200, body: existing.json, headers: versionHeaders(existing) };
    }
    // A client id on create is ignored (the server assigns ids), as the spec says.
    return this.withinAccess(type, request, base, () => this.createVersion(type, resource, request, base, request.assignedId));
  }

  private update(type: string, id: string, request: FhirRequest, base: string): FhirResponse {
    checkWritable(type);
    request.scopes.require(type, 'UPDATE');
    // Update-as-create makes a resource: it needs the create scope too.
    if (!request.scopes.allows(type, 'CREATE') && !this.repository.exists(type, id)) request.scopes.require(type, 'CREATE');
    const resource = this.resourceOf(request, type);
    if (resource.id === undefined) throw badRequest('id-missing', 'The resource has no id: PUT needs the id of the URL in the body', 'id');
    if (resource.id !== id) throw badRequest('id-mismatch', `The body's id '${String(resource.id)}' differs from the URL's id '${id}'`, 'id');
    const ifMatch = request.ifMatch === undefined ? undefined : parseEtag(request.ifMatch, 'If-Match');
    return this.withinAccess(type, request, base, () => {
      const current = Visibility.restricts(request, type) && this.repository.read(type, id);
      if (current && !this.searchEngine.isVisible(current, request, base)) throw forbidden('outside-access', `${type}/${id} is outside your access`);
      const { stored, created } = this.ruled(type, resource, id, request, base, (body) => this.repository.update(type, id, body, ifMatch));
      return written(created ? 201 : 200, stored, base, this.answered(request, stored));
    });
  }

  private conditionalUpdate(type: string, request: FhirRequest, base: string): FhirResponse {
    checkWritable(type);
    request.scopes.require(type, 'UPDATE');
    const resource = this.resourceOf(request, type);
    return this.repository.transaction(() => {
      const existing = this.matchOne(type, request.query.toString(), 'conditional update', base, request);
      if (existing) {
        if (resource.id !== undefined && resource.id !== existing.id) {
          throw badRequest('id-mismatch', `The body's id '${String(resource.id)}' differs from the matched ${type}/${existing.id}`, 'id');
        }
        return this.update(type, existing.id, { ...request, body: { ...resource, id: existing.id } }, base);
      }
      if (typeof resource.id === 'string') return this.update(type, resource.id, request, base);
      request.scopes.require(type, 'CREATE');
      return this.withinAccess(type, request, base, () => this.createVersion(type, resource, request, base));
    });
  }

  private createVersion(type: string, resource: JsonObject, request: FhirRequest, base: string, id?: string): FhirResponse {
    const existing = this.existingFor(type, resource, request, base);
    if (existing) {
      // A transaction entry whose id other entries already point at must not turn into another resource.
      if (id !== undefined) throw conflict('created-twice', `This ${type} is already created by the request (${type}/${existing.id} stands for it): create it once`);
      return { status: 200, body: existing.json, headers: versionHeaders(existing) };
    }
    const { stored } = this.ruled(type, resource, id, request, base, (body) => ({ stored: this.repository.create(type, body, id), created: true }));
    return written(201, stored, base, this.answered(request, stored));
  }

  /** The existing resource a create stands for, by the `existing` hooks of its type's write rules (extensions.ts). */
  existingFor(type: string, resource: JsonObject, request: FhirRequest, base: string): StoredResource | undefined {
    for (const rule of this.writeRules.get(type) ?? []) {
      const existing = rule.existing?.({ type, resource, request, base, interactions: this });
      if (existing) return existing;
    }
    return undefined;
  }

  /**
   * Runs a write with the write rules of its type around it, in one transaction (extensions.ts). The body written
   * leaves out the write-only elements, handed to the rules (a type without rules cannot have them stored: 400).
   */
  private ruled(type: string, body: JsonObject, id: string | undefined, request: FhirRequest, base: string, write: (resource: JsonObject) => WriteResult): WriteResult {
    const rules = this.writeRules.get(type);
    if (!rules) return write(body);
    const { resource, writeOnly } = takeWriteOnly(type, body);
    return this.repository.transaction(() => {
      const previous = id === undefined ? undefined : this.repository.read(type, id);
      const pending = pendingWrite({ type, id, resource, writeOnly, previous, request, base, interactions: this });
      for (const rule of rules) rule.before?.(pending);
      const result = write(resource);
      // Assigned, not spread: a spread would parse the previous version whether a rule wants it or not.
      const completed: CompletedWrite = Object.assign(pending, { id: result.stored.id, stored: result.stored, created: result.created });
      for (const rule of rules) rule.after?.(completed);
      return result;
    });
  }

  /**
   * The single resource the criteria select, undefined for none, 412 when several match. Conditional operations
   * tell whether a match exists: they need the type's search scope, and see only what the caller may see.
   */
  matchOne(type: string, criteria: string, what: string, base: string, request: Pick<FhirRequest, 'scopes' | 'reach' | 'caller'>): StoredResource | undefined {
    request.scopes.require(type, 'SEARCH');
    const query = criteria.startsWith(`${type}?`) ? criteria.slice(type.length + 1) : criteria.replace(/^\?/, '');
    const params = new URLSearchParams(query);
    if ([...params.keys()].length === 0) throw badRequest('criteria-empty', `Empty criteria in ${what}`);
    params.set('_count', '2');
    const { matches } = this.searchEngine.search({ resourceType: type, params, lenient: false, base, access: request.scopes, reach: request.reach, caller: request.caller });
    if (matches.length > 1) throw preconditionFailed('criteria-ambiguous', `The ${what} criteria '${criteria}' match more than one ${type}`);
    return matches[0];
  }

  private search(type: string, request: FhirRequest, base: string, compartment?: { type: string; id: string }): FhirResponse {
    request.scopes.require(type, 'SEARCH');
    const paging = request.surface === 'v2' || request.surface === 'v3' ? lifenPaging(searchParameters(request)) : undefined;
    const params = this.mapping.searchParams(paging?.params ?? searchParameters(request));
    // A POST _search is strict: a body field the node does not know is refused whatever Prefer says, never dropped.
    const lenient = request.method === 'POST' ? false : (request.lenient ?? false);
    const derived = compartment ? undefined : this.derivedSearches.find((search) => search.type === type && search.claims(params));
    const result = derived
      ? derived.run({ request, base, params, interactions: this })
      : this.searchEngine.search({ resourceType: type, params, lenient, defaultTotal: DEFAULT_TOTAL, base, compartment, access: request.scopes, reach: request.reach, caller: request.caller, textMatches: request.textMatches });
    return ok(searchBundle(result, `${base}/${compartment ? `${compartment.type}/${compartment.id}/` : ''}${type}`, base, paging, (stored) => this.answered(request, stored)));
  }

  /**
   * A page of history and the cursor after it, if there is more. For a caller the access rules restrict, only the
   * versions it may see, each judged by its own content; at most HISTORY_SCAN_BUDGET entries are read for a page,
   * which may then be short (its `next` link goes on from where the reading stopped).
   */
  private historyPage(request: FhirRequest, base: string, query: Omit<HistoryQuery, 'count'>, count: number): { page: HistoryEntry[]; after?: number } {
    const restricted = query.resourceType === undefined ? request.reach !== undefined || request.caller !== undefined : Visibility.restricts(request, query.resourceType);
    if (!restricted) {
      const entries = this.repository.history({ ...query, count: count + 1 });
      const page = entries.slice(0, count);
      return { page, after: entries.length > count ? page[page.length - 1].seq : undefined };
    }
    // A current version is judged by its index rows, once per resource; an earlier one by the references in its body.
    const currents = new Map<string, { versionId?: string; visible: boolean }>();
    const versionVisible = this.searchEngine.versionVisibility(request, base);
    const visible = (entry: HistoryEntry) => {
      if (!Visibility.restricts(request, entry.resourceType)) return true;
      const key = `${entry.resourceType}/${entry.id}`;
      let current = currents.get(key);
      if (current === undefined) {
        const stored = this.repository.read(entry.resourceType, entry.id);
        currents.set(key, (current = { versionId: stored?.versionId, visible: stored !== undefined && this.searchEngine.isVisible(stored, request, base) }));
      }
      return entry.versionId === current.versionId ? current.visible : versionVisible(entry);
    };
    const page: HistoryEntry[] = [];
    let beforeSeq = query.beforeSeq;
    for (let scanned = 0; scanned < HISTORY_SCAN_BUDGET; ) {
      const batch = this.repository.history({ ...query, beforeSeq, count: HISTORY_BATCH });
      for (const entry of batch) {
        scanned++;
        if (!visible(entry)) continue;
        if (page.length === count) return { page, after: page[page.length - 1].seq };
        page.push(entry);
      }
      if (batch.length < HISTORY_BATCH) return { page };
      beforeSeq = batch[batch.length - 1].seq;
    }
    return { page, after: beforeSeq };
  }

  private history(request: FhirRequest, base: string, scope: { resourceType?: string; id?: string }): FhirResponse {
    const count = readPageCount(request.query.get('_count'));
    const sinceRaw = request.query.get('_since');
    const since = readSince(sinceRaw);
    const cursor = request.query.get('_cursor');
    const beforeSeq = cursor === null ? undefined : Number(cursor);
    if (beforeSeq !== undefined && !Number.isSafeInteger(beforeSeq)) throw badRequest('paging-cursor-invalid', 'Invalid paging cursor', '_cursor');
    const { page, after } = this.historyPage(request, base, { ...scope, since, beforeSeq }, count);
    // The history of a resource none of whose versions the caller may see answers as that of one that does not exist
    // (a page that read from the newest version found none; one after a cursor or `_since` may be empty for others).
    const unfiltered = since === undefined && beforeSeq === undefined;
    if (scope.id !== undefined && page.length === 0 && (unfiltered || this.historyPage(request, base, scope, 1).page.length === 0)) {
      throw notFound('resource-not-found', `${scope.resourceType}/${scope.id} does not exist`);
    }
    const path = [scope.resourceType, scope.id, '_history'].filter(Boolean).join('/');
    const selfParams = new URLSearchParams();
    if (sinceRaw !== null) selfParams.set('_since', sinceRaw);
    if (request.query.has('_count')) selfParams.set('_count', String(count));
    const links = [{ relation: 'self', url: `${base}/${path}${selfParams.size ? `?${selfParams}` : ''}` }];
    if (after !== undefined) {
      const next = new URLSearchParams(selfParams);
      next.set('_cursor', String(after));
      links.push({ relation: 'next', url: `${base}/${path}?${next}` });
    }
    return ok(bundleJson('history', links, page.map((entry) => historyEntry(entry, base))));
  }
}

/** Searches through the API answer `total` unless asked not to (`_total=none`): counted up to TOTAL_CAP (store/search). */
export const DEFAULT_TOTAL = 'estimate';

/** No vendor conventions to map (a node built without lifen/, as in some tests). */
const NO_MAPPING: SurfaceMapping = { searchParams: (params) => params, resource: (_type, resource) => resource, answer: (_surface, _type, json) => json };

/** Route parts that are parameters: a resource type, an id, a version id, a type within a compartment. */
const TYPE = ':type';
const ID = ':id';
const VERSION = ':version';
const MEMBER = ':member';

interface RouteParams {
  type?: string;
  id?: string;
  version?: string;
  member?: string;
}

interface RouteCall extends RouteParams {
  request: FhirRequest;
  base: string;
}

interface Route {
  /** Literal segments and parameters (TYPE, ID, VERSION, MEMBER). */
  path: readonly string[];
  /** The interaction each method runs; another method is a 405. */
  methods: Readonly<Partial<Record<string, (call: RouteCall) => FhirResponse>>>;
  /** The methods that write the resource type: none is allowed on a directory type (DESIGN §2). */
  writes?: readonly string[];
  /** What a 405 names as refusing the method. */
  on: (call: RouteCall) => string;
}

const pathOf = ({ request }: RouteCall) => `'${request.path}'`;

/** Change-log entries a page of type or system history reads at most for a restricted caller (hidden ones skipped). */
const HISTORY_SCAN_BUDGET = 5000;
const HISTORY_BATCH = 200;

type JsonObject = Record<string, unknown>;

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Directory resources come from import and sync only (DESIGN §2). */
function checkWritable(type: string): void {
  if (DIRECTORY_TYPES.has(type)) throw methodNotAllowed('directory-read-only', directoryWrite(type), ['GET', 'HEAD']);
}

const directoryWrite = (type: string) => `${type} is a directory resource: it is written by the directory import and sync, not through the API`;

/**
 * The methods a route allows for this call, as a 405's `Allow` lists them: not the writes of a directory type, nor
 * a PUT on a type without search criteria (a conditional update needs them).
 */
function allowedMethods(route: Route, call: RouteCall): string[] {
  return Object.keys(route.methods).filter((method) => allows(route, call, method));
}

/** Whether the route allows a method it has for this call. */
function allows(route: Route, { type, request }: RouteCall, method: string): boolean {
  return !(route.writes?.includes(method) && DIRECTORY_TYPES.has(type!)) && !(method === 'PUT' && route.path.length === 1 && request.query.size === 0);
}

/** Why a method a route does not allow is refused. */
function refusedMethod(route: Route, call: RouteCall): string {
  const { method } = call.request;
  if (method === 'DELETE') return 'DELETE is not supported: archive a resource with an update (e.g. active=false or a status)';
  if (route.writes?.includes(method) && DIRECTORY_TYPES.has(call.type!)) return directoryWrite(call.type!);
  if (method === 'PUT' && route.methods.PUT) return `PUT on ${call.type} needs an id or search criteria`;
  return `${method} is not allowed on ${route.on(call)}`;
}

/** HEAD is answered wherever GET is (as a GET without its body). */
function withHead(methods: readonly string[]): string[] {
  return methods.includes('GET') ? [...methods, 'HEAD'] : [...methods];
}

/** The request's resource; a Binary streamed into the binary store points at its file, and only then. */
function requireResource(request: FhirRequest, type: string): JsonObject {
  const body = request.body;
  // A form is a search's parameters (POST Type/_search), not a resource the node could read.
  if (body instanceof URLSearchParams) throw unsupportedMediaType('body-form-not-accepted', `The body must be a ${type} as FHIR JSON, not a form`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('body-not-resource', `The body must be a ${type} resource (a JSON object)`);
  }
  if (type !== 'Binary') return body as JsonObject;
  refuseForgedContent(body as JsonObject);
  return request.binaryContent ? withStoredContent(body as JsonObject, request.binaryContent) : (body as JsonObject);
}

/**
 * A stored resource's JSON with the tags of its open conflicts (docs/sync.md, "Conflicts on a plain read"), for every
 * answer that serves current versions: a map lookup a resource, parsed again only for the few in conflict.
 */
export function withConflictMarks(repository: Repository, stored: StoredResource): string {
  return withConflictTags(stored.json, repository.conflicts.kindsOf(stored.resourceType, stored.id));
}

function ok(body: string | object): FhirResponse {
  return { status: 200, body, headers: {} };
}

export function versionHeaders(stored: StoredResource): Record<string, string> {
  return { etag: `W/"${stored.versionId}"`, 'last-modified': httpDate(stored.lastUpdated) };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_OFFSETS = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * `2026-11-26T06:08:09.303Z` → `Thu, 26 Nov 2026 06:08:09 GMT`, from the fixed layout of stored instants: parsing
 * through Date cost more than the rest of a read's headers.
 */
export function httpDate(instant: string): string {
  const year = Number(instant.slice(0, 4));
  const month = Number(instant.slice(5, 7));
  const day = Number(instant.slice(8, 10));
  // Sakamoto's day-of-week method.
  const shifted = month < 3 ? year - 1 : year;
  const weekday = (shifted + Math.floor(shifted / 4) - Math.floor(shifted / 100) + Math.floor(shifted / 400) + MONTH_OFFSETS[month - 1] + day) % 7;
  return `${DAYS[weekday]}, ${instant.slice(8, 10)} ${MONTHS[month - 1]} ${instant.slice(0, 4)} ${instant.slice(11, 19)} GMT`;
}

function written(status: 200 | 201, stored: StoredResource, base: string, body: string): FhirResponse {
  const location = `${base}/${stored.resourceType}/${stored.id}/_history/${stored.versionId}`;
  return {
    status,
    body,
    headers: { ...versionHeaders(stored), location, 'content-location': location },
    written: stored,
  };
}

/** `W/"abc"` or `"abc"` → `abc`. */
export function parseEtag(value: string, header: string): string {
  const match = /^(?:W\/)?"([^"]+)"$/.exec(value.trim());
  if (!match) throw badRequest('etag-invalid', `${header} must be an ETag such as W/"<versionId>", not '${value}'`);
  return match[1];
}

function notModified(stored: StoredResource, request: FhirRequest): boolean {
  if (request.ifNoneMatch !== undefined) {
    return request.ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || tag.trim().replace(/^W\//, '') === `"${stored.versionId}"`);
  }
  if (request.ifModifiedSince !== undefined) {
    const since = Date.parse(request.ifModifiedSince);
    // HTTP dates have a precision of one second.
    return !Number.isNaN(since) && Math.floor(Date.parse(stored.lastUpdated) / 1000) * 1000 <= since;
  }
  return false;
}

export interface BundleEntryText {
  fullUrl: string;
  /** The resource's stored JSON text, spliced in without reparsing. */
  json: string;
  /** Further members of the entry, as JSON text. */
  extra: string;
}

/** Builds a Bundle as text, so stored resources are embedded without a parse/serialise round trip. */
/** The tag of a searchset whose `total` stopped at TOTAL_CAP: STU3's Bundle has no extensions, but it has `meta`. */
export const TOTAL_CAPPED_TAG = { system: 'urn:liaison:search', code: 'total-capped', display: `total counted up to ${TOTAL_CAP}: there are more` };
const TOTAL_CAPPED_META = `"meta":${JSON.stringify({ tag: [TOTAL_CAPPED_TAG] })},`;

export function bundleJson(type: string, links: Array<{ relation: string; url: string }>, entries: BundleEntryText[], total?: number, capped = false): string {
  const entryText = entries.map(
    (entry) => `{"fullUrl":${JSON.stringify(entry.fullUrl)},"resource":${entry.json},${entry.extra}}`,
  );
  // FHIR JSON has no empty arrays: a Bundle without entries has no `entry` member.
  const entryMember = entryText.length ? `,"entry":[${entryText.join(',')}]` : '';
  const totalMember = total === undefined ? '' : `,"total":${total}`;
  return `{"resourceType":"Bundle",${capped ? TOTAL_CAPPED_META : ''}"type":"${type}"${totalMember},"link":${JSON.stringify(links)}${entryMember}}`;
}

/** The searchset Bundle of a search: self/next/previous links built from the parameters the search applied. */
function searchBundle(result: SearchResult, searchUrl: string, base: string, lifen: LifenPaging | undefined, answered: (stored: StoredResource) => string): string {
  const { query } = result;
  const url = (params: URLSearchParams) => ({ url: `${searchUrl}${params.size ? `?${params}` : ''}` });
  const link = (relation: string, cursor?: string) => {
    const params = new URLSearchParams(query.applied);
    params.delete('_cursor');
    if (cursor) params.set('_cursor', cursor);
    return { relation, ...url(params) };
  };
  // Lifen's links name the cursors after their direction and carry the page's position (lifen-paging.ts).
  const lifenLink = (relation: string, name: '_searchAfter' | '_searchBefore', cursor: string | undefined, index: number) =>
    ({ relation, ...url(lifenLinkQuery(query.applied, cursor === undefined ? undefined : { name, value: cursor }, index)) });
  const links = lifen ? [lifenLink('self', lifen.cursorName ?? '_searchAfter', query.cursor, lifen.index)] : [link('self', query.cursor)];
  if (result.next) links.push(lifen ? lifenLink('next', '_searchAfter', result.next, lifen.index + result.matches.length) : link('next', result.next));
  if (result.previous) links.push(lifen ? lifenLink('previous', '_searchBefore', result.previous, Math.max(0, lifen.index - query.count)) : link('previous', result.previous));
  const shape = { summary: query.summary, elements: query.elements };
  const entry = (stored: StoredResource, mode: 'match' | 'include') => ({
    fullUrl: `${base}/${stored.resourceType}/${stored.id}`,
    json: isWhole(shape) ? answered(stored) : shapeResource(answered(stored), shape),
    extra: `"search":{"mode":"${mode}"}`,
  });
  const entries = [...result.matches.map((stored) => entry(stored, 'match')), ...result.included.map((stored) => entry(stored, 'include'))];
  return bundleJson('searchset', links, entries, result.total, result.totalCapped);
}

function historyEntry(entry: HistoryEntry, base: string): BundleEntryText {
  const url = `${entry.resourceType}/${entry.id}`;
  const status = entry.created ? '201 Created' : '200 OK';
  return {
    fullUrl: `${base}/${url}`,
    json: entry.json,
    extra: `"request":${JSON.stringify({ method: entry.method, url: entry.method === 'POST' ? entry.resourceType : url })},"response":${JSON.stringify({ status, etag: `W/"${entry.versionId}"`, lastModified: entry.lastUpdated })}`,
  };
}
