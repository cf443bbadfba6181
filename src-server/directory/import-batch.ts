import { FhirError } from '../fhir/outcome';
import { preparedJson } from '../store/prepared-write';
import type { Repository } from '../store/repository';
import { keyOf, type MappedResource } from './activity-preparer';
import type { Resource } from './person-resources';
import { mailboxesIn, withMailboxes } from './mailboxes';
import { sameContent } from './same-content';

/**
 * Writes directory resources through the repository, a new version only for what changed: the resource an import
 * computes is compared with the current version (meta aside) and skipped when equal. Many resources share one
 * transaction (`flush`): a commit per resource would cost more than all the rest.
 */

export type Outcome = 'created' | 'updated' | 'unchanged' | 'archived';
/** `invalid`: resources the repository refused (validation); the others of the batch are written all the same. */
export type TypeCounts = Record<Outcome | 'invalid', number>;

/** What to store given the current version's JSON (undefined: none); returning undefined leaves it as it is. */
export type Change = (currentJson: string | undefined) => Resource | undefined;

type Key = { resourceType: string; id: string };
type Pending = (Key & { change: Change; outcome?: Outcome }) | { mapped: MappedResource };

const emptyCounts = (): TypeCounts => ({ created: 0, updated: 0, unchanged: 0, archived: 0, invalid: 0 });
const MAX_FAILURES_KEPT = 100;

export class ImportBatch {
  readonly counts: Record<string, TypeCounts> = {};
  /** The first refused resources and why. */
  readonly failures: string[] = [];
  private pending: Pending[] = [];

  constructor(private readonly repository: Repository) {}

  /** Queues a write; it happens at the next flush. */
  put(resourceType: string, id: string, change: Change, outcome?: Outcome): void {
    this.pending.push({ resourceType, id, change, outcome });
  }

  /**
   * Queues the write of a resource of the activity import's thread (activity-preparer.ts). The MSSanté import owns
   * the mailboxes: a new version keeps those of the current one.
   */
  putMapped(mapped: MappedResource): void {
    this.pending.push({ mapped });
  }

  get queued(): number {
    return this.pending.length;
  }

  /**
   * Writes what is queued in one transaction (synchronous: no other write of the process can slip inside it). It
   * searches nothing, so its index rows go in at its end (Repository.bulk).
   */
  flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.repository.bulk(() => {
      for (const write of batch) this.write(write);
    });
  }

  private write(write: Pending): void {
    const key = 'mapped' in write ? keyOf(write.mapped) : write;
    const counts = (this.counts[key.resourceType] ??= emptyCounts());
    const current = this.repository.read(key.resourceType, key.id)?.json;
    if ('mapped' in write) this.writeMapped(key, write.mapped, current, counts);
    else this.writeChange(key, write.change(current), current, counts, write.outcome);
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
  }
}
