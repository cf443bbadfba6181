import { storedContentOf } from '../fhir/binary-content';
import type { BinaryStore } from '../store/binary-store';
import type { Repository } from '../store/repository';
import type { Delivery } from '../channels/channel';
import type { FailureCode } from './communications';
import type { OutboxEntry } from './outbox';
import { actingParty, arrayOf, isJson, localRef, referenceOf, type Json, type Resource } from './references';

/** Statuses of a CommunicationRequest that withdraw it: its pending deliveries are not attempted any more. */
const WITHDRAWN = new Set(['cancelled', 'entered-in-error']);

export type LoadedDelivery = { delivery: Delivery } | { problem: string; code: FailureCode };

/** Reads what a channel needs for one outbox entry, as the store holds it now: the request, the document and its bytes, who sends and receives. */
export class DeliveryLoader {
  constructor(
    private readonly repository: Repository,
    private readonly binaries: BinaryStore,
    /** This node's FHIR base: absolute references to it are local. */
    private readonly base: string,
  ) {}

  async load(entry: OutboxEntry): Promise<LoadedDelivery> {
    const request = this.read('CommunicationRequest', entry.requestId);
    if (!request) return { problem: `CommunicationRequest/${entry.requestId} no longer exists`, code: 'unavailable' };
    if (WITHDRAWN.has(String(request.status))) return { problem: `CommunicationRequest/${entry.requestId} was withdrawn (${String(request.status)}) before this delivery`, code: 'cancelled' };
    const documentReference = this.read('DocumentReference', entry.documentId);
    const attachment = arrayOf(documentReference?.content).filter(isJson).map((content) => content.attachment).find(isJson);
    const content = attachment && (await this.contentOf(attachment));
    if (!documentReference || !content) return { problem: `The content of DocumentReference/${entry.documentId} is no longer on this node`, code: 'unavailable' };
    // The request's subject, else the document's: the DMP's patient as routing chose it (they agree when both are given).
    const patient = this.resolve(request.subject ?? documentReference.subject, 'Patient');
    // Whom the sender stands for: a PractitionerRole sends as its practitioner, whose identifiers and name the channels use.
    const given = this.resolve(request.sender);
    const party = given && actingParty(given, this.base);
    const sender = party && this.read(party.type, party.id);
    const authors = arrayOf(documentReference.author).map((author) => this.resolve(author)).filter((author) => author !== undefined);
    const recipientRef = entry.recipient.reference && localRef(entry.recipient.reference, this.base);
    const recipientResource = entry.recipient.contained ?? (recipientRef ? this.read(recipientRef.type, recipientRef.id) : undefined);
    return {
      delivery: {
        deliveryId: entry.deliveryId,
        communicationRequest: request,
        documentReference,
        content: content.bytes,
        contentType: typeof attachment.contentType === 'string' ? attachment.contentType : content.contentType,
        ...(patient ? { patient } : {}),
        ...(sender ? { sender } : {}),
        authors,
        recipient: { ...(recipientResource ? { resource: recipientResource } : {}), ...(entry.recipient.address ? { address: entry.recipient.address } : {}) },
      },
    };
  }

  private read(type: string, id: string): Resource | undefined {
    const stored = this.repository.read(type, id);
    return stored && (JSON.parse(stored.json) as Resource);
  }

  /** A local reference's resource (of `type`, when given). */
  private resolve(element: unknown, type?: string): Resource | undefined {
    const ref = localRef(referenceOf(element), this.base);
    return ref && (!type || ref.type === type) ? this.read(ref.type, ref.id) : undefined;
  }

  /** The document's bytes: inline data, or the Binary it points at (its file in the store, or its base64 content). */
  private async contentOf(attachment: Json): Promise<{ bytes: Buffer; contentType: string } | undefined> {
    if (typeof attachment.data === 'string') return { bytes: Buffer.from(attachment.data, 'base64'), contentType: 'application/octet-stream' };
    const ref = localRef(attachment.url, this.base);
    const binary = ref?.type === 'Binary' ? this.read('Binary', ref.id) : undefined;
    if (!binary) return undefined;
    const contentType = typeof binary.contentType === 'string' ? binary.contentType : 'application/octet-stream';
    if (typeof binary.content === 'string') return { bytes: Buffer.from(binary.content, 'base64'), contentType };
    const file = storedContentOf(binary);
    const stream = file && (await this.binaries.open(file.hash));
    if (!stream) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { bytes: Buffer.concat(chunks), contentType };
  }
}
