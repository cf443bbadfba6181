import type { AcceptedSend, SendRequirement } from '../channels/channel';
import { unprocessable } from '../fhir/outcome';
import { loincType } from './document-facts';
import { authorIdentity, INS_NIR_OID, patientIdentity } from './identities';

/**
 * What the DPI and DMP channels require of a send, checked when the document flow accepts it (src-server/documents/
 * send-rule.ts), so that the sender learns at once (422) what the channel would refuse for good later:
 * - DPI and DMP file documents by their LOINC type: the carried DocumentReference needs one;
 * - the DMP files documents by the patient's INS: the patient (the request's subject, else the document's, as
 *   routing chose it) needs a valid NIR/NIA identifier, and the sender an RPPS/IDNPS.
 * The flow has already checked and resolved the rest (sender, document and whether the caller sees it, recipients,
 * the DMP's patient): this reads nothing again.
 */

const INS_SYSTEM = `urn:oid:${INS_NIR_OID}`;

export const deliveryRequirements: SendRequirement = (send) => {
  const { channels } = send;
  if (!(channels.has('dpi') || channels.has('dmp'))) return;
  requireLoincType(send);
  if (!channels.has('dmp')) return;
  requirePatientIns(send);
  requireIdentifiedSender(send);
};

function requireLoincType({ document }: AcceptedSend): void {
  if (loincType(document)) return;
  const reference = `DocumentReference/${String(document.id)}`;
  throw unprocessable('dmp-requirement', 
    `Le document ${reference} n'a pas de type LOINC, exigé par le DPI et le DMP / the DPI and DMP file documents by LOINC type: ${reference} has no type coding from http://loinc.org`,
    'CommunicationRequest.payload',
  );
}

function requirePatientIns({ patient }: AcceptedSend): void {
  // Routing refused a DMP send without a patient the caller sees; this is only a guard.
  if (!patient) throw unprocessable('dmp-requirement', 'Un envoi au DMP doit désigner un patient / a DMP delivery needs a patient', 'CommunicationRequest.subject');
  const reference = `Patient/${String(patient.id)}`;
  const identity = patientIdentity(patient);
  if (identity.invalidIns) {
    throw unprocessable('dmp-requirement', `L'INS de ${reference} n'est pas un NIR/NIA valide / the INS of ${reference} is not a valid NIR or NIA (13 characters and their 2-digit key)`, 'CommunicationRequest.subject');
  }
  if (!identity.ins) {
    throw unprocessable('dmp-requirement', 
      `Envoi au DMP impossible : ${reference} n'a pas d'INS (identifiant ${INS_SYSTEM}) / a DMP delivery needs the patient's INS: ${reference} has no NIR or NIA identifier (system ${INS_SYSTEM})`,
      'CommunicationRequest.subject',
    );
  }
}

function requireIdentifiedSender({ sender }: AcceptedSend): void {
  if (authorIdentity(sender).idnps) return;
  throw unprocessable('dmp-requirement', 
    `Un envoi au DMP doit venir d'un professionnel identifié par son RPPS / a DMP delivery needs a sender identified by RPPS or IDNPS (a Practitioner, or a PractitionerRole of one)`,
    'CommunicationRequest.sender',
  );
}
