import { pendingWrite, type ReplicaRule, type ReplicaRuleSet, type WriteContext, type WriteRule } from './extensions';

/**
 * The write rules that also hold for the versions sync peers push (WriteRule.replicas), gathered so that `$replicate`
 * runs them without knowing the flows that declare them.
 */
export class ReplicaRules implements ReplicaRuleSet {
  /** By the type of the versions they check. */
  private readonly checking = new Map<string, ReplicaRule[]>();
  /** By the type of the resources those versions name. */
  private readonly naming = new Map<string, ReplicaRule[]>();
  private readonly ranks = new Map<string, number>();

  constructor(rules: readonly WriteRule[]) {
    for (const { types, replicas } of rules) {
      if (!replicas) continue;
      for (const type of types) this.checking.set(type, [...(this.checking.get(type) ?? []), replicas]);
      this.naming.set(replicas.names, [...(this.naming.get(replicas.names) ?? []), replicas]);
    }
  }

  /** Refuses a pushed version as the rules of its type do (a FhirError), before it is stored. */
  check(version: { resourceType: string; id: string; resource: Readonly<Record<string, unknown>> }, context: WriteContext): void {
    const rules = this.checking.get(version.resourceType);
    if (!rules) return;
    const { resourceType: type, id, resource } = version;
    const write = pendingWrite({ type, id, resource, previous: () => context.interactions.repository.read(type, id), ...context });
    for (const rule of rules) rule.before(write);
  }

  /** Whether a rule lets the caller push a version of a resource it cannot see (its own that nothing names yet). */
  claimable(type: string, id: string, context: WriteContext): boolean {
    return this.naming.get(type)?.some((rule) => rule.claimable?.(id, context) === true) ?? false;
  }

  /**
   * Where a pushed version of the type goes in its page: after the versions of the types it may name, so that a page
   * may hold a document and its content in any order (0 for a type that names nothing the rules check).
   */
  rank(type: string): number {
    let rank = this.ranks.get(type);
    if (rank === undefined) {
      // Set before recursing: a cycle of rules ends here rather than looping.
      this.ranks.set(type, 0);
      rank = Math.max(0, ...(this.checking.get(type) ?? []).map((rule) => 1 + this.rank(rule.names)));
      this.ranks.set(type, rank);
    }
    return rank;
  }
}
