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

/** Sends `count` requests, 32 at a time; their statuses. */
async function flood(count: number, send: (n: number) => Promise<Response>): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < count) {
        const response = await send(next++);
        await response.arrayBuffer();
        statuses.push(response.status);
      }
    }),
  );
  return statuses;
}

/** The events since `start` (ms), all pages. */
async function eventsSince(start: number, query = ''): Promise<Json[]> {
  const events: Json[] = [];
  let page = await audit(`since=${encodeURIComponent(new Date(start).toISOString())}&_count=1000${query}`);
  events.push(...page.events);
  while (page.next) {
    page = (await (await fetch(`${node().url}${page.next}`, { headers: { authorization: `Bearer ${node().token}` } })).json()) as Json;
    events.push(...page.events);
  }
  return events;
}

/** Whole seconds of the clock a flood touched, from `start` to now. */
const secondsSince = (start: number) => Math.floor(Date.now() / 1000) - Math.floor(start / 1000) + 1;
const total = (events: Json[]) => events.reduce((sum, event) => sum + event.count, 0);

describe('floods of refusals', () => {
  it('counts garbage tokens from one address in a row per second, however many requests and URLs', async () => {
    const start = Date.now();
    const sameUrl = await flood(2000, (n) => fetch(`${node().fhir}/Patient/one`, { headers: { authorization: `Bearer garbage-${n}` } }));
    const sameUrlSeconds = secondsSince(start);
    expect(sameUrl.every((status) => status === 401)).toBe(true);
    const rows = await eventsSince(start, '&event=access.denied');
    expect(total(rows)).toBe(2000);
    expect(rows.length).toBeLessThanOrEqual(sameUrlSeconds);
    for (const row of rows) expect(row).toMatchObject({ action: 'GET /fhir/Patient/one', status: 401, source: '127.0.0.1' });
    expect(rows.every((row) => row.clientId === undefined)).toBe(true);

    // Other URLs each time: a few of them are kept apart, the rest counted together.
    const variedStart = Date.now();
    await flood(2000, (n) => fetch(`${node().fhir}/Patient/${n}`, { headers: { authorization: `Bearer garbage-${n}` } }));
    const varied = await eventsSince(variedStart, '&event=access.denied');
    expect(total(varied)).toBe(2000);
    expect(varied.length).toBeLessThanOrEqual(secondsSince(variedStart) * 11);
    expect(varied.some((row) => row.action === '*')).toBe(true);
  });

  it("counts a throttled client's 429s in a row per second, and each of its accesses in a row of its own", async () => {
    const who = await apiClient(['PATIENT_READ']);
    await node().request('Patient/throttled', { method: 'PUT', json: { resourceType: 'Patient', id: 'throttled' } });
    const start = Date.now();
    const statuses = await flood(2000, () => fetch(`${node().fhir}/Patient/throttled`, { headers: { authorization: `Bearer ${who.token}` } }));
    const seconds = secondsSince(start);
    const served = statuses.filter((status) => status === 200).length;
    expect(served).toBeGreaterThan(0);
    expect(served + statuses.filter((status) => status === 429).length).toBe(2000);
    const rows = await eventsSince(start, `&client=${who.id}`);
    const throttled = rows.filter((row) => row.status === 429);
    expect(total(throttled)).toBe(2000 - served);
    expect(throttled.length).toBeLessThanOrEqual(seconds);
    const accesses = rows.filter((row) => row.event === 'access');
    expect(accesses).toHaveLength(served);
    expect(accesses.every((row) => row.count === 1 && row.status === 200)).toBe(true);
  });

  it('keeps every access to patient data, and every refusal of a known caller, one row each', async () => {
    await node().request('Patient/each', { method: 'PUT', json: { resourceType: 'Patient', id: 'each' } });
    const start = Date.now();
    const reads = await flood(50, () => node().request('Patient/each'));
    expect(reads.every((status) => status === 200)).toBe(true);
    const noScope = await apiClient(['PRACTITIONER_READ']);
    const forbidden = await Promise.all(Array.from({ length: 2 }, () => fetch(`${node().fhir}/Patient/each`, { headers: { authorization: `Bearer ${noScope.token}` } })));
    expect(forbidden.map((response) => response.status)).toEqual([403, 403]);
    const rows = (await eventsSince(start)).filter((row) => row.action === 'GET /fhir/Patient/each');
    expect(rows.filter((row) => row.status === 200)).toHaveLength(50);
    expect(rows.filter((row) => row.status === 403 && row.clientId === noScope.id)).toHaveLength(2);
    expect(rows.every((row) => row.count === 1)).toBe(true);
  });
});
