import { createHash } from 'node:crypto';
import type { Delivery } from '../channels/channel';
import { arrayOf, isJson, type Json, type Resource } from './references';
import type { XdmInput } from '../ihe/xdm-package';
import { LOINC_OID, XDS_CODES, type XdsCode } from '../ihe/xds-metadata';
import { IDNPS_SYSTEM } from '../auth/practitioner-link';
import { escape } from '../integrations/hl7-fields';
import { idnpsOf } from '../integrations/identities';

/**
 * What an MSSanté message's IHE_XDM.ZIP says of a delivery, read from its FHIR resources (French conventions: INS
 * and IDNPS identifiers with their ANS OIDs); ihe/ writes it. The values are HL7 v2 fields, so names have their
 * delimiters escaped (`|` as `\F\`), as in the DMP's. Ids that have no OID of their own get one derived from the
 * node and the resource (`oidOf`), so the same document always carries the same uniqueId.
 */

const INS_OIDS = ['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11', '1.2.250.1.213.1.4.2'];

/** Defaults of the French metadata for a practice (ANS, Cadre d'interopérabilité des SIS, annexe métadonnées). */
const DEFAULTS = {
  classCode: { code: '10', scheme: '1.2.250.1.213.1.1.4.1', display: 'Compte rendu' },
  healthcareFacilityType: { code: 'SA07', scheme: '1.2.250.1.71.4.2.4', display: 'Cabinet individuel' },
  practiceSetting: { code: 'AMBULATOIRE', scheme: '1.2.250.1.213.1.1.4.9', display: 'Ambulatoire' },
} satisfies Record<string, XdsCode>;

/** The XDM package's content for a delivery to one MSSanté address. */
export function xdmOf(delivery: Delivery, nodeId: string, recipientAddress: string): XdmInput {
  const { documentReference: reference, patient } = delivery;
  const typeCode = codeOf(reference.type, { code: '11488-4', scheme: LOINC_OID, display: 'Consultation note' });
  const authorResources = delivery.authors?.length ? delivery.authors : delivery.sender ? [delivery.sender] : [];
  const practitioners = authorResources.filter((resource) => resource.resourceType === 'Practitioner');
  const institution = authorResources.find((resource) => resource.resourceType === 'Organization');
  return {
    submissionSet: {
      id: 'SubmissionSet01',
      uniqueId: oidOf(`${nodeId}/delivery/${delivery.deliveryId}`),
      sourceId: oidOf(`${nodeId}/node`),
      submissionTime: new Date(),
      intendedRecipients: [intendedRecipient(delivery.recipient.resource, recipientAddress)],
      contentTypeCode: typeCode,
    },
    document: {
      id: 'Document01',
      uniqueId: masterOid(reference) ?? oidOf(`${nodeId}/DocumentReference/${reference.id}`),
      mimeType: delivery.contentType,
      title: text(reference.description) ?? typeCode.display,
      creationTime: text(reference.created) ?? text(reference.indexed) ?? new Date().toISOString(),
      patientId: patientCx(patient, nodeId),
      sourcePatientInfo: patient ? patientInfo(patient) : [],
      authors: practitioners.map(xcn),
      ...(institution && text(institution.name) ? { authorInstitution: text(institution.name)! } : {}),
      classCode: codeOf(reference.class, DEFAULTS.classCode),
      confidentialityCode: XDS_CODES.confidentialityNormal,
      formatCode: delivery.contentType === 'application/pdf' ? XDS_CODES.pdfFormat : XDS_CODES.textFormat,
      healthcareFacilityTypeCode: DEFAULTS.healthcareFacilityType,
      practiceSettingCode: DEFAULTS.practiceSetting,
      typeCode,
    },
    content: delivery.content,
  };
}

/** An OID for any text (a resource id, a node id): `2.25.<128 bits of its SHA-256>`, as X.667 allows for UUIDs. */
function oidOf(text: string): string {
  return `2.25.${BigInt(`0x${createHash('sha256').update(text).digest('hex').slice(0, 32)}`)}`;
}

/** XON|XCN|XTN: the organization or the person when the directory knows them, and the mailbox. */
function intendedRecipient(recipient: Resource | undefined, address: string): string {
  const organization = recipient?.resourceType === 'Organization' ? escape(text(recipient.name)) : '';
  const person = recipient?.resourceType === 'Practitioner' ? xcn(recipient) : '';
  return `${organization}|${person}|^^Internet^${address}`;
}

/** The patient as a CX: an INS when there is one, otherwise the node's own id under the node's OID. */
function patientCx(patient: Resource | undefined, nodeId: string): string {
  const identifiers = arrayOf(patient?.identifier).filter(isJson);
  for (const oid of INS_OIDS) {
    const ins = identifiers.find((identifier) => identifier.system === `urn:oid:${oid}` && typeof identifier.value === 'string');
    if (ins) return `${ins.value as string}^^^&${oid}&ISO^NH`;
  }
  return `${patient?.id ?? 'inconnu'}^^^&${oidOf(`${nodeId}/Patient`)}&ISO^PI`;
}

function patientInfo(patient: Resource): string[] {
  const name = arrayOf(patient.name).find(isJson);
  const info: string[] = [];
  if (name) info.push(`PID-5|${escape(text(name.family))}^${escape(arrayOf(name.given).filter((given) => typeof given === 'string').join(' '))}`);
  if (typeof patient.birthDate === 'string') info.push(`PID-7|${patient.birthDate.replace(/-/g, '')}`);
  const sex = { female: 'F', male: 'M', other: 'O', unknown: 'U' }[String(patient.gender)];
  if (sex) info.push(`PID-8|${sex}`);
  return info;
}

/** A practitioner as an XCN, with the IDNPS when the directory gives one. */
function xcn(practitioner: Resource): string {
  const name = arrayOf(practitioner.name).find(isJson) ?? {};
  const family = escape(text(name.family));
  const given = escape(arrayOf(name.given).filter((value) => typeof value === 'string').join(' '));
  const id = idnpsOf(practitioner.identifier);
  return id ? `${id}^${family}^${given}^^^^^^&${IDNPS_SYSTEM.slice('urn:oid:'.length)}&ISO^D^^^IDNPS` : `^${family}^${given}`;
}

/** The first coding of a CodeableConcept whose system is an OID or LOINC, or the default. */
function codeOf(concept: unknown, fallback: XdsCode): XdsCode {
  for (const coding of arrayOf(isJson(concept) ? concept.coding : undefined).filter(isJson)) {
    if (typeof coding.code !== 'string' || typeof coding.system !== 'string') continue;
    const scheme = coding.system === 'http://loinc.org' ? LOINC_OID : coding.system.startsWith('urn:oid:') ? coding.system.slice(8) : undefined;
    if (scheme) return { code: coding.code, scheme, display: text(coding.display) ?? text((concept as Json).text) ?? coding.code };
  }
  return fallback;
}

/** The DocumentReference's own OID (masterIdentifier `urn:oid:…` or a bare OID), if it has one. */
function masterOid(reference: Resource): string | undefined {
  const value = isJson(reference.masterIdentifier) ? reference.masterIdentifier.value : undefined;
  const oid = typeof value === 'string' ? value.replace(/^urn:oid:/, '') : undefined;
  return oid && /^\d+(\.\d+)+$/.test(oid) ? oid : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
