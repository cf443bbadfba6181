import { runCli } from '../../helpers/child-node';
import { describe, expect, it } from 'vitest';
import { MAX_RATE_LIMIT } from '../../../src-server/auth/clients';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { burstsUntilRefused, mostAdmitted } from '../../helpers/rate';

/**
 * API clients of the office's software, end to end on a real node: created by the admin API and the CLI, scoped
 * in Lifen's vocabulary on every path (Bundles, chains, includes, conditional operations, history), revoked,
 * and rate limited.
 */

type Json = Record<string, any>;

const node = useTestNode();

interface Client {
  id: string;
  secret: string;
  token: string;
  call(path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; body: Json; headers: Headers }>;
}

async function admin(path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const { json, ...rest } = init;
  const response = await fetch(`${node().url}/admin/${path}`, {
    ...rest,
    headers: { authorization: `Bearer ${node().token}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

async function tokenFor(id: string, secret: string): Promise<string> {
  const response = await fetch(`${node().url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as Json).access_token;
}

async function call(token: string, path: string, init: RequestInit & { json?: unknown } = {}) {
  const response = await fhirFetch(node().fhir, token, path, init);
  return { status: response.status, body: (await response.json()) as Json, headers: response.headers };
}

/** A client with these scopes (and a generous rate limit, so that scope tests are not throttled). */
async function client(scopes: string[], rateLimit = 1000): Promise<Client> {
  const { status, body } = await admin('clients', { method: 'POST', json: { name: `test ${scopes.join(' ')}`, scopes, rateLimit } });
  expect(status, JSON.stringify(body)).toBe(201);
  const token = await tokenFor(body.client_id, body.client_secret);
  return { id: body.client_id, secret: body.client_secret, token, call: (path, init) => call(token, path, init) };
}

/** Written by the owner: the practice's own data. */
async function seed(resource: Json): Promise<Json> {
  const response = await node().request(`${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource });
  expect([200, 201]).toContain(response.status);
  return (await response.json()) as Json;
}

const forbiddenScope = (body: Json) => {
  expect(body.resourceType).toBe('OperationOutcome');
  expect(body.issue[0].code).toBe('forbidden');
  return /scope (\S+)/.exec(body.issue[0].diagnostics)?.[1];
};

describe('scopes', () => {
  const LIFEN_TYPES = ['Patient', 'DocumentReference', 'Appointment', 'CommunicationRequest', 'Binary'];
  const bodies: Record<string, Json> = {
    Patient: { resourceType: 'Patient', gender: 'female' },
    DocumentReference: { resourceType: 'DocumentReference', status: 'current', type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] }, indexed: '2026-11-26T10:00:00Z', content: [{ attachment: { url: 'Binary/b' } }] },
    Appointment: { resourceType: 'Appointment', status: 'booked', start: '2026-12-01T09:00:00Z', end: '2026-12-01T09:15:00Z', participant: [{ status: 'accepted' }] },
    CommunicationRequest: { resourceType: 'CommunicationRequest', status: 'active' },
    Binary: { resourceType: 'Binary', contentType: 'text/plain', content: 'aGVsbG8=' },
  };

  it('allow each interaction exactly with its scope, and answer 403 naming the missing one', async () => {
    for (const type of LIFEN_TYPES) {
      const existing = await seed({ ...bodies[type], id: `scoped-${type}` });
      const attempts: Record<string, (who: Client) => ReturnType<Client['call']>> = {
        READ: (who) => who.call(`${type}/${existing.id}`),
        SEARCH: (who) => who.call(`${type}?_id=${existing.id}`),
        CREATE: (who) => who.call(type, { method: 'POST', json: bodies[type] }),
        UPDATE: (who) => who.call(`${type}/${existing.id}`, { method: 'PUT', json: { ...bodies[type], id: existing.id } }),
      };
      for (const granted of Object.keys(attempts)) {
        const who = await client([`${type.toUpperCase()}_${granted}`]);
        for (const [action, attempt] of Object.entries(attempts)) {
          const { status, body } = await attempt(who);
          if (action === granted) expect(status, `${type} ${action} with its scope: ${JSON.stringify(body)}`).toBeLessThan(300);
          else {
            expect(status, `${type} ${action} with only ${granted}`).toBe(403);
            expect(forbiddenScope(body)).toBe(`${type.toUpperCase()}_${action}`);
          }
        }
      }
    }
  });

  it('need the create scope too for an update that creates, and the search scope for conditional operations', async () => {
    const updater = await client(['PATIENT_UPDATE']);
    const created = await updater.call('Patient/new-by-put', { method: 'PUT', json: { resourceType: 'Patient', id: 'new-by-put' } });
    expect(created.status).toBe(403);
    expect(forbiddenScope(created.body)).toBe('PATIENT_CREATE');
    const creator = await client(['PATIENT_CREATE']);
    const conditional = await creator.call('Patient', { method: 'POST', json: { resourceType: 'Patient' }, headers: { 'if-none-exist': 'identifier=x|1' } });
    expect(conditional.status).toBe(403);
    expect(forbiddenScope(conditional.body)).toBe('PATIENT_SEARCH');
    const conditionalUpdate = await (await client(['PATIENT_UPDATE', 'PATIENT_CREATE'])).call('Patient?identifier=x|1', { method: 'PUT', json: { resourceType: 'Patient' } });
    expect(forbiddenScope(conditionalUpdate.body)).toBe('PATIENT_SEARCH');
  });

  it('cover what a search looks into: chains and _has need the other type, includes leave out what cannot be read', async () => {
    await seed({ resourceType: 'Patient', id: 'chained', name: [{ family: 'Chaîne' }] });
    await seed({ resourceType: 'Observation', id: 'chained-obs', status: 'final', code: { text: 'poids' }, subject: { reference: 'Patient/chained' } });
    const observations = await client(['OBSERVATION_SEARCH']);
    const chain = await observations.call('Observation?subject:Patient.name=chaine');
    expect(chain.status).toBe(403);
    expect(forbiddenScope(chain.body)).toBe('PATIENT_SEARCH');
    const has = await (await client(['PATIENT_SEARCH'])).call('Patient?_has:Observation:subject:code:text=poids');
    expect(forbiddenScope(has.body)).toBe('OBSERVATION_SEARCH');
    const included = await observations.call('Observation?_id=chained-obs&_include=Observation:subject');
    expect(included.status).toBe(200);
    expect(included.body.entry.map((entry: Json) => entry.resource.resourceType)).toEqual(['Observation']);
    const withPatients = await (await client(['OBSERVATION_SEARCH', 'PATIENT_READ', 'PATIENT_SEARCH'])).call('Observation?_id=chained-obs&_include=Observation:subject');
    expect(withPatients.body.entry.map((entry: Json) => entry.resource.resourceType)).toEqual(['Observation', 'Patient']);
    const chained = await (await client(['OBSERVATION_SEARCH', 'PATIENT_SEARCH'])).call('Observation?subject:Patient.name=chaine');
    expect(chained.body.entry.map((entry: Json) => entry.resource.id)).toEqual(['chained-obs']);
  });

  it('ask of a chain only the scopes of the types it can cross', async () => {
    await seed({ resourceType: 'Patient', id: 'chained-ins', identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '279035121518989' }] });
    await seed({ resourceType: 'Observation', id: 'chained-ins-obs', status: 'final', code: { text: 'poids' }, subject: { reference: 'Patient/chained-ins' } });
    const clinical = await client(['PATIENT_READ', 'PATIENT_SEARCH', 'PATIENT_CREATE', 'PATIENT_UPDATE', 'OBSERVATION_READ', 'OBSERVATION_SEARCH', 'OBSERVATION_CREATE', 'OBSERVATION_UPDATE']);
    // `patient` points at a Patient (STU3 lists Group too, but a Group is never an Observation's patient).
    const byPatient = await clinical.call('Observation?patient.identifier=279035121518989');
    expect(byPatient.status, JSON.stringify(byPatient.body)).toBe(200);
    expect(byPatient.body.entry.map((entry: Json) => entry.resource.id)).toEqual(['chained-ins-obs']);
    expect((await clinical.call('Observation?subject:Patient.identifier=279035121518989')).status).toBe(200);
    // `subject` may point at a Group, a Device or a Location as well: searching through them needs their scopes.
    expect(forbiddenScope((await clinical.call('Observation?subject.identifier=279035121518989')).body)).toBe('GROUP_SEARCH');
    const group = await clinical.call('Observation?patient:Group.name=x');
    expect(group.status).toBe(400);
    expect(group.body.resourceType).toBe('OperationOutcome');
  });

  it('hold in every Bundle entry: a batch entry fails alone, a transaction fails whole and writes nothing', async () => {
    const who = await client(['PATIENT_CREATE', 'PATIENT_READ']);
    const entries = [
      { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } }, request: { method: 'POST', url: 'Observation' } },
    ];
    const batch = await who.call('', { method: 'POST', json: { resourceType: 'Bundle', type: 'batch', entry: entries } });
    expect(batch.status).toBe(200);
    expect(batch.body.entry.map((entry: Json) => entry.response.status)).toEqual(['201 Created', '403 Forbidden']);
    const before = (await node().request('Patient?_total=accurate&_count=0').then((response) => response.json())) as Json;
    const transaction = await who.call('', { method: 'POST', json: { resourceType: 'Bundle', type: 'transaction', entry: entries } });
    expect(transaction.status).toBe(403);
    expect(transaction.body.issue[0].diagnostics).toMatch(/^Bundle\.entry\[1\]: .*OBSERVATION_CREATE/);
    const after = (await node().request('Patient?_total=accurate&_count=0').then((response) => response.json())) as Json;
    expect(after.total).toBe(before.total);
  });

  it('guard history: an instance needs READ, a type SEARCH, the whole node every scope', async () => {
    await seed({ resourceType: 'Patient', id: 'historic' });
    const reader = await client(['PATIENT_READ']);
    expect((await reader.call('Patient/historic/_history')).status).toBe(200);
    expect(forbiddenScope((await reader.call('Patient/_history')).body)).toBe('PATIENT_SEARCH');
    const everything = await reader.call('_history');
    expect(everything.status).toBe(403);
    expect(everything.body.issue[0].diagnostics).toContain('*');
  });

  it('leave directory resources readable and never writable through the API, not even by the owner', async () => {
    node().repository.update('Practitioner', 'dr-martin', { resourceType: 'Practitioner', id: 'dr-martin', name: [{ family: 'Martin' }] });
    const reader = await client(['PRACTITIONER_READ', 'PRACTITIONER_CREATE', 'PRACTITIONER_UPDATE']);
    expect((await reader.call('Practitioner/dr-martin')).status).toBe(200);
    for (const [who, token] of [['client', reader.token], ['owner', node().token]]) {
      const put = await call(token, 'Practitioner/dr-martin', { method: 'PUT', json: { resourceType: 'Practitioner', id: 'dr-martin' } });
      expect(put.status, who).toBe(405);
      expect((await call(token, 'Organization', { method: 'POST', json: { resourceType: 'Organization', name: 'x' } })).status, who).toBe(405);
    }
  });
});

describe('tokens', () => {
  it('forged or expired tokens are refused with 401', async () => {
    const who = await client(['PATIENT_READ']);
    expect((await call(`${who.token}x`, 'Patient/historic')).status).toBe(401);
    expect((await call('Bearer', 'Patient/historic')).status).toBe(401);
    const unused = await tokenFor(who.id, who.secret);
    node().db.prepare('UPDATE oauth_tokens SET expires_at = ? WHERE client_id = ?').run(Date.now() - 1, who.id);
    const expired = await call(unused, 'Patient/historic');
    expect(expired.status).toBe(401);
    expect(expired.body.issue[0].code).toBe('login');
  });

  it('POST /oauth/revoke ends a token at once; another client cannot revoke it', async () => {
    const who = await client(['PATIENT_READ']);
    const other = await client(['PATIENT_READ']);
    expect((await who.call('Patient/historic')).status).toBe(200);
    const revoke = (by: Client) =>
      fetch(`${node().url}/oauth/revoke`, { method: 'POST', body: new URLSearchParams({ token: who.token, client_id: by.id, client_secret: by.secret }) });
    expect((await revoke(other)).status).toBe(200);
    expect((await who.call('Patient/historic')).status).toBe(200);
    expect((await revoke(who)).status).toBe(200);
    expect((await who.call('Patient/historic')).status).toBe(401);
    const anonymous = await fetch(`${node().url}/oauth/revoke`, { method: 'POST', body: new URLSearchParams({ token: who.token }) });
    expect(anonymous.status).toBe(401);
  });

  it('revoking a client through the admin API ends its tokens at once and refuses new ones', async () => {
    const who = await client(['PATIENT_READ']);
    expect((await who.call('Patient/historic')).status).toBe(200);
    const { status, body } = await admin(`clients/${who.id}`, { method: 'DELETE' });
    expect(status).toBe(200);
    expect(body.revokedAt).toBeDefined();
    expect((await who.call('Patient/historic')).status).toBe(401);
    const again = await fetch(`${node().url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: who.id, client_secret: who.secret }) });
    expect(again.status).toBe(401);
  });
});

describe('admin API', () => {
  it('lists clients without secrets, refuses bad requests, and is for admins only', async () => {
    const who = await client(['APPOINTMENT_READ', 'APPOINTMENT_CREATE']);
    const { body } = await admin('clients');
    const listed = body.clients.find((candidate: Json) => candidate.clientId === who.id);
    expect(listed).toMatchObject({ name: 'test APPOINTMENT_READ APPOINTMENT_CREATE', scopes: ['APPOINTMENT_READ', 'APPOINTMENT_CREATE'], role: 'client' });
    expect(JSON.stringify(body)).not.toContain(who.secret);
    expect(JSON.stringify(body)).not.toContain('secret');
    for (const bad of [{ name: 'x', scopes: ['PATIENT_DELETE'] }, { name: 'x', scopes: ['*'] }, { name: '', scopes: ['PATIENT_READ'] }, { name: 'x', scopes: [] }, { name: 'x', scopes: ['PATIENT_READ'], rateLimit: -1 }]) {
      const refused = await admin('clients', { method: 'POST', json: bad });
      expect(refused.status, JSON.stringify(bad)).toBe(400);
      expect(refused.body.resourceType).toBe('OperationOutcome');
    }
    expect((await admin('clients/not-a-client', { method: 'DELETE' })).status).toBe(404);
    const asClient = await fetch(`${node().url}/admin/clients`, { headers: { authorization: `Bearer ${who.token}` } });
    expect(asClient.status).toBe(403);
    expect((await fetch(`${node().url}/admin/clients`)).status).toBe(401);
  });

  it('are also managed by `liaison clients create|list|set-rate|revoke`, through the node that serves the folder', async () => {
    const dir = node().dataDir;
    // Run asynchronously: the command calls this process's node.
    const cli = (...args: string[]) => runCli(['clients', ...args, '--data', dir]);
    const created = await cli('create', '--name', 'Agenda', '--scope', 'APPOINTMENT_READ', 'APPOINTMENT_CREATE', '--rate-limit', '20');
    expect(created.code, created.stderr).toBe(0);
    const credentials = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    const token = await tokenFor(credentials.client_id, credentials.client_secret);
    expect((await call(token, 'Appointment?_count=1')).status).toBe(403); // APPOINTMENT_SEARCH was not granted
    const listed = await cli('list');
    expect(listed.stdout).toMatch(new RegExp(`${credentials.client_id}\\s+client\\s+active\\s+20/s\\s+Agenda`));
    expect(listed.stdout).not.toContain(credentials.client_secret);
    const raised = await cli('set-rate', credentials.client_id, '40');
    expect(raised.code, raised.stderr).toBe(0);
    // Through the node: its next call follows the new rate, not within its token cache's 10 s.
    expect((await call(token, 'Appointment/x')).headers.get('ratelimit-limit')).toBe('40');
    const relisted = (await cli('list')).stdout;
    expect(relisted).toMatch(new RegExp(`${credentials.client_id}\\s+client\\s+active\\s+40/s\\s+Agenda`));
    expect(relisted).toContain(`liaison-ui  users of the UI: ${MAX_RATE_LIMIT}/s each`); // raised by helpers/node.ts
    expect((await cli('revoke', credentials.client_id)).code).toBe(0);
    // Revoked through the node: refused at once, not within its token cache's 10 s.
    expect((await call(token, 'Appointment/x')).status).toBe(401);
    const refused = await cli('create', '--name', 'x', '--scope', 'NOPE_READ');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Unknown scope(s) NOPE_READ');
  });
});

describe('rate limit', () => {
  it('answers bursts of 30 calls with 429s past 10 a second, each with Retry-After and RateLimit headers', async () => {
    const { body } = await admin('clients', { method: 'POST', json: { name: 'default rate', scopes: ['PATIENT_READ'] } });
    const token = await tokenFor(body.client_id, body.client_secret);
    const { answers, throttled, seconds } = await burstsUntilRefused(() => Promise.all(Array.from({ length: 30 }, () => call(token, 'Patient/historic'))));
    const admitted = answers.filter((answer) => answer.status === 200).length;
    expect(throttled.length).toBeGreaterThan(0);
    expect(admitted).toBeGreaterThanOrEqual(10);
    // The bucket's 10 and its refill over that time, no more.
    expect(admitted).toBeLessThanOrEqual(mostAdmitted(10, seconds));
    for (const answer of throttled) {
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(answer.headers.get('ratelimit-limit')).toBe('10');
      expect(answer.headers.get('ratelimit-remaining')).toBe('0');
      expect(answer.body.issue[0].code).toBe('throttled');
    }
    const allowed = answers.find((answer) => answer.status === 200)!;
    expect(allowed.headers.get('ratelimit-limit')).toBe('10');
  });

  it('follows a client override, and admits a Bundle larger than the bucket, whose entries then are waited out', async () => {
    const fast = await client(['PATIENT_READ'], 100);
    const answers = await Promise.all(Array.from({ length: 30 }, () => fast.call('Patient/historic')));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    const slow = await client(['PATIENT_READ'], 1);
    const batch = { resourceType: 'Bundle', type: 'batch', entry: Array.from({ length: 5 }, () => ({ request: { method: 'GET', url: 'Patient/historic' } })) };
    const first = await slow.call('', { method: 'POST', json: batch });
    expect(first.status).toBe(200);
    expect(first.body.entry.map((entry: Json) => entry.response.status)).toEqual(Array(5).fill('200 OK'));
    const next = await slow.call('Patient/historic');
    expect(next.status).toBe(429);
    expect(Number(next.headers.get('retry-after'))).toBeGreaterThanOrEqual(3);
  });
});

describe('CapabilityStatement', () => {
  it('declares the OAuth authorize, token and revoke endpoints', async () => {
    const metadata = (await (await fetch(`${node().fhir}/metadata`)).json()) as Json;
    const uris = metadata.rest[0].security.extension[0].extension;
    expect(uris).toEqual([
      { url: 'authorize', valueUri: `${node().url}/authorize` },
      { url: 'token', valueUri: `${node().url}/oauth/token` },
      { url: 'revoke', valueUri: `${node().url}/oauth/revoke` },
    ]);
  });
});
