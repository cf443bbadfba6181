import { IDENTIFIER_SYSTEMS } from '../../directory/codes';
import type { ContactPoint } from '../../directory/mailboxes';
import { localRef } from '../../documents/references';
import { mssanteMailboxes } from '../../documents/routing';
import { arrayOf, isJson, type Json } from '../../fhir/json';
import { badRequest } from '../../fhir/outcome';
import type { FhirOperation, OperationCall } from '../../rest/extensions';
import type { FhirRequest, FhirResponse } from '../../rest/types';
import type { StoredResource } from '../../store/repository';
import { LIFEN_RPPS_SYSTEM, rolesOf } from './directory-lookup';

/**
 * `POST Practitioner/$search-for-mss` and `POST Organization/$search-for-mss` (Lifen v3): the directory as a sender
 * looks for MSSanté recipients — a searchset with `total`, each Practitioner carrying its MSSanté mailboxes (its own
 * and those of its roles, where the national import puts personal mailboxes) as work e-mails ranked first, and a work
 * address (its own, else its practices'). Lifen's parameters come as a JSON object (or a Parameters resource, or the
 * query: the `next` link is a GET) and run as a search of the type, with Lifen's paging bounds (`_count` 1 to 100,
 * 100 by default). Practitioners and Organizations without a mailbox are found too, without one (docs/lifen-compatibility.md).
 */

const OPERATION = '$search-for-mss';
const DEFAULT_COUNT = 100;
const MAX_COUNT = 100;

/** Lifen's parameter → the node's search parameter, per type. */
const PARAMETERS: Record<'Practitioner' | 'Organization', Record<string, string>> = {
  Practitioner: { name: 'name', identifier: 'identifier', given: 'given', family: 'family', telecom: 'telecom', address: 'address', _id: '_id', _sort: '_sort' },
  Organization: { name: 'name', identifier: 'identifier', address: 'address', 'part-of': 'partof', _id: '_id', _sort: '_sort' },
};

/** Lifen's parameters the node cannot serve, and why (docs/lifen-compatibility.md). */
const UNSUPPORTED: Record<'Practitioner' | 'Organization', Record<string, string>> = {
  Practitioner: {},
  Organization: { telecom: 'STU3 gives Organization no telecom search parameter: find the organisation by name, identifier (FINESS), address or part-of' },
};

export function searchForMssOperations(): FhirOperation[] {
  return (['Practitioner', 'Organization'] as const).map((type) => ({
    name: OPERATION,
    level: 'type',
    types: [type],
    methods: ['GET', 'POST'],
    readOnly: true,
    definition: {
      description:
        'Lifen v3: the directory as a sender looks for MSSanté recipients: a searchset with total, MSSanté mailboxes as work e-mails ranked first. Parameters in the query, a JSON object of search fields or a Parameters body.',
      parameters: [
        ...Object.keys(PARAMETERS[type]).map((name) => ({ name, use: 'in' as const, min: 0 as const, max: '*', type: 'string', documentation: `As the search parameter ${PARAMETERS[type][name]}` })),
        { name: '_count', use: 'in', min: 0, max: '1', type: 'integer', documentation: `1 to ${MAX_COUNT} (${DEFAULT_COUNT} by default)` },
        { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle' },
      ],
    },
    searches({ request }) {
      try {
        return [{ resourceType: type, params: searchOf(request, type).params }];
      } catch {
        return []; // `run` answers the error
      }
    },
    run: (call) => searchForMss(call, type),
  }));
}

/** The search a call asks for: Lifen's parameters as given (for the links), and as the node's search takes them. */
function searchOf(request: FhirRequest, type: 'Practitioner' | 'Organization'): { given: Array<[string, string]>; params: URLSearchParams } {
  const given = givenParameters(request.query, request.method === 'POST' ? request.body : undefined);
  const known = PARAMETERS[type];
  const params = new URLSearchParams();
  let count = DEFAULT_COUNT;
  for (const [name, value] of given) {
    if (name === '_count') count = pageCount(value);
    else if (name === '_cursor') params.append('_cursor', value);
    else if (known[name]) params.append(known[name], name === 'identifier' ? nodeIdentifier(value) : value);
    else if (UNSUPPORTED[type][name]) throw badRequest('search-parameter-unsupported', `'${name}' is not supported by ${type}/${OPERATION} on this node: ${UNSUPPORTED[type][name]}`, name);
    else throw badRequest('search-parameter-unknown', `Unknown parameter '${name}' of ${type}/${OPERATION}: it takes ${[...Object.keys(known), '_count'].join(', ')}`, name, { parameter: name });
  }
  params.set('_count', String(count));
  params.set('_total', 'accurate');
  return { given, params };
}

function searchForMss(call: OperationCall, type: 'Practitioner' | 'Organization'): FhirResponse {
  const { request, base, interactions } = call;
  request.scopes.require(type, 'SEARCH');
  const { given, params } = searchOf(request, type);
  const result = interactions.searchEngine.search({ resourceType: type, params, lenient: false, base, access: request.scopes, reach: request.reach, caller: request.caller, textMatches: request.textMatches });
  const link = (relation: string, cursor?: string) => {
    const linkParams = new URLSearchParams(given.filter(([name]) => name !== '_cursor'));
    if (cursor) linkParams.set('_cursor', cursor);
    return { relation, url: `${base}/${type}/${OPERATION}${linkParams.size ? `?${linkParams}` : ''}` };
  };
  const links = [link('self', params.get('_cursor') ?? undefined), ...(result.next ? [link('next', result.next)] : []), ...(result.previous ? [link('previous', result.previous)] : [])];
  const entry = result.matches.map((stored) => ({
    fullUrl: `${base}/${type}/${stored.id}`,
    resource: type === 'Practitioner' ? practitionerWithMailboxes(call, stored) : withRankedMailboxes(JSON.parse(stored.json) as Json, []),
    search: { mode: 'match' },
  }));
  return { status: 200, headers: {}, body: { resourceType: 'Bundle', type: 'searchset', total: result.total ?? entry.length, link: links, ...(entry.length ? { entry } : {}) } };
}

/**
 * The parameters as given, in order: the query's, then the body's — a JSON object of Lifen's fields (a string or
 * number each, or an array of them: `_id` takes several, which mean any of them), a Parameters resource of
 * valueString/valueInteger, or a form.
 */
function givenParameters(query: URLSearchParams, body: unknown): Array<[string, string]> {
  const given: Array<[string, string]> = [...query];
  if (body === undefined) return given;
  if (body instanceof URLSearchParams) return [...given, ...body];
  if (!isJson(body)) throw badRequest('search-body-invalid', `${OPERATION} takes a JSON object of search fields as its body`);
  if (body.resourceType === 'Parameters') {
    for (const parameter of arrayOf(body.parameter)) {
      const value = isJson(parameter) ? (parameter.valueString ?? parameter.valueInteger ?? parameter.valueCode) : undefined;
      if (!isJson(parameter) || typeof parameter.name !== 'string' || (typeof value !== 'string' && typeof value !== 'number')) {
        throw badRequest('search-body-invalid', `Each parameter of ${OPERATION} needs a name and a valueString or valueInteger`, isJson(parameter) && typeof parameter.name === 'string' ? parameter.name : 'Parameters.parameter');
      }
      given.push([parameter.name, String(value)]);
    }
    return given;
  }
  for (const [name, value] of Object.entries(body)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0 || values.some((item) => typeof item !== 'string' && typeof item !== 'number')) throw badRequest('search-body-invalid', `'${name}' must be a string or a number, or an array of them`, name);
    // Several values of one field are alternatives (Lifen's `_id` takes several ids).
    given.push([name, values.map(String).join(',')]);
  }
  return given;
}

/** Lifen's bounds: 1 to 100 (100 by default for the directory); 0 and more than 100 are refused. */
function pageCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_COUNT) throw badRequest('count-out-of-bounds', `_count must be an integer from 1 to ${MAX_COUNT}, not '${value}'`, '_count', { max: MAX_COUNT });
  return Number(value);
}

/** Lifen's RPPS system written as the node's (the ANS one); other identifiers as given. */
function nodeIdentifier(value: string): string {
  return value
    .split(',')
    .map((token) => (token.startsWith(`${LIFEN_RPPS_SYSTEM}|`) ? `${IDENTIFIER_SYSTEMS.rpps}|${token.slice(LIFEN_RPPS_SYSTEM.length + 1)}` : token))
    .join(',');
}

/** A Practitioner with the mailboxes of its roles beside its own, and a work address (its own, else its practices'). */
function practitionerWithMailboxes(call: OperationCall, stored: StoredResource): Json {
  const practitioner = JSON.parse(stored.json) as Json;
  const { searchEngine } = call.interactions;
  const roles = rolesOf(searchEngine, stored.id, call.base);
  const roleMailboxes = roles.flatMap((role) => mssanteMailboxes(role));
  const shaped = withRankedMailboxes(practitioner, roleMailboxes);
  if (arrayOf(practitioner.address).length > 0) return shaped;
  const organizationIds = roles.map((role) => localRef(isJson(role.organization) ? role.organization.reference : undefined, call.base)).filter((ref) => ref?.type === 'Organization').map((ref) => ref!.id);
  const organizations = organizationIds.length ? searchEngine.search({ resourceType: 'Organization', params: new URLSearchParams({ _id: organizationIds.join(','), _count: '100' }), lenient: false, base: call.base }).matches : [];
  const address = organizations.flatMap((organization) => arrayOf((JSON.parse(organization.json) as Json).address).filter(isJson))[0];
  return address ? { ...shaped, address: [{ ...address, use: 'work' }] } : shaped;
}

/** Its MSSanté mailboxes (its own, then `more`) first, as ranked work e-mails, then its other contact points. */
function withRankedMailboxes(resource: Json, more: ContactPoint[]): Json {
  const own = mssanteMailboxes(resource);
  const mailboxes = [...new Map([...own, ...more].map((point) => [point.value!.toLowerCase(), point])).values()];
  if (mailboxes.length === 0) return resource;
  const others = arrayOf(resource.telecom).filter((point) => !(isJson(point) && own.includes(point as ContactPoint)));
  return { ...resource, telecom: [...mailboxes.map((point, index) => ({ ...point, use: 'work', rank: index + 1 })), ...others] };
}
