import { conflict, forbidden, refusal, unprocessable } from '../fhir/outcome';
import type { FhirOperation, OperationCall, OperationDescription } from '../rest/extensions';
import { versionHeaders } from '../rest/interactions';
import type { ChannelCode } from '../channels/channel';
import { isDelivery, retried } from './communications';
import type { Outbox } from './outbox';
import { arrayOf, isJson, localRef, referenceOf, type Json } from './references';

/**
 * `POST [base]/Communication/<id>/$retry` (docs/documents.md, "Retrying a failed delivery"): a delivery that ended
 * `entered-in-error` is queued again, the same delivery (same id, same recipient, same channel: those of the request
 * who got it get nothing more), and its Communication is `in-progress` again, in one transaction. Asked again while
 * it is in progress, it answers the Communication and queues nothing. Those who may: whoever reaches the sender (the
 * sender, their practice's staff) and the practice-wide callers; the FHIR API's audit trail records the call.
 */

const RETRY: OperationDescription = {
  description:
    'Attempts a failed delivery again (a Communication the node made, entered-in-error): the same recipient by the same channel, from its first attempt. Answers the Communication, in-progress; while it is, asking again queues nothing. 409 on a delivered one.',
  parameters: [{ name: 'return', use: 'out', min: 1, max: '1', type: 'Communication', documentation: 'The delivery, in-progress again' }],
};

export function retryOperation(outbox: Outbox, configured: (channel: ChannelCode) => boolean): FhirOperation {
  return { name: '$retry', level: 'instance', types: ['Communication'], methods: ['POST'], definition: RETRY, run: (call) => retry(call, outbox, configured) };
}

function retry({ request, base, id, interactions }: OperationCall, outbox: Outbox, configured: (channel: ChannelCode) => boolean) {
  request.scopes.require('Communication', 'UPDATE');
  const { repository } = interactions;
  return repository.transaction(() => {
    // Seen by the caller (the operation's read rules ran before).
    const stored = repository.read('Communication', id!)!;
    const communication = JSON.parse(stored.json) as Json;
    if (!isDelivery(communication)) throw unprocessable('retry-not-delivery', `Communication/${id} is not a delivery made by this node: there is nothing to attempt again`);
    const sender = localRef(referenceOf(communication.sender), base);
    const { reach } = request;
    if (reach && !(sender && reach.some(([type, reached]) => type === sender.type && reached === sender.id))) {
      throw forbidden('retry-not-allowed', `Only the sender of Communication/${id} (or their practice's staff) may attempt it again`);
    }
    if (communication.status === 'in-progress') return { status: 200, headers: versionHeaders(stored), body: stored.json };
    if (communication.status !== 'entered-in-error') throw conflict('retry-delivered', `Communication/${id} is ${String(communication.status)}: only a failed delivery is attempted again`, undefined, { status: String(communication.status) });
    const channel = channelOf(communication);
    const recipient = referenceOf(arrayOf(communication.recipient)[0]) ?? '';
    if (channel && !configured(channel)) {
      throw refusal(412, 'recipient-channel-not-configured', `The ${channel} channel that reaches ${recipient} is not set up on this node (channel settings)`, undefined, { parameters: { recipient, channel } });
    }
    // A delivery another node of the office made came here by sync: only its outbox can attempt it again. Marking it
    // in progress here would leave it so for good.
    if (!outbox.retry(id!)) throw conflict('retry-other-node', `Communication/${id} was sent by another node of the office: attempt it again there`);
    const { meta: _meta, ...current } = communication;
    const written = repository.update('Communication', id!, retried(current), stored.versionId).stored;
    return { status: 200, headers: versionHeaders(written), body: written.json, written };
  });
}

function channelOf(communication: Json): ChannelCode | undefined {
  const coding = arrayOf(communication.medium).flatMap((medium) => arrayOf(isJson(medium) ? medium.coding : undefined)).find(isJson);
  return typeof coding?.code === 'string' ? (coding.code as ChannelCode) : undefined;
}
