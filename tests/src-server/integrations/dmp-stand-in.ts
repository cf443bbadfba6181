import { XMLParser } from 'fast-xml-parser';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import yauzl from 'yauzl';

/**
 * A DMP endpoint stand-in on 127.0.0.1: it takes an XDM zip, unzips it (yauzl), parses METADATA.XML and the CDA
 * document (fast-xml-parser), and refuses with 400 a package that does not hold together (paths, patient INS, hash
 * and size, uniqueIds, the B64 body). A valid package is filed by document uniqueId (a resend is recognised, as an
 * XDS registry does with an identical uniqueId and hash) and answered with `answer` (200 unless a test says).
 */

type Json = Record<string, any>;

export interface FiledDocument {
  uniqueId: string;
  submissionSetUniqueId: string;
  patientId: string;
  /** The PDF the CDA body decodes to. */
  pdf: Buffer;
  metadata: Json;
  cda: Json;
  files: string[];
}

const REQUIRED_FILES = ['INDEX.HTM', 'README.TXT', 'IHE_XDM/SUBSET01/METADATA.XML', 'IHE_XDM/SUBSET01/DOC0001.XML'];
const ARRAYS = new Set(['Slot', 'Value', 'Classification', 'ExternalIdentifier', 'templateId', 'id', 'given', 'ExtrinsicObject', 'RegistryPackage', 'Association']);
const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', removeNSPrefix: true, parseTagValue: false, parseAttributeValue: false, isArray: (name) => ARRAYS.has(name) });

export class DmpStandIn {
  /** Every POST that reached it, valid or not. */
  posts = 0;
  readonly filed = new Map<string, FiledDocument>();
  answer: { status: number; body?: string } = { status: 200 };
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.posts++;
      this.receive(request.headers['content-type'], Buffer.concat(chunks)).then(
        (problem) => {
          if (problem) response.writeHead(400, { 'content-type': 'text/plain' }).end(problem);
          else response.writeHead(this.answer.status, { 'content-type': 'text/plain' }).end(this.answer.body ?? '');
        },
        (error: Error) => response.writeHead(400, { 'content-type': 'text/plain' }).end(`Unreadable package: ${error.message}`),
      );
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/dmp/submissions`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Checks and files a package; answers what is wrong with it, if anything. */
  private async receive(contentType: string | undefined, body: Buffer): Promise<string | undefined> {
    if (contentType !== 'application/zip') return `Expected application/zip, got ${contentType}`;
    const files = await unzip(body);
    const missing = REQUIRED_FILES.filter((name) => !files.has(name));
    if (missing.length > 0) return `Missing ${missing.join(', ')}`;
    const metadata = xml.parse(files.get('IHE_XDM/SUBSET01/METADATA.XML')!.toString('utf8')) as Json;
    const list = metadata.SubmitObjectsRequest.RegistryObjectList;
    const entry = list.ExtrinsicObject[0];
    const set = list.RegistryPackage[0];
    const slot = (object: Json, name: string): string[] => object.Slot.find((candidate: Json) => candidate['@name'] === name)?.ValueList.Value ?? [];
    const external = (object: Json, name: string): string | undefined => object.ExternalIdentifier.find((candidate: Json) => candidate.Name.LocalizedString['@value'] === name)?.['@value'];
    const documentBytes = files.get(`IHE_XDM/SUBSET01/${slot(entry, 'URI')[0]}`);
    if (!documentBytes) return `The URI slot names no file of the package`;
    if (slot(entry, 'hash')[0] !== createHash('sha1').update(documentBytes).digest('hex')) return 'The hash slot is not the SHA-1 of the document';
    if (slot(entry, 'size')[0] !== String(documentBytes.length)) return 'The size slot is not the size of the document';
    const patientId = external(entry, 'XDSDocumentEntry.patientId')!;
    if (!/^[0-9]{5}([0-9]{2}|2A|2B)[0-9]{8}\^\^\^&1\.2\.250\.1\.213\.1\.4\.(8|9)&ISO$/.test(patientId)) return `patientId '${patientId}' is not an INS`;
    if (external(set, 'XDSSubmissionSet.patientId') !== patientId) return 'The submission set and the document are about different patients';
    const uniqueId = external(entry, 'XDSDocumentEntry.uniqueId')!;
    const cda = (xml.parse(documentBytes.toString('utf8')) as Json).ClinicalDocument;
    if (cda.id[0]['@root'] !== uniqueId) return 'The CDA id is not the document uniqueId';
    const ins = cda.recordTarget.patientRole.id.find((id: Json) => id['@root'] === '1.2.250.1.213.1.4.8');
    if (`${ins?.['@extension']}^^^&1.2.250.1.213.1.4.8&ISO` !== patientId) return 'The CDA patient is not the metadata patient';
    const text = cda.component.nonXMLBody.text;
    if (text['@mediaType'] !== 'application/pdf' || text['@representation'] !== 'B64') return 'The body is not a B64 PDF';
    const filed: FiledDocument = {
      uniqueId,
      submissionSetUniqueId: external(set, 'XDSSubmissionSet.uniqueId')!,
      patientId,
      pdf: Buffer.from(text['#text'], 'base64'),
      metadata,
      cda,
      files: [...files.keys()].sort(),
    };
    const known = this.filed.get(uniqueId);
    if (known && !known.pdf.equals(filed.pdf)) return `Document ${uniqueId} was filed with other content`;
    this.filed.set(uniqueId, filed);
    return undefined;
  }
}

function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true }, (error, archive) => {
      if (error) return reject(error);
      const files = new Map<string, Buffer>();
      archive.on('entry', (entry: yauzl.Entry) => {
        archive.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            files.set(entry.fileName, Buffer.concat(chunks));
            archive.readEntry();
          });
          stream.on('error', reject);
        });
      });
      archive.on('end', () => resolve(files));
      archive.on('error', reject);
      archive.readEntry();
    });
  });
}
