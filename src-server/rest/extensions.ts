import type { WriteOnlyElements } from '../fhir/write-only';
import type { Repository, StoredResource } from '../store/repository';
import type { SearchEngine, SearchResult } from '../store/search/search';
import type { FhirRequest, FhirResponse, Surface } from './types';

/**
 * What the flows of the Lifen APIs (documents, appointments, patients, sync) plug into the generic FHIR node:
 * operations (`$everything`, `$changes`…) and rules that run inside a write's own transaction. The generic
 * interactions stay free of any one API's business.
 */

/**
 * The interactions as operations, write rules and Bundle entries call back into them (interactions.ts implements it):
 * the store they run on, and the steps of the API that others repeat.
 */
export interface FhirInteractions {
  readonly repository: Repository;
  readonly searchEngine: SearchEngine;
  /** What of the write rules holds for the versions sync peers push (`$replicate`). */
  readonly replicaRules: ReplicaRuleSet;
  /** Runs an interaction, as HTTP does. */
  handle(request: FhirRequest, base: string): FhirResponse;
  /** The single resource the criteria select (undefined: none; 412: several), as conditional operations find it. */
  matchOne(type: string, criteria: string, what: string, base: string, request: Pick<FhirRequest, 'scopes' | 'reach' | 'caller'>): StoredResource | undefined;
  /** The existing resource a create stands for, by the `existing` hooks of its type's write rules. */
  existingFor(type: string, resource: Record<string, unknown>, request: FhirRequest, base: string): StoredResource | undefined;
  /** Records the caller as the creator of a new resource of a type whose creator counts (`resource_owners`). */
  recordCreator(type: string, id: string, request: FhirRequest): void;
}

/** The write rules' replica parts, gathered (replica-rules.ts). */
export interface ReplicaRuleSet {
  /** Refuses a pushed version as the rules of its type do (a FhirError), before it is stored. */
  check(version: { resourceType: string; id: string; resource: Readonly<Record<string, unknown>> }, context: WriteContext): void;
  /** Whether a rule lets the caller push a version of a resource it cannot see (its own that nothing names yet). */
  claimable(type: string, id: string, context: WriteContext): boolean;
  /** Where a pushed version of the type goes in its page: after the versions of the types it may name. */
  rank(type: string): number;
}

/** A FHIR operation, invoked as `[base]/$name`, `[base]/Type/$name` or `[base]/Type/id/$name`. */
export interface FhirOperation {
  /** With its dollar: `$everything`. */
  name: string;
  level: 'system' | 'type' | 'instance';
  /** The resource types it is defined on (type and instance level); every type when absent. */
  types?: readonly string[];
  /** GET for operations that only read; POST (run in the write path, one transaction) for the others. */
  methods: readonly ('GET' | 'POST')[];
  /**
   * A POST that writes in bulk (a page of sync versions): committed in a transaction of its own rather than in a
   * savepoint of the group commit's shared one, whose cost grows with the square of what it holds (DESIGN §7).
   */
  alone?: boolean;
  /** A POST that only reads (a search whose parameters come in the body): answered at once like a GET, outside the group commit. */
  readOnly?: boolean;
  /**
   * For an operation that searches: the searches it will run for this call, so that their text filters (`name`,
   * `address`…) are looked up in the text index before it runs, as for a plain search (rest/fhir-api.ts). Throw
   * nothing here: `run` answers the errors.
   */
  searches?(call: Pick<OperationCall, 'request' | 'type'>): OperationSearch[];
  /** What its OperationDefinition says, in the CapabilityStatement (rest/capability.ts): how clients learn of it. */
  definition: OperationDescription;
  run(call: OperationCall): FhirResponse;
}

/** An operation as its OperationDefinition describes it; operations of one name share one (their levels and types merged). */
export interface OperationDescription {
  /** What it does and answers, for the people who write clients. */
  description: string;
  /** The OperationDefinition of the spec it implements, if any (`http://hl7.org/fhir/OperationDefinition/Patient-everything`). */
  base?: string;
  parameters: readonly OperationParameter[];
}

/** One parameter in (the query, or the Parameters body) or out (the answer). */
export interface OperationParameter {
  name: string;
  use: 'in' | 'out';
  min: 0 | 1;
  /** A number, or `*`. */
  max: string;
  /** A FHIR type (`string`, `integer`, `Reference`, `Bundle`…); none for a parameter made of `parts`. */
  type?: string;
  parts?: readonly OperationParameter[];
  documentation?: string;
}

/** A search an operation runs: the type and the parameters as a search takes them. */
export interface OperationSearch {
  resourceType: string;
  params: URLSearchParams;
}

export interface OperationCall {
  request: FhirRequest;
  base: string;
  /** The type (type and instance level) and id (instance level) in the URL, already checked. */
  type?: string;
  id?: string;
  interactions: FhirInteractions;
}

/**
 * A business rule on the writes of some resource types through the API (REST, Bundle entries). Both hooks run inside
 * the write's transaction: a FhirError thrown by either refuses the write and rolls back everything it did, and what
 * `after` writes commits with the version. Import and sync write through the repository directly and are not checked,
 * but for `replicas`.
 */
export interface WriteRule {
  types: readonly string[];
  /** Before the version is stored: refuse it (409 double booking, 422 missing identifier…). */
  before?(write: PendingWrite): void;
  /** After the version is stored, in the same transaction: queue an outbox entry, mark a slot busy… */
  after?(write: CompletedWrite): void;
  /**
   * For a create: the existing resource the new one stands for (the same patient by INS, a client's retry of a send
   * by its identifier). The create then answers 200 with it and writes nothing, like a conditional create
   * (If-None-Exist). Runs in the write's transaction, so two creates of the same thing cannot both miss each other.
   * Throw a FhirError to refuse the create instead.
   */
  existing?(write: PendingWrite): StoredResource | undefined;
  /**
   * What of the rule also holds for the versions a sync peer pushes (`$replicate`), which are stored as they came,
   * without `before` and `after`: the rules that keep the access rules whole, which a peer's client must not get round.
   */
  replicas?: ReplicaRule;
}

/** What a write rule checks of the versions a sync peer pushes (WriteRule.replicas, run by replica-rules.ts). */
export interface ReplicaRule {
  /**
   * Before a pushed version of one of the rule's types is stored: refuse it (throw a FhirError). `previous` is this
   * node's current version of the resource, whatever the parents of the pushed one.
   */
  before(write: PendingWrite): void;
  /** The type of the resources these versions name: a pushed page stores its versions of that type first. */
  names: string;
  /** Whether the caller may push a version of a `names` resource it cannot see: one it may name all the same (its own fresh upload). */
  claimable?(id: string, context: WriteContext): boolean;
}

/** Who writes, where, and what a rule may read and write with. */
export interface WriteContext {
  request: FhirRequest;
  base: string;
  /** For the rule's own reads and searches (`interactions.searchEngine`) and writes (`interactions.repository`). */
  interactions: FhirInteractions;
}

export interface PendingWrite extends WriteContext {
  type: string;
  /** The id it will have; absent for a create before the repository assigns it. */
  id?: string;
  resource: Readonly<Record<string, unknown>>;
  /** What the API took out of the body before the write, for the rule of the type to keep (fhir/write-only.ts). */
  writeOnly?: WriteOnlyElements;
  /** The current version it replaces, if any. */
  previous?: StoredResource;
  /** That version parsed, once for all the rules (on first use). */
  readonly previousResource?: Readonly<Record<string, unknown>>;
}

/**
 * A PendingWrite whose previous version is parsed on first use only, and read then too when given as a function (for
 * a check before the write that most callers skip). A class: an object literal with getters cost microseconds a write.
 */
export function pendingWrite(write: Omit<PendingWrite, 'previous' | 'previousResource'> & { previous: StoredResource | undefined | (() => StoredResource | undefined) }): PendingWrite {
  return new LazyPrevious(write);
}

class LazyPrevious implements PendingWrite {
  readonly type: string;
  id?: string;
  readonly resource: Readonly<Record<string, unknown>>;
  readonly writeOnly?: WriteOnlyElements;
  readonly request: FhirRequest;
  readonly base: string;
  readonly interactions: FhirInteractions;
  private readonly source: StoredResource | undefined | (() => StoredResource | undefined);
  private read?: { version: StoredResource | undefined };
  private parsed?: Record<string, unknown>;

  constructor(write: Parameters<typeof pendingWrite>[0]) {
    this.type = write.type;
    this.id = write.id;
    this.resource = write.resource;
    this.writeOnly = write.writeOnly;
    this.request = write.request;
    this.base = write.base;
    this.interactions = write.interactions;
    this.source = write.previous;
  }

  get previous(): StoredResource | undefined {
    const { source } = this;
    return (this.read ??= { version: typeof source === 'function' ? source() : source }).version;
  }

  get previousResource(): Readonly<Record<string, unknown>> | undefined {
    const version = this.previous;
    return version && (this.parsed ??= JSON.parse(version.json) as Record<string, unknown>);
  }
}

export interface CompletedWrite extends PendingWrite {
  id: string;
  stored: StoredResource;
  created: boolean;
}

/**
 * A vendor's conventions onto the node's (lifen/mapping.ts): its identifier systems, codes and extensions in what
 * clients write and search by, on every surface, and in answers on its own surfaces. Each returns what it was given
 * when there is nothing to map (most requests), so the hot paths pay a glance.
 */
export interface SurfaceMapping {
  /** A search's parameters with the vendor's systems and codes as the node's. */
  searchParams(params: URLSearchParams): URLSearchParams;
  /** A resource written through the API (create, update), before the write rules see it; throws a FhirError for what the node cannot take. */
  resource(type: string, resource: Record<string, unknown>): Record<string, unknown>;
  /** A stored resource's JSON as the surface answers it. */
  answer(surface: Surface, resourceType: string, json: string): string;
}

/**
 * A search a module answers itself, for resources it derives rather than stores (free Slots from opening hours):
 * `claims` picks the searches it answers (the others go to the store's engine as usual), `run` answers a page. The
 * interactions check the type's search scope first, as for any search.
 */
export interface DerivedSearch {
  type: string;
  claims(params: URLSearchParams): boolean;
  run(call: { request: FhirRequest; base: string; params: URLSearchParams; interactions: FhirInteractions }): SearchResult;
}

/** The extensions a node runs with. */
export interface FhirExtensions {
  operations?: readonly FhirOperation[];
  writeRules?: readonly WriteRule[];
  derivedSearches?: readonly DerivedSearch[];
  /** The vendor conventions the API maps (one: Lifen's). */
  mapping?: SurfaceMapping;
}

/**
 * A module of the node (patients/, documents/, sync/, text/, auth/…), as the `module.ts` of its folder makes it from
 * the store (store/store.ts) and its own settings: the operations and write rules it plugs into the interactions,
 * and its background work, started once the node serves and stopped with it. A module gives the services other
 * parts of the node use beside these; node.ts wires them all.
 */
export interface NodeModule extends FhirExtensions {
  /** Once the node serves at `url` (its FHIR base is `${url}/fhir`); `warn` hears what goes wrong in the background. */
  start?(url: string, warn: (message: string) => void): void;
  /**
   * What of the module is failing now, for `/health` (none: all well). Each module decides when a failure is more
   * than a passing one (docs/architecture.md, "/health"). Cheap: monitoring polls it.
   */
  health?(): readonly HealthProblem[] | Promise<readonly HealthProblem[]>;
  close?(): Promise<void>;
}

/** A part of the node that is failing, as `/health` reports it. */
export interface HealthProblem {
  /** Which part: `text-index`, `sync`, `outbox`, `channel:<code>`. */
  part: string;
  /** Why, for an administrator: what fails, since when, and what it means for users. */
  reason: string;
}
