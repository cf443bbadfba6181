import { v7 as uuidv7 } from 'uuid';
import { badRequest, conflict, FhirError, preconditionFailed } from '../fhir/outcome';
import { readNodeId, type Db } from './database';
import { SearchParameters, type SearchParameterDefinition } from '../fhir/search/parameters';
import { CustomParameters } from './custom-parameters';
import { checkWrite, preparedJson, type PreparedWrite } from './prepared-write';
import { ResourceOwners } from './resource-owners';
import { reindexTypes } from './reindex';
import { SearchIndex } from './search-index';
import { isArchived, leavesOf, winnerOf } from './merge';
import { isJson } from '../fhir/json';
import { refuseWriteOnly } from '../fhir/write-only';
import { withoutConflictTags } from '../fhir/conflict-tags';
import { OpenConflicts } from './open-conflicts';

/** A resource as stored: the JSON text (meta included) and the columns reads need without parsing it. */
export interface StoredResource {
  resourceType: string;
  id: string;
  versionId: string;
  lastUpdated: string;
  /** The resource JSON exactly as served. */
  json: string;
  /** This node's storage key of the version, when the reader knows it (search results do). */
  vseq?: number;
}

export interface HistoryEntry extends StoredResource {
  seq: number;
  vseq: number;
  method: 'POST' | 'PUT';
  /** True for the first version of the resource. */
  created: boolean;
}

export interface WriteResult {
  stored: StoredResource;
  /** True when the write created the resource (201), false when it updated it (200). */
  created: boolean;
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  /** Only versions recorded at or after this instant (ISO 8601). */
  since?: string;
  /** Only change-log entries with a sequence below this one (paging backwards). */
  beforeSeq?: number;
  count: number;
}

/** A version made on another node, as sync hands it over: stored as it is, with its ids, parents and origin. */
export interface ReplicaVersion {
  versionId: string;
  resourceType: string;
  id: string;
  parents: readonly string[];
  /** The node where the version was made. */
  origin: string;
  /** The resource as its origin stored it (meta.versionId is versionId, meta.lastUpdated the origin's stamp). */
  resource: JsonObject;
  /** The peer node it came from (pushes do not send it back there). */
  receivedFrom?: string;
}

/**
 * created: stored, and the resource has one leaf; conflict: stored, and the resource now has concurrent leaves;
 * duplicate: this version was already here; deferred: this node cannot store it yet (kept aside, retried later).
 */
export type ReplicaOutcome = 'created' | 'duplicate' | 'conflict' | 'deferred';

export interface ReplicaResult {
  outcome: ReplicaOutcome;
  /** The stored version (created, conflict), with its vseq. */
  stored?: StoredResource & { vseq: number };
  /** The stored version is the resource's first on this node: the replica made it here. */
  first?: boolean;
  /** Why a deferred version cannot be stored yet. */
  reason?: string;
}

/** A replicated version kept aside, as an admin sees it (the body aside). */
export interface KeptAside {
  versionId: string;
  resourceType: string;
  id: string;
  /** The node where the version was made. */
  origin: string;
  /** The peer node it came from, when it said. */
  receivedFrom?: string;
  /** Why this node cannot store it, with the elements at fault. */
  reason: string;
  receivedAt: string;
}

type JsonObject = Record<string, unknown>;

/** Told, inside the write's transaction and once its index rows are written, that a resource has a new current version. */
export type CurrentListener = (id: string, resource: Readonly<JsonObject>) => void;

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/**
 * The only writer of resources. REST, import and sync all go through it, so every write gets a validated body,
 * a new immutable version with a global id, and a change-log entry in the same transaction.
 */
export class Repository {
  readonly nodeId: string;
  private readonly statements;
  // Built once: better-sqlite3 makes a new wrapper function on every db.transaction() call.
  private readonly createInTransaction;
  private readonly updateInTransaction;

  readonly searchIndex: SearchIndex;
  readonly owners: ResourceOwners;
  /** This store's custom SearchParameters, in force from its opening. */
  readonly parameters: CustomParameters;
  /** The open conflicts of both kinds (edit: opened and closed here as versions are stored; booking). */
  readonly conflicts: OpenConflicts;
  private readonly currentListeners = new Map<string, CurrentListener[]>();
  /**
   * The newest lastUpdated issued: stamps never go backwards, even if the clock does, so that vseq order is
   * (lastUpdated, vseq) order and search can page the default order by vseq (write order).
   */
  private lastStamp: string;
  /** The clock reading (ms) `lastStamp` was made of: a write in the same millisecond reuses it rather than format it again. */
  private lastStampMs = NaN;
  /** During `batch`: the resources created so far, by type, counted at its end. */
  private createdInBatch: Map<string, number> | undefined;

  constructor(private readonly db: Db) {
    this.nodeId = readNodeId(db);
    this.lastStamp = (db.prepare('SELECT last_updated FROM resource_versions ORDER BY vseq DESC LIMIT 1').get() as { last_updated: string } | undefined)?.last_updated ?? '';
    this.parameters = new CustomParameters(db);
    this.searchIndex = new SearchIndex(db, this.parameters);
    this.owners = new ResourceOwners(db);
    this.conflicts = new OpenConflicts(db);
    this.statements = {
      current: db.prepare<[string, string], { version_id: string; last_updated: string; body: string }>(
        `SELECT v.version_id, v.last_updated, v.body FROM resources r JOIN resource_versions v ON v.vseq = r.vseq
         WHERE r.resource_type = ? AND r.resource_id = ?`,
      ),
      version: db.prepare<[string, string, string], { vseq: number; version_id: string; last_updated: string; body: string }>(
        `SELECT vseq, version_id, last_updated, body FROM resource_versions
         WHERE resource_type = ? AND resource_id = ? AND version_id = ?`,
      ),
      currentVersionId: db.prepare<[string, string], { version_id: string; vseq: number }>(
        `SELECT v.version_id, v.vseq FROM resources r JOIN resource_versions v ON v.vseq = r.vseq
         WHERE r.resource_type = ? AND r.resource_id = ?`,
      ),
      // An update's one lookup: the version it replaces, and whether the resource is in a conflict (sync).
      currentForUpdate: db.prepare<[string, string], { version_id: string; vseq: number; in_conflict: number }>(
        `SELECT v.version_id, v.vseq, EXISTS (SELECT 1 FROM open_conflicts c WHERE c.resource_type = r.resource_type AND c.resource_id = r.resource_id) AS in_conflict
         FROM resources r JOIN resource_versions v ON v.vseq = r.vseq
         WHERE r.resource_type = ? AND r.resource_id = ?`,
      ),
      insertVersion: db.prepare(
        `INSERT INTO resource_versions (version_id, resource_type, resource_id, parent_ids, origin_node, last_updated, method, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      // An INSERT for a new resource and an UPDATE for an existing one, not one upsert: inside a savepoint (group
      // commit, a Bundle) an upsert on this table cost 25 times more once the savepoint had modified many pages.
      insertCurrent: db.prepare('INSERT INTO resources (resource_type, resource_id, vseq, last_updated) VALUES (?, ?, ?, ?)'),
      updateCurrent: db.prepare('UPDATE resources SET vseq = ?, last_updated = ? WHERE resource_type = ? AND resource_id = ?'),
      appendChange: db.prepare('INSERT INTO change_log (vseq, resource_type) VALUES (?, ?)'),
      countCreated: db.prepare<[string, number]>(
        'INSERT INTO resource_counts (resource_type, total) VALUES (?, ?) ON CONFLICT (resource_type) DO UPDATE SET total = total + excluded.total',
      ),
      counts: db.prepare<[], { resource_type: string; total: number }>('SELECT resource_type, total FROM resource_counts ORDER BY resource_type'),
      versionExists: db.prepare<[string], number>('SELECT 1 FROM resource_versions WHERE version_id = ?').pluck(),
      insertReplica: db.prepare(
        `INSERT INTO resource_versions (version_id, resource_type, resource_id, parent_ids, origin_node, last_updated, method, body, received_from)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      versionLinks: db.prepare<[string, string], { version_id: string; parent_ids: string }>(
        'SELECT version_id, parent_ids FROM resource_versions WHERE resource_type = ? AND resource_id = ?',
      ),
      leaf: db.prepare<[string], { vseq: number; version_id: string; last_updated: string; body: string }>(
        'SELECT vseq, version_id, last_updated, body FROM resource_versions WHERE version_id = ?',
      ),
      // A version kept aside again (sent again, tried again) keeps the time it first came, with the latest reason.
      defer: db.prepare(
        `INSERT INTO sync_deferred (version_id, resource_type, resource_id, parent_ids, origin_node, received_from, body, reason, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (version_id) DO UPDATE SET reason = excluded.reason`,
      ),
      deferred: db.prepare<[], { version_id: string; resource_type: string; resource_id: string; parent_ids: string; origin_node: string; received_from: string | null; body: string }>(
        'SELECT version_id, resource_type, resource_id, parent_ids, origin_node, received_from, body FROM sync_deferred ORDER BY received_at, version_id',
      ),
      undefer: db.prepare('DELETE FROM sync_deferred WHERE version_id = ?'),
      keptAside: db.prepare<[number], { version_id: string; resource_type: string; resource_id: string; origin_node: string; received_from: string | null; reason: string; received_at: string }>(
        'SELECT version_id, resource_type, resource_id, origin_node, received_from, reason, received_at FROM sync_deferred ORDER BY received_at DESC, version_id LIMIT ?',
      ),
      keptAsideCount: db.prepare<[], number>('SELECT count(*) FROM sync_deferred').pluck(),
    };
    this.createInTransaction = db.transaction((resourceType: string, resource: JsonObject, id: string) =>
      this.writeVersion(resourceType, id, resource, [], 'POST'),
    );
    this.updateInTransaction = db.transaction(this.updateVersion.bind(this));
  }

  read(resourceType: string, id: string): StoredResource | undefined {
    const row = this.statements.current.get(resourceType, id);
    return row && { resourceType, id, versionId: row.version_id, lastUpdated: row.last_updated, json: row.body };
  }

  vread(resourceType: string, id: string, versionId: string): (StoredResource & { vseq: number }) | undefined {
    const row = this.statements.version.get(resourceType, id, versionId);
    return row && { resourceType, id, versionId: row.version_id, lastUpdated: row.last_updated, json: row.body, vseq: row.vseq };
  }

  /** Creates a resource with a server-assigned id (a fresh one unless the caller reserved it). */
  create(resourceType: string, resource: JsonObject, id: string = uuidv7()): StoredResource {
    // Inside a caller's transaction (group commit, Bundle) the caller's savepoint already makes the write atomic:
    // another savepoint per write would copy every touched page once more.
    if (this.db.inTransaction) return this.writeVersion(resourceType, id, resource, [], 'POST');
    return this.createInTransaction(resourceType, resource, id);
  }

  /**
   * Updates a resource, or creates it with the client's id when it does not exist (update-as-create).
   * `ifMatch` is the version id the client expects to replace (optimistic locking).
   */
  update(resourceType: string, id: string, resource: JsonObject, ifMatch?: string): WriteResult {
    const write = (parents: string[], replacedVseq: number | undefined) => this.writeVersion(resourceType, id, resource, parents, 'PUT', replacedVseq);
    if (this.db.inTransaction) return this.updateVersion(resourceType, id, write, ifMatch);
    return this.updateInTransaction(resourceType, id, write, ifMatch);
  }

  /**
   * Writes a resource prepared ahead (prepared-write.ts) as its new current version, created or replacing the
   * current one: for bulk writers whose resources were checked and indexed in another thread.
   */
  writePrepared(prepared: PreparedWrite): WriteResult {
    const { resourceType, id } = prepared;
    const write = (parents: string[], replacedVseq: number | undefined) => this.writePreparedVersion(prepared, parents, replacedVseq);
    if (this.db.inTransaction) return this.updateVersion(resourceType, id, write);
    return this.updateInTransaction(resourceType, id, write);
  }

  /** Runs `work` in one SQLite transaction: every write inside commits together or not at all. */
  transaction<T>(work: () => T): T {
    const definitionsBefore = this.parameters.definitions;
    try {
      return this.db.transaction(work)();
    } catch (error) {
      // A custom SearchParameter written in the rolled-back work must not stay in force.
      if (this.parameters.definitions !== definitionsBefore) this.parameters.reload();
      throw error;
    }
  }

  /**
   * A transaction for bulk writers (the directory import): the index rows of its writes are inserted at its end,
   * many to a statement, so `work` must not search what it writes.
   */
  bulk<T>(work: () => T): T {
    return this.transaction(() => this.batch(work));
  }

  /**
   * Runs `work`, writes inside the caller's transaction, with what its writes add to shared rows written at its end:
   * their index rows many to a statement (SearchIndex.deferRows; in before a listener of current versions or a
   * SearchParameter reads the index), the resource counts once a type. A page of sync stores so: per-write statements
   * were a good part of its time. A write of `work` that fails halfway must fail the whole (its rows would stay).
   */
  batch<T>(work: () => T): T {
    if (this.createdInBatch) return work();
    const created = (this.createdInBatch = new Map());
    try {
      const result = this.searchIndex.deferRows(work);
      for (const [resourceType, count] of created) this.statements.countCreated.run(resourceType, count);
      return result;
    } finally {
      this.createdInBatch = undefined;
    }
  }

  /** The definitions in force in this store: the built-in ones and its custom SearchParameters. */
  get definitions(): SearchParameters {
    return this.parameters.definitions;
  }

  /** Versions in change-log order, newest first. */
  history(query: HistoryQuery): HistoryEntry[] {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (query.resourceType !== undefined) {
      where.push('c.resource_type = ?');
      params.push(query.resourceType);
    }
    if (query.id !== undefined) {
      where.push('v.resource_id = ?');
      params.push(query.id);
    }
    if (query.since !== undefined) {
      where.push('v.last_updated >= ?');
      params.push(query.since);
    }
    if (query.beforeSeq !== undefined) {
      where.push('c.seq < ?');
      params.push(query.beforeSeq);
    }
    params.push(query.count);
    // Instance history reads the versions of one resource through its own index.
    const sql = `SELECT c.seq, v.vseq, v.resource_type, v.resource_id, v.version_id, v.last_updated, v.method, v.parent_ids, v.body
       FROM change_log c JOIN resource_versions v ON v.vseq = c.vseq
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY c.seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...params) as Array<{
      seq: number;
      vseq: number;
      resource_type: string;
      resource_id: string;
      version_id: string;
      last_updated: string;
      method: 'POST' | 'PUT';
      parent_ids: string;
      body: string;
    }>;
    return rows.map((row) => ({
      seq: row.seq,
      vseq: row.vseq,
      method: row.method,
      created: row.parent_ids === '[]',
      resourceType: row.resource_type,
      id: row.resource_id,
      versionId: row.version_id,
      lastUpdated: row.last_updated,
      json: row.body,
    }));
  }

  exists(resourceType: string, id: string): boolean {
    return this.statements.currentVersionId.get(resourceType, id) !== undefined;
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.statements.counts.all().map((row) => [row.resource_type, row.total]));
  }

  /**
   * Stores a version made on another node as it is: its version id, parents, origin and body are kept, so they are
   * the same on every node. The current version becomes the winner of the resource's leaves (store/merge.ts).
   * Idempotent: a version already here is a duplicate. One this node cannot store yet (an unknown type, a body this
   * build's model refuses) is kept aside in `sync_deferred` and stored by `retryDeferred` once it can be.
   * Throws a 400 for a version that is malformed whatever the model (ids, parents, meta).
   */
  storeReplica(replica: ReplicaVersion): ReplicaResult {
    checkReplica(replica);
    if (this.statements.versionExists.get(replica.versionId) !== undefined) return { outcome: 'duplicate' };
    try {
      checkWrite(replica.resourceType, replica.resource);
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      const reason = error.located;
      this.statements.defer.run(replica.versionId, replica.resourceType, replica.id, JSON.stringify(replica.parents), replica.origin, replica.receivedFrom ?? null, JSON.stringify(replica.resource), reason, new Date().toISOString());
      return { outcome: 'deferred', reason };
    }
    if (this.db.inTransaction) return this.insertReplica(replica);
    return this.db.transaction(() => this.insertReplica(replica))();
  }

  /** Tries again the versions kept aside; returns how many were stored. */
  retryDeferred(): number {
    let stored = 0;
    for (const row of this.statements.deferred.all()) {
      // A row that still cannot be stored stays; one that fails otherwise rolls back and stays too.
      this.transactionOrKeep(() => {
        const result = this.storeReplica({
          versionId: row.version_id,
          resourceType: row.resource_type,
          id: row.resource_id,
          parents: JSON.parse(row.parent_ids) as string[],
          origin: row.origin_node,
          resource: JSON.parse(row.body) as JsonObject,
          ...(row.received_from !== null ? { receivedFrom: row.received_from } : {}),
        });
        if (result.outcome === 'deferred') return;
        this.statements.undefer.run(row.version_id);
        stored++;
      });
    }
    return stored;
  }

  /** How many versions are kept aside, and the newest `limit` of them: nodes that hold different data say so. */
  keptAside(limit: number): { total: number; versions: KeptAside[] } {
    const versions = this.statements.keptAside.all(limit).map((row) => ({
      versionId: row.version_id,
      resourceType: row.resource_type,
      id: row.resource_id,
      origin: row.origin_node,
      ...(row.received_from !== null ? { receivedFrom: row.received_from } : {}),
      reason: row.reason,
      receivedAt: row.received_at,
    }));
    return { total: this.keptAsideCount(), versions };
  }

  keptAsideCount(): number {
    return this.statements.keptAsideCount.get()!;
  }

  private transactionOrKeep(work: () => void): void {
    try {
      this.transaction(work);
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
    }
  }

  /** The leaves of a resource's version graph (more than one: an open conflict). */
  leaves(resourceType: string, id: string): string[] {
    return leavesOf(this.versionLinks(resourceType, id));
  }

  /**
   * Resolves a conflict: a version of `resource` whose parents are all the leaves, which the person resolving saw
   * (`seenLeaves`; if the leaves changed since, 409). It closes the conflict here and on every node it reaches.
   */
  resolveConflict(resourceType: string, id: string, resource: JsonObject, seenLeaves: readonly string[]): StoredResource {
    return this.transaction(() => {
      const leaves = this.leaves(resourceType, id);
      if (leaves.length < 2) throw conflict('conflict-changed', `${resourceType}/${id} has no open conflict`);
      if ([...seenLeaves].sort().join(' ') !== leaves.join(' ')) {
        throw conflict('conflict-changed', `The conflict on ${resourceType}/${id} changed: its versions are now ${leaves.join(', ')}`);
      }
      const current = this.statements.currentVersionId.get(resourceType, id)!;
      const stored = this.writeVersion(resourceType, id, resource, leaves, 'PUT', current.vseq);
      this.settleCurrent(resourceType, id, stored.versionId);
      return stored;
    });
  }

  private insertReplica(replica: ReplicaVersion): ReplicaResult {
    const { resourceType, id, versionId } = replica;
    // The body as its origin made it; the local stamp only orders this node's change log and default search order.
    const json = JSON.stringify(replica.resource);
    const lastUpdated = this.nextStamp();
    const method = replica.parents.length === 0 ? 'POST' : 'PUT';
    const { lastInsertRowid } = this.statements.insertReplica.run(versionId, resourceType, id, JSON.stringify(replica.parents), replica.origin, lastUpdated, method, json, replica.receivedFrom ?? null);
    const vseq = Number(lastInsertRowid);
    this.statements.appendChange.run(vseq, resourceType);
    const stored = { resourceType, id, versionId, lastUpdated, json, vseq };
    if (!this.statements.currentVersionId.get(resourceType, id)) {
      // The resource's first version here (the common case of an initial sync): its only leaf, current at once.
      this.makeCurrent(resourceType, id, { vseq, lastUpdated, resource: replica.resource });
      return { outcome: 'created', stored, first: true };
    }
    const leaves = this.settleCurrent(resourceType, id);
    return { outcome: leaves.length > 1 && leaves.includes(versionId) ? 'conflict' : 'created', stored };
  }

  private versionLinks(resourceType: string, id: string): Array<{ versionId: string; parents: string[] }> {
    return this.statements.versionLinks.all(resourceType, id).map((row) => ({ versionId: row.version_id, parents: JSON.parse(row.parent_ids) as string[] }));
  }

  /**
   * Points the resource at the winner of its leaves and records whether it is in conflict. `written`: the version
   * this write just made current, whose index rows are already there.
   */
  private settleCurrent(resourceType: string, id: string, written?: string): string[] {
    const leaves = this.leaves(resourceType, id);
    if (leaves.length > 1) this.conflicts.open(resourceType, id);
    else this.conflicts.close(resourceType, id);
    const rows = leaves.map((leaf) => this.statements.leaf.get(leaf)!);
    const winner =
      rows.length === 1
        ? rows[0]
        : winnerOf(
            rows.map((row) => {
              const resource = JSON.parse(row.body) as JsonObject;
              return { ...row, versionId: row.version_id, archived: isArchived(resource), lastUpdated: String((resource.meta as JsonObject).lastUpdated) };
            }),
          );
    const current = this.statements.currentVersionId.get(resourceType, id);
    if (winner.version_id === (written ?? current?.version_id)) return leaves;
    this.makeCurrent(resourceType, id, { vseq: winner.vseq, lastUpdated: winner.last_updated, resource: JSON.parse(winner.body) as JsonObject }, current?.vseq);
    return leaves;
  }

  /**
   * Calls `listener` whenever a resource of the type gets a new current version, however it came (API, import, sync,
   * a conflict's winner moving): for what is computed from the current versions of several resources.
   */
  onCurrent(resourceType: string, listener: CurrentListener): void {
    this.currentListeners.set(resourceType, [...(this.currentListeners.get(resourceType) ?? []), listener]);
  }

  /** Moves the current-version pointer (and counts a new resource). */
  private pointCurrent(resourceType: string, id: string, vseq: number, lastUpdated: string, replacedVseq: number | undefined): void {
    if (replacedVseq !== undefined) {
      this.statements.updateCurrent.run(vseq, lastUpdated, resourceType, id);
      return;
    }
    this.statements.insertCurrent.run(resourceType, id, vseq, lastUpdated);
    if (this.createdInBatch) this.createdInBatch.set(resourceType, (this.createdInBatch.get(resourceType) ?? 0) + 1);
    else this.statements.countCreated.run(resourceType, 1);
  }

  /** Points a resource at one of its stored versions, whose index rows replace those of the version it replaces. */
  private makeCurrent(resourceType: string, id: string, version: { vseq: number; lastUpdated: string; resource: JsonObject }, replacedVseq?: number): void {
    this.pointCurrent(resourceType, id, version.vseq, version.lastUpdated, replacedVseq);
    this.searchIndex.write(version.vseq, version.resource, replacedVseq);
    const listeners = this.currentListeners.get(resourceType);
    // They read the index (a listener searches, a SearchParameter reindexes): the rows of a batch go in first.
    if (listeners || resourceType === 'SearchParameter') this.searchIndex.insertDeferred();
    if (resourceType === 'SearchParameter') this.applyCustomParameters();
    if (listeners) for (const listener of listeners) listener(id, version.resource);
  }

  /**
   * After a SearchParameter write, inside its transaction: the custom definitions in force follow the store, and
   * the resources of every base type whose parameters changed are indexed again.
   */
  private applyCustomParameters(): void {
    const previous = this.parameters.definitions;
    const before = previous.custom;
    const after = this.parameters.stored();
    const key = (definition: SearchParameterDefinition) => JSON.stringify(definition);
    const kept = new Set(before.map(key));
    const changed = [...before.filter((definition) => !after.some((other) => key(other) === key(definition))), ...after.filter((definition) => !kept.has(key(definition)))];
    if (changed.length === 0) return;
    const bases = new Set(changed.flatMap((definition) => definition.base));
    const types = bases.has('Resource') || bases.has('DomainResource') ? this.storedTypes() : [...bases];
    this.parameters.use(SearchParameters.withCustom(after));
    try {
      reindexTypes(this.db, this.searchIndex, types);
    } catch (error) {
      this.parameters.use(previous);
      throw error;
    }
  }

  private storedTypes(): string[] {
    return (this.db.prepare('SELECT DISTINCT resource_type FROM resources').all() as Array<{ resource_type: string }>).map((row) => row.resource_type);
  }

  /** The body of update(), inside its transaction. */
  private updateVersion(
    resourceType: string,
    id: string,
    write: (parents: string[], replacedVseq: number | undefined) => StoredResource,
    ifMatch?: string,
  ): WriteResult {
    const current = this.statements.currentForUpdate.get(resourceType, id);
    if (ifMatch !== undefined && current?.version_id !== ifMatch) {
      throw preconditionFailed('version-mismatch', 
        current
          ? `${resourceType}/${id} is at version ${current.version_id}, not ${ifMatch} (If-Match)`
          : `${resourceType}/${id} does not exist, so it cannot match version ${ifMatch} (If-Match)`,
      );
    }
    const parents = current ? [current.version_id] : [];
    const stored = write(parents, current?.vseq);
    // An edit of one branch of a conflict leaves the conflict open: the winner rule still picks the current version.
    if (current?.in_conflict) this.settleCurrent(resourceType, id, stored.versionId);
    return { stored, created: !current };
  }

  private writeVersion(
    resourceType: string,
    id: string,
    resource: JsonObject,
    parents: string[],
    method: 'POST' | 'PUT',
    replacedVseq?: number,
  ): StoredResource {
    checkWrite(resourceType, resource);
    const versionId = uuidv7();
    const lastUpdated = this.nextStamp();
    const { resourceType: _type, id: _id, meta, ...rest } = resource;
    const stored = {
      resourceType,
      id,
      // The conflict tags are the node's answer (fhir/conflict-tags.ts): a client that sends them back does not store them.
      meta: { ...(isJson(meta) ? withoutConflictTags(meta) : {}), versionId, lastUpdated },
      ...rest,
    };
    const json = JSON.stringify(stored);
    const vseq = this.appendVersion(resourceType, id, versionId, lastUpdated, json, parents, method);
    this.makeCurrent(resourceType, id, { vseq, lastUpdated, resource: stored }, replacedVseq);
    return { resourceType, id, versionId, lastUpdated, json };
  }

  private writePreparedVersion(prepared: PreparedWrite, parents: string[], replacedVseq: number | undefined): StoredResource {
    const { resourceType, id } = prepared;
    const versionId = uuidv7();
    const lastUpdated = this.nextStamp();
    const json = preparedJson(prepared, { versionId, lastUpdated });
    const vseq = this.appendVersion(resourceType, id, versionId, lastUpdated, json, parents, 'PUT');
    this.pointCurrent(resourceType, id, vseq, lastUpdated, replacedVseq);
    this.searchIndex.writeRows(resourceType, vseq, prepared.rows, replacedVseq);
    const listeners = this.currentListeners.get(resourceType);
    if (listeners) {
      this.searchIndex.insertDeferred();
      for (const listener of listeners) listener(id, JSON.parse(json) as JsonObject);
    }
    return { resourceType, id, versionId, lastUpdated, json };
  }

  /** Stores a version made here and logs the change; returns its vseq. */
  private appendVersion(resourceType: string, id: string, versionId: string, lastUpdated: string, json: string, parents: string[], method: 'POST' | 'PUT'): number {
    const { lastInsertRowid } = this.statements.insertVersion.run(versionId, resourceType, id, JSON.stringify(parents), this.nodeId, lastUpdated, method, json);
    const vseq = Number(lastInsertRowid);
    this.statements.appendChange.run(vseq, resourceType);
    return vseq;
  }

  /** max(now, last stamp issued): ISO instants in UTC with milliseconds compare as text. */
  private nextStamp(): string {
    const ms = Date.now();
    if (ms === this.lastStampMs) return this.lastStamp;
    this.lastStampMs = ms;
    const now = new Date(ms).toISOString();
    if (now > this.lastStamp) this.lastStamp = now;
    return this.lastStamp;
  }
}


/** What a replicated version must be whatever this build's model says: ids, parents, origin and meta that agree. */
function checkReplica(replica: ReplicaVersion): void {
  const { resource } = replica;
  if (!isValidId(replica.id)) throw badRequest('replica-invalid', `'${replica.id}' is not a valid resource id`);
  if (!isValidId(replica.versionId)) throw badRequest('replica-invalid', `'${replica.versionId}' is not a valid version id`);
  if (!Array.isArray(replica.parents) || !replica.parents.every((parent) => typeof parent === 'string' && isValidId(parent))) throw badRequest('replica-invalid', `The parents of version ${replica.versionId} must be version ids`);
  if (typeof replica.origin !== 'string' || replica.origin === '') throw badRequest('replica-invalid', `Version ${replica.versionId} has no origin node`);
  if (!isJson(resource) || resource.resourceType !== replica.resourceType || resource.id !== replica.id) {
    throw badRequest('replica-invalid', `Version ${replica.versionId} is not a ${replica.resourceType}/${replica.id}`);
  }
  const meta = resource.meta;
  if (!isJson(meta) || meta.versionId !== replica.versionId || typeof meta.lastUpdated !== 'string' || Number.isNaN(Date.parse(meta.lastUpdated))) {
    throw badRequest('replica-invalid', `Version ${replica.versionId} needs meta.versionId and meta.lastUpdated as its origin stored them`);
  }
  refuseWriteOnly(replica.resourceType, resource);
}
