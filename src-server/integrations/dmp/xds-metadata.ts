import type { XdmInput } from '../../ihe/xdm-package';
import { LOINC_OID, XDS_CODES, type XdsCode } from '../../ihe/xds-metadata';
import { hl7Timestamp, type DocumentFacts } from '../document-facts';
import { administrativeSex, cx, hd, xcn, xpn } from '../hl7-fields';
import { IDNPS_AUTHORITY, legalName, type AssignedIdentifier, type AuthorIdentity, type PatientIdentity } from '../identities';

/**
 * What a DMP submission's XDS metadata says (ANS DMP integration guide): the CDA document as one entry, its patient
 * by INS, its author by IDNPS, the practice's codes. ihe/ writes it.
 */

/** A PDF wrapped in CDA, as IHE XDS-SD names the format. */
const PDF_IN_CDA_FORMAT: XdsCode = { ...XDS_CODES.pdfFormat, display: 'PDF embedded in CDA' };

/** The codes a DMP submission needs that the document does not carry: they depend on the practice. */
export interface XdsCodes {
  healthcareFacilityType: XdsCode;
  practiceSetting: XdsCode;
  /** The document's class when DocumentReference.class has none; also the submission set's content type. */
  class: XdsCode;
}

export interface DmpXdmInput {
  submissionSet: { entryUuid: string; uniqueId: string; sourceId: string; submissionTime: Date };
  document: { entryUuid: string; uniqueId: string; cda: Buffer };
  facts: DocumentFacts;
  patient: PatientIdentity & { ins: AssignedIdentifier };
  author: AuthorIdentity & { idnps: string };
  codes: XdsCodes;
}

export function dmpXdm(input: DmpXdmInput): XdmInput {
  const { submissionSet, document, facts, patient, codes } = input;
  const patientId = cx(patient.ins, { withNamespace: false });
  const documentClass = facts.class?.system?.startsWith('urn:oid:') ? { code: facts.class.code, display: facts.class.display ?? facts.class.code, scheme: facts.class.system.slice(8) } : codes.class;
  return {
    submissionSet: { id: submissionSet.entryUuid, uniqueId: submissionSet.uniqueId, sourceId: submissionSet.sourceId, submissionTime: submissionSet.submissionTime, contentTypeCode: codes.class },
    document: {
      id: document.entryUuid,
      uniqueId: document.uniqueId,
      mimeType: 'text/xml',
      title: facts.title,
      creationTime: facts.date,
      patientId,
      sourcePatientInfo: sourcePatientInfo(patient, patientId),
      authors: [xcn(input.author, { hd: hd(IDNPS_AUTHORITY, false), identifierType: 'IDNPS' })],
      classCode: documentClass,
      confidentialityCode: XDS_CODES.confidentialityNormal,
      formatCode: PDF_IN_CDA_FORMAT,
      healthcareFacilityTypeCode: codes.healthcareFacilityType,
      practiceSettingCode: codes.practiceSetting,
      typeCode: { code: facts.type.code, display: facts.type.display ?? facts.type.code, scheme: LOINC_OID },
    },
    content: document.cda,
  };
}

function sourcePatientInfo(patient: PatientIdentity, patientId: string): string[] {
  const legal = legalName(patient.names);
  return [
    `PID-3|${patientId}`,
    ...(legal ? [`PID-5|${xpn(legal, 'L')}`] : []),
    ...(patient.birthDate ? [`PID-7|${hl7Timestamp(patient.birthDate)}`] : []),
    `PID-8|${administrativeSex(patient.gender)}`,
  ];
}
