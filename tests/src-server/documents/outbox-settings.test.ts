import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelRegistry, CHANNEL_FACTORIES } from '../../../src-server/documents/channel-registry';
import { checkChannelSettings, DEFAULT_OUTBOX, type ChannelSettings } from '../../../src-server/documents/channel-settings';
import type { NetworkRecipients } from '../../../src-server/documents/network-recipients';
import { retryDelay } from '../../../src-server/documents/outbox-worker';
import { startNode } from '../../../src-server/node';
import { runCli } from '../../helpers/child-node';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';
import { testDataKey } from '../../helpers/data-key';
import { postDocument, seedOffice, sendRequest, settledCommunications } from './fixtures';

type Json = Record<string, any>;

describe('channel settings', () => {
  it('names what is wrong in a settings file, and the node does not start with it', async () => {
    expect(() => checkChannelSettings({ mssante: { host: 'relay', port: 70000, from: 'a@b.mssante.fr' } }, 'x')).toThrow('mssante.port must be a port number');
    expect(() => checkChannelSettings({ mssante: { host: 'relay', port: 25 } }, 'x')).toThrow('mssante.from');
    expect(() => checkChannelSettings({ smtp: {} }, 'x')).toThrow("unknown section 'smtp'");
    expect(() => checkChannelSettings({ outbox: { maxAttempts: 0 } }, 'x')).toThrow('outbox.maxAttempts must be a positive integer');
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'channels.json'), '{ "mssante": ');
    await expect(startNode({ dataDir, dataKey: testDataKey(dataDir), port: 0 })).rejects.toThrow(/channels\.json is not valid JSON/);
    await expect(startNode({ dataDir, dataKey: testDataKey(dataDir), port: 0, channelsFile: join(dataDir, 'missing.json') })).rejects.toThrow('missing.json does not exist');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('makes `liaison serve --channels` with a missing file exit with a clear message', async () => {
    const dataDir = tempDir();
    const result = await runCli(['serve', '--data', dataDir, '--port', '0', '--channels', '/nonexistent/channels.json']);
    rmSync(dataDir, { recursive: true, force: true });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('The channel settings file /nonexistent/channels.json does not exist');
  });

  it('registers a channel only when its settings are there, so DPI and DMP plug in by one factory each', () => {
    const context = { internalRecipients: {} as NetworkRecipients, nodeId: 'node' };
    // The factories under test look only at whether a section is there.
    const withDpi = { dpi: { mllp: { host: '127.0.0.1', port: 2575 } } } as ChannelSettings;
    const dpi = { code: 'dpi' as const, deliver: async () => ({ status: 'completed' as const }) };
    const factories = { ...CHANNEL_FACTORIES, dpi: (settings: { dpi?: unknown }) => (settings.dpi ? dpi : undefined) };
    expect(new ChannelRegistry({}, context, factories).get('dpi')).toBeUndefined();
    expect(new ChannelRegistry({}, context, factories).get('mssante')).toBeUndefined();
    expect(new ChannelRegistry({}, context, factories).get('internal')?.code).toBe('internal');
    expect(new ChannelRegistry(withDpi, context, factories).get('dpi')).toBe(dpi);
  });

  it('backs off exponentially, capped, with a little jitter', () => {
    const settings = { ...DEFAULT_OUTBOX, firstRetryMs: 1000, maxDelayMs: 10_000 };
    for (const [attempts, base] of [[1, 1000], [2, 2000], [3, 4000], [4, 8000], [5, 10_000], [40, 10_000]]) {
      const delay = retryDelay(attempts, settings);
      expect(delay).toBeGreaterThanOrEqual(base);
      expect(delay).toBeLessThanOrEqual(base * 1.1);
    }
  });
});

describe('a relay that never comes back', () => {
  let node: TestNode;
  let token: string;
  let documentReference: string;

  beforeAll(async () => {
    // A port nobody listens on: every attempt is refused at once.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    node = await startTestNode({ channels: { mssante: { host: '127.0.0.1', port, from: 'cabinet@cabinet.mssante.fr' }, outbox: { firstRetryMs: 30, maxDelayMs: 60, maxAttempts: 3 } } });
    token = seedOffice(node.db, node.repository).alpha;
    ({ documentReference } = await postDocument(node.fhir, token));
  });

  afterAll(async () => {
    await node?.stop();
  });

  it('ends the delivery entered-in-error after the last attempt, with the last reason', async () => {
    const posted = await node.request('CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/externe' }]) });
    expect(posted.status).toBe(201);
    const requestId = ((await posted.json()) as Json).id as string;
    const [communication] = await settledCommunications(node.fhir, token, requestId);
    expect(communication.status).toBe('entered-in-error');
    expect(communication.notDoneReason.coding[0].code).toBe('gave-up');
    expect(communication.notDoneReason.text).toMatch(/^Envoi abandonné après plusieurs tentatives/);
    expect(communication.notDoneReason.extension[0].valueString).toMatch(/^Gave up after 3 attempts: The MSSanté relay 127\.0\.0\.1:\d+ could not take the message \(ESOCKET\): connect ECONNREFUSED/);
    const row = node.db.prepare('SELECT attempts, state FROM document_outbox WHERE request_id = ?').get(requestId) as { attempts: number; state: string };
    expect(row).toEqual({ attempts: 3, state: 'done' });
  });
});
