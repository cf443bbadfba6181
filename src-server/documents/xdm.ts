import { createHash } from 'node:crypto';
import { strToU8, zipSync } from 'fflate';

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

/** The classification schemes and identification schemes of XDS (ITI TF-3 §4.2.5). */
const XDS = {
  documentEntry: 'urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1',
  submissionSet: 'urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd',
  entryAuthor: 'urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d',
  entryClassCode: 'urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a',
  entryConfidentiality: 'urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f',
  entryFormatCode: 'urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d',
  entryFacilityType: 'urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1',
  entryPracticeSetting: 'urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead',
  entryTypeCode: 'urn:uuid:f0306f51-975f-434e-a61c-c59651d33983',
  entryPatientId: 'urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427',
  entryUniqueId: 'urn:uuid:2e82c1f6-a085-4c6e-9e2b-e5e6b6d2b3e6',
  setAuthor: 'urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d',
  setContentType: 'urn:uuid:aa543740-bdda-424e-8c96-df4873be8500',
  setPatientId: 'urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446',
  setSourceId: 'urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832',
  setUniqueId: 'urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8',
};

export const XDM_SUBSET = 'IHE_XDM/SUBSET01';

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
export function dtm(instant: string): string {
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
    <rim:ExtrinsicObject id="${entry}" mimeType="${xml(document.mimeType)}" objectType="${XDS.documentEntry}">
      ${slot('creationTime', [dtm(document.creationTime)])}
      ${slot('hash', [sha1])}
      ${slot('size', [String(document.content.length)])}
      ${slot('languageCode', ['fr-FR'])}
      ${slot('sourcePatientId', [document.patientId])}
      ${slot('sourcePatientInfo', document.patientInfo)}
      ${slot('URI', [fileName])}
      ${name(document.title)}
      ${authorClassification(XDS.entryAuthor, entry)}
      ${classification(XDS.entryClassCode, entry, document.classCode)}
      ${classification(XDS.entryConfidentiality, entry, XDS_DEFAULTS.confidentiality)}
      ${classification(XDS.entryFormatCode, entry, format)}
      ${classification(XDS.entryFacilityType, entry, XDS_DEFAULTS.healthcareFacilityType)}
      ${classification(XDS.entryPracticeSetting, entry, XDS_DEFAULTS.practiceSetting)}
      ${classification(XDS.entryTypeCode, entry, document.typeCode)}
      ${externalId(XDS.entryPatientId, entry, document.patientId, 'XDSDocumentEntry.patientId')}
      ${externalId(XDS.entryUniqueId, entry, document.uniqueId, 'XDSDocumentEntry.uniqueId')}
    </rim:ExtrinsicObject>
    <rim:RegistryPackage id="${set}">
      ${slot('submissionTime', [dtm(submission.submissionTime)])}
      ${slot('intendedRecipient', submission.intendedRecipients)}
      ${authorClassification(XDS.setAuthor, set)}
      ${classification(XDS.setContentType, set, submission.contentTypeCode)}
      ${externalId(XDS.setUniqueId, set, submission.uniqueId, 'XDSSubmissionSet.uniqueId')}
      ${externalId(XDS.setSourceId, set, submission.sourceId, 'XDSSubmissionSet.sourceId')}
      ${externalId(XDS.setPatientId, set, document.patientId, 'XDSSubmissionSet.patientId')}
    </rim:RegistryPackage>
    <rim:Classification id="${id()}" classifiedObject="${set}" classificationNode="${XDS.submissionSet}"/>
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
