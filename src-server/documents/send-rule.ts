import { conflict, forbidden, unprocessable } from '../fhir/outcome';
import type { CompletedWrite, PendingWrite, WriteRule } from '../rest/extensions';
import type { StoredResource } from '../store/repository';
import { CHANNEL_SYSTEM, type ChannelCode, type SendRequirement } from '../channels/channel';
import { deliveryIdOf, queuedCommunication } from './communications';
import type { NetworkRecipients } from './network-recipients';
import type { Outbox } from './outbox';
import { actingParty, arrayOf, isJson, localRef, referenceOf, refText, type Json, type Resource } from './references';
import { routeRecipients, visibleReader } from './routing';

/**
 * Sending a document (Lifen's sequence, last step): an `active` CommunicationRequest that carries a document is
 * checked — who sends, which document, who receives and by which channel, then what those channels require
 * (`requirements`, such as the DPI and DMP's: src-server/integrations/delivery-requirements.ts) — and one delivery
 * per recipient and channel is queued in the outbox with its `in-progress` Communication, all in the request's own transaction. A
 * refusal stores nothing. A retry of the same request (same `identifier`) answers the first one and queues nothing;
 * once queued, what was sent to whom can no longer change (a new request sends again).
 */

export interface SendRuleOptions {
  outbox: Outbox;
  internalRecipients: NetworkRecipients;
  /** Organizations served by the configured DPI endpoint. */
  dpiOrganizations: ReadonlySet<string>;
  /** Whether the channel is set up on this node: a recipient only an unconfigured one reaches is refused (412). */
  configured(channel: ChannelCode): boolean;
  /** What the channels require of a send, checked once the flow has resolved it (and before anything is queued). */
  requirements?: readonly SendRequirement[];
}

type Read = (type: string, id: string) => Resource | undefined;

const SENDER_TYPES = new Set(['Practitioner', 'PractitionerRole', 'Organization']);

/** What a queued request may no longer change. */
const SENT_FIELDS = ['sender', 'recipient', 'payload', 'medium', 'subject', 'contained'];

export function sendRule(options: SendRuleOptions): WriteRule {
  return {
    types: ['CommunicationRequest'],
    // A POSTed send may be a client's retry; a PUT names its resource itself.
    existing: (write) => (write.request.method === 'POST' && isDocumentSend(write.resource) ? earlierRequest(write) : undefined),
    before(write) {
      if (write.previous && options.outbox.hasRequest(write.previous.id)) {
        const changed = changedSentField(write.previousResource as Json, write.resource);
        if (changed) throw conflict('send-immutable', `CommunicationRequest/${write.previous.id} was sent: its ${changed} can no longer change (post a new CommunicationRequest to send again)`);
      }
    },
    after(write) {
      if (write.resource.status !== 'active' || !isDocumentSend(write.resource) || options.outbox.hasRequest(write.id)) return;
      queue(write, options);
    },
  };
}

/**
 * A request of the Document API: it carries a DocumentReference, or names one of Liaison's channels. Other
 * CommunicationRequests (a reminder to call a patient, the official examples) are plain records: stored, not sent.
 */
function isDocumentSend(request: Readonly<Json>): boolean {
  const carriesDocument = arrayOf(request.payload).some((payload) => isJson(payload) && /(^|\/)DocumentReference\//.test(referenceOf(payload.contentReference) ?? ''));
  const namesChannel = arrayOf(request.medium).some((medium) => isJson(medium) && arrayOf(medium.coding).some((coding) => isJson(coding) && coding.system === CHANNEL_SYSTEM));
  return carriesDocument || namesChannel;
}

function queue(write: CompletedWrite, options: SendRuleOptions): void {
  const { interactions, base } = write;
  const request = { ...write.resource, id: write.id } as Resource;
  const parse = (stored: StoredResource | undefined) => stored && (JSON.parse(stored.json) as Resource);
  const read: Read = (type, id) => parse(interactions.repository.read(type, id));
  // As the caller may see them: a patient they do not follow (a DMP subject, a recipient) does not exist for them.
  const readVisible = visibleReader(interactions, write.request, base);
  const sender = senderOf(request, write, read);
  const document = carriedDocument(request, write, read);
  const routes = routeRecipients(request, { base, read: readVisible, document, internalRecipients: options.internalRecipients, dpiOrganizations: options.dpiOrganizations, configured: options.configured });
  const dmpPatient = localRef(routes.find((route) => route.channel === 'dmp')?.recipient.reference, base);
  const patient = dmpPatient && readVisible(dmpPatient.type, dmpPatient.id);
  const accepted = { request, document, sender: sender.resource, channels: new Set(routes.map((route) => route.channel)), ...(patient ? { patient } : {}) };
  for (const requirement of options.requirements ?? []) requirement(accepted);
  const subject = localRef(referenceOf(document.subject), base);
  const documentPatient = subject?.type === 'Patient' ? readVisible(subject.type, subject.id) : undefined;
  for (const route of routes) {
    const deliveryId = deliveryIdOf(write.id, route);
    if (!options.outbox.enqueue({ deliveryId, requestId: write.id, documentId: document.id, channel: route.channel, recipient: route.recipient })) continue;
    interactions.repository.create('Communication', queuedCommunication(deliveryId, write.id, request, route, document.id, sender.reference, documentPatient), deliveryId);
  }
}

/**
 * The sender, a Practitioner, PractitionerRole or Organization of this node, and whom it stands for
 * (`Practitioner/<id>` or `Organization/<id>`: a role sends as its practitioner), who must be one the caller acts
 * as. That party is the Communications' sender, so that "what I sent" finds them, and the author the channels name.
 */
function senderOf(request: Resource, write: PendingWrite, read: Read): { reference: string; resource: Resource } {
  const where = 'CommunicationRequest.sender';
  const reference = referenceOf(request.sender);
  if (reference === undefined) throw unprocessable('sender-invalid', 'A document needs a sender: the Practitioner, PractitionerRole or Organization (practice) who sends it', where);
  const ref = localRef(reference, write.base);
  if (!ref || !SENDER_TYPES.has(ref.type)) throw unprocessable('sender-invalid', `The sender must be a Practitioner, PractitionerRole or Organization of this node, not '${reference}'`, where);
  const given = read(ref.type, ref.id);
  if (!given) throw unprocessable('sender-invalid', `${refText(ref)} does not exist`, where);
  const party = actingParty(given, write.base);
  const resource = party && read(party.type, party.id);
  if (!party || !resource) throw unprocessable('sender-invalid', `${refText(ref)} names no Practitioner of this node: a PractitionerRole sends as its practitioner`, where);
  const { reach } = write.request;
  if (reach && !reach.some(([type, id]) => type === party.type && id === party.id)) {
    throw forbidden('sender-not-allowed', `You cannot send as ${refText(ref)}: send as yourself or your practice`);
  }
  return { reference: refText(party), resource };
}

/** The one DocumentReference the request carries: current, with content this node holds. */
function carriedDocument(request: Resource, write: PendingWrite, read: Read): Resource & { id: string } {
  const where = 'CommunicationRequest.payload';
  const payloads = arrayOf(request.payload).filter(isJson);
  if (payloads.some((payload) => payload.contentAttachment !== undefined)) throw unprocessable('send-document-invalid', 'Send the document as a DocumentReference (payload.contentReference), not an attachment', where);
  const references = payloads.map((payload) => referenceOf(payload.contentReference)).filter((reference) => reference !== undefined);
  if (references.length !== 1) throw unprocessable('send-document-invalid', `A CommunicationRequest carries exactly one DocumentReference (payload.contentReference); this one has ${references.length}`, where);
  const ref = localRef(references[0], write.base);
  if (!ref || ref.type !== 'DocumentReference') throw unprocessable('send-document-invalid', `The payload must reference a DocumentReference of this node, not '${references[0]}'`, where);
  // Whether the caller may see it was checked before the write (carried-documents-rule.ts).
  const document = read(ref.type, ref.id);
  if (!document) throw unprocessable('send-document-invalid', `${refText(ref)} does not exist`, where);
  if (document.status !== 'current') throw unprocessable('document-not-current', `${refText(ref)} is ${String(document.status)}: only a current document can be sent`, where);
  const attachment = arrayOf(document.content).filter(isJson).map((content) => content.attachment).find(isJson);
  const binary = attachment && localRef(attachment.url, write.base);
  // Whether the Binary exists, not its body (which may hold the content inline).
  const held = attachment && (typeof attachment.data === 'string' || (binary?.type === 'Binary' && write.interactions.repository.exists('Binary', binary.id)));
  if (!held) throw unprocessable('document-without-content', `${refText(ref)} has no content on this node: its content.attachment must point at a Binary (url Binary/<id>) or hold data`, where);
  const requestSubject = referenceOf(request.subject);
  const documentSubject = referenceOf(document.subject);
  if (requestSubject && documentSubject && localRef(requestSubject, write.base)?.id !== localRef(documentSubject, write.base)?.id) {
    throw unprocessable('subject-mismatch', `The request's subject ${requestSubject} is not the document's (${documentSubject})`, 'CommunicationRequest.subject');
  }
  return { ...document, id: ref.id };
}

/**
 * A client's retry of a request it already posted: the same identifier, among the requests the caller can see. With
 * other contents it is another request under the same identifier (409).
 */
function earlierRequest(write: PendingWrite): StoredResource | undefined {
  for (const identifier of arrayOf(write.resource.identifier).filter(isJson)) {
    if (typeof identifier.value !== 'string') continue;
    const token = typeof identifier.system === 'string' ? `${identifier.system}|${identifier.value}` : identifier.value;
    const params = new URLSearchParams({ identifier: token, _count: '1' });
    const [earlier] = write.interactions.searchEngine.search({ resourceType: 'CommunicationRequest', params, lenient: false, base: write.base, reach: write.request.reach }).matches;
    if (!earlier) continue;
    const changed = changedSentField(JSON.parse(earlier.json) as Json, write.resource);
    if (changed) throw conflict('send-identifier-reused', `CommunicationRequest/${earlier.id} already has the identifier ${token}, with another ${changed}`);
    return earlier;
  }
  return undefined;
}

function changedSentField(before: Json, after: Readonly<Json>): string | undefined {
  return SENT_FIELDS.find((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
}
