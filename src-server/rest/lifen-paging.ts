import { badRequest } from '../fhir/outcome';
import { MAX_COUNT } from '../fhir/search/parse';

/**
 * Lifen's paging on its surfaces (`/fhir/v2`, `/fhir/v3`; docs/lifen-compatibility.md): `_count` from 1 to 100 (0 and
 * 101 are refused, where plain FHIR answers a count and clamps), and the cursors of its links — `_searchAfter` in
 * `next`, `_searchBefore` in `previous`, `_index` (the position of the page's first entry) in all three — which are
 * the node's own keyset cursors under Lifen's names.
 */

export interface LifenPaging {
  /** The parameters as the node's search takes them (`_cursor`). */
  params: URLSearchParams;
  /** The position of the page's first match among all of them. */
  index: number;
  /** The name the client gave the cursor of this page, kept in its `self` link. */
  cursorName?: '_searchAfter' | '_searchBefore';
}

export function lifenPaging(params: URLSearchParams): LifenPaging {
  const paging: LifenPaging = { params: new URLSearchParams(), index: 0 };
  let cursors = 0;
  for (const [name, value] of params) {
    switch (name) {
      case '_count':
        if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_COUNT) throw badRequest('count-out-of-bounds', `_count must be an integer from 1 to ${MAX_COUNT}, not '${value}'`, '_count', { max: MAX_COUNT });
        paging.params.append(name, value);
        break;
      case '_index':
        if (!/^\d{1,9}$/.test(value)) throw badRequest('paging-index-invalid', `_index must be a non-negative integer, not '${value}'`, '_index');
        paging.index = Number(value);
        break;
      case '_searchAfter':
      case '_searchBefore':
      case '_cursor':
        if (++cursors > 1) throw badRequest('paging-cursor-invalid', 'Give one cursor: _searchAfter or _searchBefore, as the links of a search Bundle carry them', name);
        if (name !== '_cursor') paging.cursorName = name;
        paging.params.append('_cursor', value);
        break;
      default:
        paging.params.append(name, value);
    }
  }
  // The node pages by keyset cursor, not by offset: a position alone cannot be reached without reading what precedes it.
  if (paging.index > 0 && cursors === 0) throw badRequest('paging-index-invalid', '_index only accompanies the _searchAfter or _searchBefore of a link: follow the next and previous links', '_index');
  return paging;
}

/** The query of a Lifen link: the search's parameters, the page's cursor under Lifen's name, and its position. */
export function lifenLinkQuery(applied: URLSearchParams, cursor: { name: '_searchAfter' | '_searchBefore'; value: string } | undefined, index: number): URLSearchParams {
  const params = new URLSearchParams(applied);
  params.delete('_cursor');
  if (cursor) params.set(cursor.name, cursor.value);
  params.set('_index', String(index));
  return params;
}
