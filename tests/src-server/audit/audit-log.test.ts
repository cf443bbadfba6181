import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useTestNode } from '../../helpers/node';

/** The audit trail over HTTP: logins (tokens), denials and every access to the FHIR API, read by the admin. */

type Json = Record<string, any>;

const node = useTestNode();

async function audit(query: string): Promise<Json> {
  const response = await fetch(`${node().url}/admin/audit?${query}`, { headers: { authorization: `Bearer ${node().token}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
}

async function apiClient(scopes: string[]): Promise<{ id: string; secret: string; token: string }> {
  const created = (await (
    await fetch(`${node().url}/admin/clients`, { method: 'POST', headers: { authorization: `Bearer ${node().token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'audited', scopes, rateLimit: 2 }) })
  ).json()) as Json;
  const token = ((await (await fetch(`${node().url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: created.client_id, client_secret: created.client_secret }) })).json()) as Json).access_token;
  return { id: created.client_id, secret: created.client_secret, token };
}

describe('the audit trail', () => {
  it('records token issuance and refusals, without secrets', async () => {
    const who = await apiClient(['PATIENT_READ']);
    await fetch(`${node().url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: who.id, client_secret: 'wrong-secret' }) });
    const { events } = await audit(`client=${who.id}`);
    expect(events.map((event: Json) => [event.event, event.status])).toEqual([
      ['token.refused', 401],
      ['token.issued', 200],
    ]);
    const everything = JSON.stringify(await audit('_count=1000'));
    const owner = JSON.parse(readFileSync(node().ownerClientFile, 'utf8')) as Json;
    for (const secret of [who.secret, who.token, 'wrong-secret', owner.client_secret, node().token]) expect(everything).not.toContain(secret);
  });

  it('records every access to the FHIR API with its caller and answer, and refusals as denials', async () => {
    await node().request('Patient/audited', { method: 'PUT', json: { resourceType: 'Patient', id: 'audited' } });
    const who = await apiClient(['PATIENT_READ']);
    const call = (path: string, token = who.token) => fetch(`${node().fhir}/${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await call('Patient/audited')).status).toBe(200);
    expect((await call('Patient?_id=audited')).status).toBe(403);
    expect((await call('Patient/audited')).status).toBe(429); // its rate limit is 2 calls per second
    expect((await fetch(`${node().fhir}/Patient/audited`)).status).toBe(401);
    const mine = (await audit(`client=${who.id}`)).events.filter((event: Json) => event.event !== 'token.issued');
    expect(mine.map((event: Json) => [event.event, event.action, event.status])).toEqual([
      ['access.denied', 'GET /fhir/Patient/audited', 429],
      ['access.denied', 'GET /fhir/Patient?_id=audited', 403],
      ['access', 'GET /fhir/Patient/audited', 200],
    ]);
    const anonymous = (await audit('event=access.denied')).events.find((event: Json) => event.status === 401);
    expect(anonymous).toMatchObject({ action: 'GET /fhir/Patient/audited' });
    expect(anonymous.clientId).toBeUndefined();
    const written = (await audit('event=access')).events.find((event: Json) => event.action === 'PUT /fhir/Patient/audited');
    expect(written.status).toBe(201);
  });

  it('is filtered by time and paged for the admin, and for the admin only', async () => {
    const start = new Date().toISOString();
    for (let n = 0; n < 5; n++) await node().request(`Patient?_count=1&n=${n}`, { headers: { prefer: 'handling=lenient' } });
    const first = await audit(`since=${encodeURIComponent(start)}&event=access&_count=3`);
    expect(first.events).toHaveLength(3);
    expect(first.events.every((event: Json) => event.at >= start)).toBe(true);
    const second = (await (await fetch(`${node().url}${first.next}`, { headers: { authorization: `Bearer ${node().token}` } })).json()) as Json;
    expect(second.events.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...second.events.map((event: Json) => event.seq))).toBeLessThan(Math.min(...first.events.map((event: Json) => event.seq)));
    expect((await fetch(`${node().url}/admin/audit?since=yesterday`, { headers: { authorization: `Bearer ${node().token}` } })).status).toBe(400);
    const who = await apiClient(['PATIENT_READ']);
    expect((await fetch(`${node().url}/admin/audit`, { headers: { authorization: `Bearer ${who.token}` } })).status).toBe(403);
  });
});
