import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ChannelRegistry } from '../../../src-server/documents/channel-registry';
import { loadChannelSettings, type ChannelSettings } from '../../../src-server/documents/channel-settings';
import type { NetworkRecipients } from '../../../src-server/documents/network-recipients';
import { useTestNode } from '../../helpers/node';
import { delivery } from './deliveries';
import { CLOSED_INTEGRATIONS, dmpGateway } from './hospital-listener';

type Json = Record<string, any>;

const folder = mkdtempSync(join(tmpdir(), 'liaison-integrations-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const complete: ChannelSettings = {
  dpi: { messageType: 'ORU^R01', mllp: { host: '127.0.0.1', port: 2575 }, sendingApplication: 'LIAISON', sendingFacility: 'CABINET', receivingApplication: 'DPI', receivingFacility: 'CH' },
  dmp: dmpGateway('https://dmp-gateway.example/submissions'),
};

function settingsFile(name: string, content: string): string {
  const file = join(folder, name);
  writeFileSync(file, content);
  return file;
}

/** Accepts connections (TCP or HTTP) and never answers. */
async function silentServer(server: Server): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => sockets.size,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('integration settings, in the channel settings file', () => {
  it('reads a complete file, and refuses an incomplete or unreadable one with what is wrong', () => {
    const read = (file: string) => loadChannelSettings(folder, undefined, file);
    expect(read(settingsFile('complete.json', JSON.stringify(complete)))).toEqual(complete);
    const incomplete = { dpi: { ...complete.dpi, messageType: 'ADT^A01', dropFolder: '/tmp' }, dmp: { endpoint: 'not a url', codes: {} } };
    expect(() => read(settingsFile('incomplete.json', JSON.stringify(incomplete)))).toThrow(
      /dpi.messageType must be .*dpi needs either mllp .* or dropFolder.*dmp.sourceOid is missing.*dmp.endpoint is not a URL.*dmp.custodian needs a name.*dmp.codes.healthcareFacilityType/,
    );
    expect(() => read(settingsFile('broken.json', '{ "dpi": '))).toThrow(/is not valid JSON/);
    expect(() => read(join(folder, 'absent.json'))).toThrow(/does not exist/);
  });
});

describe('closing', () => {
  it('ends deliveries under way at once, as retries, on both channels', async () => {
    const hospital = await silentServer(createServer());
    const gateway = await silentServer(createHttpServer());
    try {
      const registry = new ChannelRegistry(
        { dpi: { ...complete.dpi!, mllp: { host: '127.0.0.1', port: hospital.port } }, dmp: { ...complete.dmp!, endpoint: `http://127.0.0.1:${gateway.port}/submissions` } },
        { internalRecipients: {} as NetworkRecipients, nodeId: 'node' },
      );
      const channels = [registry.get('dpi')!, registry.get('dmp')!];
      expect(channels.map((channel) => channel.code)).toEqual(['dpi', 'dmp']);
      const pending = channels.map((channel) => channel.deliver(delivery()));
      // Closed once both are connected to their silent peer, however long the machine takes to get there.
      await vi.waitFor(() => expect([hospital.connections(), gateway.connections()]).toEqual([1, 1]), { timeout: 15_000, interval: 20 });
      const closing = Date.now();
      await registry.close();
      const outcomes = await Promise.all(pending);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['retry', 'retry']);
      expect(Date.now() - closing).toBeLessThan(5000);
    } finally {
      await hospital.close();
      await gateway.close();
    }
  });
});

describe('a node', () => {
  const node = useTestNode({ channels: CLOSED_INTEGRATIONS });

  it('runs the delivery requirements without being told', async () => {
    const created = async (type: string, json: Json) => ((await (await node().request(type, { method: 'POST', json })).json()) as Json).id as string;
    node().repository.update('Practitioner', 'pp-810001234567', { resourceType: 'Practitioner', id: 'pp-810001234567', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810001234567' }] });
    const patient = await created('Patient', { resourceType: 'Patient', name: [{ family: 'Sans' }] });
    const binary = await created('Binary', { resourceType: 'Binary', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4').toString('base64') });
    const document = await created('DocumentReference', {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '11488-4' }] },
      indexed: '2026-11-20T10:00:00Z',
      content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${binary}` } }],
    });
    const response = await node().request('CommunicationRequest', {
      method: 'POST',
      json: {
        resourceType: 'CommunicationRequest',
        status: 'active',
        subject: { reference: `Patient/${patient}` },
        sender: { reference: 'Practitioner/pp-810001234567' },
        payload: [{ contentReference: { reference: `DocumentReference/${document}` } }],
        medium: [{ coding: [{ system: 'urn:liaison:channel', code: 'dmp' }] }],
      },
    });
    expect(response.status).toBe(422);
    expect(((await response.json()) as Json).issue[0].diagnostics).toContain("n'a pas d'INS");
  });
});
