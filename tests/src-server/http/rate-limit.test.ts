import { describe, expect, it } from 'vitest';
import { MAX_RATE_LIMIT } from '../../../src-server/auth/clients';
import { coded } from '../../helpers/refusals';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { burstsUntilRefused, mostAdmitted } from '../../helpers/rate';
import { createApiClient, tokenOf, userToken } from '../../helpers/users';

/**
 * Every caller is rate limited by who it is, never by its address (docs/access.md, "Rate limits"): API clients,
 * the owner client, users of the UI; a Bundle costs one call per entry. Every caller here calls from 127.0.0.1.
 */

type Json = Record<string, any>;

const node = useTestNode();

const burst = (token: string, calls: number) => Promise.all(Array.from({ length: calls }, () => fhirFetch(node().fhir, token, 'Patient/nobody')));

/** Bursts of `size` calls at once until one is refused. */
const hammer = (token: string, size: number) => burstsUntilRefused(() => burst(token, size));

async function expectThrottled(answer: Response, limit: number): Promise<void> {
  expect(answer.status).toBe(429);
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(answer.headers.get('ratelimit-limit')).toBe(String(limit));
  expect(answer.headers.get('ratelimit-remaining')).toBe('0');
  expect(Number(answer.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
  const body = (await answer.json()) as Json;
  expect(body.issue[0].code).toBe('throttled');
  // Coded, with the wait as a value the UI words ("réessayez dans … secondes").
  expect(coded(body)).toMatchObject({ code: 'rate-limited', parameters: { seconds: Number(answer.headers.get('retry-after')) } });
}

async function admin(method: string, path: string, json?: unknown): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${node().url}/admin/${path}`, {
    method,
    headers: { authorization: `Bearer ${node().token}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

const user = (userId: string) => userToken(node().db, { userId, roles: 'practitioner', practitionerId: null, organizations: '' });

describe('rate limits per caller', () => {
  it('throttles a UI user hammering the node at 50 a second, with Retry-After and RateLimit headers, and not another user', async () => {
    // The test node's admin raised every user's rate (helpers/node.ts): back to the default.
    expect((await admin('PATCH', 'clients/liaison-ui', { rateLimit: null })).status).toBe(200);
    const hammering = user('hammering');
    const { answers, throttled, admitted, seconds } = await hammer(hammering, 150);
    expect(throttled.length).toBeGreaterThan(0);
    expect(admitted).toBeLessThanOrEqual(mostAdmitted(50, seconds));
    for (const answer of throttled) await expectThrottled(answer, 50);
    const first = answers.find((answer) => answer.status !== 429)!;
    expect(first.status).toBe(404);
    expect(first.headers.get('ratelimit-limit')).toBe('50');
    // Same address, another user: a bucket of their own.
    const colleague = user('colleague');
    const other = await fhirFetch(node().fhir, colleague, 'Patient/nobody');
    expect(other.status).toBe(404);
    expect(other.headers.get('ratelimit-remaining')).toBe('49');
    // The admin sets every user's rate as the UI client's, at once for the sessions already open.
    expect((await admin('PATCH', 'clients/liaison-ui', { rateLimit: 200 })).status).toBe(200);
    expect((await fhirFetch(node().fhir, colleague, 'Patient/nobody')).headers.get('ratelimit-limit')).toBe('200');
  });

  it('gives two API clients calling from 127.0.0.1 a bucket each', async () => {
    const first = await tokenOf(node(), await createApiClient(node(), { scopes: ['PATIENT_READ'], rateLimit: 10 }));
    const second = await tokenOf(node(), await createApiClient(node(), { scopes: ['PATIENT_READ'], rateLimit: 10 }));
    const emptied = await hammer(first, 30);
    expect(emptied.throttled.length).toBeGreaterThan(0);
    expect(emptied.admitted).toBeLessThanOrEqual(mostAdmitted(10, emptied.seconds));
    const untouched = await burst(second, 10);
    expect(untouched.map((answer) => answer.status)).toEqual(Array(10).fill(404));
  });

  it('admits a 50-entry batch from a fresh client at 10 a second, which then waits some 4 s', async () => {
    const token = await tokenOf(node(), await createApiClient(node(), { scopes: ['PATIENT_READ'], rateLimit: 10 }));
    const batch = { resourceType: 'Bundle', type: 'batch', entry: Array.from({ length: 50 }, () => ({ request: { method: 'GET', url: 'Patient/nobody' } })) };
    const answer = await fhirFetch(node().fhir, token, '', { method: 'POST', json: batch });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as Json).entry).toHaveLength(50);
    expect(answer.headers.get('ratelimit-remaining')).toBe('0');
    // 10 calls in the bucket, 50 taken: 40 in debt and one to hold, at 10 a second, less what came back before the next call.
    const answered = performance.now();
    const next = await fhirFetch(node().fhir, token, 'Patient/nobody');
    const repaidSeconds = (performance.now() - answered) / 1000;
    await expectThrottled(next, 10);
    expect(Number(next.headers.get('retry-after'))).toBeGreaterThanOrEqual(Math.max(1, Math.floor(4.1 - repaidSeconds)));
    expect(Number(next.headers.get('retry-after'))).toBeLessThanOrEqual(5);
  });

  it("follows the rate the admin sets for a client, at once, and back to the default with null", async () => {
    const credentials = await createApiClient(node(), { scopes: ['PATIENT_READ'], rateLimit: 1 });
    const token = await tokenOf(node(), credentials);
    const slow = await hammer(token, 5);
    expect(slow.throttled.length).toBeGreaterThan(0);
    expect(slow.admitted).toBeLessThanOrEqual(mostAdmitted(1, slow.seconds));
    const raised = await admin('PATCH', `clients/${credentials.client_id}`, { rateLimit: 1000 });
    expect(raised.status).toBe(200);
    expect(raised.body.rateLimit).toBe(1000);
    const after = await fhirFetch(node().fhir, token, 'Patient/nobody');
    expect(after.status).toBe(404);
    expect(after.headers.get('ratelimit-limit')).toBe('1000');
    expect((await admin('GET', 'clients')).body.clients.find((client: Json) => client.clientId === credentials.client_id).rateLimit).toBe(1000);
    const reset = await admin('PATCH', `clients/${credentials.client_id}`, { rateLimit: null });
    expect(reset.body.rateLimit).toBeUndefined();
    expect((await fhirFetch(node().fhir, token, 'Patient/nobody')).headers.get('ratelimit-limit')).toBe('10');
    for (const bad of [0, -1, 'fast', MAX_RATE_LIMIT + 1]) expect((await admin('PATCH', `clients/${credentials.client_id}`, { rateLimit: bad })).status).toBe(400);
    expect((await admin('PATCH', 'clients/nobody', { rateLimit: 5 })).status).toBe(404);
  });

  it("refuses a client or a colleague without the admin role who would raise their own rate, and changes nothing", async () => {
    const credentials = await createApiClient(node(), { scopes: ['PATIENT_READ'], rateLimit: 1 });
    const clientToken = await tokenOf(node(), credentials);
    const colleague = user('curious-colleague');
    for (const token of [clientToken, colleague]) {
      for (const path of [`clients/${credentials.client_id}`, 'clients/liaison-ui']) {
        const answer = await fetch(`${node().url}/admin/${path}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ rateLimit: 10_000 }) });
        expect(answer.status, `PATCH /admin/${path}`).toBe(403);
      }
    }
    const clients = (await admin('GET', 'clients')).body.clients as Json[];
    expect(clients.find((client) => client.clientId === credentials.client_id)!.rateLimit).toBe(1);
    expect((await fhirFetch(node().fhir, clientToken, 'Patient/nobody')).headers.get('ratelimit-limit')).toBe('1');
  });

  // Last: the owner's token is the one the other tests' admin calls use.
  it('limits the owner client at 10 a second unless its admin raises it', async () => {
    const owner = (await admin('GET', 'clients')).body.clients.find((client: Json) => client.role === 'owner');
    expect((await admin('PATCH', `clients/${owner.clientId}`, { rateLimit: null })).status).toBe(200);
    const { throttled, admitted, seconds } = await hammer(node().token, 30);
    expect(throttled.length).toBeGreaterThan(0);
    expect(admitted).toBeLessThanOrEqual(mostAdmitted(10, seconds));
    for (const answer of throttled) await expectThrottled(answer, 10);
    // The admin API is not the FHIR API: the owner still manages the node while its FHIR calls wait.
    expect((await admin('PATCH', `clients/${owner.clientId}`, { rateLimit: MAX_RATE_LIMIT })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await burst(node().token, 30)).every((answer) => answer.status === 404)).toBe(true);
  });
});
