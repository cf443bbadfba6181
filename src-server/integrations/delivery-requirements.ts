import { CHANNEL_SYSTEM } from '../documents/channel';
import { unprocessable } from '../fhir/outcome';
import type { PendingWrite, WriteRule } from '../fhir/rest/extensions';
import { parseReference } from '../fhir/search/normalize';
import { loincType } from './document-facts';
import { authorIdentity, INS_NIR_OID, patientIdentity } from './identities';

/**
 * Refuses at the door (422) a CommunicationRequest that the DPI or DMP channel would refuse for good later, so the
 * sender learns it at once rather than from an entered-in-error Communication:
 * - DPI and DMP file documents by their LOINC type: each payload DocumentReference needs one;
 * - the DMP files documents by the patient's INS: the patient (the DocumentReference's subject, else the request's)
 *   needs a valid NIR/NIA identifier, and the sender an RPPS/IDNPS.
 * References are read as the caller may read them: one it cannot see is "not found", never a hint of its content.
 */

type Json = Record<string, any>;

/** Statuses under which nothing more will be sent: archiving such a request is never refused. */
const CLOSED_STATUSES = new Set(['cancelled', 'completed', 'entered-in-error']);
const INS_SYSTEM = `urn:oid:${INS_NIR_OID}`;

export const deliveryRequirementsRule: WriteRule = {
  types: ['CommunicationRequest'],
  before(write) {
    const request = write.resource as Json;
    const channels = requestedChannels(request);
    if (!(channels.has('dpi') || channels.has('dmp')) || CLOSED_STATUSES.has(request.status)) return;
    const read = referenceReader(write, request);
    const payloads: Json[] = Array.isArray(request.payload) ? request.payload : [];
    const documents = payloads.flatMap((payload, index) => {
      const reference = payload.contentReference?.reference;
      if (reference === undefined) return [];
      const document = read(reference, 'DocumentReference');
      if (!document) throw unprocessable(`Document introuvable / document not found: ${reference} cannot be read`, `CommunicationRequest.payload[${index}]`);
      if (!loincType(document)) {
        throw unprocessable(
          `Le document ${reference} n'a pas de type LOINC, exigé par le DPI et le DMP / the DPI and DMP file documents by LOINC type: ${reference} has no type coding from http://loinc.org`,
          `CommunicationRequest.payload[${index}]`,
        );
      }
      return [document];
    });
    if (!channels.has('dmp')) return;
    const subjects = documents.length > 0 ? documents.map((document) => document.subject?.reference ?? request.subject?.reference) : [request.subject?.reference];
    for (const subject of subjects) requirePatientIns(subject, read);
    requireIdentifiedSender(request.sender?.reference, read);
  },
};

function requirePatientIns(reference: unknown, read: Reader): void {
  if (typeof reference !== 'string') {
    throw unprocessable('Un envoi au DMP doit désigner un patient / a DMP delivery needs a patient: neither the document nor the request has a subject', 'CommunicationRequest.subject');
  }
  const patient = read(reference, 'Patient');
  if (!patient) throw unprocessable(`Patient introuvable / patient not found: ${reference} cannot be read`, 'CommunicationRequest.subject');
  const identity = patientIdentity(patient);
  if (identity.invalidIns) {
    throw unprocessable(`L'INS de ${reference} n'est pas un NIR/NIA valide / the INS of ${reference} is not a valid NIR or NIA (13 characters and their 2-digit key)`, 'CommunicationRequest.subject');
  }
  if (!identity.ins) {
    throw unprocessable(
      `Envoi au DMP impossible : ${reference} n'a pas d'INS (identifiant ${INS_SYSTEM}) / a DMP delivery needs the patient's INS: ${reference} has no NIR or NIA identifier (system ${INS_SYSTEM})`,
      'CommunicationRequest.subject',
    );
  }
}

function requireIdentifiedSender(reference: unknown, read: Reader): void {
  const sender = typeof reference === 'string' ? (read(reference, 'Practitioner') ?? read(reference, 'PractitionerRole')) : undefined;
  if (!sender || !authorIdentity(sender).idnps) {
    throw unprocessable(
      `Un envoi au DMP doit venir d'un professionnel identifié par son RPPS / a DMP delivery needs a sender identified by RPPS or IDNPS (a Practitioner or PractitionerRole)`,
      'CommunicationRequest.sender',
    );
  }
}

/** The channel codes of `CommunicationRequest.medium` (urn:liaison:channel). */
function requestedChannels(request: Json): Set<string> {
  const media: Json[] = Array.isArray(request.medium) ? request.medium : [];
  return new Set(media.flatMap((medium) => (Array.isArray(medium.coding) ? medium.coding : [])).filter((coding: Json) => coding.system === CHANNEL_SYSTEM).map((coding: Json) => coding.code));
}

type Reader = (reference: string, type: string) => Json | undefined;

/** Reads a reference of the given type: contained (`#id`), or local and visible to the caller; anything else is undefined. */
function referenceReader({ request, base, interactions }: PendingWrite, container: Json): Reader {
  return (reference, type) => {
    if (reference.startsWith('#')) {
      const contained: Json[] = Array.isArray(container.contained) ? container.contained : [];
      return contained.find((resource) => resource.resourceType === type && resource.id === reference.slice(1));
    }
    const parsed = parseReference(reference.startsWith(`${base}/`) ? reference.slice(base.length + 1) : reference);
    if (parsed?.type !== type || parsed.id === null || parsed.url !== null) return undefined;
    const stored = interactions.repository.read(type, parsed.id);
    if (!stored || (request.reach && !interactions.searchEngine.isVisible(stored, request.reach, base))) return undefined;
    return JSON.parse(stored.json) as Json;
  };
}
