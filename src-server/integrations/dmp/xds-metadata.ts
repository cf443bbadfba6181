import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces';
import { hl7Timestamp, LOINC_OID, type DocumentFacts } from '../document-facts';
import { administrativeSex, cx, hd, xcn, xpn } from '../hl7-fields';
import { IDNPS_AUTHORITY, legalName, type AssignedIdentifier, type AuthorIdentity, type PatientIdentity } from '../identities';
import { CONFIDENTIALITY_OID, XML_OPTIONS } from './cda-document';
import { XDS_DOCUMENT_ENTRY as DOCUMENT_ENTRY, XDS_SUBMISSION_SET as SUBMISSION_SET } from '../../documents/xds-schemes';

/**
 * The XDS metadata of one submission (IHE ITI TF-3 §4.2, ebRIM 3.0): a submission set holding one document entry,
 * as the METADATA.XML of an XDM package. The classification and identification schemes are IHE's fixed UUIDs.
 */

const RIM = 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0';
const LCM = 'urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0';
const CLASSIFICATION = 'urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification';
const EXTERNAL_IDENTIFIER = 'urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier';
const HAS_MEMBER = 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember';

/** A PDF wrapped in CDA, as IHE XDS-SD names the format. */
const PDF_IN_CDA_FORMAT: XdsCode = { code: 'urn:ihe:iti:xds-sd:pdf:2008', display: 'PDF embedded in CDA', scheme: '1.3.6.1.4.1.19376.1.2.3' };

export interface XdsCode {
  code: string;
  display: string;
  /** The coding scheme's OID. */
  scheme: string;
}

/** The codes a DMP submission needs that the document does not carry: they depend on the practice. */
export interface XdsCodes {
  healthcareFacilityType: XdsCode;
  practiceSetting: XdsCode;
  /** The document's class when DocumentReference.class has none; also the submission set's content type. */
  class: XdsCode;
}

export interface XdsInput {
  submissionSet: { entryUuid: string; uniqueId: string; sourceId: string; submissionTime: Date };
  document: { entryUuid: string; uniqueId: string; sha1: string; size: number; uri: string };
  facts: DocumentFacts;
  patient: PatientIdentity & { ins: AssignedIdentifier };
  author: AuthorIdentity & { idnps: string };
  codes: XdsCodes;
}

export function buildXdsMetadata(input: XdsInput): string {
  const { submissionSet, document, facts, patient, codes } = input;
  const patientId = cx(patient.ins, { withNamespace: false });
  const author = xcn(input.author, { hd: hd(IDNPS_AUTHORITY, false), identifierType: 'IDNPS' });
  const root = create(XML_OPTIONS).ele(LCM, 'lcm:SubmitObjectsRequest');
  const list = root.ele(RIM, 'rim:RegistryObjectList');

  const entry = list.ele('rim:ExtrinsicObject', { id: document.entryUuid, mimeType: 'text/xml', objectType: DOCUMENT_ENTRY.objectType });
  slot(entry, 'creationTime', [xdsTime(facts.date)]);
  slot(entry, 'hash', [document.sha1]);
  slot(entry, 'size', [String(document.size)]);
  slot(entry, 'languageCode', ['fr-FR']);
  slot(entry, 'sourcePatientId', [patientId]);
  slot(entry, 'sourcePatientInfo', sourcePatientInfo(patient, patientId));
  slot(entry, 'URI', [document.uri]);
  localized(entry, 'rim:Name', facts.title);
  const documentClass = facts.class?.system?.startsWith('urn:oid:') ? { code: facts.class.code, display: facts.class.display ?? facts.class.code, scheme: facts.class.system.slice(8) } : codes.class;
  authorClassification(entry, DOCUMENT_ENTRY.author, document.entryUuid, 'document-author', author);
  classification(entry, DOCUMENT_ENTRY.classCode, document.entryUuid, 'document-class', documentClass);
  classification(entry, DOCUMENT_ENTRY.confidentialityCode, document.entryUuid, 'document-confidentiality', { code: 'N', display: 'Normal', scheme: CONFIDENTIALITY_OID });
  classification(entry, DOCUMENT_ENTRY.formatCode, document.entryUuid, 'document-format', PDF_IN_CDA_FORMAT);
  classification(entry, DOCUMENT_ENTRY.healthcareFacilityTypeCode, document.entryUuid, 'document-facility', codes.healthcareFacilityType);
  classification(entry, DOCUMENT_ENTRY.practiceSettingCode, document.entryUuid, 'document-practice', codes.practiceSetting);
  classification(entry, DOCUMENT_ENTRY.typeCode, document.entryUuid, 'document-type', { code: facts.type.code, display: facts.type.display ?? facts.type.code, scheme: LOINC_OID });
  externalIdentifier(entry, DOCUMENT_ENTRY.patientId, document.entryUuid, 'document-patient', patientId, 'XDSDocumentEntry.patientId');
  externalIdentifier(entry, DOCUMENT_ENTRY.uniqueId, document.entryUuid, 'document-unique-id', document.uniqueId, 'XDSDocumentEntry.uniqueId');

  const set = list.ele('rim:RegistryPackage', { id: submissionSet.entryUuid });
  slot(set, 'submissionTime', [xdsTime(submissionSet.submissionTime)]);
  localized(set, 'rim:Name', facts.title);
  authorClassification(set, SUBMISSION_SET.author, submissionSet.entryUuid, 'submission-author', author);
  classification(set, SUBMISSION_SET.contentTypeCode, submissionSet.entryUuid, 'submission-content-type', codes.class);
  externalIdentifier(set, SUBMISSION_SET.uniqueId, submissionSet.entryUuid, 'submission-unique-id', submissionSet.uniqueId, 'XDSSubmissionSet.uniqueId');
  externalIdentifier(set, SUBMISSION_SET.sourceId, submissionSet.entryUuid, 'submission-source-id', submissionSet.sourceId, 'XDSSubmissionSet.sourceId');
  externalIdentifier(set, SUBMISSION_SET.patientId, submissionSet.entryUuid, 'submission-patient', patientId, 'XDSSubmissionSet.patientId');
  list.ele('rim:Classification', { id: 'submission-set', classifiedObject: submissionSet.entryUuid, classificationNode: SUBMISSION_SET.classificationNode, objectType: CLASSIFICATION });

  const association = list.ele('rim:Association', { id: 'submission-member', associationType: HAS_MEMBER, sourceObject: submissionSet.entryUuid, targetObject: document.entryUuid });
  slot(association, 'SubmissionSetStatus', ['Original']);
  return root.end({ prettyPrint: true });
}

/** XDS times are UTC, without a zone (IHE ITI TF-3 §4.2.3.1.7). */
const xdsTime = (value: string | Date) => hl7Timestamp(value).replace('+0000', '');

function sourcePatientInfo(patient: PatientIdentity, patientId: string): string[] {
  const legal = legalName(patient.names);
  return [
    `PID-3|${patientId}`,
    ...(legal ? [`PID-5|${xpn(legal, 'L')}`] : []),
    ...(patient.birthDate ? [`PID-7|${hl7Timestamp(patient.birthDate)}`] : []),
    `PID-8|${administrativeSex(patient.gender)}`,
  ];
}

function slot(parent: XMLBuilder, name: string, values: string[]): void {
  const list = parent.ele('rim:Slot', { name }).ele('rim:ValueList');
  for (const value of values) list.ele('rim:Value').txt(value);
}

const localized = (parent: XMLBuilder, element: 'rim:Name', value: string) => parent.ele(element).ele('rim:LocalizedString', { 'xml:lang': 'fr-FR', charset: 'UTF-8', value });

function classification(parent: XMLBuilder, scheme: string, classifiedObject: string, id: string, code: XdsCode): void {
  const element = parent.ele('rim:Classification', { id, classificationScheme: scheme, classifiedObject, nodeRepresentation: code.code, objectType: CLASSIFICATION });
  slot(element, 'codingScheme', [code.scheme]);
  localized(element, 'rim:Name', code.display);
}

/** Authors are classifications without a node, described by their slots. */
function authorClassification(parent: XMLBuilder, scheme: string, classifiedObject: string, id: string, authorPerson: string): void {
  const element = parent.ele('rim:Classification', { id, classificationScheme: scheme, classifiedObject, nodeRepresentation: '', objectType: CLASSIFICATION });
  slot(element, 'authorPerson', [authorPerson]);
}

function externalIdentifier(parent: XMLBuilder, scheme: string, registryObject: string, id: string, value: string, name: string): void {
  const element = parent.ele('rim:ExternalIdentifier', { id, identificationScheme: scheme, registryObject, value, objectType: EXTERNAL_IDENTIFIER });
  localized(element, 'rim:Name', name);
}
