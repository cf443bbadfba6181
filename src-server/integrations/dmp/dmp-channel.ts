import { v5 as uuidv5 } from 'uuid';
import type { Channel, Delivery, DeliveryOutcome } from '../../channels/channel';
import { buildXdmPackage } from '../../ihe/xdm-package';
import { documentFacts } from '../document-facts';
import { authorIdentity, patientIdentity } from '../identities';
import { buildCdaDocument, type Custodian } from './cda-document';
import { dmpXdm, type XdsCodes } from './xds-metadata';

/**
 * The DMP channel: a document to the patient's shared medical record (Dossier Médical Partagé) as a CDA R2 document
 * with its XDS metadata, in an XDM zip POSTed to the configured endpoint (the practice's DMP gateway).
 */

export interface DmpSettings {
  /** Where the XDM package is POSTed (`Content-Type: application/zip`). */
  endpoint: string | URL;
  /** The OID of this installation as a document source (XDSSubmissionSet.sourceId), given with the DMP contract. */
  sourceOid: string;
  custodian: Custodian;
  codes: XdsCodes;
  /** How long the endpoint may take to answer; 60 s by default. */
  timeoutMs?: number;
  /** Sent with each POST, such as the authorisation the gateway requires. Never logged. */
  headers?: Record<string, string>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** How much of a refusal's body becomes the delivery's reason. */
const MAX_REASON_LENGTH = 500;
/** The namespace of the name-based UUIDs below (RFC 9562 v5): Liaison's own. */
const ID_NAMESPACE = '6f0c1f9e-3b7a-5d2e-9c41-8a7b2e5d4c10';

/**
 * The submission's identifiers, derived from the delivery: a resent delivery carries the same document and
 * submission set uniqueIds (OIDs under 2.25, the UUID arc), so the DMP recognises it rather than filing a copy.
 */
export function submissionIds(deliveryId: string) {
  const uuid = (role: string) => uuidv5(`${role}:${deliveryId}`, ID_NAMESPACE);
  const oid = (role: string) => `2.25.${BigInt(`0x${uuid(role).replaceAll('-', '')}`)}`;
  return {
    documentOid: oid('document'),
    documentEntry: `urn:uuid:${uuid('document-entry')}`,
    submissionSetOid: oid('submission-set'),
    submissionSetEntry: `urn:uuid:${uuid('submission-set-entry')}`,
  };
}

/** `signal` aborts deliveries under way (the node closing): they end as retries. */
export function createDmpChannel(settings: DmpSettings, signal?: AbortSignal): Channel {
  const endpoint = new URL(settings.endpoint);
  return {
    code: 'dmp',
    async deliver(delivery: Delivery): Promise<DeliveryOutcome> {
      const built = buildPackage(delivery, settings);
      if ('missing' in built) return { status: 'failed', reason: built.missing };
      let response: Response;
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: { ...settings.headers, 'content-type': 'application/zip' },
          body: built.zip,
          signal: AbortSignal.any([AbortSignal.timeout(settings.timeoutMs ?? DEFAULT_TIMEOUT_MS), ...(signal ? [signal] : [])]),
        });
      } catch (error) {
        const cause = (error as Error & { cause?: Error }).cause;
        return { status: 'retry', reason: `The DMP endpoint ${endpoint.host} could not be reached: ${cause?.message ?? (error as Error).message}` };
      }
      const message = await reasonOf(response);
      if (response.ok) return { status: 'completed', received: new Date().toISOString() };
      // Too many requests, or a request timeout: the endpoint asks to come back later.
      if (response.status >= 500 || response.status === 408 || response.status === 429) {
        return { status: 'retry', reason: `The DMP endpoint answered ${response.status}: ${message}` };
      }
      return { status: 'failed', reason: `The DMP endpoint refused the document (${response.status}): ${message}` };
    },
  };
}

/** The XDM package of a delivery, or why the DMP cannot take it. */
function buildPackage(delivery: Delivery, settings: Pick<DmpSettings, 'sourceOid' | 'custodian' | 'codes'>, now = new Date()): { zip: Buffer } | { missing: string } {
  const facts = documentFacts(delivery.documentReference, now);
  if ('missing' in facts) return facts;
  const patient = patientIdentity(delivery.patient);
  if (patient.invalidIns) return { missing: `The patient's INS '${patient.invalidIns}' is not a valid NIR/NIA (13 characters and their 2-digit key)` };
  if (!patient.ins) return { missing: 'The DMP needs the patient\'s INS (a NIR or NIA identifier): the patient has none' };
  const author = authorIdentity(delivery.sender);
  if (!author.idnps) return { missing: 'The DMP needs an author identified by RPPS or IDNPS: the sender has neither' };
  const ids = submissionIds(delivery.deliveryId);
  const identified = { patient: { ...patient, ins: patient.ins }, author: { ...author, idnps: author.idnps } };
  const cda = Buffer.from(
    buildCdaDocument({ documentOid: ids.documentOid, facts, ...identified, custodian: settings.custodian, content: delivery.content, contentType: delivery.contentType }),
    'utf8',
  );
  return {
    zip: buildXdmPackage(
      dmpXdm({
        submissionSet: { entryUuid: ids.submissionSetEntry, uniqueId: ids.submissionSetOid, sourceId: settings.sourceOid, submissionTime: now },
        document: { entryUuid: ids.documentEntry, uniqueId: ids.documentOid, cda },
        facts,
        ...identified,
        codes: settings.codes,
      }),
    ),
  };
}

async function reasonOf(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  return text.replace(/\s+/g, ' ').trim().slice(0, MAX_REASON_LENGTH) || response.statusText || 'no explanation given';
}
