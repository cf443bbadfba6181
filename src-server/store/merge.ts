/**
 * The merge rules of sync, as pure functions over a resource's version graph (docs/sync.md). Every node holds the
 * same versions after a full sync, so every node computes the same leaves, the same winner and the same conflicts
 * from them, whatever order the versions arrived in.
 */

/** A version and the versions it was made from. */
export interface VersionLink {
  versionId: string;
  parents: readonly string[];
}

/**
 * The heads of a resource's branches: the known versions that no known version names as a parent. A version whose
 * parents are not known here (not arrived yet, or never visible to this node) is simply a head until a child names it.
 * Sorted, so equal sets compare equal.
 */
export function leavesOf(versions: Iterable<VersionLink>): string[] {
  const all: string[] = [];
  const parents = new Set<string>();
  for (const version of versions) {
    all.push(version.versionId);
    for (const parent of version.parents) parents.add(parent);
  }
  return all.filter((versionId) => !parents.has(versionId)).sort();
}

/** What the winner rule looks at in a leaf: all of it is in the version itself, identical on every node. */
export interface LeafCandidate {
  versionId: string;
  archived: boolean;
  /** meta.lastUpdated as the origin node stamped it. */
  lastUpdated: string;
}

/**
 * The provisional winner among concurrent leaves, the same on every node: a live version beats an archived one,
 * then the later origin stamp wins, then the greater version id (UUIDv7: also later) breaks the tie.
 */
export function winnerOf<T extends LeafCandidate>(leaves: readonly T[]): T {
  if (leaves.length === 0) throw new Error('winnerOf needs at least one leaf');
  return leaves.reduce((best, leaf) => (beats(leaf, best) ? leaf : best));
}

function beats(a: LeafCandidate, b: LeafCandidate): boolean {
  if (a.archived !== b.archived) return !a.archived;
  if (a.lastUpdated !== b.lastUpdated) return a.lastUpdated > b.lastUpdated;
  return a.versionId > b.versionId;
}

/** Statuses by which FHIR resources are archived (DESIGN §2: there is no DELETE, archiving is an update). */
const ARCHIVED_STATUSES = new Set(['entered-in-error', 'cancelled', 'inactive', 'retired']);

export function isArchived(resource: Readonly<Record<string, unknown>>): boolean {
  return resource.active === false || (typeof resource.status === 'string' && ARCHIVED_STATUSES.has(resource.status));
}

/** One element on which the leaves of a conflict differ, with each leaf's value (absent: undefined). */
export interface FieldDifference {
  /** FHIRPath-like: `name[0].family`. */
  path: string;
  values: Record<string, unknown>;
}

/**
 * The elements on which versions differ, as deep as they differ: objects key by key, arrays of the same length item
 * by item (a longer or shorter array differs as a whole). `meta` is left out: it always differs.
 */
export function fieldDiff(versions: Readonly<Record<string, unknown>>): FieldDifference[] {
  const differences: FieldDifference[] = [];
  const ids = Object.keys(versions);
  const walk = (path: string, values: unknown[]) => {
    if (values.every((value) => sameJson(value, values[0]))) return;
    if (values.every(isPlainObject)) {
      const keys = new Set(values.flatMap((value) => Object.keys(value as object)));
      for (const key of [...keys].sort()) {
        if (path === '' && key === 'meta') continue;
        walk(path === '' ? key : `${path}.${key}`, values.map((value) => (value as Record<string, unknown>)[key]));
      }
      return;
    }
    if (values.every(Array.isArray) && values.every((value) => (value as unknown[]).length === (values[0] as unknown[]).length)) {
      (values[0] as unknown[]).forEach((_item, index) => walk(`${path}[${index}]`, values.map((value) => (value as unknown[])[index])));
      return;
    }
    differences.push({ path, values: Object.fromEntries(ids.map((id, index) => [id, values[index]])) });
  };
  walk('', ids.map((id) => versions[id]));
  return differences;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
