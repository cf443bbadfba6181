import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { killAllChildren, serve, type ServingNode } from '../../helpers/child-node';
import { fhirFetch, startTestNode, tempDir } from '../../helpers/node';
import { SmtpRelay } from '../../helpers/smtp-relay';
import { channelOf, EXTERNAL_MAILBOX, postDocument, seedOffice, sendRequest, settledCommunications } from './fixtures';

/**
 * A node killed (`kill -9`) while its MSSanté messages are in flight: the relay holds the end of DATA unanswered,
 * so nothing is accepted when the process dies. The restarted node attempts the same deliveries again, under the
 * same delivery ids (the same Message-IDs), and in the end each recipient has exactly one Communication and one
 * message.
 */

type Json = Record<string, any>;

const relay = new SmtpRelay();
const dataDir = tempDir('liaison-outbox-crash-');
const SECRETARIAT = 'secretariat.hors@clinique.mssante.fr';
let alpha: string;
let documentReference: string;

beforeAll(async () => {
  await relay.start();
  writeFileSync(
    join(dataDir, 'channels.json'),
    JSON.stringify({ mssante: { host: '127.0.0.1', port: relay.port, from: 'cabinet.lilas@cabinet.mssante.fr' }, outbox: { firstRetryMs: 100, maxDelayMs: 400 } }),
  );
  // The directory and the users are written in place, as import and the admin do, before the node runs as a process.
  const seeding = await startTestNode({ dataDir });
  ({ alpha } = seedOffice(seeding.db, seeding.repository));
  ({ documentReference } = await postDocument(seeding.fhir, alpha));
  await seeding.stop();
});

afterAll(async () => {
  await killAllChildren();
  await relay.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('delivers exactly once per recipient and channel across a kill -9 in the middle of delivery', async () => {
  relay.holding = true;
  const first: ServingNode = await serve(dataDir);
  const posted = await fhirFetch(first.fhir, alpha, 'CommunicationRequest', {
    method: 'POST',
    json: sendRequest(documentReference, [{ reference: 'Practitioner/aubert' }, { reference: 'Practitioner/externe' }, { reference: '#secretariat' }], {
      contained: [{ resourceType: 'Organization', id: 'secretariat', name: 'Secrétariat', telecom: [{ system: 'email', value: SECRETARIAT }] }],
    }),
  });
  expect(posted.status, await posted.clone().text()).toBe(201);
  const requestId = ((await posted.json()) as Json).id as string;
  // Both messages are on the wire, their end of DATA unanswered: the node dies now.
  await until(() => relay.arrived.length === 2, 'both messages to reach the relay');
  first.child.kill('SIGKILL');
  await first.exited;
  await until(() => relay.closedSessions.size >= 2, 'the relay to see the connections drop');
  relay.release();
  expect(relay.accepted).toHaveLength(0);

  const second = await serve(dataDir);
  const communications = await settledCommunications(second.fhir, alpha, requestId);
  expect(communications.map((communication) => `${channelOf(communication)} ${communication.recipient[0].reference} ${communication.status}`).sort()).toEqual([
    'internal Practitioner/aubert completed',
    'mssante #secretariat completed',
    'mssante Practitioner/externe completed',
  ]);
  const total = (await (await fhirFetch(second.fhir, second.token, `Communication?based-on=CommunicationRequest/${requestId}&_total=accurate`)).json()) as Json;
  expect(total.total).toBe(3);
  expect(relay.to(EXTERNAL_MAILBOX)).toHaveLength(1);
  expect(relay.to(SECRETARIAT)).toHaveLength(1);
  // The retried messages are the ones cut short: same Message-ID, so a relay that did keep the first would recognise them.
  const retried = relay.accepted.map((message) => message.mail.messageId).sort();
  expect(relay.arrived.slice(0, 2).sort()).toEqual(retried);
  for (const communication of communications.filter((each) => channelOf(each) === 'mssante')) {
    expect(retried).toContain(`<${communication.id}@liaison.local>`);
    // One Communication, made in-progress with the request, completed once.
    const history = (await (await fhirFetch(second.fhir, alpha, `Communication/${communication.id}/_history`)).json()) as Json;
    expect(history.entry.map((entry: Json) => entry.resource.status)).toEqual(['completed', 'in-progress']);
  }
  second.child.kill('SIGTERM');
  await second.exited;
});
