import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces';
import { CONFIDENTIALITY_OID, LOINC_OID, XML_OPTIONS } from '../../ihe/xds-metadata';
import { hl7Timestamp, type DocumentFacts } from '../document-facts';
import { IDNPS_AUTHORITY, legalName, type AssignedIdentifier, type AuthorIdentity, type PatientIdentity, type PersonName } from '../identities';

/**
 * The CDA R2 document the DMP stores: the French CI-SIS header (structuration minimale) around the PDF as a
 * non-XML body, the level 1 of the CI-SIS ("N1") that IHE XDS-SD also describes.
 */

const CDA_NAMESPACE = 'urn:hl7-org:v3';
/** HL7 France, the CI-SIS header, and IHE XDS-SD (a scanned or PDF document wrapped in CDA). */
const TEMPLATE_IDS = ['2.16.840.1.113883.2.8.2.1', '1.2.250.1.213.1.1.1.1', '1.3.6.1.4.1.19376.1.2.20'];
const IDNST_OID = '1.2.250.1.71.4.2.2';
const ADMINISTRATIVE_GENDER_OID = '2.16.840.1.113883.5.1';

/** The organisation that keeps the document (CDA custodian): the practice, by its national structure id (IDNST). */
export interface Custodian {
  name: string;
  idnst?: string;
}

export interface CdaInput {
  /** ClinicalDocument/id and setId: the document's OID, also its XDS uniqueId. */
  documentOid: string;
  facts: DocumentFacts;
  /** With its INS: the DMP files documents by it. */
  patient: PatientIdentity & { ins: AssignedIdentifier };
  author: AuthorIdentity & { idnps: string };
  custodian: Custodian;
  content: Buffer;
  contentType: string;
}

export function buildCdaDocument(input: CdaInput): string {
  const { facts, patient, author } = input;
  const document = create(XML_OPTIONS).ele(CDA_NAMESPACE, 'ClinicalDocument');
  document.ele('realmCode', { code: 'FR' });
  document.ele('typeId', { root: '2.16.840.1.113883.1.3', extension: 'POCD_HD000040' });
  for (const root of TEMPLATE_IDS) document.ele('templateId', { root });
  document.ele('id', { root: input.documentOid });
  document.ele('code', { code: facts.type.code, codeSystem: LOINC_OID, codeSystemName: 'LOINC', ...(facts.type.display ? { displayName: facts.type.display } : {}) });
  document.ele('title').txt(facts.title);
  document.ele('effectiveTime', { value: hl7Timestamp(facts.date) });
  document.ele('confidentialityCode', { code: 'N', codeSystem: CONFIDENTIALITY_OID, displayName: 'Normal' });
  document.ele('languageCode', { code: 'fr-FR' });
  document.ele('setId', { root: input.documentOid });
  document.ele('versionNumber', { value: '1' });

  const role = document.ele('recordTarget').ele('patientRole');
  role.ele('id', { root: patient.ins.authority.universalId, extension: patient.ins.value });
  if (patient.ipp?.authority.type === 'ISO') role.ele('id', { root: patient.ipp.authority.universalId, extension: patient.ipp.value });
  const person = role.ele('patient');
  // The CI-SIS marks the birth name (the legal one) with the qualifier BR.
  const legal = legalName(patient.names);
  if (legal) personName(person, legal, 'BR');
  person.ele('administrativeGenderCode', { code: ({ male: 'M', female: 'F' } as Record<string, string>)[patient.gender ?? ''] ?? 'UN', codeSystem: ADMINISTRATIVE_GENDER_OID });
  if (patient.birthDate) person.ele('birthTime', { value: hl7Timestamp(patient.birthDate) });

  const authored = document.ele('author');
  authored.ele('time', { value: hl7Timestamp(facts.date) });
  const assigned = authored.ele('assignedAuthor');
  assigned.ele('id', { root: IDNPS_AUTHORITY.universalId, extension: author.idnps, assigningAuthorityName: 'RPPS' });
  personName(assigned.ele('assignedPerson'), author.name);

  const custodian = document.ele('custodian').ele('assignedCustodian').ele('representedCustodianOrganization');
  custodian.ele('id', input.custodian.idnst ? { root: IDNST_OID, extension: input.custodian.idnst } : { nullFlavor: 'UNK' });
  custodian.ele('name').txt(input.custodian.name);

  document
    .ele('component')
    .ele('nonXMLBody')
    .ele('text', { mediaType: input.contentType.split(';')[0].trim(), representation: 'B64' })
    .txt(input.content.toString('base64'));
  return document.end({ prettyPrint: false });
}

function personName(parent: XMLBuilder, name: PersonName, familyQualifier?: string): void {
  const element = parent.ele('name');
  if (name.prefix) element.ele('prefix').txt(name.prefix);
  for (const given of name.given) element.ele('given').txt(given);
  if (name.family) element.ele('family', familyQualifier ? { qualifier: familyQualifier } : {}).txt(name.family);
}
