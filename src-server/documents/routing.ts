import { isMailbox, type ContactPoint } from '../directory/mailboxes';
import { badRequest, refusal, unprocessable } from '../fhir/outcome';
import { CHANNEL_SYSTEM, type ChannelCode } from '../channels/channel';
import type { NetworkRecipients } from './network-recipients';
import type { DeliveryRecipient } from './outbox';
import { arrayOf, isJson, localRef, partiesOf, referenceOf, refText, type Resource } from './references';

/**
 * Which channel carries the document to each recipient of a CommunicationRequest (docs/documents.md):
 * - `medium` (codes of urn:liaison:channel) forces the channels, for every recipient; `dmp` sends once, to the
 *   DMP of the patient: the request's subject, else the carried document's;
 * - otherwise a user or practice of this node or of an office peer → internal (sync carries it to the peer); else a recipient with an MSSanté mailbox → mssante; else
 *   an Organization served by the configured DPI endpoint → dpi;
 * - a recipient no channel can reach is refused (422), so the sender knows at once.
 * Whether the chosen channel is configured is the outbox's business: an unconfigured one ends the delivery
 * `entered-in-error` saying so.
 */

export const CHANNEL_CODES: readonly ChannelCode[] = ['internal', 'mssante', 'dpi', 'dmp'];

export interface Route {
  channel: ChannelCode;
  recipient: DeliveryRecipient;
  /** Communication.recipient: the recipient as the request named it, and the people it stands for (a role's practitioner). */
  named: string[];
}

export interface RoutingContext {
  base: string;
  /** A resource as the caller may see it (the directory is seen by all; a patient they do not follow is undefined). */
  read(type: string, id: string): Resource | undefined;
  /** The DocumentReference the request carries: its subject is the DMP's patient when the request has none. */
  document?: Resource;
  /** Who the internal channel reaches: this node's users and practices, and its office peers'. */
  internalRecipients: NetworkRecipients;
  /** Organizations whose documents go to the DPI endpoint by default. */
  dpiOrganizations: ReadonlySet<string>;
}

const RECIPIENT_TYPES = new Set(['Practitioner', 'PractitionerRole', 'Organization']);

/** The channels `medium` forces, undefined when it names none. 400 for a code of another system or an unknown one. */
function forcedChannels(request: Resource): ChannelCode[] | undefined {
  const codes = new Set<ChannelCode>();
  arrayOf(request.medium).forEach((medium, index) => {
    for (const coding of arrayOf(isJson(medium) ? medium.coding : undefined).filter(isJson)) {
      if (coding.system !== CHANNEL_SYSTEM) continue;
      if (!CHANNEL_CODES.includes(coding.code as ChannelCode)) {
        throw badRequest('medium-unknown', `Unknown channel '${String(coding.code)}' in medium: use ${CHANNEL_SYSTEM} codes ${CHANNEL_CODES.join(', ')}`, `CommunicationRequest.medium[${index}]`);
      }
      codes.add(coding.code as ChannelCode);
    }
  });
  return codes.size ? [...codes] : undefined;
}

export function routeRecipients(request: Resource, context: RoutingContext): Route[] {
  const forced = forcedChannels(request);
  const routes = new Map<string, Route>();
  const add = (route: Route) => routes.set(`${route.channel}|${route.recipient.reference ?? route.recipient.address}`, route);
  if (forced?.includes('dmp')) add(dmpRoute(request, context));
  const others = forced?.filter((channel) => channel !== 'dmp');
  arrayOf(request.recipient).forEach((element, index) => {
    const where = `CommunicationRequest.recipient[${index}]`;
    const reference = referenceOf(element);
    if (reference === undefined) throw badRequest('recipient-invalid', 'A recipient must be a reference (Practitioner, PractitionerRole, Organization, or #contained with an MSSanté address)', where);
    const target = reference.startsWith('#') ? containedRecipient(request, reference, where) : directoryRecipient(reference, context, where);
    if (target.patient) {
      if (!forced?.includes('dmp')) throw unprocessable('recipient-patient', `${reference} is a patient: a document reaches a patient through the DMP (medium dmp)`, where);
      return;
    }
    if (forced && !others?.length) throw unprocessable('dmp-needs-other-medium', `medium dmp sends to the patient's DMP: ${reference} needs another medium as well`, where);
    const channels = others?.length ? others : [defaultChannel(target, reference, where)];
    for (const channel of channels) add({ channel, recipient: recipientFor(channel, target, reference, where), named: target.named });
  });
  if (routes.size === 0) throw unprocessable('recipients-missing', 'The CommunicationRequest names no recipient (recipient, or medium dmp for the patient\'s DMP)', 'CommunicationRequest.recipient');
  return [...routes.values()];
}

interface Target {
  named: string[];
  reference?: string;
  contained?: Resource;
  address?: string;
  local: boolean;
  dpi: boolean;
  patient?: boolean;
}

function defaultChannel(target: Target, reference: string, where: string): ChannelCode {
  if (target.local) return 'internal';
  if (target.address) return 'mssante';
  if (target.dpi) return 'dpi';
  throw refusal(422, 'recipient-no-channel', `No channel reaches ${reference}: not a user or practice of this node or of its office peers, no MSSanté mailbox, no DPI endpoint. Address it by an MSSanté address or set medium`, where, { parameters: { recipient: reference } });
}

function recipientFor(channel: ChannelCode, target: Target, reference: string, where: string): DeliveryRecipient {
  if (channel === 'internal' && !target.local) throw unprocessable('recipient-not-local', `medium internal: ${reference} is not a user or practice of this node or of its office peers`, where);
  if (channel === 'mssante' && !target.address) throw refusal(422, 'recipient-no-mailbox', `medium mssante: ${reference} has no MSSanté mailbox`, where, { parameters: { recipient: reference, channel } });
  if (channel !== 'mssante' && target.contained) throw unprocessable('recipient-address-only', `A recipient given by its address only can be reached by MSSanté, not by ${channel}`, where);
  return {
    ...(target.reference ? { reference: target.reference } : {}),
    ...(channel === 'mssante' ? { address: target.address } : {}),
    ...(target.contained ? { contained: target.contained } : {}),
  };
}

function directoryRecipient(reference: string, context: RoutingContext, where: string): Target {
  const ref = localRef(reference, context.base);
  if (!ref) throw unprocessable('recipient-unknown', `${reference} is not a resource of this node: name a local Practitioner, PractitionerRole or Organization, or a contained one with an MSSanté address`, where);
  if (!RECIPIENT_TYPES.has(ref.type) && ref.type !== 'Patient') throw unprocessable('recipient-type-invalid', `A ${ref.type} cannot receive documents: name a Practitioner, PractitionerRole or Organization`, where);
  const resource = context.read(ref.type, ref.id);
  if (!resource) throw unprocessable('recipient-unknown', `${refText(ref)} does not exist`, where);
  if (ref.type === 'Patient') return { named: [refText(ref)], reference: refText(ref), local: false, dpi: false, patient: true };
  const parties = partiesOf(resource, context.base);
  const role = ref.type === 'PractitionerRole';
  const practitioner = role ? parties.find((party) => party.type === 'Practitioner') : undefined;
  return {
    named: [refText(ref), ...(practitioner ? [refText(practitioner)] : [])],
    reference: refText(ref),
    address: mssanteAddress(resource) ?? (practitioner ? mssanteAddress(context.read('Practitioner', practitioner.id)) : undefined),
    local: parties.some((party) => context.internalRecipients.has(party.type, party.id)),
    dpi: parties.some((party) => party.type === 'Organization' && context.dpiOrganizations.has(party.id)),
  };
}

function containedRecipient(request: Resource, reference: string, where: string): Target {
  const contained = arrayOf(request.contained).filter(isJson).find((resource) => `#${String(resource.id)}` === reference) as Resource | undefined;
  if (!contained) throw unprocessable('recipient-unknown', `${reference} names no contained resource of the request`, where);
  const address = mssanteAddress(contained);
  if (!address) throw unprocessable('recipient-no-mailbox', `The contained recipient ${reference} has no MSSanté address (telecom system email, in the mssante.fr domain)`, where);
  return { named: [reference], contained, address, local: false, dpi: false };
}

function dmpRoute(request: Resource, context: RoutingContext): Route {
  const reference = referenceOf(request.subject) ?? referenceOf(context.document?.subject);
  const subject = localRef(reference, context.base);
  if (reference === undefined) {
    throw unprocessable('dmp-subject-missing', "medium dmp sends to the patient's DMP, and a DMP delivery needs a patient: neither the request nor its document has a subject", 'CommunicationRequest.subject');
  }
  if (!subject || subject.type !== 'Patient' || !context.read('Patient', subject.id)) {
    throw unprocessable('dmp-subject-missing', `medium dmp sends to the patient's DMP: the subject ${reference} is not a Patient of this node`, 'CommunicationRequest.subject');
  }
  return { channel: 'dmp', recipient: { reference: refText(subject) }, named: [refText(subject)] };
}

/**
 * The MSSanté mailbox of a resource: a telecom e-mail the directory marks as a mailbox, or one in the MSSanté
 * domain (`…mssante.fr`), which is where every MSSanté operator's addresses live.
 */
function mssanteAddress(resource: Resource | undefined): string | undefined {
  return mssanteMailboxes(resource)[0]?.value;
}

/** Every MSSanté mailbox of a resource (as mssanteAddress reads them), those the directory marks first. */
export function mssanteMailboxes(resource: Readonly<Record<string, unknown>> | undefined): ContactPoint[] {
  const emails = arrayOf(resource?.telecom).filter((point): point is ContactPoint => isJson(point) && point.system === 'email' && typeof point.value === 'string');
  return [...emails.filter(isMailbox), ...emails.filter((point) => !isMailbox(point) && /@([a-z0-9-]+\.)*mssante\.fr$/i.test(String(point.value)))];
}
