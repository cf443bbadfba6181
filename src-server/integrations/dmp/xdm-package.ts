import { strToU8, zipSync } from 'fflate';
import { LIAISON_VERSION } from '../../version';

/**
 * The IHE XDM package (ITI TF-1 §16, TF-3 §4.2.1.2.6.1): one submission set as a zip, with its metadata and
 * document under IHE_XDM/SUBSET01 and a human-readable INDEX.HTM and README.TXT at the root.
 */

const SUBSET_FOLDER = 'IHE_XDM/SUBSET01';
/** The document's file, named in the metadata's URI slot relative to the subset folder. */
export const DOCUMENT_FILE = 'DOC0001.XML';

const ZIP_EPOCH = new Date(1980, 0, 2).getTime();

export interface XdmContent {
  metadata: string;
  document: Buffer;
  title: string;
  /** The files' dates: the document's, so a resent delivery packs the same files. */
  date: Date;
}

export function buildXdmPackage(content: XdmContent): Buffer {
  // Zip dates run from 1980: an older document (a scanned letter) is dated at that start.
  const options = { mtime: new Date(Math.max(content.date.getTime(), ZIP_EPOCH)) };
  return Buffer.from(
    zipSync(
      {
        'INDEX.HTM': [strToU8(indexPage(content.title)), options],
        'README.TXT': [strToU8(readme()), options],
        [`${SUBSET_FOLDER}/METADATA.XML`]: [strToU8(content.metadata), options],
        [`${SUBSET_FOLDER}/${DOCUMENT_FILE}`]: [new Uint8Array(content.document), options],
      },
      { level: 6 },
    ),
  );
}

function indexPage(title: string): string {
  return `<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>${html(title)}</title></head>
<body><h1>${html(title)}</h1>
<p><a href="${SUBSET_FOLDER}/${DOCUMENT_FILE}">${html(title)}</a> (CDA R2, ${SUBSET_FOLDER}/METADATA.XML)</p>
</body></html>
`;
}

function readme(): string {
  return `Paquet IHE XDM / IHE XDM package
Produit par / made by: Liaison ${LIAISON_VERSION}
Contenu / content: ${SUBSET_FOLDER}/${DOCUMENT_FILE} (document CDA R2), ${SUBSET_FOLDER}/METADATA.XML (metadonnees XDS).
`;
}

const html = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
