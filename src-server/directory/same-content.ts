import { mailboxesIn, withMailboxes } from './mailboxes';
import type { Resource } from './person-resources';

/**
 * Whether a stored version holds `resource` apart from its meta. Versions the import wrote are the resource's JSON
 * with a flat `"meta":{…}` after the id (see Repository.writeVersion): cutting it out and comparing text is enough.
 * Anything else (a version synced with tags or another key order) is compared as parsed, keys sorted. The resource
 * may be given as its JSON.
 */
export function sameContent(storedJson: string, resource: Resource | string): boolean {
  const expected = typeof resource === 'string' ? resource : JSON.stringify(resource);
  const metaStart = storedJson.indexOf(',"meta":{');
  const metaEnd = storedJson.indexOf('}', metaStart);
  if (metaStart > 0 && metaEnd > 0 && !storedJson.slice(metaStart + 9, metaEnd).includes('{')) {
    const withoutMeta = storedJson.slice(0, metaStart) + storedJson.slice(metaEnd + 1);
    if (withoutMeta === expected) return true;
  }
  const { meta: _meta, ...stored } = JSON.parse(storedJson) as Record<string, unknown>;
  return canonical(stored) === canonical(typeof resource === 'string' ? JSON.parse(resource) : resource);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Whether a stored version holds what importing `resource` (given with its JSON) would store: the resource with the
 * stored version's mailboxes, which the MSSanté import owns (ImportBatch keeps them on every new version).
 */
export function holdsImport(storedJson: string, resource: Resource, json: string): boolean {
  const mailboxes = mailboxesIn(storedJson);
  return sameContent(storedJson, mailboxes.length > 0 ? withMailboxes(resource, mailboxes) : json);
}
