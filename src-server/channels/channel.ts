/**
 * The contract between the document outbox and the channels that carry a document to a recipient (internal,
 * MSSanté, DPI over HL7 v2, DMP). The outbox decides what to send, to whom and when to retry; a channel only knows
 * how to deliver one document to one recipient over its medium, and says how it went.
 */

type Resource = Record<string, unknown> & { resourceType: string; id?: string };

/** The code system of `Communication.medium` / `CommunicationRequest.medium` for Liaison's channels. */
export const CHANNEL_SYSTEM = 'urn:liaison:channel';
export type ChannelCode = 'internal' | 'mssante' | 'dpi' | 'dmp';

/** One document for one recipient over one channel: everything a channel needs, already read from the store. */
export interface Delivery {
  /** Stable per (CommunicationRequest, recipient, channel): a channel uses it to make a resent delivery recognisable (message ids, control ids). */
  deliveryId: string;
  communicationRequest: Resource;
  documentReference: Resource;
  /** The document itself (the Binary's bytes) and its media type (`application/pdf`). */
  content: Buffer;
  contentType: string;
  /** The patient: the request's subject, else the DocumentReference's (the same one when both are given). */
  patient?: Resource;
  /** Who sends: the Practitioner or Organization of CommunicationRequest.sender (for a PractitionerRole, its practitioner). */
  sender?: Resource;
  /** The DocumentReference's authors that resolve on this node (Practitioner, Organization…). */
  authors?: Resource[];
  /** Who receives: the resolved resource, or an address (an MSSanté mailbox given as a ContactPoint). */
  recipient: { resource?: Resource; address?: string };
}

export type DeliveryOutcome =
  /** Delivered; `received` when the other side acknowledged receipt (ISO instant). */
  | { status: 'completed'; received?: string }
  /** Refused for good (bad address, AR/AE acknowledgement, no INS for the DMP…): no retry. */
  | { status: 'failed'; reason: string }
  /** Could not be delivered now (unreachable, timeout): the outbox retries with backoff. */
  | { status: 'retry'; reason: string };

/**
 * A send as the document flow accepted it (send-rule.ts), for the requirements of the channels it goes by: what the
 * flow has already checked and resolved, so a requirement reads nothing again.
 */
export interface AcceptedSend {
  request: Resource;
  /** The one DocumentReference carried: one the caller may see, current, its content on this node. */
  document: Resource;
  /** Who sends: the Practitioner (for a PractitionerRole, its practitioner) or the Organization. */
  sender: Resource;
  /** The channels its deliveries go by. */
  channels: ReadonlySet<ChannelCode>;
  /** With the `dmp` channel: the Patient whose DMP receives it (the request's subject, else the document's). */
  patient?: Resource;
}

/** Refuses, by throwing a FhirError (422), a send that a channel could never deliver; runs before anything is queued. */
export type SendRequirement = (send: AcceptedSend) => void;

export interface Channel {
  code: ChannelCode;
  deliver(delivery: Delivery): Promise<DeliveryOutcome>;
  /** Releases what the channel holds open (SMTP connections, MLLP sockets), when the node stops. */
  close?(): Promise<void>;
}
