import { createHash } from 'node:crypto';
import { strToU8, zipSync } from 'fflate';
import { XDS_DOCUMENT_ENTRY as ENTRY, XDS_SUBMISSION_SET as SET } from './xds-schemes';

/**
 * An IHE XDM package (ITI TF-1 §16, ITI TF-3 §4.2.4): the `IHE_XDM.ZIP` that MSSanté software-to-software exchanges
 * attach beside the document, so that the receiving software files it with its metadata (patient, type, author)
 * instead of a person reading an e-mail. Layout:
 *
 *   INDEX.HTM, README.TXT                      what a person opening the zip sees
 *   IHE_XDM/SUBSET01/METADATA.XML              an ebRIM SubmitObjectsRequest: one submission set, one document entry
 *   IHE_XDM/SUBSET01/DOC0001.<ext>             the document itself, named by the entry's URI slot
 */

export interface XdmCode {
  code: string;
  /** The coding scheme's OID. */
  scheme: string;
  display: string;
}

export interface XdmDocument {
  /** The document entry's uniqueId (an OID). */
  uniqueId: string;
  content: Buffer;
  mimeType: string;
  title: string;
  /** ISO instant; written as the DTM `YYYYMMDDhhmmss` in UTC. */
  creationTime: string;
  typeCode: XdmCode;
  classCode: XdmCode;
  /** The patient as a CX: `id^^^&<authority OID>&ISO`. */
  patientId: string;
  /** PID fields for sourcePatientInfo: `PID-5|Family^Given`, `PID-7|YYYYMMDD`, `PID-8|F`. */
  patientInfo: string[];
  /** Authors as XCN (`id^Family^Given^^^^^^&<OID>&ISO`). */
  authors: string[];
  /** Their institution as XON, when known. */
  authorInstitution?: string;
}

export interface XdmSubmission {
  uniqueId: string;
  /** The OID of the sending system. */
  sourceId: string;
  submissionTime: string;
  /** Recipients as XON|XCN|XTN; an e-mail address alone as `||^^Internet^<address>`. */
  intendedRecipients: string[];
  /** What the submission is for; here the document's own type. */
  contentTypeCode: XdmCode;
}

/** Coding schemes and defaults of the French metadata (ANS, Cadre d'interopérabilité des SIS, annexe métadonnées). */
export const XDS_DEFAULTS = {
  classCode: { code: '10', scheme: '1.2.250.1.213.1.1.4.1', display: 'Compte rendu' },
  confidentiality: { code: 'N', scheme: '2.16.840.1.113883.5.25', display: 'Normal' },
  healthcareFacilityType: { code: 'SA07', scheme: '1.2.250.1.71.4.2.4', display: 'Cabinet individuel' },
  practiceSetting: { code: 'AMBULATOIRE', scheme: '1.2.250.1.213.1.1.4.9', display: 'Ambulatoire' },
  pdfFormat: { code: 'urn:ihe:iti:xds-sd:pdf:2008', scheme: '1.3.6.1.4.1.19376.1.2.3', display: 'PDF' },
  otherFormat: { code: 'urn:ihe:iti:xds-sd:text:2008', scheme: '1.3.6.1.4.1.19376.1.2.3', display: 'Document non structuré' },
} satisfies Record<string, XdmCode>;

export const LOINC_OID = '2.16.840.1.113883.6.1';

const XDM_SUBSET = 'IHE_XDM/SUBSET01';

/** The zip's bytes. */
export function buildXdmZip(submission: XdmSubmission, document: XdmDocument): Buffer {
  const fileName = `DOC0001.${extensionOf(document.mimeType)}`;
  const files = {
    'INDEX.HTM': strToU8(indexHtml(document, fileName)),
    'README.TXT': strToU8(readme(submission)),
    [`${XDM_SUBSET}/METADATA.XML`]: strToU8(metadataXml(submission, document, fileName)),
    [`${XDM_SUBSET}/${fileName}`]: new Uint8Array(document.content.buffer, document.content.byteOffset, document.content.byteLength),
  };
  return Buffer.from(zipSync(files, { level: 6 }));
}

/** An OID for any text (a resource id, a node id): `2.25.<128 bits of its SHA-256>`, as X.667 allows for UUIDs. */
export function oidOf(text: string): string {
  return `2.25.${BigInt(`0x${createHash('sha256').update(text).digest('hex').slice(0, 32)}`)}`;
}

/** `2026-11-26T13:05:09.123Z` → `20261126130509` (UTC). */
function dtm(instant: string): string {
  const date = new Date(instant);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function metadataXml(submission: XdmSubmission, document: XdmDocument, fileName: string): string {
  const entry = 'Document01';
  const set = 'SubmissionSet01';
  const format = document.mimeType === 'application/pdf' ? XDS_DEFAULTS.pdfFormat : XDS_DEFAULTS.otherFormat;
  const sha1 = createHash('sha1').update(document.content).digest('hex');
  let ids = 0;
  const id = () => `cl${String(++ids).padStart(2, '0')}`;
  const classification = (scheme: string, object: string, code: XdmCode) => `
      <rim:Classification id="${id()}" classificationScheme="${scheme}" classifiedObject="${object}" nodeRepresentation="${xml(code.code)}">
        ${slot('codingScheme', [code.scheme])}
        ${name(code.display)}
      </rim:Classification>`;
  const authorClassification = (scheme: string, object: string) =>
    document.authors.length === 0
      ? ''
      : `
      <rim:Classification id="${id()}" classificationScheme="${scheme}" classifiedObject="${object}" nodeRepresentation="">
        ${slot('authorPerson', document.authors)}
        ${document.authorInstitution ? slot('authorInstitution', [document.authorInstitution]) : ''}
      </rim:Classification>`;
  const externalId = (scheme: string, object: string, value: string, label: string) => `
      <rim:ExternalIdentifier id="${id()}" identificationScheme="${scheme}" registryObject="${object}" value="${xml(value)}">
        ${name(label)}
      </rim:ExternalIdentifier>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
  <rim:RegistryObjectList>
    <rim:ExtrinsicObject id="${entry}" mimeType="${xml(document.mimeType)}" objectType="${ENTRY.objectType}">
      ${slot('creationTime', [dtm(document.creationTime)])}
      ${slot('hash', [sha1])}
      ${slot('size', [String(document.content.length)])}
      ${slot('languageCode', ['fr-FR'])}
      ${slot('sourcePatientId', [document.patientId])}
      ${slot('sourcePatientInfo', document.patientInfo)}
      ${slot('URI', [fileName])}
      ${name(document.title)}
      ${authorClassification(ENTRY.author, entry)}
      ${classification(ENTRY.classCode, entry, document.classCode)}
      ${classification(ENTRY.confidentialityCode, entry, XDS_DEFAULTS.confidentiality)}
      ${classification(ENTRY.formatCode, entry, format)}
      ${classification(ENTRY.healthcareFacilityTypeCode, entry, XDS_DEFAULTS.healthcareFacilityType)}
      ${classification(ENTRY.practiceSettingCode, entry, XDS_DEFAULTS.practiceSetting)}
      ${classification(ENTRY.typeCode, entry, document.typeCode)}
      ${externalId(ENTRY.patientId, entry, document.patientId, 'XDSDocumentEntry.patientId')}
      ${externalId(ENTRY.uniqueId, entry, document.uniqueId, 'XDSDocumentEntry.uniqueId')}
    </rim:ExtrinsicObject>
    <rim:RegistryPackage id="${set}">
      ${slot('submissionTime', [dtm(submission.submissionTime)])}
      ${slot('intendedRecipient', submission.intendedRecipients)}
      ${authorClassification(SET.author, set)}
      ${classification(SET.contentTypeCode, set, submission.contentTypeCode)}
      ${externalId(SET.uniqueId, set, submission.uniqueId, 'XDSSubmissionSet.uniqueId')}
      ${externalId(SET.sourceId, set, submission.sourceId, 'XDSSubmissionSet.sourceId')}
      ${externalId(SET.patientId, set, document.patientId, 'XDSSubmissionSet.patientId')}
    </rim:RegistryPackage>
    <rim:Classification id="${id()}" classifiedObject="${set}" classificationNode="${SET.classificationNode}"/>
    <rim:Association id="Association01" associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember" sourceObject="${set}" targetObject="${entry}">
      ${slot('SubmissionSetStatus', ['Original'])}
    </rim:Association>
  </rim:RegistryObjectList>
</lcm:SubmitObjectsRequest>
`;
}

function slot(slotName: string, values: string[]): string {
  return `<rim:Slot name="${slotName}"><rim:ValueList>${values.map((value) => `<rim:Value>${xml(value)}</rim:Value>`).join('')}</rim:ValueList></rim:Slot>`;
}

function name(text: string): string {
  return `<rim:Name><rim:LocalizedString value="${xml(text)}"/></rim:Name>`;
}

function indexHtml(document: XdmDocument, fileName: string): string {
  return `<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>${xml(document.title)}</title></head>
<body><h1>${xml(document.title)}</h1>
<p>Contenu de ce support IHE XDM :</p>
<ul><li><a href="${XDM_SUBSET}/${fileName}">${xml(document.title)}</a> (${xml(document.mimeType)})</li>
<li><a href="${XDM_SUBSET}/METADATA.XML">Métadonnées XDS</a></li></ul>
</body></html>
`;
}

function readme(submission: XdmSubmission): string {
  return [
    'Support IHE XDM produit par Liaison (noeud FHIR local de cabinet medical).',
    `Lot de soumission : ${submission.uniqueId}`,
    `Systeme emetteur : ${submission.sourceId}`,
    'Le document et ses metadonnees sont dans IHE_XDM/SUBSET01 ; INDEX.HTM les liste.',
    '',
  ].join('\r\n');
}

function extensionOf(mimeType: string): string {
  return { 'application/pdf': 'PDF', 'text/plain': 'TXT', 'text/xml': 'XML', 'application/xml': 'XML', 'image/jpeg': 'JPG', 'image/tiff': 'TIF', 'text/rtf': 'RTF' }[mimeType] ?? 'BIN';
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[character]!);
}
