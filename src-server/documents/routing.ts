import { isMailbox, type ContactPoint } from '../directory/mailboxes';
import { badRequest, FhirError, refusal, unprocessable } from '../fhir/outcome';
import { CHANNEL_SYSTEM, type ChannelCode } from '../channels/channel';
import { RECIPIENT_DETAILS_URL } from '../lifen/codes';
import type { FhirInteractions } from '../rest/extensions';
import type { FhirRequest } from '../rest/types';
import type { NetworkRecipients } from './network-recipients';
import type { DeliveryRecipient } from './outbox';
import { arrayOf, isJson, localRef, partiesOf, referenceOf, refText, type Resource } from './references';

/**
 * Which channel carries the document to each recipient of a CommunicationRequest (docs/documents.md):
 * - `medium` (codes of urn:liaison:channel) forces the channels, for every recipient; `dmp` sends once, to the
 *   DMP of the patient: the request's subject, else the carried document's;
 * - otherwise a user or practice of this node or of an office peer → internal (sync carries it to the peer); else a recipient with an MSSanté mailbox → mssante; else
 *   an Organization served by the configured DPI endpoint → dpi;
 * - a recipient no channel can reach is refused (422), and one whose channel this node has not set up (412), so the
 *   sender knows at once. `routeEach` says it per recipient: the send rule refuses the first such recipient, and
 *   `$route` (route-operation.ts) answers it for each before sending, by the same function.
 * A recipient with several MSSanté mailboxes is sent to the one its reference's recipient-details extension names
 * (Lifen's), else to the first.
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
  /** Whether this node has set the channel up (settings): a recipient only an unconfigured channel reaches is refused. */
  configured(channel: ChannelCode): boolean;
}

/** How one recipient of a request is reached, or why it cannot be. */
export interface RecipientRouting {
  /** The recipient as the request names it (`Practitioner/<id>`, `#id`), or the DMP's patient. */
  reference: string;
  /** Where the request names it: `CommunicationRequest.recipient[n]`, or `CommunicationRequest.subject` for the DMP. */
  where: string;
  /** The deliveries it gets (none when refused). */
  routes: Route[];
  /** Its MSSanté mailboxes, to choose among when it has several. */
  mailboxes: string[];
  /** Why no channel reaches it: the refusal a send would answer. */
  refusal?: FhirError;
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

/** Every route of the request, or the refusal of its first recipient that no channel reaches. */
export function routeRecipients(request: Resource, context: RoutingContext): Route[] {
  const routings = routeEach(request, context);
  const refused = routings.find((routing) => routing.refusal);
  if (refused?.refusal) throw refused.refusal;
  const routes = new Map<string, Route>();
  for (const route of routings.flatMap((routing) => routing.routes)) routes.set(`${route.channel}|${route.recipient.reference ?? route.recipient.address}`, route);
  return [...routes.values()];
}

/**
 * Each recipient's routes or refusal, the DMP's patient first. What is wrong with the request as a whole (an unknown
 * medium, a recipient that is not a reference, none at all) is thrown.
 */
export function routeEach(request: Resource, context: RoutingContext): RecipientRouting[] {
  const forced = forcedChannels(request);
  const routings: RecipientRouting[] = [];
  if (forced?.includes('dmp')) {
    const where = 'CommunicationRequest.subject';
    const reference = referenceOf(request.subject) ?? referenceOf(context.document?.subject) ?? '';
    routings.push(attempt(reference, where, [], () => [configuredRoute(dmpRoute(request, context), reference, where, context)]));
  }
  const others = forced?.filter((channel) => channel !== 'dmp');
  arrayOf(request.recipient).forEach((element, index) => {
    const where = `CommunicationRequest.recipient[${index}]`;
    const reference = referenceOf(element);
    if (reference === undefined) throw badRequest('recipient-invalid', 'A recipient must be a reference (Practitioner, PractitionerRole, Organization, or #contained with an MSSanté address)', where);
    const mailboxes: string[] = [];
    routings.push(
      attempt(reference, where, mailboxes, () => {
        const target = reference.startsWith('#') ? containedRecipient(request, reference, where) : directoryRecipient(element, reference, context, where);
        mailboxes.push(...target.mailboxes);
        if (target.patient) {
          if (!forced?.includes('dmp')) throw unprocessable('recipient-patient', `${reference} is a patient: a document reaches a patient through the DMP (medium dmp)`, where);
          return [];
        }
        if (forced && !others?.length) throw unprocessable('dmp-needs-other-medium', `medium dmp sends to the patient's DMP: ${reference} needs another medium as well`, where);
        const channels = others?.length ? others : [defaultChannel(target, reference, where)];
        return channels.map((channel) => configuredRoute({ channel, recipient: recipientFor(channel, target, reference, where), named: target.named }, reference, where, context));
      }),
    );
  });
  if (routings.every((routing) => !routing.refusal && routing.routes.length === 0)) {
    throw unprocessable('recipients-missing', 'The CommunicationRequest names no recipient (recipient, or medium dmp for the patient\'s DMP)', 'CommunicationRequest.recipient');
  }
  return routings;
}

/** One recipient's routing: its routes, or the refusal that says why it has none. */
function attempt(reference: string, where: string, mailboxes: string[], route: () => Route[]): RecipientRouting {
  try {
    return { reference, where, routes: route(), mailboxes };
  } catch (error) {
    if (!(error instanceof FhirError) || error.status === 400) throw error;
    return { reference, where, routes: [], mailboxes, refusal: error };
  }
}

/** The route, unless its channel is not set up on this node: then the recipient cannot be reached (412). */
function configuredRoute(route: Route, reference: string, where: string, context: RoutingContext): Route {
  if (context.configured(route.channel)) return route;
  throw refusal(412, 'recipient-channel-not-configured', `The ${route.channel} channel that reaches ${reference} is not set up on this node (channel settings)`, where, { parameters: { recipient: reference, channel: route.channel } });
}

/** What a caller may see, as routing reads it: the directory is seen by all; a patient they do not follow is undefined. */
export function visibleReader(interactions: FhirInteractions, request: FhirRequest, base: string): RoutingContext['read'] {
  return (type, id) => {
    const stored = interactions.repository.read(type, id);
    return stored && interactions.searchEngine.isVisible(stored, request, base) ? (JSON.parse(stored.json) as Resource) : undefined;
  };
}

interface Target {
  named: string[];
  mailboxes: string[];
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

function directoryRecipient(element: unknown, reference: string, context: RoutingContext, where: string): Target {
  const ref = localRef(reference, context.base);
  if (!ref) throw unprocessable('recipient-unknown', `${reference} is not a resource of this node: name a local Practitioner, PractitionerRole or Organization, or a contained one with an MSSanté address`, where);
  if (!RECIPIENT_TYPES.has(ref.type) && ref.type !== 'Patient') throw unprocessable('recipient-type-invalid', `A ${ref.type} cannot receive documents: name a Practitioner, PractitionerRole or Organization`, where);
  const resource = context.read(ref.type, ref.id);
  if (!resource) throw unprocessable('recipient-unknown', `${refText(ref)} does not exist`, where);
  if (ref.type === 'Patient') return { named: [refText(ref)], mailboxes: [], reference: refText(ref), local: false, dpi: false, patient: true };
  const parties = partiesOf(resource, context.base);
  const role = ref.type === 'PractitionerRole';
  const practitioner = role ? parties.find((party) => party.type === 'Practitioner') : undefined;
  const own = mssanteMailboxes(resource);
  const mailboxes = (own.length || !practitioner ? own : mssanteMailboxes(context.read('Practitioner', practitioner.id))).map((point) => String(point.value));
  const chosen = chosenMailbox(element);
  if (chosen !== undefined && !mailboxes.some((mailbox) => mailbox.toLowerCase() === chosen.toLowerCase())) {
    throw unprocessable('recipient-mailbox-unknown', `${chosen} is not an MSSanté mailbox of ${refText(ref)}: choose one of its mailboxes (${mailboxes.join(', ') || 'none'})`, where, { recipient: refText(ref), mailbox: chosen });
  }
  return {
    named: [refText(ref), ...(practitioner ? [refText(practitioner)] : [])],
    mailboxes,
    reference: refText(ref),
    address: chosen ?? mailboxes[0],
    local: parties.some((party) => context.internalRecipients.has(party.type, party.id)),
    dpi: parties.some((party) => party.type === 'Organization' && context.dpiOrganizations.has(party.id)),
  };
}

function containedRecipient(request: Resource, reference: string, where: string): Target {
  const contained = arrayOf(request.contained).filter(isJson).find((resource) => `#${String(resource.id)}` === reference) as Resource | undefined;
  if (!contained) throw unprocessable('recipient-unknown', `${reference} names no contained resource of the request`, where);
  const address = mssanteAddress(contained);
  if (!address) throw unprocessable('recipient-no-mailbox', `The contained recipient ${reference} has no MSSanté address (telecom system email, in the mssante.fr domain)`, where);
  return { named: [reference], mailboxes: [address], contained, address, local: false, dpi: false };
}

/** The mailbox the sender chose for a recipient: Lifen's recipient-details extension on its reference. */
function chosenMailbox(element: unknown): string | undefined {
  const details = arrayOf(isJson(element) ? element.extension : undefined).find((extension) => isJson(extension) && extension.url === RECIPIENT_DETAILS_URL);
  const value = isJson(details) && isJson(details.valueContactPoint) ? details.valueContactPoint.value : undefined;
  return typeof value === 'string' ? value : undefined;
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
