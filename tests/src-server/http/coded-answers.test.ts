import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { issueTypesOf, REFUSAL_SYSTEM, REFUSALS, type RefusalCode } from '../../../src-server/fhir/refusals';
import { useTestNode } from '../../helpers/node';
import { userToken } from '../../helpers/users';

/**
 * No refusal leaves the node without its rule's code (issue 25): bad requests of every layer — before routing, the
 * HTTP layer, access, the REST interactions, validation, search, a transaction's entry, /admin and /setup — each
 * answer an OperationOutcome whose every issue carries a code of the catalogue (fhir/refusals.ts) that lists the
 * status it came with. FhirError only takes coded issues (the type checker holds the rest); this holds it over HTTP.
 */

type Json = Record<string, any>;

const node = useTestNode();

/** A request as a client would send it, with the owner's token unless `token` says otherwise ('' for none). */
async function send(path: string, init: RequestInit & { token?: string; json?: unknown } = {}): Promise<Response> {
  const { token = node().token, json, headers, ...rest } = init;
  const url = `${node().url}${path}`;
  return fetch(url, {
    ...rest,
    headers: { accept: 'application/fhir+json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json !== undefined ? { 'content-type': 'application/fhir+json' } : {}), ...(headers as Record<string, string>) },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
}

const fhirJson = { 'content-type': 'application/fhir+json' };
const BAD_REQUESTS: Array<[string, () => Promise<Response>]> = [
  ['a path with no endpoint', () => send('/nowhere')],
  ['an unknown resource type', () => send('/fhir/Dragon/1')],
  ['a method the endpoint does not allow', () => send('/fhir/metadata', { method: 'DELETE' })],
  ['no bearer token', () => send('/fhir/Patient', { token: '' })],
  ['a wrong bearer token', () => send('/fhir/Patient', { token: 'not-a-token' })],
  ['a body that is not JSON', () => send('/fhir/Patient', { method: 'POST', headers: fhirJson, body: '{"resourceType":' })],
  ['an empty body', () => send('/fhir/Patient', { method: 'POST', headers: fhirJson, body: '' })],
  ['a form where a resource is expected', () => send('/fhir/Patient', { method: 'POST', body: new URLSearchParams({ family: 'x' }) })],
  ['a media type the node does not take', () => send('/fhir/Patient', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'a,b' })],
  ['a charset other than UTF-8', () => send('/fhir/Patient', { method: 'POST', headers: { 'content-type': 'application/fhir+json; charset=latin1' }, body: '{}' })],
  ['a body that does not inflate', () => send('/fhir/Patient', { method: 'POST', headers: { ...fhirJson, 'content-encoding': 'gzip' }, body: 'not gzip' })],
  ['a body that inflates past the limit', () => send('/fhir/Patient', { method: 'POST', headers: { ...fhirJson, 'content-encoding': 'gzip' }, body: gzipSync(Buffer.alloc(40 * 1024 * 1024, 32)) })],
  ['a compression the node does not take', () => send('/fhir/Patient', { method: 'POST', headers: { ...fhirJson, 'content-encoding': 'br' }, body: gzipSync('{}') })],
  ['a format the node does not write', () => send('/fhir/Patient?_format=text/csv')],
  ['an invalid id', () => send('/fhir/Patient/no!such!id')],
  ['a resource that does not exist', () => send('/fhir/Patient/nobody')],
  ['a URL Fastify cannot decode', () => send('/fhir/Patient/%E0%A4%A')],
  ['headers larger than the node reads', () => send('/fhir/Patient', { headers: { 'x-filler': 'x'.repeat(20_000) } })],
  ['an invalid resource', () => send('/fhir/Patient', { method: 'POST', json: { resourceType: 'Patient', birthDate: 'soon', colour: 'blue' } })],
  ['a body of another type than the endpoint', () => send('/fhir/Patient', { method: 'POST', json: { resourceType: 'Observation' } })],
  ['a PUT without id', () => send('/fhir/Patient/p1', { method: 'PUT', json: { resourceType: 'Patient' } })],
  ['an If-Match that is not an ETag', () => send('/fhir/Patient/p1', { method: 'PUT', headers: { 'if-match': 'v1' }, json: { resourceType: 'Patient', id: 'p1' } })],
  ['an unknown search parameter', () => send('/fhir/Patient?colour=blue')],
  ['a bad _count', () => send('/fhir/Patient?_count=many')],
  ['a name search too short', () => send('/fhir/Patient?name=a')],
  ['a bad _include', () => send('/fhir/Patient?_include=nonsense')],
  ['a bad paging cursor', () => send('/fhir/Patient?_cursor=zzz')],
  ['a Bundle of the wrong type', () => send('/fhir', { method: 'POST', json: { resourceType: 'Bundle', type: 'document' } })],
  ['a transaction with a failing entry', () => send('/fhir', { method: 'POST', json: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', birthDate: 'soon' } }] } })],
  ['an unknown operation', () => send('/fhir/Patient/$dance', { method: 'POST', json: { resourceType: 'Parameters' } })],
  ['an admin call by a user who is no admin', () => send('/admin/clients', { token: userToken(node().db, { userId: 'u-staff', roles: 'staff', practitionerId: null, organizations: 'o1' }) })],
  ['an admin body of the wrong shape', () => send('/admin/clients', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' })],
  ['set-up asked again', () => send('/setup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })],
];

describe('every refusal of the node is coded', () => {
  it.each(BAD_REQUESTS)('%s', async (_what, request) => {
    const response = await request();
    expect(response.status).toBeGreaterThanOrEqual(400);
    const body = (await response.json()) as Json;
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue.length).toBeGreaterThan(0);
    for (const issue of body.issue as Json[]) {
      const code = (issue.details?.coding as Json[] | undefined)?.find((coding) => coding.system === REFUSAL_SYSTEM)?.code as RefusalCode | undefined;
      expect(code, JSON.stringify(issue)).toBeDefined();
      expect(REFUSALS[code!], code).toBeDefined();
      // 4xx statuses Fastify gives are one code (request-refused); every other code comes with a status its rule lists.
      if (code !== 'request-refused') expect(REFUSALS[code!].statuses as readonly number[], code).toContain(response.status);
      expect(issueTypesOf(REFUSALS[code!], response.status), code).toContain(issue.code);
    }
  });
});

describe('the catalogue', () => {
  it('holds no code that no rule of the node uses', () => {
    const sources = (function files(dir: string): string[] {
      return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []));
    })(join(import.meta.dirname, '../../../src-server'))
      .filter((file) => !file.endsWith(join('fhir', 'refusals.ts')))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    expect(Object.keys(REFUSALS).filter((code) => !sources.includes(`'${code}'`))).toEqual([]);
  });
});
