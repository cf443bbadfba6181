import { setImmediate as nextTurn } from 'node:timers/promises';
import { FhirError } from '../fhir/outcome';
import type { SearchParameters } from '../fhir/search/parameters';
import { preparedJson } from '../store/prepared-write';
import type { Repository } from '../store/repository';
import { keyOf, type MappedResource } from './activity-preparer';
import type { Resource } from './person-resources';
import { mailboxesIn, withMailboxes } from './mailboxes';
import { sameContent } from './same-content';

/**
 * Writes directory resources through the repository, a new version only for what changed: the resource an import
 * computes is compared with the current version (meta aside) and skipped when equal. Many resources share one
 * transaction (`flush`): a commit per resource would cost more than all the rest. But a transaction holds the node's
 * event loop and its connection, so none lasts much more than SLICE_MS (WRITING_SLICE_MS when it mostly writes): a search
 * waits that long at most.
 */

export type Outcome = 'created' | 'updated' | 'unchanged' | 'archived';
/** `invalid`: resources the repository refused (validation); the others of the batch are written all the same. */
export type TypeCounts = Record<Outcome | 'invalid', number>;

/** What to store given the current version's JSON (undefined: none); returning undefined leaves it as it is. */
export type Change = (currentJson: string | undefined) => Resource | undefined;

type Key = { resourceType: string; id: string };
type Pending = (Key & { change: Change; outcome?: Outcome }) | { mapped: MappedResource; preparedUnder: SearchParameters };

const emptyCounts = (): TypeCounts => ({ created: 0, updated: 0, unchanged: 0, archived: 0, invalid: 0 });
const MAX_FAILURES_KEPT = 100;
/**
 * A transaction's length, in ms, before it commits and the event loop gets a turn: one that mostly compared (the daily
 * re-import: most resources unchanged) ends after SLICE_MS; one that mostly wrote after WRITING_SLICE_MS, since every
 * commit writes the index pages it dirtied to the WAL again (5 ms slices made a first import's writes 30–50 % dearer in
 * CPU, and twice as long). A chunk's or a batch's 2,000 resources in one transaction held searches up to a second.
 */
export const SLICE_MS = 5;
export const WRITING_SLICE_MS = 25;

export class ImportBatch {
  readonly counts: Record<string, TypeCounts> = {};
  /** The first refused resources and why. */
  readonly failures: string[] = [];
  private pending: Pending[] = [];
  /** Versions written so far (a transaction that mostly writes lasts longer: WRITING_SLICE_MS). */
  private stored = 0;

  constructor(private readonly repository: Repository) {}

  /** Queues a write; it happens at the next flush. */
  put(resourceType: string, id: string, change: Change, outcome?: Outcome): void {
    this.pending.push({ resourceType, id, change, outcome });
  }

  /**
   * Queues the write of a resource of the activity import's thread (activity-preparer.ts), prepared under
   * `preparedUnder` (the definitions in force when the thread started). The MSSanté import owns the mailboxes: a new
   * version keeps those of the current one.
   */
  putMapped(mapped: MappedResource, preparedUnder: SearchParameters): void {
    this.pending.push({ mapped, preparedUnder });
  }

  /** Counts resources the import thread found unchanged (activity-preparer.ts): nothing to write for them. */
  countUnchanged(unchanged: Partial<Record<string, number>>): void {
    for (const [resourceType, count] of Object.entries(unchanged)) (this.counts[resourceType] ??= emptyCounts()).unchanged += count ?? 0;
  }

  get queued(): number {
    return this.pending.length;
  }

  /**
   * Writes what is queued, in transactions of about SLICE_MS (or WRITING_SLICE_MS) each with a turn of the event loop
   * between them. Each
   * reads the current versions it compares with inside it, so a write of the node between two is never undone. They
   * search nothing, so their index rows go in at their end (Repository.bulk).
   */
  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    for (let next = 0; next < batch.length; ) {
      if (next > 0) await nextTurn();
      const started = performance.now();
      const [first, storedBefore] = [next, this.stored];
      // Mostly writing (a first import), not mostly comparing (a daily one, whose few changes are spread out).
      const writing = () => (this.stored - storedBefore) * 2 > next - first;
      this.repository.bulk(() => {
        do this.write(batch[next++]);
        while (next < batch.length && performance.now() - started < (writing() ? WRITING_SLICE_MS : SLICE_MS));
      });
    }
  }

  private write(write: Pending): void {
    const key = 'mapped' in write ? keyOf(write.mapped) : write;
    const counts = (this.counts[key.resourceType] ??= emptyCounts());
    const current = this.repository.read(key.resourceType, key.id)?.json;
    if ('mapped' in write) this.writeMapped(key, this.stillPrepared(write), current, counts);
    else this.writeChange(key, write.change(current), current, counts, write.outcome);
  }

  /** A SearchParameter written since the thread prepared the resource changes its index rows: the repository then makes them. */
  private stillPrepared({ mapped, preparedUnder }: { mapped: MappedResource; preparedUnder: SearchParameters }): MappedResource {
    if (!('prepared' in mapped) || this.repository.definitions === preparedUnder) return mapped;
    return { unprepared: JSON.parse(preparedJson(mapped.prepared)) as Resource };
  }

  /**
   * A resource of the import thread. Prepared and new to the store, it is stored as it is. One the store has is
   * compared as text and stored if it differs, prepared still, unless the current version has mailboxes to keep:
   * then, like one the thread's checks refused, it is written as any other change.
   */
  private writeMapped(target: Key, mapped: MappedResource, current: string | undefined, counts: TypeCounts): void {
    if ('prepared' in mapped && current === undefined) {
      this.store(counts, target, 'created', () => this.repository.writePrepared(mapped.prepared));
      return;
    }
    const json = 'prepared' in mapped ? preparedJson(mapped.prepared) : 'existing' in mapped ? mapped.existing.json : undefined;
    const mailboxes = mailboxesIn(current);
    if (json === undefined || mailboxes.length > 0) {
      const given = json === undefined ? (mapped as { unprepared: Resource }).unprepared : (JSON.parse(json) as Resource);
      this.writeChange(target, mailboxes.length > 0 ? withMailboxes(given, mailboxes) : given, current, counts);
      return;
    }
    if (current !== undefined && sameContent(current, json)) {
      counts.unchanged++;
      return;
    }
    this.store(counts, target, current !== undefined ? 'updated' : 'created', () =>
      'prepared' in mapped ? this.repository.writePrepared(mapped.prepared) : this.repository.update(target.resourceType, target.id, JSON.parse(json) as Resource),
    );
  }

  /** Writes `resource` unless the current version holds it already. */
  private writeChange({ resourceType, id }: Key, resource: Resource | undefined, current: string | undefined, counts: TypeCounts, outcome?: Outcome): void {
    if (!resource) return;
    if (current !== undefined && sameContent(current, resource)) {
      counts.unchanged++;
      return;
    }
    this.store(counts, { resourceType, id }, outcome ?? (current !== undefined ? 'updated' : 'created'), () => this.repository.update(resourceType, id, resource));
  }

  /** Runs a write; one the repository refuses is counted and kept among the failures, and the batch goes on. */
  private store(counts: TypeCounts, { resourceType, id }: Key, outcome: Outcome, write: () => unknown): void {
    try {
      write();
    } catch (error) {
      // Validation runs before the repository writes anything, so a refusal leaves the transaction clean.
      if (!(error instanceof FhirError)) throw error;
      counts.invalid++;
      if (this.failures.length < MAX_FAILURES_KEPT) this.failures.push(`${resourceType}/${id}: ${error.located}`);
      return;
    }
    counts[outcome]++;
    this.stored++;
  }
}
