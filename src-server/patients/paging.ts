import { badRequest } from '../fhir/outcome';
import { bundleJson, withConflictMarks } from '../rest/interactions';
import type { Repository, StoredResource } from '../store/repository';

/** Paging of the patient operations: `_count`, an opaque keyset cursor, and the searchset Bundle of a page. */

/** The keys of the last entry of a page, opaque to clients. */
export function encodeCursor(keys: readonly number[]): string {
  return Buffer.from(JSON.stringify(keys)).toString('base64url');
}

/** A cursor of `length` keys made by encodeCursor; undefined without one, 400 for anything else. */
export function decodeCursor(raw: string | null, length: number): number[] | undefined {
  if (raw === null) return undefined;
  try {
    const keys = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(keys) && keys.length === length && keys.every((key) => Number.isSafeInteger(key))) return keys as number[];
  } catch {
    // answered below
  }
  throw badRequest('paging-cursor-invalid', 'Invalid paging cursor: use the links of the Bundle as they are', '_cursor');
}

export interface Page {
  /** The operation's URL without query: `[base]/Patient/1/$everything`. */
  url: string;
  /** The request's parameters: the links keep them, with their own cursor. */
  query: URLSearchParams;
  matches: readonly StoredResource[];
  /** Resources the matches point at, for the reader (Practitioners, Organizations). */
  included?: readonly StoredResource[];
  /** The cursor of the next page, when there is one. */
  next?: string;
}

/** The page as a searchset: current versions, with the tags of their open conflicts (`repository`'s). */
export function pageBundle(page: Page, base: string, repository: Repository): string {
  const link = (relation: string, cursor: string | null) => {
    const params = new URLSearchParams(page.query);
    params.delete('_cursor');
    if (cursor !== null) params.set('_cursor', cursor);
    return { relation, url: `${page.url}${params.size ? `?${params}` : ''}` };
  };
  const links = [link('self', page.query.get('_cursor'))];
  if (page.next) links.push(link('next', page.next));
  const entry = (stored: StoredResource, mode: string) => ({ fullUrl: `${base}/${stored.resourceType}/${stored.id}`, json: withConflictMarks(repository, stored), extra: `"search":{"mode":"${mode}"}` });
  return bundleJson('searchset', links, [...page.matches.map((stored) => entry(stored, 'match')), ...(page.included ?? []).map((stored) => entry(stored, 'include'))]);
}
