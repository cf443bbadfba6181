import { FhirError } from '../fhir/outcome';
import type { ReplicaResult, ReplicaVersion, Repository } from '../store/repository';
import type { ContentQueue } from './content';
import type { EntryOutcome, WireEntry } from './protocol';

/** How versions from a peer are let in: who sent them, and the access rules of the way they came. */
export interface ApplyRules {
  /** The peer node they came from. */
  receivedFrom?: string;
  /** Refuses a version before it is stored (throw a FhirError). */
  admit?(version: ReplicaVersion): void;
  /** Refuses a version once stored (throw a FhirError): the entry rolls back alone. */
  check?(version: ReplicaVersion, result: ReplicaResult): void;
  /** Where Binary versions whose content file this node lacks are recorded, to fetch or receive it after the page. */
  content?: ContentQueue;
  /** The order to store versions in, by type (lower first, the page's order otherwise); outcomes keep the page's order. */
  rank?(resourceType: string): number;
  /**
   * Stores the page as one batch (Repository.batch: its index rows go in at its end): only for rules that read nothing
   * of the store, such as a pull's, and without `check` (a version it refuses rolls back alone, its waiting rows would not).
   */
  batch?: boolean;
}

/**
 * Stores the versions of a `$changes` page or a `$replicate` body, each on its own: a refused entry does not stop
 * the others, and only what a `check` refuses needs rolling back (a savepoint), so entries go without one otherwise.
 * Call inside a transaction: the page commits as a whole (with the pull cursor, for a pull).
 */
export function applyVersions(repository: Repository, entries: readonly WireEntry[], rules: ApplyRules = {}): EntryOutcome[] {
  if (rules.batch && rules.check) throw new Error('A page whose versions a check may roll back one by one cannot be stored as a batch');
  return rules.batch ? repository.batch(() => storeEach(repository, entries, rules)) : storeEach(repository, entries, rules);
}

function storeEach(repository: Repository, entries: readonly WireEntry[], rules: ApplyRules): EntryOutcome[] {
  const { check } = rules;
  const store = (version: ReplicaVersion): EntryOutcome => {
    rules.admit?.(version);
    const result = repository.storeReplica(version);
    check?.(version, result);
    // In the version's transaction: a crash after the page commits still knows what content to fetch.
    const contentMissing = result.outcome !== 'deferred' && rules.content?.note(version);
    return { outcome: result.outcome, versionId: version.versionId, ...(contentMissing ? { contentMissing } : {}) };
  };
  const apply = (entry: WireEntry): EntryOutcome => {
    if ('error' in entry) return { outcome: 'refused', error: entry.error };
    const version: ReplicaVersion = rules.receivedFrom === undefined ? entry.version : { ...entry.version, receivedFrom: rules.receivedFrom };
    try {
      return check ? repository.transaction(() => store(version)) : store(version);
    } catch (error) {
      if (error instanceof FhirError) return { outcome: 'refused', error };
      throw error;
    }
  };
  const { rank } = rules;
  if (!rank) return entries.map(apply);
  const outcomes: EntryOutcome[] = new Array(entries.length);
  const rankOf = (entry: WireEntry) => ('error' in entry ? 0 : rank(entry.version.resourceType));
  const order = entries.map((entry, index) => ({ index, rank: rankOf(entry) })).sort((a, b) => a.rank - b.rank || a.index - b.index);
  for (const { index } of order) outcomes[index] = apply(entries[index]);
  return outcomes;
}
