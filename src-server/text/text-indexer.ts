import type { Statement } from 'better-sqlite3';
import type { Db } from '../storage/database';
import { FlexIndexes } from './flex-indexes';
import { textDocument, TEXT_TYPES } from './text-fields';

/**
 * Follows the change log into the FlexSearch indexes, from a cursor (the last change-log sequence applied).
 *
 * Applying a change is idempotent, so replaying from an older cursor (after a crash) changes nothing in effect:
 * the resource's earlier versions are removed, and its version is added only if it is still the current one (a
 * later change adds the later version). A PractitionerRole or an Organization change also re-derives the
 * practitioners whose `name` holds the cities they work in.
 */

const BATCH = 2000;

type Json = Record<string, unknown>;

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

export class TextIndexer {
  readonly indexes = new FlexIndexes();
  cursor: number;
  private readonly changesAfter: Statement<[number, number], Change>;
  private readonly earlierVersions: Statement<[string, string, number], { vseq: number }>;
  private readonly current: Statement<[string, string], { vseq: number; body: string }>;
  private readonly paramId: Statement<[string, string], { pid: number }>;
  private readonly pids = new Map<string, number>();

  constructor(
    private readonly db: Db,
    cursor = 0,
  ) {
    this.cursor = cursor;
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
  }

  /** The last change-log sequence committed. */
  latestSeq(): number {
    return (this.db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM change_log').get() as { seq: number }).seq;
  }

  /** lastUpdated (epoch ms) of the oldest change not applied yet, if any. */
  oldestPending(): number | undefined {
    const row = this.db
      .prepare('SELECT v.last_updated FROM change_log c JOIN resource_versions v ON v.vseq = c.vseq WHERE c.seq > ? ORDER BY c.seq LIMIT 1')
      .get(this.cursor) as { last_updated: string } | undefined;
    return row && Date.parse(row.last_updated);
  }

  /** Applies the next batch of changes; count 0 when caught up. */
  applyNext(limit = BATCH): AppliedBatch {
    const changes = this.changesAfter.all(this.cursor, limit);
    const stamps: number[] = [];
    for (const change of changes) {
      this.apply(change);
      stamps.push(Date.parse(change.last_updated));
      this.cursor = change.seq;
    }
    return { count: changes.length, stamps };
  }

  private apply(change: Change): void {
    const { resource_type: type, resource_id: id } = change;
    if (TEXT_TYPES.has(type)) {
      // The common case, a version still current: indexed from the change itself, without looking anything up
      // (nor earlier versions, for a creation).
      if (change.current_vseq === change.vseq) this.put(type, id, change.vseq, change.body, change.parent_ids !== '[]');
      else this.reindex(type, id);
    }
    if (type === 'PractitionerRole') {
      // The practitioners the role names now and named before: their cities may have changed.
      const practitioners = new Set(practitionerIds(JSON.parse(change.body) as Json));
      for (const earlier of this.earlierVersions.all(type, id, change.vseq).slice(-1)) {
        const body = this.db.prepare('SELECT body FROM resource_versions WHERE vseq = ?').pluck().get(earlier.vseq) as string;
        for (const practitioner of practitionerIds(JSON.parse(body) as Json)) practitioners.add(practitioner);
      }
      for (const practitioner of practitioners) this.reindex('Practitioner', practitioner);
    }
    if (type === 'Organization') for (const practitioner of this.practitionersAt(id)) this.reindex('Practitioner', practitioner);
  }

  /** Replaces whatever was indexed of a resource by its current version. */
  private reindex(type: string, id: string): void {
    const current = this.current.get(type, id);
    if (current) this.put(type, id, current.vseq, current.body, true);
    else for (const earlier of this.earlierVersions.all(type, id, Number.MAX_SAFE_INTEGER)) this.indexes.remove(type, earlier.vseq);
  }

  /** Indexes the current version `vseq` of a resource, after removing what its earlier versions left (if it has any). */
  private put(type: string, id: string, vseq: number, body: string, hasEarlier: boolean): void {
    if (hasEarlier) for (const earlier of this.earlierVersions.all(type, id, vseq)) this.indexes.remove(type, earlier.vseq);
    // Replayed after a crash, the same version may already be in: replaced, not added twice.
    this.indexes.remove(type, vseq);
    this.indexes.put(type, vseq, textDocument(JSON.parse(body) as Json, type === 'Practitioner' ? this.workCities(id) : []));
  }

  /** Cities of the Organizations of a practitioner's active roles. */
  private workCities(practitionerId: string): string[] {
    const pid = this.pid('PractitionerRole', 'practitioner');
    if (pid === undefined) return [];
    const roles = this.db
      .prepare(`SELECT v.body FROM idx_reference r JOIN resource_versions v ON v.vseq = r.vseq WHERE r.pid = ? AND r.target_id = ? AND r.target_type = 'Practitioner'`)
      .pluck()
      .all(pid, practitionerId) as string[];
    const cities: string[] = [];
    for (const text of roles) {
      const role = JSON.parse(text) as Json;
      if (role.active === false) continue;
      const organization = referencedId(role.organization, 'Organization');
      const body = organization && this.current.get('Organization', organization)?.body;
      if (!body) continue;
      for (const address of arrayOf((JSON.parse(body) as Json).address)) {
        const city = (address as Json).city;
        if (typeof city === 'string') cities.push(city);
      }
    }
    return cities;
  }

  /** Practitioners with a role at an Organization. */
  private practitionersAt(organizationId: string): string[] {
    const organizationPid = this.pid('PractitionerRole', 'organization');
    const practitionerPid = this.pid('PractitionerRole', 'practitioner');
    if (organizationPid === undefined || practitionerPid === undefined) return [];
    return this.db
      .prepare(
        `SELECT DISTINCT p.target_id FROM idx_reference o JOIN idx_reference p ON p.vseq = o.vseq
         WHERE o.pid = ? AND o.target_id = ? AND o.target_type = 'Organization' AND p.pid = ? AND p.target_type = 'Practitioner'`,
      )
      .pluck()
      .all(organizationPid, organizationId, practitionerPid) as string[];
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

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}
