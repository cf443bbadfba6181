import { createHash } from 'node:crypto';
import { strToU8, zipSync } from 'fflate';
import { LIAISON_VERSION } from '../version';
import { buildXdsMetadata, type XdsDocumentEntry, type XdsSubmissionSet } from './xds-metadata';

/**
 * An IHE XDM package (ITI TF-1 §16, ITI TF-3 §4.2.1.2.6.1): one submission set as a zip, so that the receiving
 * software files the document with its metadata (patient, type, author). The same for every channel: the
 * `IHE_XDM.ZIP` of an MSSanté message, the body of a DMP submission. Layout:
 *
 *   INDEX.HTM, README.TXT                      what a person opening the zip sees
 *   IHE_XDM/SUBSET01/METADATA.XML              an ebRIM SubmitObjectsRequest: one submission set, one document entry
 *   IHE_XDM/SUBSET01/DOC0001.<ext>             the document itself, named by the entry's URI slot
 */

const SUBSET_FOLDER = 'IHE_XDM/SUBSET01';
const ZIP_EPOCH = new Date(1980, 0, 2).getTime();

export interface XdmInput {
  submissionSet: XdsSubmissionSet;
  /** The document entry; its hash, size and URI are the content's. */
  document: XdsDocumentEntry;
  content: Buffer;
}

/** The zip's bytes. Its files are dated by the document, so a resent delivery packs the same bytes. */
export function buildXdmPackage({ submissionSet, document, content }: XdmInput): Buffer {
  const fileName = `DOC0001.${extensionOf(document.mimeType)}`;
  const metadata = buildXdsMetadata(submissionSet, document, { sha1: createHash('sha1').update(content).digest('hex'), size: content.length, uri: fileName });
  // Zip dates run from 1980: an older document (a scanned letter) is dated at that start.
  const created = new Date(document.creationTime).getTime();
  const options = { mtime: new Date(Math.max(Number.isNaN(created) ? Date.now() : created, ZIP_EPOCH)) };
  return Buffer.from(
    zipSync(
      {
        'INDEX.HTM': [strToU8(indexPage(document, fileName)), options],
        'README.TXT': [strToU8(readme(submissionSet, fileName)), options],
        [`${SUBSET_FOLDER}/METADATA.XML`]: [strToU8(metadata), options],
        [`${SUBSET_FOLDER}/${fileName}`]: [new Uint8Array(content.buffer, content.byteOffset, content.byteLength), options],
      },
      { level: 6 },
    ),
  );
}

function indexPage(document: XdsDocumentEntry, fileName: string): string {
  return `<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>${html(document.title)}</title></head>
<body><h1>${html(document.title)}</h1>
<p>Contenu de ce support IHE XDM :</p>
<ul><li><a href="${SUBSET_FOLDER}/${fileName}">${html(document.title)}</a> (${html(document.mimeType)})</li>
<li><a href="${SUBSET_FOLDER}/METADATA.XML">Métadonnées XDS</a></li></ul>
</body></html>
`;
}

function readme(submissionSet: XdsSubmissionSet, fileName: string): string {
  return [
    'Paquet IHE XDM / IHE XDM package',
    `Produit par / made by: Liaison ${LIAISON_VERSION}`,
    `Lot de soumission / submission set: ${submissionSet.uniqueId}`,
    `Systeme emetteur / source: ${submissionSet.sourceId}`,
    `Contenu / content: ${SUBSET_FOLDER}/${fileName} (document), ${SUBSET_FOLDER}/METADATA.XML (metadonnees XDS) ; INDEX.HTM les liste.`,
    '',
  ].join('\r\n');
}

function extensionOf(mimeType: string): string {
  return { 'application/pdf': 'PDF', 'text/plain': 'TXT', 'text/xml': 'XML', 'application/xml': 'XML', 'image/jpeg': 'JPG', 'image/tiff': 'TIF', 'text/rtf': 'RTF' }[mimeType] ?? 'BIN';
}

/** Numeric references for markup, and U+FFFD for what HTML cannot carry (control characters), as in the metadata. */
const html = (text: string) =>
  text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`).replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
