import { createHash } from 'node:crypto';
import { CHANNEL_SYSTEM, type ChannelCode } from '../channels/channel';
import { RECIPIENT_DETAILS_URL } from '../lifen/codes';
import { IDENTITY_RELIABILITY_URL, insOf } from '../patients/identity';
import type { Route } from './routing';
import { arrayOf, isJson, type Json, type Resource } from './references';

/**
 * The Communication of one delivery (one recipient, one channel): made `in-progress` when the request is accepted,
 * then `completed` (with `sent`, and `received` once the recipient reads it) or `entered-in-error` with the reason in
 * `notDoneReason`. Its id is the delivery id, so it is made once whatever happens, and its identifier marks it as
 * the node's: the API may only set its `received` (read-state-rule.ts).
 */

export const DELIVERY_SYSTEM = 'urn:liaison:delivery';
/** Codes of `notDoneReason`: why a delivery failed. */
export const FAILURE_SYSTEM = 'urn:liaison:delivery-failure';
/** On `notDoneReason`: what the channel or the node said, in English, for the support. */
export const FAILURE_DETAIL_URL = 'https://liaison.example/fhir/StructureDefinition/delivery-failure-detail';
export type FailureCode = 'refused' | 'not-configured' | 'gave-up' | 'cancelled' | 'unavailable';

const CHANNEL_WORDS: Record<ChannelCode, string> = {
  internal: 'la messagerie de Liaison',
  mssante: 'la messagerie sécurisée de santé (MSSanté)',
  dpi: 'le logiciel de l’établissement (DPI)',
  dmp: 'le DMP',
};

/** `notDoneReason.text`: why, in French, as Lifen's tracking and the practice's software show it. */
const FAILURE_TEXTS: Record<FailureCode, (channel: string) => string> = {
  refused: (channel) => `Envoi refusé par ${channel} : l’adresse du destinataire n’existe pas ou n’accepte pas ce document.`,
  'not-configured': (channel) => `L’envoi par ${channel} n’est pas configuré sur ce poste : l’administrateur du cabinet doit le régler.`,
  'gave-up': (channel) => `Envoi abandonné après plusieurs tentatives : ${channel} ne répondait pas.`,
  cancelled: () => 'Envoi annulé avant de partir : la demande d’envoi a été annulée.',
  unavailable: () => 'Envoi impossible : le document ou la demande d’envoi n’existe plus sur ce poste.',
};

/** Stable per (request, recipient, channel): a UUID-shaped digest, also the Communication's id. */
export function deliveryIdOf(requestId: string, route: Route): string {
  const hex = createHash('sha256').update(`${requestId}\n${route.channel}\n${route.recipient.reference ?? route.recipient.address}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * On an internal delivery: the patient as the sender identifies them (`#patient`, contained), for a recipient who does
 * not follow that patient to file the letter (docs/documents.md, "Letters without a known patient").
 */
export const PATIENT_IDENTITY_URL = 'http://liaison.health/fhir/StructureDefinition/patient-identity';

/** The identity a letter gives of its patient: the INS with its trust status and the identity traits, nothing else of their record. */
export function identityOf(patient: Resource): Resource {
  const ins = insOf(patient);
  const reliability = arrayOf(patient.extension).filter((extension) => isJson(extension) && extension.url === IDENTITY_RELIABILITY_URL);
  const traits = Object.fromEntries(['name', 'gender', 'birthDate'].filter((field) => patient[field] !== undefined).map((field) => [field, patient[field]]));
  return { resourceType: 'Patient', id: 'patient', ...(reliability.length > 0 ? { extension: reliability } : {}), ...(ins.length > 0 ? { identifier: ins } : {}), ...traits };
}

/** `patient`: the document's patient, whose identity an internal delivery carries for its recipient. */
export function queuedCommunication(deliveryId: string, requestId: string, request: Resource, route: Route, documentId: string, sender: string, patient?: Resource): Resource {
  const texts = arrayOf(request.payload).filter((payload) => isJson(payload) && typeof payload.contentString === 'string');
  const identity = route.channel === 'internal' && patient ? identityOf(patient) : undefined;
  const contained = [route.recipient.contained, identity].filter((resource) => resource !== undefined);
  return {
    resourceType: 'Communication',
    id: deliveryId,
    ...(contained.length > 0 ? { contained } : {}),
    ...(identity ? { extension: [{ url: PATIENT_IDENTITY_URL, valueReference: { reference: '#patient' } }] } : {}),
    identifier: [{ system: DELIVERY_SYSTEM, value: deliveryId }],
    basedOn: [{ reference: `CommunicationRequest/${requestId}` }],
    status: 'in-progress',
    ...(Array.isArray(request.category) ? { category: request.category } : {}),
    medium: [{ coding: [{ system: CHANNEL_SYSTEM, code: route.channel }] }],
    ...(isJson(request.subject) ? { subject: request.subject } : {}),
    // The exact mailbox an MSSanté delivery used, as Lifen's clients read it (lifen/codes.ts).
    recipient: route.named.map((reference) => (route.channel === 'mssante' && route.recipient.address ? { reference, extension: [{ url: RECIPIENT_DETAILS_URL, valueContactPoint: { system: 'email', value: route.recipient.address } }] } : { reference })),
    sender: { reference: sender },
    payload: [{ contentReference: { reference: `DocumentReference/${documentId}` } }, ...texts],
  };
}

export function completed(communication: Json, sent: string, received?: string): Json {
  return { ...communication, status: 'completed', sent, ...(received ? { received } : {}) };
}

/** The delivery failed: `notDoneReason` has the code, the French text, and the channel's own words as detail. */
export function failed(communication: Json, channel: ChannelCode, code: FailureCode, reason: string): Json {
  return {
    ...communication,
    status: 'entered-in-error',
    notDone: true,
    notDoneReason: { extension: [{ url: FAILURE_DETAIL_URL, valueString: reason }], coding: [{ system: FAILURE_SYSTEM, code }], text: FAILURE_TEXTS[code](CHANNEL_WORDS[channel]) },
  };
}

/** Attempted again (`$retry`): in progress, without the failure. */
export function retried(communication: Json): Json {
  const { notDone: _notDone, notDoneReason: _reason, ...rest } = communication;
  return { ...rest, status: 'in-progress' };
}

/** Whether the node made this Communication for a delivery (its identifier says so). */
export function isDelivery(resource: Readonly<Json>): boolean {
  return arrayOf(resource.identifier).some((identifier) => isJson(identifier) && identifier.system === DELIVERY_SYSTEM);
}
