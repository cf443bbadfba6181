import { FhirError } from '../fhir/outcome';
import { preparedJson, type PreparedWrite } from '../storage/prepared-write';
import type { Repository } from '../storage/repository';
import type { MappedResource } from './activity-mapper';
import type { Resource } from './map-activity';
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

type Pending = { resourceType: string; id: string } & ({ change: Change; outcome?: Outcome } | { mapped: MappedResource });

const emptyCounts = (): TypeCounts => ({ created: 0, updated: 0, unchanged: 0, archived: 0, invalid: 0 });
const MAX_FAILURES_KEPT = 100;

export class DirectoryWriter {
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
   * Queues the write of a resource of the activity import's thread (activity-mapper.ts). The MSSanté import owns
   * the mailboxes: a new version keeps those of the current one.
   */
  putMapped(mapped: MappedResource): void {
    const { resourceType, id } = 'prepared' in mapped ? mapped.prepared : 'existing' in mapped ? mapped.existing : mapped.unprepared;
    this.pending.push({ resourceType, id, mapped });
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
    const counts = (this.counts[write.resourceType] ??= emptyCounts());
    const current = this.repository.read(write.resourceType, write.id)?.json;
    if ('change' in write) this.writeChange(write, write.change(current), current, counts, write.outcome);
    else this.writeMapped(write, write.mapped, current, counts);
  }

  /**
   * A resource of the import thread. Prepared and new to the store, it is stored as it is. Otherwise it gets the
   * current version's mailboxes and is written if it differs (compared as text while there are no mailboxes, the
   * daily case), prepared still when the mailboxes left it as it was.
   */
  private writeMapped(target: { resourceType: string; id: string }, mapped: MappedResource, current: string | undefined, counts: TypeCounts): void {
    if ('prepared' in mapped && current === undefined) {
      this.store(counts, target, 'created', () => this.repository.writePrepared(mapped.prepared));
      return;
    }
    const json = 'prepared' in mapped ? preparedJson(mapped.prepared) : 'existing' in mapped ? mapped.existing.json : undefined;
    const mailboxes = mailboxesIn(current);
    if (current !== undefined && json !== undefined && mailboxes.length === 0 && sameContent(current, json)) {
      counts.unchanged++;
      return;
    }
    const given = json === undefined ? (mapped as { unprepared: Resource }).unprepared : (JSON.parse(json) as Resource);
    const resource = mailboxes.length > 0 ? withMailboxes(given, mailboxes) : given;
    this.writeChange(target, resource, current, counts, undefined, 'prepared' in mapped && resource === given ? mapped.prepared : undefined);
  }

  /** Writes `resource` unless the current version holds it already; `prepared`: the same resource, prepared. */
  private writeChange(
    { resourceType, id }: { resourceType: string; id: string },
    resource: Resource | undefined,
    current: string | undefined,
    counts: TypeCounts,
    outcome?: Outcome,
    prepared?: PreparedWrite,
  ): void {
    if (!resource) return;
    if (current !== undefined && sameContent(current, resource)) {
      counts.unchanged++;
      return;
    }
    this.store(counts, { resourceType, id }, outcome ?? (current !== undefined ? 'updated' : 'created'), () =>
      prepared ? this.repository.writePrepared(prepared) : this.repository.update(resourceType, id, resource),
    );
  }

  /** Runs a write; one the repository refuses is counted and kept among the failures, and the batch goes on. */
  private store(counts: TypeCounts, { resourceType, id }: { resourceType: string; id: string }, outcome: Outcome, write: () => unknown): void {
    try {
      write();
    } catch (error) {
      // Validation runs before the repository writes anything, so a refusal leaves the transaction clean.
      if (!(error instanceof FhirError)) throw error;
      counts.invalid++;
      if (this.failures.length < MAX_FAILURES_KEPT) this.failures.push(`${resourceType}/${id}: ${error.message}`);
      return;
    }
    counts[outcome]++;
  }
}
