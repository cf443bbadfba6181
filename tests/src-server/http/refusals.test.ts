import { describe, expect, it } from 'vitest';
import { useTestNode } from '../../helpers/node';

/**
 * What the node refuses, and how: every refusal is an OperationOutcome, those of Node and Fastify made before a route
 * runs included; compressed bodies are inflated within the same limits (or refused), never stored compressed; bodies
 * in another charset than UTF-8 are refused; a lower-case `bearer` is a bearer token.
 */

type Json = Record<string, any>;

const node = useTestNode();

async function expectOutcome(response: Response, status: number, pattern?: RegExp): Promise<Json> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  const body = JSON.parse(text) as Json;
  expect(body.resourceType).toBe('OperationOutcome');
  if (pattern) expect(body.issue[0].diagnostics).toMatch(pattern);
  return body;
}

const versionCount = () => (node().db.prepare('SELECT count(*) AS n FROM resource_versions').get() as { n: number }).n;

describe('the Authorization header', () => {
  it('takes the bearer scheme in any case (RFC 7235)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const answer = await fetch(`${node().fhir}/Patient?_count=1`, { headers: { authorization: `${scheme} ${node().token}` } });
      expect(answer.status, scheme).toBe(200);
    }
    await expectOutcome(await fetch(`${node().fhir}/Patient`, { headers: { authorization: `Bearer${node().token}` } }), 401);
  });
});

describe('contained resources', () => {
  it('may not contain resources themselves (dom-2)', async () => {
    const versions = versionCount();
    const organization = { resourceType: 'Organization', id: 'org1', name: 'Cabinet' };
    const nested = { resourceType: 'Patient', contained: [{ ...organization, contained: [{ resourceType: 'Organization', id: 'org2', name: 'Caché' }] }], managingOrganization: { reference: '#org1' } };
    const refused = await expectOutcome(await node().request('Patient', { method: 'POST', json: nested }), 400, /dom-2/);
    expect(refused.issue[0].expression).toEqual(['Patient.contained[0].contained']);
    expect(versionCount()).toBe(versions);
    expect((await node().request('Patient', { method: 'POST', json: { ...nested, contained: [organization] } })).status).toBe(201);
  });
});
