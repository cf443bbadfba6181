import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces';
import { XDS_DOCUMENT_ENTRY as DOCUMENT_ENTRY, XDS_SUBMISSION_SET as SUBMISSION_SET } from './xds-schemes';

/**
 * The XDS metadata of one submission (IHE ITI TF-3 §4.2, ebRIM 3.0): a submission set holding one document entry,
 * the METADATA.XML of an XDM package. The same for every channel (an MSSanté message's IHE_XDM.ZIP, a DMP
 * submission); each channel says what goes in it, this says how it is written.
 */

const RIM = 'urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0';
const LCM = 'urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0';
const CLASSIFICATION = 'urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification';
const EXTERNAL_IDENTIFIER = 'urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier';
const HAS_MEMBER = 'urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember';

/** UTF-8 XML 1.0; a character XML cannot hold (a control character pasted into a name) becomes U+FFFD, never bad XML. */
export const XML_OPTIONS = { version: '1.0', encoding: 'UTF-8', invalidCharReplacement: '\uFFFD' } as const;

export const LOINC_OID = '2.16.840.1.113883.6.1';
export const CONFIDENTIALITY_OID = '2.16.840.1.113883.5.25';

export interface XdsCode {
  code: string;
  display: string;
  /** The coding scheme's OID. */
  scheme: string;
}

/** Codes that do not depend on the document (HL7 confidentiality, IHE XDS-SD formats). */
export const XDS_CODES = {
  confidentialityNormal: { code: 'N', display: 'Normal', scheme: CONFIDENTIALITY_OID },
  /** A PDF, as a file or wrapped in CDA (IHE XDS-SD). */
  pdfFormat: { code: 'urn:ihe:iti:xds-sd:pdf:2008', display: 'PDF', scheme: '1.3.6.1.4.1.19376.1.2.3' },
  textFormat: { code: 'urn:ihe:iti:xds-sd:text:2008', display: 'Document non structuré', scheme: '1.3.6.1.4.1.19376.1.2.3' },
} satisfies Record<string, XdsCode>;

export interface XdsDocumentEntry {
  /** The entry's id in the metadata (a `urn:uuid:` or a symbolic id). */
  id: string;
  /** Its uniqueId (an OID): the same document always carries the same one. */
  uniqueId: string;
  mimeType: string;
  title: string;
  /** A FHIR date or instant; written as an XDS DTM (UTC). */
  creationTime: string;
  /** The patient as a CX. */
  patientId: string;
  /** PID fields, such as `PID-5|Family^Given`. */
  sourcePatientInfo: string[];
  /** Authors as XCN; with none, no author classification. */
  authors: string[];
  /** Their institution as XON, when known. */
  authorInstitution?: string;
  classCode: XdsCode;
  confidentialityCode: XdsCode;
  formatCode: XdsCode;
  healthcareFacilityTypeCode: XdsCode;
  practiceSettingCode: XdsCode;
  typeCode: XdsCode;
}

export interface XdsSubmissionSet {
  id: string;
  uniqueId: string;
  /** The OID of the sending system. */
  sourceId: string;
  submissionTime: Date;
  contentTypeCode: XdsCode;
  /** Recipients as XON|XCN|XTN, when the submission is addressed (XDM over e-mail). */
  intendedRecipients?: string[];
}

/** The document's file as the entry describes it: its SHA-1 (hex), size and name in the subset folder. */
export interface XdsDocumentFile {
  sha1: string;
  size: number;
  uri: string;
}

export function buildXdsMetadata(submissionSet: XdsSubmissionSet, document: XdsDocumentEntry, file: XdsDocumentFile): string {
  const root = create(XML_OPTIONS).ele(LCM, 'lcm:SubmitObjectsRequest');
  const list = root.ele(RIM, 'rim:RegistryObjectList');

  const entry = list.ele('rim:ExtrinsicObject', { id: document.id, mimeType: document.mimeType, objectType: DOCUMENT_ENTRY.objectType });
  slot(entry, 'creationTime', [xdsTime(document.creationTime)]);
  slot(entry, 'hash', [file.sha1]);
  slot(entry, 'size', [String(file.size)]);
  slot(entry, 'languageCode', ['fr-FR']);
  slot(entry, 'sourcePatientId', [document.patientId]);
  slot(entry, 'sourcePatientInfo', document.sourcePatientInfo);
  slot(entry, 'URI', [file.uri]);
  localized(entry, document.title);
  authorClassifications(entry, DOCUMENT_ENTRY.author, document.id, 'document-author', document);
  classification(entry, DOCUMENT_ENTRY.classCode, document.id, 'document-class', document.classCode);
  classification(entry, DOCUMENT_ENTRY.confidentialityCode, document.id, 'document-confidentiality', document.confidentialityCode);
  classification(entry, DOCUMENT_ENTRY.formatCode, document.id, 'document-format', document.formatCode);
  classification(entry, DOCUMENT_ENTRY.healthcareFacilityTypeCode, document.id, 'document-facility', document.healthcareFacilityTypeCode);
  classification(entry, DOCUMENT_ENTRY.practiceSettingCode, document.id, 'document-practice', document.practiceSettingCode);
  classification(entry, DOCUMENT_ENTRY.typeCode, document.id, 'document-type', document.typeCode);
  externalIdentifier(entry, DOCUMENT_ENTRY.patientId, document.id, 'document-patient', document.patientId, 'XDSDocumentEntry.patientId');
  externalIdentifier(entry, DOCUMENT_ENTRY.uniqueId, document.id, 'document-unique-id', document.uniqueId, 'XDSDocumentEntry.uniqueId');

  const set = list.ele('rim:RegistryPackage', { id: submissionSet.id });
  slot(set, 'submissionTime', [xdsTime(submissionSet.submissionTime)]);
  if (submissionSet.intendedRecipients?.length) slot(set, 'intendedRecipient', submissionSet.intendedRecipients);
  localized(set, document.title);
  authorClassifications(set, SUBMISSION_SET.author, submissionSet.id, 'submission-author', document);
  classification(set, SUBMISSION_SET.contentTypeCode, submissionSet.id, 'submission-content-type', submissionSet.contentTypeCode);
  externalIdentifier(set, SUBMISSION_SET.uniqueId, submissionSet.id, 'submission-unique-id', submissionSet.uniqueId, 'XDSSubmissionSet.uniqueId');
  externalIdentifier(set, SUBMISSION_SET.sourceId, submissionSet.id, 'submission-source-id', submissionSet.sourceId, 'XDSSubmissionSet.sourceId');
  externalIdentifier(set, SUBMISSION_SET.patientId, submissionSet.id, 'submission-patient', document.patientId, 'XDSSubmissionSet.patientId');
  list.ele('rim:Classification', { id: 'submission-set', classifiedObject: submissionSet.id, classificationNode: SUBMISSION_SET.classificationNode, objectType: CLASSIFICATION });

  const association = list.ele('rim:Association', { id: 'submission-member', associationType: HAS_MEMBER, sourceObject: submissionSet.id, targetObject: document.id });
  slot(association, 'SubmissionSetStatus', ['Original']);
  return root.end({ prettyPrint: true });
}

/**
 * A FHIR date or instant as an XDS DTM (IHE ITI TF-3 §4.2.3.1.7): UTC, no zone; a partial date keeps its precision
 * (`2026-11` → `202611`) rather than gaining a day and a time it never had.
 */
export function xdsTime(value: string | Date): string {
  if (typeof value === 'string' && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(value)) return value.replaceAll('-', '');
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new Error(`'${String(value)}' is not a date`);
  return date.toISOString().slice(0, 19).replace(/[-:T]/g, '');
}

function slot(parent: XMLBuilder, name: string, values: string[]): void {
  const list = parent.ele('rim:Slot', { name }).ele('rim:ValueList');
  for (const value of values) list.ele('rim:Value').txt(value);
}

const localized = (parent: XMLBuilder, value: string) => parent.ele('rim:Name').ele('rim:LocalizedString', { 'xml:lang': 'fr-FR', charset: 'UTF-8', value });

function classification(parent: XMLBuilder, scheme: string, classifiedObject: string, id: string, code: XdsCode): void {
  const element = parent.ele('rim:Classification', { id, classificationScheme: scheme, classifiedObject, nodeRepresentation: code.code, objectType: CLASSIFICATION });
  slot(element, 'codingScheme', [code.scheme]);
  localized(element, code.display);
}

/**
 * Authors are classifications without a node, described by their slots: one per author, since authorPerson holds
 * one value (ITI TF-3 §4.2.3.1.4), each with the institution.
 */
function authorClassifications(parent: XMLBuilder, scheme: string, classifiedObject: string, id: string, document: Pick<XdsDocumentEntry, 'authors' | 'authorInstitution'>): void {
  document.authors.forEach((author, index) => {
    const element = parent.ele('rim:Classification', { id: index === 0 ? id : `${id}-${index + 1}`, classificationScheme: scheme, classifiedObject, nodeRepresentation: '', objectType: CLASSIFICATION });
    slot(element, 'authorPerson', [author]);
    if (document.authorInstitution) slot(element, 'authorInstitution', [document.authorInstitution]);
  });
}

function externalIdentifier(parent: XMLBuilder, scheme: string, registryObject: string, id: string, value: string, name: string): void {
  const element = parent.ele('rim:ExternalIdentifier', { id, identificationScheme: scheme, registryObject, value, objectType: EXTERNAL_IDENTIFIER });
  localized(element, name);
}
