/**
 * Lifen's identifier systems, code systems and extensions (../shared/lifen/README.md), as its clients send them and
 * as its answers carry them. What each maps onto in the node is lifen/mapping.ts's business.
 */

/** Lifen's RPPS system; the node's is the ANS's (directory/codes.ts IDENTIFIER_SYSTEMS.rpps). */
export const LIFEN_RPPS_SYSTEM = 'http://lifen.fr/fhir/Identifier/practitioner-rpps';

/** The medium of a Communication(Request): Lifen writes its system both ways. */
export const LIFEN_MEDIUM_SYSTEM = 'http://lifen.fr/fhir/CodeSystem/communication-medium';
export const LIFEN_MEDIUM_SYSTEMS: ReadonlySet<string> = new Set([LIFEN_MEDIUM_SYSTEM, 'http://lifen.fr/fhir/ValueSet/communication-medium']);

/** The INS identity status of a Patient (valueCode). */
export const RELIABILITY_INS_URL = 'http://lifen.fr/fhir/StructureDefinition/Patient/Extension/ReliabilityINS';

/** v2 Appointment participants named rather than referenced (valueString; "Apointment" is Lifen's spelling). */
export const PARTICIPANT_NAME_URLS: ReadonlySet<string> = new Set([
  'http://lifen.fr/fhir/StructureDefinition/Apointment/Extension/Participant/PractitionerName-V1',
  'http://lifen.fr/fhir/StructureDefinition/Apointment/Extension/Participant/ServiceName-V1',
]);

/** On a CommunicationRequest recipient: the exact mailbox used (valueContactPoint). */
export const RECIPIENT_DETAILS_URL = 'http://lifen.fr/fhir/StructureDefinition/communicationrequest-recipient-details';
