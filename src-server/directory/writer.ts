import { FhirError } from '../fhir/outcome';
import type { Repository } from '../storage/repository';
import type { Resource } from './map-activity';

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

const emptyCounts = (): TypeCounts => ({ created: 0, updated: 0, unchanged: 0, archived: 0, invalid: 0 });
const MAX_FAILURES_KEPT = 100;

export class DirectoryWriter {
  readonly counts: Record<string, TypeCounts> = {};
  /** The first refused resources and why. */
  readonly failures: string[] = [];
  private pending: Array<{ resourceType: string; id: string; change: Change; outcome?: Outcome }> = [];

  constructor(private readonly repository: Repository) {}

  /** Queues a write; it happens at the next flush. */
  put(resourceType: string, id: string, change: Change, outcome?: Outcome): void {
    this.pending.push({ resourceType, id, change, outcome });
  }

  get queued(): number {
    return this.pending.length;
  }

  /** Writes what is queued in one transaction (synchronous: no other write of the process can slip inside it). */
  flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.repository.transaction(() => {
      for (const { resourceType, id, change, outcome } of batch) this.write(resourceType, id, change, outcome);
    });
  }

  private write(resourceType: string, id: string, change: Change, outcome: Outcome | undefined): void {
    const counts = (this.counts[resourceType] ??= emptyCounts());
    const current = this.repository.read(resourceType, id);
    const resource = change(current?.json);
    if (!resource) return;
    if (current && sameContent(current.json, resource)) {
      counts.unchanged++;
      return;
    }
    try {
      this.repository.update(resourceType, id, resource);
    } catch (error) {
      // Validation runs before the repository writes anything, so a refusal leaves the transaction clean.
      if (!(error instanceof FhirError)) throw error;
      counts.invalid++;
      if (this.failures.length < MAX_FAILURES_KEPT) this.failures.push(`${resourceType}/${id}: ${error.message}`);
      return;
    }
    counts[outcome ?? (current ? 'updated' : 'created')]++;
  }
}

/**
 * Whether a stored version holds `resource` apart from its meta. Versions the import wrote are the resource's JSON
 * with a flat `"meta":{…}` after the id (see Repository.writeVersion): cutting it out and comparing text is enough.
 * Anything else (a version synced with tags or another key order) is compared as parsed, keys sorted.
 */
export function sameContent(storedJson: string, resource: Resource): boolean {
  const expected = JSON.stringify(resource);
  const metaStart = storedJson.indexOf(',"meta":{');
  const metaEnd = storedJson.indexOf('}', metaStart);
  if (metaStart > 0 && metaEnd > 0 && !storedJson.slice(metaStart + 9, metaEnd).includes('{')) {
    const withoutMeta = storedJson.slice(0, metaStart) + storedJson.slice(metaEnd + 1);
    if (withoutMeta === expected) return true;
  }
  const { meta: _meta, ...stored } = JSON.parse(storedJson) as Record<string, unknown>;
  return canonical(stored) === canonical(resource);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
