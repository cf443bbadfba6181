import { badRequest } from '../fhir/outcome';
import type { FhirRequest } from './types';

/**
 * The parameters of a search: the URL's, and for `POST [type]/_search` the body's, a form or a JSON object (Lifen's
 * v3 sends `{"family": "dupont"}`). A JSON field's value is a string, a number or a boolean (written as text: `_count:
 * 10`), or an array of those, one parameter each (`{"_id": ["a", "b"]}` is `_id=a&_id=b`). Anything else is refused:
 * a filter the node silently dropped would answer more than was asked.
 */
export function searchParameters(request: Pick<FhirRequest, 'query' | 'body' | 'method'>): URLSearchParams {
  if (request.method !== 'POST' || request.body === undefined) return request.query;
  const params = new URLSearchParams(request.query);
  const { body } = request;
  if (body instanceof URLSearchParams) {
    for (const [name, value] of body) params.append(name, value);
    return params;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('search-body-invalid', 'The body of a _search is a form (application/x-www-form-urlencoded) or a JSON object of search parameters');
  }
  for (const [name, value] of Object.entries(body)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        throw badRequest('search-body-invalid', `The _search field '${name}' must be a string, a number or an array of them`, name);
      }
      params.append(name, String(item));
    }
  }
  return params;
}

/** Whether a request is a search whose parameters may be in its body (`POST [type]/_search`). */
export function isBodySearch(request: Pick<FhirRequest, 'method' | 'path'>): boolean {
  return request.method === 'POST' && request.path.endsWith('/_search');
}
