import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../../src-server/node';
import { migrations } from '../../../src-server/store/migrations';
import { fhirFetch, startTestNode, tempDir, useTestNode } from '../../helpers/node';
import { clientToken, userToken } from '../../helpers/users';
import { Endpoint } from '../../helpers/webhook-endpoint';
import { unlockTestDatabase } from '../../helpers/data-key';

/**
 * Subscriptions belong to the caller who created them (docs/subscriptions.md), on a real node with two practices:
 * another practice, a colleague of the same practice, another API client — even one of the whole node — neither see
 * nor change one, through any path (read, vread, history, search, `$secret`, `$changes`, Bundles, conditional
 * operations); the practice's admins and the owner client see and manage all of them. `channel.header`, where the
 * endpoint's own credentials go, is write-only: never returned anywhere, still sent with every notification.
 */

type Json = Record<string, any>;

const node = useTestNode({ subscriptions: { delivery: { backoffMs: 30, maxBackoffMs: 100, maxFailures: 3, timeoutMs: 1000, concurrency: 8 }, pollMs: 50 } });
const PRACTICE_A = 'cabinet-a';
const PRACTICE_B = 'cabinet-b';
const SCOPES = ['SUBSCRIPTION_CREATE', 'SUBSCRIPTION_UPDATE', 'SUBSCRIPTION_READ', 'SUBSCRIPTION_SEARCH', 'APPOINTMENT_READ', 'APPOINTMENT_SEARCH'];
/** Every header value below holds it: no answer may. */
const HEADER_MARK = 'hdr-';

const tokens: Record<string, string> = {};
/** Subscription ids by who created them. */
const made: Record<string, string> = {};
/** The answers to the creates, which must not echo the header either. */
const createAnswers: string[] = [];
const endpoints: Record<string, Endpoint> = {};

/** Who sees (and manages) which of the subscriptions made below. */
const SEES: Record<string, string[]> = {
  a1: ['a1'],
  secretaryA: [],
  adminA: ['a1', 'clientA'],
  clientA: ['clientA'],
  b1: ['b1'],
  adminB: ['b1'],
  wholeNode: ['wholeNode'],
  owner: ['a1', 'clientA', 'b1', 'wholeNode'],
};
const CALLERS = Object.keys(SEES);
const MADE_BY = ['a1', 'clientA', 'b1', 'wholeNode'];

async function as(who: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: Json; text: string }> {
  const response = await fhirFetch(node().fhir, tokens[who], path, init);
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Json) : {}, text };
}

function subscription(criteria: string, endpoint: string, header?: string[]): Json {
  return { resourceType: 'Subscription', status: 'requested', reason: 'Agenda', criteria, channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json', ...(header ? { header } : {}) } };
}

function appointment(practitioner: string, day: string): Json {
  return {
    resourceType: 'Appointment',
    status: 'booked',
    start: `${day}T09:00:00Z`,
    end: `${day}T09:20:00Z`,
    participant: [{ actor: { reference: `Practitioner/${practitioner}` }, status: 'accepted' }],
  };
}

const ids = (bundle: Json): string[] => (bundle.entry ?? []).map((entry: Json) => entry.resource?.id as string);
const madeIds = (names: string[]) => names.map((name) => made[name]).sort();
/** The subscriptions made below among a Bundle's resources (others' tests add more). */
const madeIn = (bundle: Json) => [...new Set(ids(bundle).filter((id) => Object.values(made).includes(id)))].sort();

beforeAll(async () => {
  const { repository, db } = node();
  for (const id of ['a1', 'b1']) repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family: id }] });
  for (const id of [PRACTICE_A, PRACTICE_B]) repository.update('Organization', id, { resourceType: 'Organization', id, name: id });
  tokens.owner = node().token;
  tokens.a1 = userToken(db, { userId: 'user-a1', roles: 'practitioner', practitionerId: 'a1', organizations: PRACTICE_A });
  tokens.secretaryA = userToken(db, { userId: 'user-secretary-a', roles: 'staff', practitionerId: null, organizations: PRACTICE_A });
  tokens.adminA = userToken(db, { userId: 'user-admin-a', roles: 'staff admin', practitionerId: null, organizations: PRACTICE_A });
  tokens.b1 = userToken(db, { userId: 'user-b1', roles: 'practitioner', practitionerId: 'b1', organizations: PRACTICE_B });
  tokens.adminB = userToken(db, { userId: 'user-admin-b', roles: 'practitioner admin', practitionerId: null, organizations: PRACTICE_B });
  tokens.clientA = await clientToken(node(), { scopes: SCOPES, organizationId: PRACTICE_A });
  // An API client of the whole node, a sync peer's: still not the owner of others' subscriptions.
  tokens.wholeNode = await clientToken(node(), { scopes: [...SCOPES, 'SYNC'] });
  for (const [who, criteria] of [
    ['a1', 'Appointment?actor=Practitioner/a1'],
    ['clientA', 'Appointment?actor=Practitioner/nobody-a'],
    ['b1', 'Appointment?actor=Practitioner/b1'],
    ['wholeNode', 'Appointment?actor=Practitioner/nobody-w'],
  ]) {
    endpoints[who] = await new Endpoint().listen();
    const created = await as(who, 'Subscription', { method: 'POST', json: subscription(criteria, endpoints[who].url, [`Authorization: Bearer ${HEADER_MARK}${who}`]) });
    expect(created.status, created.text).toBe(201);
    made[who] = created.body.id as string;
    createAnswers.push(created.text);
  }
});

afterAll(async () => {
  await Promise.all(Object.values(endpoints).map((each) => each.close()));
});

describe('who sees a subscription', () => {
  it('lets each caller read, vread and see the history and secret of its own only; the admins their practice\'s; the owner client all', async () => {
    for (const who of CALLERS) {
      for (const creator of MADE_BY) {
        const id = made[creator];
        const expected = SEES[who].includes(creator) ? 200 : 404;
        const read = await as(who, `Subscription/${id}`);
        expect(read.status, `${who} reads ${creator}'s subscription`).toBe(expected);
        expect((await as(who, `Subscription/${id}/_history`)).status, `${who}: history of ${creator}'s`).toBe(expected);
        const versionId = (await as('owner', `Subscription/${id}`)).body.meta.versionId as string;
        expect((await as(who, `Subscription/${id}/_history/${versionId}`)).status, `${who}: vread of ${creator}'s`).toBe(expected);
        expect((await as(who, `Subscription/${id}/$secret`)).status, `${who}: secret of ${creator}'s`).toBe(expected);
      }
    }
  });

  it('finds only those in searches, totals, type and system histories, $changes and Bundles', async () => {
    for (const who of CALLERS) {
      const expected = madeIds(SEES[who]);
      const search = await as(who, 'Subscription?_count=100&_total=accurate');
      expect(madeIn(search.body), `${who} searches`).toEqual(expected);
      const byId = await as(who, `Subscription?_id=${Object.values(made).join(',')}&_total=accurate`);
      expect(byId.body.total, `${who} counts`).toBe(expected.length);
      const posted = await as(who, 'Subscription/_search', { method: 'POST', body: new URLSearchParams({ status: 'active', _count: '100' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(madeIn(posted.body), `${who} searches by POST`).toEqual(expected);
      expect(madeIn((await as(who, 'Subscription/_history?_count=100')).body), `${who}: type history`).toEqual(expected);
      const batch = await as(who, '', { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: MADE_BY.map((creator) => ({ request: { method: 'GET', url: `Subscription/${made[creator]}` } })) } });
      expect(batch.body.entry.map((entry: Json) => entry.response.status), `${who}: Bundle reads`).toEqual(MADE_BY.map((creator) => (SEES[who].includes(creator) ? '200 OK' : '404 Not Found')));
      // Users here have every scope (`*`), which the system history needs; the sync feed needs SYNC.
      if (who !== 'clientA' && who !== 'wholeNode') expect(madeIn((await as(who, '_history?_count=100')).body), `${who}: system history`).toEqual(expected);
      if (who !== 'clientA') expect(madeIn((await as(who, '$changes?_count=2000')).body), `${who}: $changes`).toEqual(expected);
    }
  });

  it('notifies a subscription to Subscriptions of its writer\'s own only', async () => {
    const receiver = await new Endpoint().listen();
    try {
      const watching = await as('b1', 'Subscription', { method: 'POST', json: subscription('Subscription?status=active', receiver.url) });
      expect(watching.status).toBe(201);
      const hidden = await as('a1', 'Subscription', { method: 'POST', json: subscription('Appointment?actor=Practitioner/nobody-a2', endpoints.a1.url, [`Authorization: Bearer ${HEADER_MARK}a1-again`]) });
      const seen = await as('b1', 'Subscription', { method: 'POST', json: subscription('Appointment?actor=Practitioner/nobody-b2', endpoints.b1.url) });
      expect([hidden.status, seen.status]).toEqual([201, 201]);
      await receiver.waitFor(2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Its own activation, and b1's other one.
      const notified = receiver.received.map((each) => (JSON.parse(each.body.toString()) as Json).id as string);
      expect(new Set(notified)).toEqual(new Set([watching.body.id, seen.body.id]));
      expect(receiver.received.some((each) => each.body.toString().includes(HEADER_MARK))).toBe(false);
    } finally {
      await receiver.close();
    }
  });

  it('does not let a conditional create or update match another caller\'s subscription', async () => {
    const target = made.a1;
    const unrelated = subscription('Appointment?actor=Practitioner/nobody-b', endpoints.b1.url);
    const conditional = await as('b1', 'Subscription', { method: 'POST', json: unrelated, headers: { 'if-none-exist': `_id=${target}` } });
    expect(conditional.status).toBe(201);
    expect(conditional.body.id).not.toBe(target);
    const conditionalUpdate = await as('b1', `Subscription?_id=${target}`, { method: 'PUT', json: { ...unrelated, status: 'off' } });
    expect(conditionalUpdate.status).toBe(201);
    expect(conditionalUpdate.body.id).not.toBe(target);
    expect((await as('owner', `Subscription/${target}`)).body).toMatchObject({ status: 'active', criteria: 'Appointment?actor=Practitioner/a1' });
  });
});

describe('who changes a subscription', () => {
  it('refuses another caller\'s PUT, directly or in a Bundle, and writes nothing', async () => {
    const id = made.a1;
    const before = (await as('owner', `Subscription/${id}`)).body;
    const elsewhere = await new Endpoint().listen();
    try {
      for (const who of ['b1', 'adminB', 'secretaryA', 'clientA', 'wholeNode']) {
        const off = await as(who, `Subscription/${id}`, { method: 'PUT', json: { ...subscription(before.criteria, before.channel.endpoint), id, status: 'off' } });
        expect(off.status, `${who} turns it off: ${off.text}`).toBe(403);
        expect(off.body.resourceType).toBe('OperationOutcome');
        const redirected = await as(who, `Subscription/${id}`, { method: 'PUT', json: { ...subscription(before.criteria, elsewhere.url), id } });
        expect(redirected.status, `${who} points it elsewhere`).toBe(403);
        const inBundle = await as(who, '', { method: 'POST', json: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...subscription(before.criteria, elsewhere.url), id }, request: { method: 'PUT', url: `Subscription/${id}` } }] } });
        expect(inBundle.status, `${who} in a transaction`).toBe(403);
      }
      expect((await as('owner', `Subscription/${id}`)).body.meta.versionId).toBe(before.meta.versionId);
      // Still delivered where its owner said, and only there.
      await as('owner', 'Appointment', { method: 'POST', json: appointment('a1', '2026-12-03') });
      await endpoints.a1.waitFor(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(elsewhere.received).toHaveLength(0);
    } finally {
      await elsewhere.close();
    }
  });

  it('lets the practice\'s admin and the owner client manage it, and it stays its creator\'s', async () => {
    const id = made.clientA;
    for (const who of ['adminA', 'owner']) {
      const current = (await as(who, `Subscription/${id}`)).body;
      expect((await as(who, `Subscription/${id}`, { method: 'PUT', json: { ...current, status: 'off' } })).status, who).toBe(200);
      expect((await as(who, `Subscription/${id}`, { method: 'PUT', json: { ...current, status: 'requested' } })).status, who).toBe(200);
    }
    expect((await as('clientA', `Subscription/${id}`)).body.status).toBe('active');
    expect((await as('a1', `Subscription/${id}`)).status).toBe(404);
  });
});

describe('channel.header', () => {
  it('is never returned: not on create, read, vread, search, history, Bundles or $changes', async () => {
    for (const answer of createAnswers) expect(answer).not.toContain(HEADER_MARK);
    for (const who of ['owner', 'a1', 'adminA']) {
      const answers = [
        await as(who, 'Subscription?_count=100'),
        await as(who, 'Subscription?_count=100&_elements=channel'),
        await as(who, 'Subscription/_history?_count=100'),
        await as(who, '_history?_count=100'),
        await as(who, '$changes?_count=2000'),
      ];
      for (const creator of SEES[who]) {
        answers.push(await as(who, `Subscription/${made[creator]}`), await as(who, `Subscription/${made[creator]}/_history`));
        for (const entry of (await as(who, `Subscription/${made[creator]}/_history`)).body.entry) {
          answers.push(await as(who, `Subscription/${made[creator]}/_history/${entry.resource.meta.versionId}`));
        }
      }
      answers.push(await as(who, '', { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Subscription/${made.a1}` } }] } }));
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.text, `${who}: ${answer.text.slice(0, 200)}`).not.toContain(HEADER_MARK);
      }
    }
  });

  it('goes with every notification; an update without it keeps it, one with it replaces it, an empty one removes it', async () => {
    const receiver = await new Endpoint().listen();
    try {
      const created = await as('a1', 'Subscription', { method: 'POST', json: subscription('Appointment?actor=Practitioner/a1&date=ge2027-01-01', receiver.url, [`Authorization: Bearer ${HEADER_MARK}first`, 'X-Practice: A']) });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      const book = async (day: string, count: number) => {
        expect((await as('owner', 'Appointment', { method: 'POST', json: appointment('a1', day) })).status).toBe(201);
        return (await receiver.waitFor(count))[count - 1].headers;
      };
      expect(await book('2027-01-04', 1)).toMatchObject({ authorization: `Bearer ${HEADER_MARK}first`, 'x-practice': 'A' });
      // As a client writes it back after a read: without the header, which it never got.
      const withoutHeader = { ...subscription('Appointment?actor=Practitioner/a1&date=ge2027-01-01', receiver.url), id, reason: 'Agenda du Dr A1' };
      expect((await as('a1', `Subscription/${id}`, { method: 'PUT', json: withoutHeader })).status).toBe(200);
      expect((await as('a1', `Subscription/${id}`)).body.reason).toBe('Agenda du Dr A1');
      expect(await book('2027-01-05', 2)).toMatchObject({ authorization: `Bearer ${HEADER_MARK}first`, 'x-practice': 'A' });
      const replaced: Json = { ...subscription('Appointment?actor=Practitioner/a1&date=ge2027-01-01', receiver.url, [`Authorization: Bearer ${HEADER_MARK}second`]), id };
      expect((await as('a1', `Subscription/${id}`, { method: 'PUT', json: replaced })).status).toBe(200);
      const headers = await book('2027-01-06', 3);
      expect(headers.authorization).toBe(`Bearer ${HEADER_MARK}second`);
      expect(headers['x-practice']).toBeUndefined();
      expect((await as('a1', `Subscription/${id}/_history`)).text).not.toContain(HEADER_MARK);
      // An empty list removes them.
      expect((await as('a1', `Subscription/${id}`, { method: 'PUT', json: { ...replaced, channel: { ...replaced.channel, header: [] } } })).status).toBe(200);
      expect((await book('2027-01-07', 4)).authorization).toBeUndefined();
    } finally {
      await receiver.close();
    }
  });

  it("stays with its endpoint: an update that points the channel elsewhere without a header drops the old one", async () => {
    const colleague = await new Endpoint().listen();
    const elsewhere = await new Endpoint().listen();
    try {
      const criteria = 'Appointment?actor=Practitioner/a1&date=ge2027-02-01';
      const created = await as('a1', 'Subscription', { method: 'POST', json: subscription(criteria, colleague.url, [`Authorization: Bearer ${HEADER_MARK}colleague`]) });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      // The practice's admin may manage it, but not carry the colleague's credentials to another endpoint.
      expect((await as('adminA', `Subscription/${id}`, { method: 'PUT', json: { ...subscription(criteria, elsewhere.url), id } })).status).toBe(200);
      expect((await as('owner', 'Appointment', { method: 'POST', json: appointment('a1', '2027-02-02') })).status).toBe(201);
      const [notification] = await elsewhere.waitFor(1);
      expect(notification.headers.authorization).toBeUndefined();
      expect(colleague.received).toHaveLength(0);
    } finally {
      await colleague.close();
      await elsewhere.close();
    }
  });
});

describe('a store written before', () => {
  /** The migration that moves the headers out; before it is written, every migration (the store as it is today). */
  const moving = migrations.findIndex((migration) => migration.description.startsWith('creators of Subscriptions and Binaries'));
  const before = moving < 0 ? migrations.length : moving;

  /** A store as the node wrote it before: a Subscription of Dr A1 (practice A) with its header in both versions. */
  function oldStore(dataDir: string, endpoint: string): void {
    const db = new Database(join(dataDir, DATABASE_FILE));
    // Encrypted as the node writes every store, under the folder's key.
    unlockTestDatabase(db, dataDir);
    db.pragma('journal_mode = WAL');
    for (const migration of migrations.slice(0, before)) db.exec(migration.sql);
    const body = (versionId: string, status: string) =>
      JSON.stringify({ resourceType: 'Subscription', id: 'old', meta: { versionId, lastUpdated: '2026-01-05T10:00:00.000Z' }, ...subscription('Appointment?actor=Practitioner/a1', endpoint, [`Authorization: Bearer ${HEADER_MARK}old`]), status });
    const version = db.prepare("INSERT INTO resource_versions (vseq, version_id, resource_type, resource_id, parent_ids, origin_node, last_updated, method, body) VALUES (?, ?, 'Subscription', 'old', ?, 'old-node', '2026-01-05T10:00:00.000Z', ?, ?)");
    version.run(1, 'v1', '[]', 'POST', body('v1', 'requested'));
    version.run(2, 'v2', '["v1"]', 'PUT', body('v2', 'active'));
    db.prepare("INSERT INTO change_log (seq, vseq, resource_type) VALUES (1, 1, 'Subscription'), (2, 2, 'Subscription')").run();
    db.prepare("INSERT INTO resources (resource_type, resource_id, vseq, last_updated) VALUES ('Subscription', 'old', 2, '2026-01-05T10:00:00.000Z')").run();
    db.prepare("INSERT INTO resource_counts (resource_type, total) VALUES ('Subscription', 1)").run();
    db.prepare("UPDATE node_meta SET value = '2' WHERE key = 'subscriptions_cursor'").run();
    db.prepare('INSERT INTO subscription_owners (subscription_id, reach, base, secret) VALUES (?, ?, ?, ?)').run('old', JSON.stringify([['Practitioner', 'a1'], ['Organization', PRACTICE_A]]), 'http://127.0.0.1:1/fhir', `whsec_${Buffer.alloc(32, 1).toString('base64')}`);
    db.pragma(`user_version = ${before}`);
    db.close();
  }

  it('moves the header out of every version, still sends it, and lets the practice\'s admins manage the subscription', async () => {
    const dataDir = tempDir();
    const receiver = await new Endpoint().listen();
    oldStore(dataDir, receiver.url);
    const upgraded = await startTestNode({ dataDir, subscriptions: { pollMs: 50 } });
    try {
      const stored = upgraded.db.prepare("SELECT body FROM resource_versions WHERE resource_type = 'Subscription'").all() as Array<{ body: string }>;
      expect(stored).toHaveLength(2);
      for (const { body } of stored) expect(body).not.toContain(HEADER_MARK);
      const get = async (token: string, path: string) => {
        const response = await fhirFetch(upgraded.fhir, token, path);
        return { status: response.status, text: await response.text() };
      };
      for (const path of ['Subscription/old', 'Subscription/old/_history', 'Subscription/old/_history/v1', 'Subscription?_id=old', '$changes']) {
        const answer = await get(upgraded.token, path);
        expect(answer.status, path).toBe(200);
        expect(answer.text, path).not.toContain(HEADER_MARK);
      }
      // Who made it is unknown: the practice of the reach that last wrote it manages it.
      const adminA = userToken(upgraded.db, { userId: 'admin-a', roles: 'admin', practitionerId: null, organizations: PRACTICE_A });
      const a1 = userToken(upgraded.db, { userId: 'a1', roles: 'practitioner', practitionerId: 'a1', organizations: PRACTICE_A });
      const b1 = userToken(upgraded.db, { userId: 'b1', roles: 'practitioner', practitionerId: 'b1', organizations: PRACTICE_B });
      expect([(await get(adminA, 'Subscription/old')).status, (await get(a1, 'Subscription/old')).status, (await get(b1, 'Subscription/old')).status]).toEqual([200, 404, 404]);
      expect((await fhirFetch(upgraded.fhir, upgraded.token, 'Appointment', { method: 'POST', json: appointment('a1', '2027-02-01') })).status).toBe(201);
      const [notification] = await receiver.waitFor(1);
      expect(notification.headers.authorization).toBe(`Bearer ${HEADER_MARK}old`);
    } finally {
      await upgraded.stop();
      await receiver.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
