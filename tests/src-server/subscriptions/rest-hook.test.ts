import { rmSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fhirFetch, startTestNode, tempDir, useTestNode, type TestNode } from '../../helpers/node';
import { clientToken, userToken } from '../../helpers/users';
import { Endpoint, type Received } from '../../helpers/webhook-endpoint';

/**
 * STU3 rest-hook Subscriptions on a real node, delivering to real HTTP servers on 127.0.0.1: signed notifications
 * (checked with the Standard Webhooks reference library), retries then `error`, the owner's access rules, writes
 * that do not wait for a hanging endpoint, a queue that survives a restart, and the checks on what is accepted.
 */

type Json = Record<string, any>;

const DELIVERY = { backoffMs: 30, maxBackoffMs: 100, maxFailures: 3, timeoutMs: 1000, concurrency: 8 };
const node = useTestNode({ subscriptions: { delivery: DELIVERY, pollMs: 50 } });
const endpoints: Endpoint[] = [];
const PRACTICE_A = 'cabinet-a';

async function endpoint(): Promise<Endpoint> {
  const created = await new Endpoint().listen();
  endpoints.push(created);
  return created;
}

async function call(token: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const response = await fhirFetch(node().fhir, token, path, init);
  return { status: response.status, body: (await response.json()) as Json };
}
const owner = (path: string, init: RequestInit & { json?: unknown } = {}) => call(node().token, path, init);

function subscription(criteria: string, url: string, channel: Json = {}): Json {
  return { resourceType: 'Subscription', status: 'requested', reason: 'Agenda du cabinet', criteria, channel: { type: 'rest-hook', endpoint: url, payload: 'application/fhir+json', ...channel } };
}

async function subscribe(token: string, resource: Json): Promise<{ id: string; secret: string }> {
  const created = await call(token, 'Subscription', { method: 'POST', json: resource });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id as string;
  expect((await call(token, `Subscription/${id}`)).body.status).toBe('active');
  const secret = await call(token, `Subscription/${id}/$secret`);
  expect(secret.status).toBe(200);
  return { id, secret: secret.body.parameter[0].valueString as string };
}

function appointment(practitioner: string, patient: string, day: string): Json {
  return {
    resourceType: 'Appointment',
    status: 'booked',
    start: `${day}T09:00:00Z`,
    end: `${day}T09:20:00Z`,
    participant: [
      { actor: { reference: `Patient/${patient}` }, status: 'accepted' },
      { actor: { reference: `Practitioner/${practitioner}` }, status: 'accepted' },
    ],
  };
}

/** Lets background work run long enough that a wrongly queued notification would have been sent. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

const verify = (secret: string, received: Received) => new Webhook(secret).verify(received.body, received.headers as Record<string, string>, { jsonParse: false });

beforeAll(async () => {
  const { repository } = node();
  for (const id of ['a1', 'b1']) repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family: id }] });
  repository.update('Organization', PRACTICE_A, { resourceType: 'Organization', id: PRACTICE_A, name: 'Cabinet A' });
  for (const [id, gp] of [['pa', 'a1'], ['pb', 'b1']]) {
    expect((await owner(`Patient/${id}`, { method: 'PUT', json: { resourceType: 'Patient', id, generalPractitioner: [{ reference: `Practitioner/${gp}` }] } })).status).toBe(201);
  }
});

afterAll(async () => {
  await Promise.all(endpoints.map((each) => each.close()));
});

describe('rest-hook delivery', () => {
  it('POSTs a matching new appointment to the endpoint, signed with the subscription\'s secret, with its headers', async () => {
    const receiver = await endpoint();
    const token = await clientToken(node(), { scopes: ['SUBSCRIPTION_CREATE', 'SUBSCRIPTION_READ', 'APPOINTMENT_READ', 'APPOINTMENT_SEARCH'] });
    const { secret } = await subscribe(token, subscription('Appointment?actor=Practitioner/a1', receiver.url, { header: ['Authorization: Bearer for-the-ehr'] }));
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await owner('Appointment', { method: 'POST', json: appointment('b1', 'pb', '2026-12-01') });
    const booked = await owner('Appointment', { method: 'POST', json: appointment('a1', 'pa', '2026-12-01') });
    expect(booked.status).toBe(201);
    const [notification] = await receiver.waitFor(1);
    expect(notification.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(notification.headers.authorization).toBe('Bearer for-the-ehr');
    expect(() => verify(secret, notification)).not.toThrow();
    expect(JSON.parse(notification.body.toString())).toMatchObject({ resourceType: 'Appointment', id: booked.body.id, meta: { versionId: booked.body.meta.versionId } });
    // A forged body, or another secret, does not verify.
    expect(() => verify(secret, { ...notification, body: Buffer.from(notification.body.toString().replace('booked', 'cancelled')) })).toThrow();
    expect(() => new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(notification.body, notification.headers as Record<string, string>)).toThrow();
    // An update notifies again; the other practitioner's appointment never did.
    await owner(`Appointment/${booked.body.id}`, { method: 'PUT', json: { ...booked.body, status: 'cancelled' } });
    const [, update] = await receiver.waitFor(2);
    expect(JSON.parse(update.body.toString()).status).toBe('cancelled');
    await settle();
    expect(receiver.received).toHaveLength(2);
    expect(new Set(receiver.received.map((each) => each.headers['webhook-id'])).size).toBe(2);
  });

  it('POSTs no body when the subscription asks for no payload (STU3), still signed', async () => {
    const receiver = await endpoint();
    const { secret } = await subscribe(node().token, subscription('Patient?general-practitioner=Practitioner/b1', receiver.url, { payload: undefined }));
    await owner('Patient', { method: 'POST', json: { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/b1' }] } });
    const [notification] = await receiver.waitFor(1);
    expect(notification.body.length).toBe(0);
    expect(notification.headers['content-type']).toBeUndefined();
    expect(() => verify(secret, notification)).not.toThrow();
  });

  it('retries with backoff, then puts the subscription in error; a success in between resets the count', async () => {
    const receiver = await endpoint();
    receiver.answers = [503, 503, 200, 500, 500, 500];
    const { id } = await subscribe(node().token, subscription('Patient?general-practitioner=Practitioner/a1', receiver.url));
    const first = await owner('Patient', { method: 'POST', json: { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/a1' }] } });
    await receiver.waitFor(3);
    // The same notification each time: one id, one body.
    expect(new Set(receiver.received.map((each) => each.headers['webhook-id'])).size).toBe(1);
    expect(JSON.parse(receiver.received[2].body.toString()).id).toBe(first.body.id);
    expect((await owner(`Subscription/${id}`)).body.status).toBe('active');
    await owner('Patient', { method: 'POST', json: { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/a1' }] } });
    await receiver.waitFor(6);
    const status = await vi.waitFor(
      async () => {
        const { body } = await owner(`Subscription/${id}`);
        expect(body.status).toBe('error');
        return body as Json;
      },
      { timeout: 15_000, interval: 20 },
    );
    expect(status.error).toContain('HTTP 500');
    // In error, it notifies no more, until its owner asks for it again.
    await owner('Patient', { method: 'POST', json: { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/a1' }] } });
    await settle();
    expect(receiver.received).toHaveLength(6);
    const again = await owner(`Subscription/${id}`, { method: 'PUT', json: { ...status, status: 'requested' } });
    expect(again.status).toBe(200);
    const reactivated = (await owner(`Subscription/${id}`)).body;
    expect(reactivated.status).toBe('active');
    expect(reactivated.error).toBeUndefined();
    await owner('Patient', { method: 'POST', json: { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/a1' }] } });
    await receiver.waitFor(7);
  });

  it('stops when the client turns the subscription off', async () => {
    const receiver = await endpoint();
    const { id } = await subscribe(node().token, subscription('Patient?general-practitioner=Practitioner/b1', receiver.url));
    const current = (await owner(`Subscription/${id}`)).body;
    expect((await owner(`Subscription/${id}`, { method: 'PUT', json: { ...current, status: 'off' } })).status).toBe(200);
    await owner('Patient', { method: 'POST', json: { resourceType: 'Patient', generalPractitioner: [{ reference: 'Practitioner/b1' }] } });
    await settle();
    expect(receiver.received).toHaveLength(0);
  });

  it('does not keep writes waiting for an endpoint that never answers', async () => {
    const receiver = await endpoint();
    receiver.answers = Array(100).fill('hang');
    await subscribe(node().token, subscription('Observation?code=http://loinc.org|8480-6', receiver.url));
    const observation = { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, subject: { reference: 'Patient/pa' } };
    const took: number[] = [];
    for (let index = 0; index < 20; index++) {
      const started = performance.now();
      expect((await owner('Observation', { method: 'POST', json: observation })).status).toBe(201);
      took.push(performance.now() - started);
    }
    await receiver.waitFor(1);
    // Each notification waits its timeout (1 s) at the endpoint; no write did (a write held by its notification, or
    // by a queue full of hanging ones, would take that second), however slow the machine makes each of them.
    expect(Math.max(...took), JSON.stringify(took.map(Math.round))).toBeLessThan(DELIVERY.timeoutMs);
    expect(receiver.received).toHaveLength(1);
  });
});

describe('the owner\'s access', () => {
  it('delivers only what the subscribing user may see', async () => {
    const receiver = await endpoint();
    const a1 = userToken(node().db, { userId: 'user-a1', roles: 'practitioner', practitionerId: 'a1', organizations: PRACTICE_A });
    const { id } = await subscribe(a1, subscription('Appointment?status=booked', receiver.url));
    const hidden = await owner('Appointment', { method: 'POST', json: appointment('b1', 'pb', '2026-12-02') });
    const visible = await owner('Appointment', { method: 'POST', json: appointment('a1', 'pa', '2026-12-02') });
    expect([hidden.status, visible.status]).toEqual([201, 201]);
    const [notification] = await receiver.waitFor(1);
    await settle();
    expect(receiver.received.map((each) => JSON.parse(each.body.toString()).id)).toEqual([visible.body.id]);
    expect(notification.headers['webhook-signature']).toBeDefined();
    // Its secret is the owner's: another user, of another practice, cannot read it.
    const b1 = userToken(node().db, { userId: 'user-b1', roles: 'practitioner', practitionerId: 'b1', organizations: 'cabinet-b' });
    expect((await call(b1, `Subscription/${id}/$secret`)).status).toBe(404);
    const rotated = await call(a1, `Subscription/${id}/$secret`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    expect((await call(a1, `Subscription/${id}/$secret`)).body.parameter[0].valueString).toBe(rotated.body.parameter[0].valueString);
  });

  it('needs the read scope of what it notifies', async () => {
    const token = await clientToken(node(), { scopes: ['SUBSCRIPTION_CREATE', 'PATIENT_READ'] });
    const refused = await call(token, 'Subscription', { method: 'POST', json: subscription('Appointment?actor=Practitioner/a1', 'http://127.0.0.1:9/hook') });
    expect(refused.status).toBe(403);
    expect(refused.body.issue[0].diagnostics).toContain('APPOINTMENT_READ');
  });
});

describe('what is accepted', () => {
  it('answers 422 for another host, another channel, a bad criteria, a status the node sets, a header the node sets', async () => {
    const local = 'http://127.0.0.1:9/hook';
    for (const [what, resource] of [
      ['a host on the network', subscription('Patient?gender=female', 'http://example.com/hook')],
      ['a private address', subscription('Patient?gender=female', 'http://192.168.1.20:8080/hook')],
      ['credentials in the URL', subscription('Patient?gender=female', 'http://user:pw@127.0.0.1:9/hook')],
      ['ftp', subscription('Patient?gender=female', 'ftp://127.0.0.1/hook')],
      ['the node itself', subscription('Patient?gender=female', `${node().url}/fhir/Patient`)],
      ['the node itself by another name', subscription('Patient?gender=female', `${node().url.replace('127.0.0.1', 'localhost')}/fhir/Patient`)],
      ['email', subscription('Patient?gender=female', 'mailto:a@b.fr', { type: 'email' })],
      ['XML payload', subscription('Patient?gender=female', local, { payload: 'application/fhir+xml' })],
      ['unknown type', subscription('Nothing?gender=female', local)],
      ['unknown parameter', subscription('Patient?colour=blue', local)],
      ['a value the parameter cannot take', subscription('Appointment?date=soon', local)],
      ['active from the client', { ...subscription('Patient?gender=female', local), status: 'active' }],
      ['reserved header', subscription('Patient?gender=female', local, { header: ['webhook-signature: v1,forged'] })],
      ['malformed header', subscription('Patient?gender=female', local, { header: ['no colon here'] })],
    ] as const) {
      const refused = await owner('Subscription', { method: 'POST', json: resource });
      expect(refused.status, `${what}: ${JSON.stringify(refused.body)}`).toBe(422);
      expect(refused.body.resourceType).toBe('OperationOutcome');
    }
    expect((await owner('Subscription?_total=accurate')).body.total).toBe(endpoints.length);
  });
});

describe('durability', () => {
  it('keeps queued notifications across a restart and delivers them when the endpoint comes back', async () => {
    const dataDir = tempDir();
    const gone = await endpoint();
    const url = gone.url;
    await gone.close();
    let restarted: TestNode | undefined;
    const first = await startTestNode({ dataDir, subscriptions: { delivery: { ...DELIVERY, maxFailures: 100, backoffMs: 50 }, pollMs: 50 } });
    try {
      const created = await fhirFetch(first.fhir, first.token, 'Subscription', { method: 'POST', json: subscription('Patient?gender=female', url) });
      expect(created.status).toBe(201);
      const patient = (await (await fhirFetch(first.fhir, first.token, 'Patient', { method: 'POST', json: { resourceType: 'Patient', gender: 'female' } })).json()) as Json;
      await settle();
      await first.stop();
      const port = Number(new URL(url).port);
      const back = await new Endpoint().listen(port);
      endpoints.push(back);
      restarted = await startTestNode({ dataDir, subscriptions: { delivery: DELIVERY, pollMs: 50 } });
      const [notification] = await back.waitFor(1);
      expect(JSON.parse(notification.body.toString()).id).toBe(patient.id);
    } finally {
      await first.stop();
      await restarted?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
