import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/database';
import { FlexIndexes } from './flex-indexes';
import { NotIndexed } from './not-indexed';
import { textDocument, TEXT_TYPES } from '../fhir/search/text-fields';
import { arrayOf, type Json } from '../fhir/json';

/**
 * Follows the change log into the FlexSearch indexes, from a cursor (the last change-log sequence applied).
 *
 * Applying a change is idempotent, so replaying from an older cursor (after a crash) changes nothing in effect:
 * the resource's earlier versions are removed, and its version is added only if it is still the current one (a
 * later change adds the later version). A PractitionerRole or an Organization change also re-derives the
 * practitioners whose `name` holds the cities they work in.
 *
 * A change that fails is recorded in `notIndexed` and skipped: one resource must not stop the index. An error
 * that cannot be caught (out of memory) stops the thread instead; `indexing` then holds the version it was on, which
 * the next thread is given in `fatal` so that it leaves that version out rather than die again (text-index.ts).
 */

const BATCH = 2000;
const SITE_CACHE_SIZE = 4096;


interface Change {
  seq: number;
  vseq: number;
  resource_type: string;
  resource_id: string;
  last_updated: string;
  parent_ids: string;
  body: string;
  /** The resource's current version now (null: none). */
  current_vseq: number | null;
}

export interface AppliedBatch {
  count: number;
  /** lastUpdated (epoch ms) of each change applied, to measure the lag. */
  stamps: number[];
}

export interface IndexerSafety {
  /** Where the vseq being indexed is written (0 between versions): shared with the thread's parent. */
  indexing?: Uint32Array;
  /** Versions that stopped an earlier thread, and how: recorded as not indexed rather than tried again. */
  fatal?: ReadonlyMap<number, string>;
}

export class TextIndexer {
  readonly indexes = new FlexIndexes();
  readonly notIndexed = new NotIndexed();
  cursor: number;
  private readonly indexing: Uint32Array;
  private readonly fatal: ReadonlyMap<number, string>;
  private readonly changesAfter: Statement<[number, number], Change>;
  private readonly earlierVersions: Statement<[string, string, number], { vseq: number }>;
  private readonly current: Statement<[string, string], { vseq: number; body: string }>;
  private readonly paramId: Statement<[string, string], { pid: number }>;
  private readonly versionBody: Statement<[number], string>;
  private readonly sitesOf: Statement<[number, number, string, number], string>;
  private readonly latest: Statement<[], number>;
  private readonly firstPending: Statement<[number], string>;
  private readonly practitionersAtSite: Statement<[number, number, string], string>;
  private readonly pids = new Map<string, number>();
  /** Cities of the sites looked up lately (Organization id → cities): an import reads the same sites again and again. */
  private siteCities = new Map<string, string[]>();

  constructor(db: Db, cursor = 0, safety: IndexerSafety = {}) {
    this.cursor = cursor;
    this.indexing = safety.indexing ?? new Uint32Array(1);
    this.fatal = safety.fatal ?? new Map();
    this.changesAfter = db.prepare(
      `SELECT c.seq, c.vseq, v.resource_type, v.resource_id, v.last_updated, v.parent_ids, v.body, r.vseq AS current_vseq
       FROM change_log c JOIN resource_versions v ON v.vseq = c.vseq
       LEFT JOIN resources r ON r.resource_type = v.resource_type AND r.resource_id = v.resource_id
       WHERE c.seq > ? ORDER BY c.seq LIMIT ?`,
    );
    this.earlierVersions = db.prepare('SELECT vseq FROM resource_versions WHERE resource_type = ? AND resource_id = ? AND vseq < ?');
    this.current = db.prepare(
      'SELECT r.vseq, v.body FROM resources r JOIN resource_versions v ON v.vseq = r.vseq WHERE r.resource_type = ? AND r.resource_id = ?',
    );
    this.paramId = db.prepare('SELECT pid FROM search_params WHERE resource_type = ? AND code = ?');
    this.versionBody = db.prepare<[number], string>('SELECT body FROM resource_versions WHERE vseq = ?').pluck();
    this.latest = db.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM change_log').pluck();
    this.firstPending = db
      .prepare<[number], string>('SELECT v.last_updated FROM change_log c JOIN resource_versions v ON v.vseq = c.vseq WHERE c.seq > ? ORDER BY c.seq LIMIT 1')
      .pluck();
    this.sitesOf = db
      .prepare<[number, number, string, number], string>(
        // From the index rows of the practitioner's current roles, without reading their bodies; CROSS JOIN: the
        // practitioner's rows first (lookup index), then each role's organization row by its key.
        `SELECT o.target_id FROM idx_reference p CROSS JOIN idx_reference o ON o.vseq = p.vseq AND o.pid = ? AND o.target_type = 'Organization'
         WHERE p.pid = ? AND p.target_id = ? AND p.target_type = 'Practitioner'
         AND NOT EXISTS (SELECT 1 FROM idx_token a WHERE a.vseq = p.vseq AND a.pid = ? AND a.code = 'false')`,
      )
      .pluck();
    this.practitionersAtSite = db
      .prepare<[number, number, string], string>(
        // CROSS JOIN: the site's role rows first (lookup index), then each role's practitioner row by its key;
        // without statistics SQLite walked every practitioner row instead (1.4 ms a change).
        `SELECT DISTINCT p.target_id FROM idx_reference o CROSS JOIN idx_reference p ON p.vseq = o.vseq AND p.pid = ?
         WHERE o.pid = ? AND o.target_id = ? AND o.target_type = 'Organization' AND p.target_type = 'Practitioner'`,
      )
      .pluck();
  }

  /** The last change-log sequence committed. */
  latestSeq(): number {
    return this.latest.get() as number;
  }

  /** lastUpdated (epoch ms) of the oldest change not applied yet, if any. */
  oldestPending(): number | undefined {
    const stamp = this.firstPending.get(this.cursor) as string | undefined;
    return stamp === undefined ? undefined : Date.parse(stamp);
  }

  /** Applies the next batch of changes; count 0 when caught up. */
  applyNext(limit = BATCH): AppliedBatch {
    const changes = this.changesAfter.all(this.cursor, limit);
    const stamps: number[] = [];
    // Practitioners whose work cities may have changed, re-derived once per batch (an import changes a
    // practitioner, their roles and their sites together).
    const rederive = new Set<string>();
    for (const change of changes) {
      try {
        this.apply(change, rederive);
        // A PractitionerRole whose change failed before is through now; the indexed types leave the record when put.
        if (!TEXT_TYPES.has(change.resource_type)) this.notIndexed.indexed(change.resource_type, change.resource_id);
      } catch (error) {
        this.notIndexed.record(change.resource_type, change.resource_id, change.vseq, reasonOf(error));
      }
      stamps.push(Date.parse(change.last_updated));
      this.cursor = change.seq;
    }
    for (const practitioner of rederive) this.reindex('Practitioner', practitioner);
    if (changes.length === 0) this.indexes.sweepWhenIdle();
    return { count: changes.length, stamps };
  }

  private apply(change: Change, rederive: Set<string>): void {
    const { resource_type: type, resource_id: id } = change;
    if (TEXT_TYPES.has(type)) {
      // The common case, a version still current: indexed from the change itself, without looking anything up
      // (nor earlier versions, for a creation).
      if (type === 'Practitioner') rederive.add(id);
      else if (change.current_vseq === change.vseq) this.put(type, id, change.vseq, change.body, change.parent_ids !== '[]');
      else this.reindex(type, id);
    }
    if (type === 'PractitionerRole') {
      // The practitioners the role names now and named before: their cities may have changed.
      for (const practitioner of practitionerIds(JSON.parse(change.body) as Json)) rederive.add(practitioner);
      const earlier = this.previousBody(change);
      if (earlier) for (const practitioner of practitionerIds(earlier)) rederive.add(practitioner);
    }
    if (type === 'Organization') {
      this.siteCities.delete(id);
      // Only when its cities changed: a site's new phone or mailbox says nothing about where its people work.
      if (citiesOf(JSON.parse(change.body) as Json).join('|') !== citiesOf(this.previousBody(change)).join('|')) {
        for (const practitioner of this.practitionersAt(id)) rederive.add(practitioner);
      }
    }
  }

  /** The version a change replaced, parsed (undefined for a creation). */
  private previousBody(change: Change): Json | undefined {
    if (change.parent_ids === '[]') return undefined;
    const earlier = this.earlierVersions.all(change.resource_type, change.resource_id, change.vseq).pop();
    const body = earlier && (this.versionBody.get(earlier.vseq) as string | undefined);
    return body ? (JSON.parse(body) as Json) : undefined;
  }

  /**
   * Replaces whatever was indexed of a resource by its current version. Every other version goes, not only earlier
   * ones: sync may make an older version current again (the winner of a conflict, docs/sync.md).
   */
  private reindex(type: string, id: string): void {
    for (const version of this.earlierVersions.all(type, id, Number.MAX_SAFE_INTEGER)) this.indexes.remove(version.vseq);
    const current = this.current.get(type, id);
    if (current) this.put(type, id, current.vseq, current.body, false);
  }

  /**
   * Indexes the current version `vseq` of a resource, after removing what its earlier versions left (if it has any).
   * A version that fails is left out, and recorded.
   */
  private put(type: string, id: string, vseq: number, body: string, hasEarlier: boolean): void {
    if (hasEarlier) for (const earlier of this.earlierVersions.all(type, id, vseq)) this.indexes.remove(earlier.vseq);
    const fatal = this.fatal.get(vseq);
    if (fatal !== undefined) {
      this.indexes.remove(vseq);
      this.notIndexed.record(type, id, vseq, fatal);
      return;
    }
    this.indexing[0] = vseq;
    try {
      // Replayed after a crash, the same version may already be in: `put` replaces it, it does not add it twice.
      this.indexes.put(type, vseq, textDocument(JSON.parse(body) as Json, type === 'Practitioner' ? this.workCities(id) : []));
      this.notIndexed.indexed(type, id);
    } catch (error) {
      this.indexes.remove(vseq);
      this.notIndexed.record(type, id, vseq, reasonOf(error));
    } finally {
      this.indexing[0] = 0;
    }
  }

  /** Cities of the Organizations of a practitioner's active roles. */
  private workCities(practitionerId: string): string[] {
    const practitionerPid = this.pid('PractitionerRole', 'practitioner');
    const organizationPid = this.pid('PractitionerRole', 'organization');
    const activePid = this.pid('PractitionerRole', 'active') ?? -1;
    if (practitionerPid === undefined || organizationPid === undefined) return [];
    return this.sitesOf.all(organizationPid, practitionerPid, practitionerId, activePid).flatMap((site) => this.citiesOfSite(site));
  }

  private citiesOfSite(organizationId: string): string[] {
    let cities = this.siteCities.get(organizationId);
    if (cities === undefined) {
      const body = this.current.get('Organization', organizationId)?.body;
      cities = body ? citiesOf(JSON.parse(body) as Json) : [];
      // Bounded: cleared rather than kept for a national directory's every site.
      if (this.siteCities.size >= SITE_CACHE_SIZE) this.siteCities = new Map();
      this.siteCities.set(organizationId, cities);
    }
    return cities;
  }

  /** Practitioners with a role at an Organization. */
  private practitionersAt(organizationId: string): string[] {
    const organizationPid = this.pid('PractitionerRole', 'organization');
    const practitionerPid = this.pid('PractitionerRole', 'practitioner');
    if (organizationPid === undefined || practitionerPid === undefined) return [];
    return this.practitionersAtSite.all(practitionerPid, organizationPid, organizationId);
  }

  /** A parameter's id, once the index has one (it is made on first use, by the writer). */
  private pid(type: string, code: string): number | undefined {
    const key = `${type}.${code}`;
    let pid = this.pids.get(key);
    if (pid === undefined) {
      pid = this.paramId.get(type, code)?.pid;
      if (pid !== undefined) this.pids.set(key, pid);
    }
    return pid;
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A site's cities (none for no site). */
function citiesOf(organization: Json | undefined): string[] {
  return arrayOf(organization?.address)
    .map((address) => (address as Json).city)
    .filter((city): city is string => typeof city === 'string');
}

function practitionerIds(role: Json): string[] {
  const id = referencedId(role.practitioner, 'Practitioner');
  return id ? [id] : [];
}

/** `Type/id` (relative, or absolute ending so) → id. */
function referencedId(value: unknown, type: string): string | undefined {
  const reference = (value as Json | undefined)?.reference;
  if (typeof reference !== 'string') return undefined;
  const match = new RegExp(`(?:^|/)${type}/([A-Za-z0-9\\-.]{1,64})(?:/_history/.*)?$`).exec(reference);
  return match?.[1];
}

