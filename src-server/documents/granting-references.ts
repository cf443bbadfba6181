import { unprocessable } from '../fhir/outcome';
import type { PendingWrite, WriteContext, WriteRule } from '../rest/extensions';
import { parseReference } from '../fhir/search/index-values';

/**
 * References that open what they name. The access rules (store/search/visibility.ts) show some resources to whoever
 * sees another that names them: a DocumentReference to the readers of a message carrying it (`payload`), a Binary to
 * the readers of a DocumentReference whose content it is. Without a check, anyone could name another practice's
 * resource there, in a resource of their own, and read it through that. So a writer with a reach may only add such a
 * reference to a resource it can already see, or that `claimable` lets it name; any other is answered as if it did
 * not exist (422). Checked before the write, while the new version does not show the target yet. A target an
 * earlier version already named stays allowed. The same holds for the versions a sync peer pushes, against this node's
 * current version of the resource: a peer's client is a writer with a reach like any other.
 */
export interface GrantingReferences {
  /** The types that hold such references. */
  types: readonly string[];
  /** The type they name. */
  target: string;
  /** Where they are, for the answer's `expression`. */
  expression(type: string): string;
  /** The ids of the `target` resources of this node a version of a holder opens (see openedBy). */
  targetsOf(resource: unknown): string[];
  /**
   * Whether the writer may name this target although it cannot see it yet (its own fresh upload); a sync peer may
   * then also push it (replica-rules.ts).
   */
  claimable?(id: string, context: WriteContext): boolean;
}

export function grantingReferencesRule({ types, target, expression, targetsOf, claimable }: GrantingReferences): WriteRule {
  const before = (write: PendingWrite) => {
    const { type, resource, request, base, interactions } = write;
    if (!request.reach) return;
    // Taken after the reach: the previous version is parsed (for a replica, read) on first use.
    const { previousResource } = write;
    const namedBefore = new Set(previousResource ? targetsOf(previousResource) : []);
    for (const id of new Set(targetsOf(resource))) {
      if (namedBefore.has(id)) continue;
      // The claim first: it is the Lifen sequence's case, and cheaper than the access rules' query.
      const seen = interactions.repository.exists(target, id) && (claimable?.(id, write) === true || interactions.searchEngine.isVisible({ resourceType: target, id }, request, base));
      if (!seen) throw unprocessable('reference-unknown', `${target}/${id} does not exist`, expression(type));
    }
  };
  return { types, before, replicas: { before, names: target, claimable } };
}

/**
 * The id of the resource of `type` on this node that a reference opens, read as the search index reads it (trimmed,
 * a version suffix dropped: fhir/search/index-values.ts), on any base: the access rules match an absolute reference
 * against the base of the request that reads, which is whatever name of the node (`Host`, port included) the reader
 * calls it by, so `…/fhir/<type>/<id>` opens the resource whatever comes before.
 */
export function openedBy(reference: unknown, type: string): string | undefined {
  const parsed = typeof reference === 'string' ? parseReference(reference) : undefined;
  if (parsed?.type !== type || parsed.id === null) return undefined;
  return parsed.url === null || parsed.url.endsWith(`/fhir/${type}/${parsed.id}`) ? parsed.id : undefined;
}
