import { afterAll, describe, expect, it } from 'vitest';
import { FaultyProxy } from '../../helpers/faulty-proxy';
import { fhirFetch, startTestNode, type TestNode } from '../../helpers/node';
import { SmtpRelay } from '../../helpers/smtp-relay';
import { eventually, FAST_SYNC, ownerCredentials, startSyncNodes } from '../../helpers/sync-nodes';
import { postDocument, seedOffice, sendRequest, settledCommunications } from '../documents/fixtures';

/**
 * `/health` says `degraded`, with the reason, while a part of the node fails — a sync peer, the MSSanté relay — and
 * `ok` again once it works, on real nodes, a real HTTP hop and a real SMTP server (docs/architecture.md, "/health").
 */

type Json = Record<string, any>;

const stops: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  await Promise.all(stops.map((stop) => stop()));
});

async function health(node: TestNode): Promise<Json> {
  const response = await fetch(`${node.url}/health`);
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
}

/** Waits for `/health` to say `status`, returning the report. */
async function healthBecomes(node: TestNode, status: 'ok' | 'degraded', what: string): Promise<Json> {
  let report: Json = {};
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    report = await health(node);
    if (report.status === status) return report;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: /health still says ${JSON.stringify(report.reasons)}`);
}

describe('a sync peer', () => {
  it('that cannot be reached makes the node degraded, saying which and why, and ok again once it answers', async () => {
    const [a, b] = await startSyncNodes(2, { sync: { ...FAST_SYNC, degradedAfterMs: 500 } });
    const proxy = await FaultyProxy.start(b.url);
    stops.push(() => a.stop(), () => b.stop(), () => proxy.close());
    const peerId = a.sync.peers.add({ name: 'cabinet-b', url: proxy.url, ...ownerCredentials(b) }).peerId;
    await eventually(() => a.sync.peers.get(peerId).lastSyncAt !== undefined, 'a has synced with b');
    await healthBecomes(a, 'ok', 'a syncs with b');

    proxy.down = true;
    const degraded = await healthBecomes(a, 'degraded', 'b is down');
    expect(degraded.problems).toEqual([{ part: 'sync', reason: expect.stringMatching(/^Sync with peer 'cabinet-b' \(http:\/\/127\.0\.0\.1:\d+\) has failed \d+ times in a row for \d+ s: .*unreachable/) }]);
    expect(degraded.reasons).toEqual([degraded.problems[0].reason]);

    proxy.down = false;
    await healthBecomes(a, 'ok', 'b is back');
  });
});

describe('the MSSanté relay', () => {
  it('that refuses every message makes the node degraded after a few attempts, and ok again once a message goes through', async () => {
    const relay = new SmtpRelay();
    await relay.start();
    const node = await startTestNode({
      channels: {
        mssante: { host: '127.0.0.1', port: relay.port, from: 'cabinet.lilas@cabinet.mssante.fr' },
        outbox: { firstRetryMs: 100, maxDelayMs: 400, maxAttempts: 30, attemptTimeoutMs: 10_000 },
      },
    });
    stops.push(() => node.stop(), () => relay.stop());
    const tokens = seedOffice(node.db, node.repository);
    const { documentReference } = await postDocument(node.fhir, tokens.alpha);
    await healthBecomes(node, 'ok', 'a fresh node');
    const send = async (mailboxes: string[]) => {
      const contained = mailboxes.map((mailbox, index) => ({ resourceType: 'Organization', id: `o${index}`, name: mailbox, telecom: [{ system: 'email', value: mailbox }] }));
      const request = sendRequest(documentReference, contained.map((organization) => ({ reference: `#${organization.id}` })), { contained });
      const posted = await fhirFetch(node.fhir, tokens.alpha, 'CommunicationRequest', { method: 'POST', json: request });
      expect(posted.status, await posted.clone().text()).toBe(201);
      return settledCommunications(node.fhir, tokens.alpha, ((await posted.json()) as Json).id);
    };

    relay.refusingAll = 'Relay access denied for cabinet.lilas@cabinet.mssante.fr';
    // One refused message is the mailbox's business, not the relay's: still ok.
    expect((await send(['un@clinique.mssante.fr'])).map((communication) => communication.status)).toEqual(['entered-in-error']);
    expect((await health(node)).status).toBe('ok');
    expect((await send(['deux@clinique.mssante.fr', 'trois@clinique.mssante.fr'])).map((communication) => communication.status)).toEqual(['entered-in-error', 'entered-in-error']);
    const degraded = await health(node);
    expect(degraded.status).toBe('degraded');
    expect(degraded.problems).toEqual([{ part: 'channel:mssante', reason: expect.stringMatching(/^The mssante channel's last 3 delivery attempts failed; the last: The MSSanté relay 127\.0\.0\.1:\d+ refused .*Relay access denied/) }]);

    relay.refusingAll = undefined;
    expect((await send(['quatre@clinique.mssante.fr'])).map((communication) => communication.status)).toEqual(['completed']);
    expect(await health(node)).toMatchObject({ status: 'ok', reasons: [], problems: [] });
  });
});
