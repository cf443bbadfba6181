/**
 * The `meta.tag` a node puts on a resource with an open sync conflict when it answers (docs/sync.md, "Conflicts on a
 * plain read"): the practice's software sees the conflict on a plain read or search, without calling `$conflicts`.
 * The tag is the node's answer about its own state, so it is never stored in a version: writes drop it.
 */

/** `edit`: concurrent versions of one resource; `booking`: two appointments of one practitioner overlap. */
export type ConflictKind = 'edit' | 'booking';

export const CONFLICT_TAG_SYSTEM = 'http://liaison.health/fhir/CodeSystem/conflict';

export const CONFLICT_TAGS: Readonly<Record<ConflictKind, { system: string; code: ConflictKind; display: string }>> = {
  edit: { system: CONFLICT_TAG_SYSTEM, code: 'edit', display: 'Conflit de modification / Edit conflict' },
  booking: { system: CONFLICT_TAG_SYSTEM, code: 'booking', display: 'Conflit de réservation / Booking conflict' },
};

type Json = Record<string, unknown>;

/** A stored resource's JSON text with the tags of its open conflicts added to `meta.tag` (parsed only then). */
export function withConflictTags(json: string, kinds: readonly ConflictKind[]): string {
  if (kinds.length === 0) return json;
  const resource = JSON.parse(json) as Json;
  const meta = (resource.meta ?? {}) as Json;
  const tags = Array.isArray(meta.tag) ? (meta.tag as Json[]).filter((tag) => tag?.system !== CONFLICT_TAG_SYSTEM) : [];
  resource.meta = { ...meta, tag: [...tags, ...kinds.map((kind) => CONFLICT_TAGS[kind])] };
  return JSON.stringify(resource);
}

/** A written `meta` without the conflict tags a client read and sent back: they are never stored. */
export function withoutConflictTags(meta: Json): Json {
  if (!Array.isArray(meta.tag) || !(meta.tag as Json[]).some((tag) => tag?.system === CONFLICT_TAG_SYSTEM)) return meta;
  const { tag, ...rest } = meta;
  const kept = (tag as Json[]).filter((item) => item?.system !== CONFLICT_TAG_SYSTEM);
  return kept.length ? { ...rest, tag: kept } : rest;
}
