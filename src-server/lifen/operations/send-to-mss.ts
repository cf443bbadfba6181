import { isJson, type Json } from '../../fhir/json';
import { MAX_BINARY_BYTES } from '../../fhir/limits';
import { badRequest, preconditionFailed, unprocessable } from '../../fhir/outcome';
import type { DocumentsModule } from '../../documents/module';
import { mssanteMailboxes } from '../../documents/routing';
import type { FhirOperation, OperationCall } from '../../rest/extensions';
import { IDENTIFIER_SYSTEMS } from '../../directory/codes';
import { isAddress, isFiness, mailboxOwner, organizationByFiness, practitionerByRpps, rolesOf } from './directory-lookup';
import { requireDocument, sendOperation, subjectAndContext, visibleReference, writeSend } from './document-send';
import { referenceOf, textOf, type GivenParameter, type ParameterDefinition } from './parameters';
import { rppsOf, senderReference } from './sender';
import { sendAnswer, sendAnswerParameters } from './send-answer';

/**
 * `POST CommunicationRequest/$send-to-mss` (Lifen v3): a PDF to recipients by MSSanté, in one call. It is the Document
 * API's sequence (document-send.ts) with the channel forced to MSSanté: every recipient needs a mailbox, and the
 * message leaves from the node's MSSanté mailbox (channels.json `mssante.from`) with the sender's name — without one
 * set up, 412, as Lifen answers a sender without a mailbox. Answers 201 with `transaction-id` (the
 * CommunicationRequest's id) and `tracking-url` ($tracking). docs/lifen-compatibility.md, "v3 operations".
 */

const OPERATION = '$send-to-mss';

const DEFINITIONS: readonly ParameterDefinition[] = [
  { name: 'subject', min: 1, max: 1, types: ['valueReference'] },
  { name: 'context', min: 0, max: 1, types: ['valueReference'] },
  { name: 'recipients', min: 1, max: 100, types: ['valueString', 'valueReference', 'valueIdentifier'] },
  { name: 'sender', min: 0, max: 1, types: ['valueReference'] },
  { name: 'sender-identifier', min: 0, max: 1, types: ['valueIdentifier', 'valueString'] },
  // One document per send: the node's CommunicationRequest carries exactly one (docs/documents.md).
  { name: 'payload', min: 1, max: 1, types: ['part'], parts: [{ name: 'document', min: 1, max: 1, types: ['resource'] }] },
];

const RECIPIENT_TYPES = ['Practitioner', 'PractitionerRole', 'Organization'];

export function sendToMssOperation(documents: Pick<DocumentsModule, 'configured'>): FhirOperation {
  return sendOperation({
    name: OPERATION,
    description: "Lifen v3: sends a PDF document to MSSanté recipients (practitioners, roles, organisations or mailboxes) as the node's Document API sequence does: Binary, DocumentReference and CommunicationRequest, then the outbox's MSSanté channel.",
    groupedScope: 'SEND_TO_MSS',
    parameters: DEFINITIONS,
    answer: sendAnswerParameters('mss'),
    run(call, parameters) {
      const document = parameters.one('payload')!.parts!.one('document')!;
      const { resource, content, contentType } = pdfDocument(document);
      if (!documents.configured('mssante')) {
        throw preconditionFailed('channel-not-configured', `${OPERATION}: no MSSanté mailbox is set up to send from on this node (the MSSanté relay and its mailbox, "mssante" in channels.json)`, undefined, { channel: 'mssante' });
      }
      const { subject, context } = subjectAndContext(call, parameters);
      const sender = senderReference(call, parameters);
      if (sender === undefined) throw badRequest('sender-missing', `${OPERATION} needs the parameter 'sender' or 'sender-identifier': this caller acts for no single practitioner or practice`, 'sender');
      const givenSubject = isJson(resource.subject) ? resource.subject.reference : undefined;
      if (givenSubject !== undefined && givenSubject !== `Patient/${subject.id}`) throw unprocessable('subject-mismatch', `The document's subject ${String(givenSubject)} is not the 'subject' Patient/${subject.id}`, 'subject');
      const contained: Json[] = [];
      const recipient = parameters.all('recipients').map((given) => recipientOf(call, given, contained));
      const { id: _id, meta: _meta, text: _text, content: _content, ...rest } = resource;
      const requestId = writeSend(call, {
        content,
        contentType,
        channel: 'mssante',
        document: {
          ...rest,
          status: rest.status ?? 'current',
          indexed: rest.indexed ?? new Date().toISOString(),
          subject: { reference: `Patient/${subject.id}` },
          ...(context ? { context: { ...(isJson(rest.context) ? rest.context : {}), encounter: { reference: `Encounter/${context.id}` } } } : {}),
          ...(rest.author === undefined ? { author: [{ reference: sender }] } : {}),
        },
        request: {
          ...(contained.length ? { contained } : {}),
          subject: { reference: `Patient/${subject.id}` },
          ...(context ? { context: { reference: `Encounter/${context.id}` } } : {}),
          sender: { reference: sender },
          recipient,
        },
      });
      return sendAnswer(call.base, requestId, 'mss');
    },
  });
}

/** The DocumentReference of the `document` part, its PDF inline (`content.attachment.data`). */
function pdfDocument(document: GivenParameter): { resource: Json; content: string; contentType: string } {
  const resource = document.value as Json;
  if (resource.resourceType !== 'DocumentReference') throw badRequest('payload-invalid', `The part 'document' of 'payload' must be a DocumentReference, not a ${String(resource.resourceType)}`, 'payload');
  const attachments = (Array.isArray(resource.content) ? resource.content : []).filter(isJson).map((content) => content.attachment).filter(isJson);
  if (attachments.length !== 1 || typeof attachments[0].data !== 'string' || attachments[0].data === '') {
    throw badRequest('payload-invalid', "The 'document' of 'payload' needs its PDF inline, base64 in content.attachment.data (one attachment)", 'payload');
  }
  const contentType = attachments[0].contentType ?? 'application/pdf';
  if (contentType !== 'application/pdf') throw badRequest('payload-invalid', `${OPERATION} sends PDF documents only, not ${String(contentType)}`, 'payload');
  const content = attachments[0].data;
  requireDocument(content, MAX_BINARY_BYTES, 'payload', OPERATION);
  return { resource, content, contentType };
}

/**
 * One of `recipients` as a CommunicationRequest.recipient: a reference to the directory, a Practitioner found by RPPS
 * or an Organization by FINESS, or a mailbox address (as a contained recipient holding that exact mailbox, so the
 * message goes to it whichever other mailboxes its owner has). Anything else is refused naming `recipients`.
 */
function recipientOf(call: OperationCall, given: GivenParameter, contained: Json[]): Json {
  const { base } = call;
  const search = call.interactions.searchEngine;
  const byReference = (reference: string) => {
    const target = visibleReference(call, reference, RECIPIENT_TYPES, 'recipients');
    return { reference: target.type === 'Practitioner' ? mailboxHolder(call, target.id, target.resource) : `${target.type}/${target.id}` };
  };
  const byRpps = (rpps: string) => {
    const practitioner = practitionerByRpps(search, rpps, base);
    if (!practitioner) throw unprocessable('recipient-unknown', `No Practitioner of the directory has the RPPS ${rpps}`, 'recipients');
    return { reference: mailboxHolder(call, practitioner.id, JSON.parse(practitioner.json) as Json) };
  };
  const byFiness = (finess: string) => {
    const organization = organizationByFiness(search, finess, base);
    if (!organization) throw unprocessable('recipient-unknown', `No Organization of the directory has the FINESS ${finess}`, 'recipients');
    return { reference: `Organization/${organization.id}` };
  };
  if (given.type === 'valueReference') return byReference(referenceOf(given)!);
  if (given.type === 'valueIdentifier') {
    const identifier = given.value as Json;
    const rpps = rppsOf(identifier);
    if (rpps) return byRpps(rpps);
    const value = String(identifier.value).trim();
    const finessSystem = identifier.system === undefined || identifier.system === IDENTIFIER_SYSTEMS.finess || /finess/i.test(String(identifier.system));
    if (finessSystem && isFiness(value)) return byFiness(value);
    throw badRequest('recipient-invalid', `A recipient identifier must be an RPPS (11 digits) or a FINESS (9 characters), not '${value}'`, 'recipients');
  }
  const text = textOf(given)!;
  if (isAddress(text)) return { reference: `#${mailboxRecipient(call, text, contained)}` };
  const rpps = rppsOf(text);
  if (rpps) return byRpps(rpps);
  if (isFiness(text)) return byFiness(text);
  if (/^[A-Z][A-Za-z]+\//.test(text)) return byReference(text);
  throw badRequest('recipient-invalid', `A recipient is an MSSanté address, a reference, an RPPS or a FINESS number, not '${text}'`, 'recipients');
}

/**
 * Where a practitioner's MSSanté mailbox is: on the Practitioner, or — where the national import puts personal
 * mailboxes — on one of its PractitionerRoles, which the document flow then addresses (for the practitioner). Without
 * any, the Practitioner, which the flow refuses naming it.
 */
function mailboxHolder(call: OperationCall, id: string, practitioner: Json): string {
  if (mssanteMailboxes(practitioner).length > 0) return `Practitioner/${id}`;
  const role = rolesOf(call.interactions.searchEngine, id, call.base).find((candidate) => mssanteMailboxes(candidate).length > 0);
  return role ? `PractitionerRole/${String(role.id)}` : `Practitioner/${id}`;
}

/** A contained recipient holding exactly this mailbox (named as the directory names its owner); its id. */
function mailboxRecipient(call: OperationCall, address: string, contained: Json[]): string {
  const known = mailboxOwner(call.interactions.searchEngine, address, call.base);
  if (!known && !/@([a-z0-9-]+\.)*mssante\.fr$/i.test(address)) {
    throw unprocessable('recipient-no-mailbox', `${address} is not an MSSanté mailbox: neither in the directory's mailboxes nor in the mssante.fr domain`, 'recipients');
  }
  const id = `recipient-${contained.length + 1}`;
  const name = known?.owner.resourceType === 'Practitioner' ? { name: known.owner.name } : {};
  contained.push({ resourceType: 'Practitioner', id, ...name, telecom: [known?.point ?? { system: 'email', value: address, use: 'work' }] });
  return id;
}
