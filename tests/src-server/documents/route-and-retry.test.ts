import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, startTestNode, type TestNode } from '../../helpers/node';
import { coded } from '../../helpers/refusals';
import { SmtpRelay } from '../../helpers/smtp-relay';
import { RECIPIENT_DETAILS_URL } from '../../../src-server/lifen/codes';
import { postDocument, REFUSED_MAILBOX, relayChannels, seedOffice, sendRequest, settledCommunications } from './fixtures';

/**
 * A send never fails silently (issue 26), over HTTP on a real node with a real SMTP relay (MSSanté configured, DPI
 * and DMP not): `$route` says before sending which channel reaches each recipient or why none can, the send itself
 * refuses what cannot leave, a failed delivery says why in French, and `$retry` attempts that delivery again, once.
 */

type Json = Record<string, any>;

const relay = new SmtpRelay();
let node: TestNode;
let tokens: Record<'alpha' | 'aubert' | 'bernard' | 'secretary', string>;
let documentReference: string;

const as = (who: keyof typeof tokens, path: string, init: RequestInit & { json?: unknown } = {}) => fhirFetch(node.fhir, tokens[who], path, init);
const body = async (response: Response) => (await response.json()) as Json;
const BERNARD_MAILBOX = 'lise.bernard@msp-port.mssante.fr';
const TWO_MAILBOXES = ['dr.externe@pro.mssante.fr', 'marc.externe@clinique.mssante.fr'];

/** `$route`'s answer, one line per recipient: reference, channels, address, mailboxes, refusal code and parameters. */
async function routes(who: keyof typeof tokens, request: Json): Promise<Json[]> {
  const response = await as(who, 'CommunicationRequest/$route', { method: 'POST', json: request });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await body(response)).parameter as Json[]).map((recipient) => {
    const parts = recipient.part as Json[];
    const outcome = parts.find((part) => part.name === 'outcome')?.resource;
    return {
      reference: parts.find((part) => part.name === 'reference')!.valueReference.reference,
      channels: parts.filter((part) => part.name === 'channel').map((part) => part.valueCoding.code),
      address: parts.find((part) => part.name === 'address')?.valueString,
      mailboxes: parts.filter((part) => part.name === 'mailbox').map((part) => part.valueString),
      ...(outcome ? { refusal: coded(outcome), diagnostics: outcome.issue[0].diagnostics } : {}),
    };
  });
}

/** The audit trail's entries of `$retry` on a delivery: who asked, and what they were answered. */
const retriesAudited = (id: string) =>
  node.db.prepare('SELECT client_id AS caller, status FROM audit_log WHERE action = ? ORDER BY seq').all(`POST /fhir/Communication/${id}/$retry`) as Array<{ caller: string; status: number }>;

const retry = (who: keyof typeof tokens, id: string) => as(who, `Communication/${id}/$retry`, { method: 'POST' });

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  await relay.start();
  node = await startTestNode({ channels: relayChannels(relay.port) });
  tokens = seedOffice(node.db, node.repository);
  node.repository.update('Practitioner', 'externe', { resourceType: 'Practitioner', id: 'externe', name: [{ family: 'Externe', given: ['Marc'] }], telecom: TWO_MAILBOXES.map((value) => ({ system: 'email', value })) });
  // Dr Bernard (another practice, a user of this node) also has a mailbox, which the relay refuses.
  node.repository.update('Practitioner', 'bernard', { resourceType: 'Practitioner', id: 'bernard', name: [{ family: 'Bernard', given: ['Lise'] }], telecom: [{ system: 'email', value: BERNARD_MAILBOX }] });
  node.repository.update('Patient', 'p-port', { resourceType: 'Patient', id: 'p-port', name: [{ family: 'Port', given: ['Jules'] }], generalPractitioner: [{ reference: 'Practitioner/bernard' }] });
  relay.refused.add(REFUSED_MAILBOX);
  relay.refused.add(BERNARD_MAILBOX);
  ({ documentReference } = await postDocument(node.fhir, tokens.alpha));
});

afterAll(async () => {
  await node?.stop();
  await relay.stop();
});

describe('$route: which channel reaches each recipient, before sending', () => {
  it('answers per recipient the channel and mailbox, or the coded reason none can', async () => {
    const request = sendRequest(documentReference, [
      { reference: 'Practitioner/aubert' },
      { reference: 'Practitioner/externe' },
      { reference: 'Practitioner/injoignable' },
      { reference: 'Practitioner/personne' },
    ]);
    expect(await routes('alpha', request)).toEqual([
      { reference: 'Practitioner/aubert', channels: ['internal'], mailboxes: [] },
      { reference: 'Practitioner/externe', channels: ['mssante'], address: TWO_MAILBOXES[0], mailboxes: TWO_MAILBOXES },
      { reference: 'Practitioner/injoignable', channels: [], mailboxes: [], refusal: { code: 'recipient-no-channel', expression: ['CommunicationRequest.recipient[2]'], parameters: { recipient: 'Practitioner/injoignable' } }, diagnostics: expect.any(String) },
      { reference: 'Practitioner/personne', channels: [], mailboxes: [], refusal: { code: 'recipient-unknown', expression: ['CommunicationRequest.recipient[3]'], parameters: {} }, diagnostics: 'Practitioner/personne does not exist' },
    ]);
  });

  it('routes by the mailbox chosen among several, and the delivery uses it', async () => {
    const chosen = { reference: 'Practitioner/externe', extension: [{ url: RECIPIENT_DETAILS_URL, valueContactPoint: { system: 'email', value: TWO_MAILBOXES[1] } }] };
    const request = sendRequest(documentReference, [chosen], { identifier: [{ system: 'urn:test', value: 'chosen-mailbox' }] });
    expect((await routes('alpha', request))[0].address).toBe(TWO_MAILBOXES[1]);
    const posted = await as('alpha', 'CommunicationRequest', { method: 'POST', json: request });
    expect(posted.status, await posted.clone().text()).toBe(201);
    const [communication] = await settledCommunications(node.fhir, tokens.alpha, (await body(posted)).id);
    expect(communication.status).toBe('completed');
    expect(relay.to(TWO_MAILBOXES[1]).length).toBe(1);
    expect(relay.to(TWO_MAILBOXES[0]).length).toBe(0);
  });

  it('says a channel this node has not set up, and the send itself is refused naming the recipient, queuing nothing', async () => {
    const request = sendRequest(documentReference, [{ reference: 'Practitioner/externe' }], { medium: [{ coding: [{ system: 'urn:liaison:channel', code: 'dpi' }] }], identifier: [{ system: 'urn:test', value: 'dpi-unset' }] });
    const [routing] = await routes('alpha', request);
    expect(routing.refusal).toEqual({ code: 'recipient-channel-not-configured', expression: ['CommunicationRequest.recipient[0]'], parameters: { recipient: 'Practitioner/externe', channel: 'dpi' } });
    const posted = await as('alpha', 'CommunicationRequest', { method: 'POST', json: request });
    expect(posted.status).toBe(412);
    expect(coded(await body(posted))).toEqual(routing.refusal);
    const found = await body(await as('alpha', 'CommunicationRequest?identifier=urn:test|dpi-unset'));
    expect(found.total ?? found.entry?.length ?? 0).toBe(0);
  });

  it('tells nothing of a patient the caller does not follow: answered as one that does not exist', async () => {
    const dmp = (subject: string) => ({ ...sendRequest(documentReference, []), subject: { reference: subject }, payload: [], medium: [{ coding: [{ system: 'urn:liaison:channel', code: 'dmp' }] }] });
    const hidden = await routes('alpha', dmp('Patient/p-port'));
    const missing = await routes('alpha', dmp('Patient/p-absent'));
    expect(hidden[0].refusal.code).toBe('dmp-subject-missing');
    expect(hidden[0].refusal).toEqual(missing[0].refusal);
    expect(hidden[0].diagnostics.replace('p-port', 'X')).toBe(missing[0].diagnostics.replace('p-absent', 'X'));
    // The doctor who follows the patient is only told the DMP is not set up here.
    expect((await routes('bernard', dmp('Patient/p-port')))[0].refusal.code).toBe('recipient-channel-not-configured');
    const asRecipient = (subject: string) => routes('alpha', sendRequest(documentReference, [{ reference: subject }]));
    expect((await asRecipient('Patient/p-port'))[0].diagnostics).toBe('Patient/p-port does not exist');
    expect((await asRecipient('Patient/p-absent'))[0].diagnostics).toBe('Patient/p-absent does not exist');
  });

  it('refuses a body that is not a CommunicationRequest, coded', async () => {
    const response = await as('alpha', 'CommunicationRequest/$route', { method: 'POST', json: { resourceType: 'Patient' } });
    expect(response.status).toBe(400);
    expect(coded(await body(response)).code).toBe('route-body-invalid');
  });
});

describe('a failed delivery says why, and $retry attempts it again, once', () => {
  let requestId: string;
  let failedId: string;
  let deliveredId: string;

  beforeAll(async () => {
    const posted = await as('alpha', 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/externe' }, { reference: 'Practitioner/ferme' }]) });
    expect(posted.status, await posted.clone().text()).toBe(201);
    requestId = (await body(posted)).id;
    const communications = await settledCommunications(node.fhir, tokens.alpha, requestId);
    failedId = communications.find((communication) => communication.recipient[0].reference === 'Practitioner/ferme')!.id;
    deliveredId = communications.find((communication) => communication.recipient[0].reference === 'Practitioner/externe')!.id;
  });

  it('carries notDoneReason: the node\'s code, a French text, the relay\'s words as detail', async () => {
    const failed = await body(await as('alpha', `Communication/${failedId}`));
    expect(failed.status).toBe('entered-in-error');
    expect(failed.notDoneReason.coding).toEqual([{ system: 'urn:liaison:delivery-failure', code: 'refused' }]);
    expect(failed.notDoneReason.text).toMatch(/^Envoi refusé par la messagerie sécurisée de santé \(MSSanté\)/);
    expect(failed.notDoneReason.extension[0].valueString).toContain('550');
  });

  it('refuses a recipient who sees the delivery, and answers another practice as if it did not exist: nothing sent', async () => {
    const toBernard = await as('alpha', 'CommunicationRequest', { method: 'POST', json: sendRequest(documentReference, [{ reference: 'Practitioner/bernard' }], { medium: [{ coding: [{ system: 'urn:liaison:channel', code: 'mssante' }] }] }) });
    const [bernardsCopy] = await settledCommunications(node.fhir, tokens.alpha, (await body(toBernard)).id);
    expect(bernardsCopy.status).toBe('entered-in-error');
    const attempts = relay.arrived.length;
    relay.refused.delete(BERNARD_MAILBOX);
    const byRecipient = await retry('bernard', bernardsCopy.id);
    expect(byRecipient.status).toBe(403);
    expect(coded(await body(byRecipient)).code).toBe('retry-not-allowed');
    const byOther = await retry('bernard', failedId);
    expect(byOther.status).toBe(404);
    // Dr Aubert sees the delivery, about a patient of his practice (which shares its patients), but does not send for Dr Alpha.
    const byColleague = await retry('aubert', failedId);
    expect(byColleague.status).toBe(403);
    expect(coded(await body(byColleague)).code).toBe('retry-not-allowed');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(relay.arrived.length).toBe(attempts);
    expect((await body(await as('alpha', `Communication/${bernardsCopy.id}`))).status).toBe('entered-in-error');
    await until(() => retriesAudited(bernardsCopy.id).length === 1);
    expect(retriesAudited(bernardsCopy.id).map((entry) => entry.status)).toEqual([403]);
    relay.refused.add(BERNARD_MAILBOX);
  });

  it('retries the failed delivery only, once while it is in flight, and it is delivered', async () => {
    const toExterne = relay.to(TWO_MAILBOXES[0]).length;
    relay.refused.delete(REFUSED_MAILBOX);
    relay.holding = true;
    const arrived = relay.arrived.length;
    const first = await retry('secretary', failedId);
    expect(first.status, await first.clone().text()).toBe(200);
    const retried = await body(first);
    expect(retried.status).toBe('in-progress');
    expect(retried.notDoneReason).toBeUndefined();
    await until(() => relay.arrived.length > arrived);
    const again = await retry('alpha', failedId);
    expect(again.status).toBe(200);
    expect((await body(again)).status).toBe('in-progress');
    relay.release();
    const communications = await settledCommunications(node.fhir, tokens.alpha, requestId);
    expect(communications.map((communication) => communication.status)).toEqual(['completed', 'completed']);
    expect(relay.to(REFUSED_MAILBOX).length).toBe(1);
    expect(relay.to(TWO_MAILBOXES[0]).length).toBe(toExterne);
    expect(communications).toHaveLength(2);
    // Every ask is in the audit trail: another practice's (404), the colleague's (403), the retry and the one while in flight.
    await until(() => retriesAudited(failedId).length === 4);
    expect(retriesAudited(failedId).map((entry) => entry.status)).toEqual([404, 403, 200, 200]);
  });

  it('refuses to retry a delivery another node of the office made (it came by sync), leaving it as it was', async () => {
    // As sync brings it: the failed delivery of a colleague's desktop, which this node's outbox never held.
    const { meta: _meta, ...delivered } = JSON.parse(node.repository.read('Communication', deliveredId)!.json) as Record<string, unknown>;
    const fromPeer = { ...delivered, id: 'delivery-of-a-peer', status: 'entered-in-error', identifier: [{ system: 'urn:liaison:delivery', value: 'delivery-of-a-peer' }] };
    node.repository.update('Communication', 'delivery-of-a-peer', fromPeer);
    const before = relay.accepted.length;
    const response = await retry('alpha', 'delivery-of-a-peer');
    expect(response.status).toBe(409);
    expect(coded(await body(response))).toMatchObject({ code: 'retry-other-node', parameters: {} });
    expect((JSON.parse(node.repository.read('Communication', 'delivery-of-a-peer')!.json) as { status: string }).status).toBe('entered-in-error');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(relay.accepted.length).toBe(before);
  });

  it('refuses to retry a delivered one, coded, sending nothing', async () => {
    const before = relay.accepted.length;
    const response = await retry('alpha', deliveredId);
    expect(response.status).toBe(409);
    expect(coded(await body(response))).toEqual({ code: 'retry-delivered', parameters: { status: 'completed' } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(relay.accepted.length).toBe(before);
  });
});
