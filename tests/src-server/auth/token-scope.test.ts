import { describe, expect, it } from 'vitest';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { createApiClient } from '../../helpers/users';

/**
 * `client_credentials` with a `scope` (RFC 6749 §3.3, §4.4.2): a client asks for a token narrower than its grant, and
 * every call with it is held to what it asked; asking beyond the grant is `invalid_scope` (§5.2), nothing issued,
 * audited. On `/oauth/token` and Lifen's `/v1/token` alike.
 */

type Json = Record<string, any>;

const node = useTestNode();

const GRANT = ['PATIENT_READ', 'PATIENT_SEARCH', 'ORGANIZATION_READ'];

async function askToken(path: '/oauth/token' | '/v1/token', credentials: { client_id: string; client_secret: string }, scope?: string): Promise<{ status: number; body: Json }> {
  const fields = { grant_type: 'client_credentials', ...credentials, ...(scope !== undefined ? { scope } : {}) };
  const response =
    path === '/v1/token'
      ? await fetch(`${node().url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) })
      : await fetch(`${node().url}${path}`, { method: 'POST', body: new URLSearchParams(fields) });
  return { status: response.status, body: (await response.json()) as Json };
}

const statusOf = async (token: string, path: string) => (await fhirFetch(node().fhir, token, path)).status;

describe('client_credentials scope', () => {
  it('issues a narrower token on request, refused what it dropped', async () => {
    // Organizations are the directory's (read-only here): a missing one answers 404 to a caller who may read them.
    const written = await node().request('Patient/scoped', { method: 'PUT', json: { resourceType: 'Patient', id: 'scoped', name: [{ family: 'Portée' }] } });
    expect(written.status).toBe(201);
    const credentials = await createApiClient(node(), { scopes: GRANT });
    for (const path of ['/oauth/token', '/v1/token'] as const) {
      const narrow = await askToken(path, credentials, 'PATIENT_READ');
      expect(narrow.status, path).toBe(200);
      expect(narrow.body.scope).toBe('PATIENT_READ');
      const token = narrow.body.access_token as string;
      expect(await statusOf(token, 'Patient/scoped')).toBe(200);
      expect(await statusOf(token, 'Patient?_id=scoped')).toBe(403);
      expect(await statusOf(token, 'Organization/missing')).toBe(403);
    }
    // No scope: the whole grant, as before.
    const full = await askToken('/oauth/token', credentials);
    expect(full.body.scope).toBe(GRANT.join(' '));
    expect(await statusOf(full.body.access_token, 'Patient?_id=scoped')).toBe(200);
    expect(await statusOf(full.body.access_token, 'Organization/missing')).toBe(404);
  });

  it('answers invalid_scope for more than the grant, issuing nothing, and audits it', async () => {
    const credentials = await createApiClient(node(), { scopes: GRANT });
    for (const path of ['/oauth/token', '/v1/token'] as const) {
      for (const scope of ['PATIENT_READ PATIENT_CREATE', '*', 'NOT_A_SCOPE', 'SEND_TO_EHR']) {
        const refused = await askToken(path, credentials, scope);
        expect(refused.status, `${path} ${scope}`).toBe(400);
        expect(refused.body.error).toBe('invalid_scope');
        expect(refused.body.access_token).toBeUndefined();
      }
    }
    const audit = await fetch(`${node().url}/admin/audit?event=token.refused&client=${credentials.client_id}`, { headers: { authorization: `Bearer ${node().token}` } });
    const events = ((await audit.json()) as Json).events as Json[];
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events.every((event) => event.status === 400)).toBe(true);
  });

  it('lets a client holding a grouped scope ask for one it stands for', async () => {
    const sender = await createApiClient(node(), { scopes: ['SEND_TO_EHR'] });
    const narrow = await askToken('/oauth/token', sender, 'ORGANIZATION_READ');
    expect(narrow.status).toBe(200);
    expect(narrow.body.scope).toBe('ORGANIZATION_READ');
    expect(await statusOf(narrow.body.access_token, 'Organization/missing')).toBe(404);
    expect(await statusOf(narrow.body.access_token, 'Patient/scoped')).toBe(403);
  });
});
