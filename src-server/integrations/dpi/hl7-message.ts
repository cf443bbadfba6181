import { createHash } from 'node:crypto';
import type { Delivery } from '../../channels/channel';
import { documentFacts, hl7Timestamp, type DocumentFacts } from '../document-facts';
import { administrativeSex, components, cx, escape, hd, trimJoin, xcn, xpn } from '../hl7-fields';
import { authorIdentity, IDNPS_AUTHORITY, legalName, patientIdentity, type AuthorIdentity, type PatientIdentity, type PersonName } from '../identities';

/**
 * The HL7 v2.5 message that carries a document to a hospital EHR: MDM^T02 (MSH EVN PID PV1 TXA OBX) or ORU^R01
 * (MSH PID PV1 OBR OBX), the document base64-encoded in an OBX of type ED. Identifiers follow the French PAM profile
 * (IPP typed PI, INS typed INS under ASIP-SANTE-INS-NIR). docs/integrations.md shows a message.
 */

export type DpiMessageType = 'MDM^T02' | 'ORU^R01';

export interface DpiMessageSettings {
  messageType: DpiMessageType;
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  /** MSH-11: P (production, the default), T (training) or D (debugging). */
  processingId?: 'P' | 'T' | 'D';
  /** Which patient identifier is the IPP (identities.ts); by default the one typed PI. */
  ippSystem?: string;
}

export interface Hl7Message {
  /** Segments separated by carriage returns, as MLLP and drop folders carry them. */
  text: string;
  controlId: string;
}

const SEGMENT_SEPARATOR = '\r';
const ENCODING_CHARACTERS = '^~\\&';

/**
 * MSH-10, derived from the delivery so that a resent delivery carries the same control id and the receiver can
 * recognise it. 20 hex characters (80 bits of SHA-256): the length HL7 v2.5 allows.
 */
export function controlIdOf(deliveryId: string): string {
  return createHash('sha256').update(deliveryId).digest('hex').slice(0, 20).toUpperCase();
}

/** The message, or why the delivery cannot be written as one. */
export function buildHl7Message(delivery: Delivery, settings: DpiMessageSettings, now = new Date()): Hl7Message | { missing: string } {
  const facts = documentFacts(delivery.documentReference, now);
  if ('missing' in facts) return facts;
  const patient = patientIdentity(delivery.patient, { ippSystem: settings.ippSystem });
  if (patient.invalidIns) return { missing: `The patient's INS '${patient.invalidIns}' is not a valid NIR/NIA (13 characters and their 2-digit key)` };
  const author = authorIdentity(delivery.sender);
  const controlId = controlIdOf(delivery.deliveryId);
  const documentNumber = entityIdentifier(delivery.documentReference.id ?? delivery.deliveryId, settings.sendingApplication);
  const observation = observationSegment(facts, delivery);
  const segments =
    settings.messageType === 'MDM^T02'
      ? [
          headerSegment(settings, controlId, now),
          segment('EVN', ['T02', hl7Timestamp(now)]),
          patientSegment(patient),
          visitSegment(),
          segment('TXA', ['1', escape(facts.type.code), 'AP', hl7Timestamp(facts.date), personXcn(author), hl7Timestamp(facts.date), '', '', personXcn(author), '', '', documentNumber, '', '', '', '', 'AU', '', 'AV']),
          observation,
        ]
      : [
          headerSegment(settings, controlId, now),
          patientSegment(patient),
          visitSegment(),
          segment('OBR', ['1', '', documentNumber, codedType(facts), '', '', hl7Timestamp(facts.date), ...empty(14), hl7Timestamp(now), '', '', 'F', ...empty(6), personCnn(author)]),
          observation,
        ];
  return { text: segments.join(SEGMENT_SEPARATOR) + SEGMENT_SEPARATOR, controlId };
}

function headerSegment(settings: DpiMessageSettings, controlId: string, now: Date): string {
  const [code, event] = settings.messageType.split('^');
  // MSH-1 is the field separator itself and MSH-2 the encoding characters: the list starts at MSH-3.
  return `MSH|${ENCODING_CHARACTERS}|${[
    escape(settings.sendingApplication),
    escape(settings.sendingFacility),
    escape(settings.receivingApplication),
    escape(settings.receivingFacility),
    hl7Timestamp(now),
    '',
    `${code}^${event}^${code}_${event}`,
    controlId,
    settings.processingId ?? 'P',
    '2.5',
    // MSH-15/16 empty: original acknowledgement mode, one application ACK on the same connection.
    ...empty(4),
    'FRA',
    'UNICODE UTF-8',
  ].join('|')}`;
}

function patientSegment(patient: PatientIdentity): string {
  const identifiers = [patient.ipp && cx(patient.ipp, { type: 'PI' }), patient.ins && cx(patient.ins, { type: 'INS' })].filter((identifier): identifier is string => !!identifier);
  return segment('PID', ['1', '', identifiers.join('~'), '', patientNames(patient.names), '', patient.birthDate ? hl7Timestamp(patient.birthDate) : '', administrativeSex(patient.gender)]);
}

/** PV1-2 N: no visit applies; the segment is required by both message structures. */
const visitSegment = () => segment('PV1', ['1', 'N']);

function observationSegment(facts: DocumentFacts, delivery: Delivery): string {
  const [type, subtype] = delivery.contentType.split(';')[0].trim().split('/');
  const encapsulated = ['', escape(type), escape(subtype ?? ''), 'Base64', delivery.content.toString('base64')].join('^');
  return segment('OBX', ['1', 'ED', codedType(facts), '', encapsulated, ...empty(5), 'F', '', '', hl7Timestamp(facts.date)]);
}

/** PID-5: the legal name first (L, the "nom de naissance" of PAM FR), then the name in use (D) if it differs. */
function patientNames(names: PersonName[]): string {
  const legal = legalName(names);
  const usual = names.find((name) => name.use === 'usual' && name !== legal);
  return [legal && xpn(legal, 'L'), usual && xpn(usual, 'D')].filter((name): name is string => !!name).join('~');
}

const codedType = (facts: DocumentFacts) => components([escape(facts.type.code), escape(facts.type.display), 'LN']);

/** The author's IDNPS under the CI-SIS authority (ASIP-SANTE-PS), typed as the ANS's HL7 v2 profiles type it. */
const personXcn = (author: AuthorIdentity) => xcn(author, { hd: hd(IDNPS_AUTHORITY), identifierType: idnpsType(author.idnps) });

/** OBR-32's NDL: the CNN of the author, whose parts (the HD's flattened in) are subcomponents. */
function personCnn(author: AuthorIdentity): string {
  const authority = author.idnps ? hd(IDNPS_AUTHORITY) : '';
  return trimJoin([escape(author.idnps), escape(author.name.family), escape(author.name.given[0]), '', '', escape(author.name.prefix), '', '', authority], '&');
}

/** IDNPS "8…" is an RPPS number, "0…" an ADELI one. */
const idnpsType = (idnps: string | undefined) => (idnps?.startsWith('0') ? 'ADELI' : 'RPPS');

const entityIdentifier = (id: string, namespace: string) => components([escape(id), escape(namespace)]);

const segment = (name: string, fields: string[]) => trimJoin([name, ...fields], '|');
const empty = (count: number) => Array<string>(count).fill('');
