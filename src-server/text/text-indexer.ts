import { ChangeLog, type ChangeAndCurrent } from '../store/change-log';
import type { Db } from '../store/database';
import { Workplaces } from '../store/directory-queries';
import { VersionReader } from '../store/version-reader';
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
 * practitioners whose `name` and `address` hold the cities and addresses of the sites they work at.
 *
 * A change that fails is recorded in `notIndexed` and skipped: one resource must not stop the index. An error
 * that cannot be caught (out of memory) stops the thread instead; `indexing` then holds the version it was on, which
 * the next thread is given in `fatal` so that it leaves that version out rather than die again (text-index.ts).
 */

const BATCH = 2000;
const SITE_CACHE_SIZE = 4096;

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
  private readonly changes: ChangeLog;
  private readonly versions: VersionReader;
  private readonly workplaces: Workplaces;
  /** Addresses of the sites looked up lately (Organization id → addresses): an import reads the same sites again and again. */
  private siteAddresses = new Map<string, unknown[]>();

  constructor(db: Db, cursor = 0, safety: IndexerSafety = {}) {
    this.cursor = cursor;
    this.indexing = safety.indexing ?? new Uint32Array(1);
    this.fatal = safety.fatal ?? new Map();
    this.changes = new ChangeLog(db);
    this.versions = new VersionReader(db);
    this.workplaces = new Workplaces(db);
  }

  /** The last change-log sequence committed. */
  latestSeq(): number {
    return this.changes.latestSeq();
  }

  /** lastUpdated (epoch ms) of the oldest change not applied yet, if any. */
  oldestPending(): number | undefined {
    const stamp = this.changes.firstStampAfter(this.cursor);
    return stamp === undefined ? undefined : Date.parse(stamp);
  }

  /** Applies the next batch of changes; count 0 when caught up. */
  applyNext(limit = BATCH): AppliedBatch {
    const changes = this.changes.afterWithCurrent(this.cursor, limit);
    const stamps: number[] = [];
    // Practitioners whose workplaces may have changed, re-derived once per batch (an import changes a
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

  private apply(change: ChangeAndCurrent, rederive: Set<string>): void {
    const { resource_type: type, resource_id: id } = change;
    if (TEXT_TYPES.has(type)) {
      // The common case, a version still current: indexed from the change itself, without looking anything up
      // (nor earlier versions, for a creation).
      if (type === 'Practitioner') rederive.add(id);
      else if (change.current_vseq === change.vseq) this.put(type, id, change.vseq, change.body, change.parent_ids !== '[]');
      else this.reindex(type, id);
    }
    if (type === 'PractitionerRole') {
      // The practitioners the role names now and named before: their workplaces may have changed.
      for (const practitioner of practitionerIds(JSON.parse(change.body) as Json)) rederive.add(practitioner);
      const earlier = this.previousBody(change);
      if (earlier) for (const practitioner of practitionerIds(earlier)) rederive.add(practitioner);
    }
    if (type === 'Organization') {
      this.siteAddresses.delete(id);
      // Only when its addresses changed: a site's new phone or mailbox says nothing about where its people work.
      if (JSON.stringify(addressesOf(JSON.parse(change.body) as Json)) !== JSON.stringify(addressesOf(this.previousBody(change)))) {
        for (const practitioner of this.workplaces.practitionersAt(id)) rederive.add(practitioner);
      }
    }
  }

  /** The version a change replaced, parsed (undefined for a creation). */
  private previousBody(change: ChangeAndCurrent): Json | undefined {
    if (change.parent_ids === '[]') return undefined;
    const earlier = this.versions.earlier(change.resource_type, change.resource_id, change.vseq).pop();
    const body = earlier !== undefined ? this.versions.body(earlier) : undefined;
    return body ? (JSON.parse(body) as Json) : undefined;
  }

  /**
   * Replaces whatever was indexed of a resource by its current version. Every other version goes, not only earlier
   * ones: sync may make an older version current again (the winner of a conflict, docs/sync.md).
   */
  private reindex(type: string, id: string): void {
    for (const vseq of this.versions.earlier(type, id, Number.MAX_SAFE_INTEGER)) this.indexes.remove(vseq);
    const current = this.versions.current(type, id);
    if (current) this.put(type, id, current.vseq, current.body, false);
  }

  /**
   * Indexes the current version `vseq` of a resource, after removing what its earlier versions left (if it has any).
   * A version that fails is left out, and recorded.
   */
  private put(type: string, id: string, vseq: number, body: string, hasEarlier: boolean): void {
    if (hasEarlier) for (const earlier of this.versions.earlier(type, id, vseq)) this.indexes.remove(earlier);
    const fatal = this.fatal.get(vseq);
    if (fatal !== undefined) {
      this.indexes.remove(vseq);
      this.notIndexed.record(type, id, vseq, fatal);
      return;
    }
    this.indexing[0] = vseq;
    try {
      // Replayed after a crash, the same version may already be in: `put` replaces it, it does not add it twice.
      this.indexes.put(type, vseq, textDocument(JSON.parse(body) as Json, type === 'Practitioner' ? this.workplaces.sitesOf(id).flatMap((site) => this.addressesOfSite(site)) : []));
      this.notIndexed.indexed(type, id);
    } catch (error) {
      this.indexes.remove(vseq);
      this.notIndexed.record(type, id, vseq, reasonOf(error));
    } finally {
      this.indexing[0] = 0;
    }
  }

  /** The addresses of an Organization where practitioners work. */
  private addressesOfSite(organizationId: string): unknown[] {
    let addresses = this.siteAddresses.get(organizationId);
    if (addresses === undefined) {
      const body = this.versions.current('Organization', organizationId)?.body;
      addresses = body ? addressesOf(JSON.parse(body) as Json) : [];
      // Bounded: cleared rather than kept for a national directory's every site.
      if (this.siteAddresses.size >= SITE_CACHE_SIZE) this.siteAddresses = new Map();
      this.siteAddresses.set(organizationId, addresses);
    }
    return addresses;
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A site's addresses (none for no site). */
function addressesOf(organization: Json | undefined): unknown[] {
  return arrayOf(organization?.address);
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

