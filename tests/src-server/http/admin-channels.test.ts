import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../../../src-server/node';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';
import { SmtpRelay } from '../../helpers/smtp-relay';
import { EXTERNAL_MAILBOX, postDocument, seedOffice, sendRequest, settledCommunications } from '../documents/fixtures';
import { fhirFetch } from '../../helpers/node';

/**
 * The document channels set up from Réglages (`/admin/channels`) on a real node: an admin saves the MSSanté relay
 * with its password, which applies at once (a letter then reaches the tests' local relay) and never comes back in any
 * answer, log line or readable column; "Tester" tries the relay without sending; non-admins are refused; a
 * channels.json present at start wins and makes the screen read-only.
 */

type Json = Record<string, any>;

const PASSWORD = 'mot-de-passe-du-relais-7431';
const relay = new SmtpRelay({ user: 'cabinet.lilas', pass: PASSWORD });
const logLines: string[] = [];
let node: TestNode;
let tokens: ReturnType<typeof seedOffice>;

async function admin(token: string, method: string, path: string, json?: unknown): Promise<{ status: number; body: Json; text: string }> {
  const response = await fetch(`${node.url}/admin/channels${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? (JSON.parse(text) as Json) : {} };
}

const code = (answer: { body: Json }) => answer.body.issue?.[0]?.details?.coding?.[0]?.code as string | undefined;
const relaySettings = (more: Json = {}) => ({ host: '127.0.0.1', port: relay.port, from: 'cabinet.lilas@cabinet.mssante.fr', auth: { user: 'cabinet.lilas', pass: PASSWORD }, ...more });

beforeAll(async () => {
  await relay.start();
  node = await startTestNode({ logger: { level: 'trace', stream: { write: (line: string) => void logLines.push(line) } } });
  tokens = seedOffice(node.db, node.repository);
});

afterAll(async () => {
  await node?.stop();
  await relay.stop();
});

describe('channels from Réglages', () => {
  it('refuses non-admins, coded, whether they read, change or test', async () => {
    for (const [method, path, json] of [['GET', '', undefined], ['PUT', '/mssante', relaySettings()], ['POST', '/mssante/test', relaySettings()], ['DELETE', '/mssante', undefined]] as const) {
      const answer = await admin(tokens.alpha, method, path, json);
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(code(answer)).toBe('admin-only');
    }
    expect((await admin(node.token, 'GET', '')).body.channels).toEqual({});
  });

  it('refuses a bad host, port or mailbox with a coded 400 naming the field, and saves nothing', async () => {
    const cases: Array<[Json, string]> = [
      [relaySettings({ host: 'relay.example/evil path' }), 'mssante.host'],
      [relaySettings({ host: '' }), 'mssante.host'],
      [relaySettings({ port: 70000 }), 'mssante.port'],
      [relaySettings({ port: '25' }), 'mssante.port'],
      [relaySettings({ from: 'pas une adresse' }), 'mssante.from'],
    ];
    for (const [settings, field] of cases) {
      const answer = await admin(node.token, 'PUT', '/mssante', settings);
      expect(answer.status, JSON.stringify(settings)).toBe(400);
      expect(code(answer)).toBe('channel-settings-invalid');
      expect(answer.body.issue[0].expression).toEqual([field]);
    }
    const dpi = await admin(node.token, 'PUT', '/dpi', { sendingApplication: 'LIAISON', sendingFacility: 'CAB', receivingApplication: 'DPI', receivingFacility: 'HOP', messageType: 'MDM^T02', mllp: { host: 'dpi.local', port: 0 } });
    expect(dpi.status).toBe(400);
    expect(code(dpi)).toBe('channel-settings-invalid');
    const unknown = await admin(node.token, 'PUT', '/apicrypt', {});
    expect(unknown.status).toBe(404);
    expect(code(unknown)).toBe('channel-unknown');
    expect((await admin(node.token, 'GET', '')).body.channels).toEqual({});
  });

  it('"Tester" authenticates to the relay without sending, and says when the password is refused', async () => {
    const before = relay.accepted.length;
    const ok = await admin(node.token, 'POST', '/mssante/test', relaySettings());
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ result: 'ok' });
    expect(relay.logins.at(-1)).toEqual({ username: 'cabinet.lilas', password: PASSWORD });

    const refused = await admin(node.token, 'POST', '/mssante/test', relaySettings({ auth: { user: 'cabinet.lilas', pass: 'pas-le-bon' } }));
    expect(refused.body.result).toBe('auth-refused');
    expect(refused.text).not.toContain('pas-le-bon');

    const closed = await closedPort();
    const unreachable = await admin(node.token, 'POST', '/mssante/test', relaySettings({ port: closed }));
    expect(unreachable.body.result).toBe('unreachable');
    expect(relay.accepted.length).toBe(before);
  });

  it('saves the relay, applies it at once (a letter reaches the relay), and never gives the password back', async () => {
    const saved = await admin(node.token, 'PUT', '/mssante', relaySettings());
    expect(saved.status).toBe(200);
    expect(saved.body).toEqual({ settings: { host: '127.0.0.1', port: relay.port, from: 'cabinet.lilas@cabinet.mssante.fr', auth: { user: 'cabinet.lilas' } }, savedSecrets: ['auth.pass'] });

    const { documentReference } = await postDocument(node.fhir, tokens.alpha);
    const posted = await fhirFetch(node.fhir, tokens.alpha, 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/externe' }]) });
    expect(posted.status).toBe(201);
    const [communication] = await settledCommunications(node.fhir, tokens.alpha, ((await posted.json()) as Json).id);
    expect(communication.status).toBe('completed');
    expect(relay.to(EXTERNAL_MAILBOX)).toHaveLength(1);

    // Changing the host alone keeps the saved password ("enregistré"), and "Tester" on the saved settings still logs in.
    const changed = await admin(node.token, 'PUT', '/mssante', relaySettings({ auth: { user: 'cabinet.lilas' } }));
    expect(changed.body.savedSecrets).toEqual(['auth.pass']);
    expect((await admin(node.token, 'POST', '/mssante/test', relaySettings({ auth: { user: 'cabinet.lilas' } }))).body).toEqual({ result: 'ok' });

    const read = await admin(node.token, 'GET', '');
    for (const answer of [saved, changed, read]) expect(answer.text).not.toContain(PASSWORD);
    expect(logLines.join('\n')).not.toContain(PASSWORD);
    expect(readFileSync(join(node.dataDir, DATABASE_FILE)).includes(PASSWORD)).toBe(false);
    const row = node.db.prepare("SELECT settings, secrets FROM channel_settings WHERE channel = 'mssante'").get() as { settings: string; secrets: string };
    expect(row.settings + row.secrets).not.toContain(PASSWORD);
    // The audit trail keeps who changed the channels.
    const audit = await fetch(`${node.url}/admin/audit?_count=50`, { headers: { authorization: `Bearer ${node.token}` } });
    const events = ((await audit.json()) as Json).events as Json[];
    expect(events.some((event) => JSON.stringify(event).includes('/admin/channels/mssante'))).toBe(true);
  });

  it('removes a channel: it is no longer configured, its row and sealed secrets gone', async () => {
    const removed = await admin(node.token, 'DELETE', '/mssante');
    expect(removed.status).toBe(200);
    expect(removed.body.channels).toEqual({});
    expect(node.db.prepare('SELECT count(*) AS n FROM channel_settings').get()).toEqual({ n: 0 });
    const { documentReference } = await postDocument(node.fhir, tokens.alpha);
    // The next send is refused at once, naming the channel no longer set up (issue 26): nothing leaves.
    const posted = await fhirFetch(node.fhir, tokens.alpha, 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/externe' }]) });
    expect(posted.status).toBe(412);
    expect(code({ body: (await posted.json()) as Json })).toBe('recipient-channel-not-configured');
    expect(relay.to(EXTERNAL_MAILBOX)).toHaveLength(1);
  });

  it('tests a DPI drop folder and an MLLP endpoint: missing, writable, unreachable, listening', async () => {
    const dpi = (where: Json) => ({ sendingApplication: 'LIAISON', sendingFacility: 'CAB', receivingApplication: 'DPI', receivingFacility: 'HOP', messageType: 'MDM^T02', ...where });
    const folder = join(tempDir(), 'depot');
    expect((await admin(node.token, 'POST', '/dpi/test', dpi({ dropFolder: folder }))).body.result).toBe('folder-missing');
    mkdirSync(folder);
    expect((await admin(node.token, 'POST', '/dpi/test', dpi({ dropFolder: folder }))).body.result).toBe('ok');
    expect((await admin(node.token, 'POST', '/dpi/test', dpi({ mllp: { host: '127.0.0.1', port: await closedPort() } }))).body.result).toBe('unreachable');
    const listening = await listen();
    expect((await admin(node.token, 'POST', '/dpi/test', dpi({ mllp: { host: '127.0.0.1', port: (listening.address() as { port: number }).port } }))).body.result).toBe('ok');
    listening.close();
  });
});

describe('a channels.json present at start', () => {
  it('wins over Réglages: the screen reads it without its password and any change is refused', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'channels.json'), JSON.stringify({ mssante: relaySettings() }));
    const fixed = await startTestNode({ dataDir });
    try {
      const call = (method: string, path: string, json?: unknown) =>
        fetch(`${fixed.url}/admin/channels${path}`, { method, headers: { authorization: `Bearer ${fixed.token}`, ...(json ? { 'content-type': 'application/json' } : {}) }, ...(json ? { body: JSON.stringify(json) } : {}) });
      const read = await call('GET', '');
      const text = await read.text();
      expect(JSON.parse(text)).toMatchObject({ fixedBy: join(dataDir, 'channels.json'), channels: { mssante: { settings: { host: '127.0.0.1' }, savedSecrets: ['auth.pass'] } } });
      expect(text).not.toContain(PASSWORD);
      const change = await call('PUT', '/mssante', relaySettings({ host: 'ailleurs.example' }));
      expect(change.status).toBe(409);
      expect(code({ body: (await change.json()) as Json })).toBe('channel-settings-fixed');
    } finally {
      await fixed.stop();
    }
  });
});

async function listen(): Promise<Server> {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** A port nothing listens on: one just freed. */
async function closedPort(): Promise<number> {
  const server = await listen();
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
