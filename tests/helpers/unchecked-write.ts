import { extractSearchValues } from '../../src-server/fhir/search/extract';
import type { StoredResource, Repository } from '../../src-server/store/repository';
import { indexRows } from '../../src-server/store/search-index';

/**
 * Stores a resource as a node did before the input limits (docs/architecture.md, "Input limits"): through the
 * repository and with its index rows, but without the checks every write now obeys. `writePrepared` trusts the
 * preparer that made the rows, which is how a database written by an older build holds such a version.
 */
export function storeUnchecked(repository: Repository, resource: Record<string, unknown> & { resourceType: string; id: string }): StoredResource {
  const { resourceType, id, ...rest } = resource;
  const { definitions } = repository;
  const ids = repository.searchIndex.paramIdsOf(resourceType, definitions.ofType(resourceType).keys());
  const rows = indexRows(extractSearchValues(definitions, resource), (code) => ids[code]);
  return repository.writePrepared({ resourceType, id, rest: JSON.stringify(rest), rows }).stored;
}

/** `count` extensions of one short string each: 3 elements apiece (the extension, its url and its value). */
export const extensions = (count: number, value = (index: number) => `v${index}`) =>
  Array.from({ length: count }, (_, index) => ({ url: 'urn:liaison:test', valueString: value(index) }));
