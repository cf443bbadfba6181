import { nirProblem } from '../fhir/nir';
import { IDNPS_SYSTEM, RPPS_SYSTEM } from '../auth/practitioner-link';

/**
 * Who a document is about and who wrote it, as the integration channels (HL7 v2, CDA, XDS) name them: the patient's
 * INS and local IPP with the authorities that assign them, names, birth date and sex; the author's national id.
 * See docs/integrations.md for the identifier systems.
 */

type Json = Record<string, any>;

/** The authority of an identifier, as HL7 v2 (HD: namespace&universal id&type) and CDA (II root) carry it. */
export interface Authority {
  namespace?: string;
  /** An OID, or a URI when `type` is `URI`. */
  universalId: string;
  type: 'ISO' | 'URI';
}

export interface AssignedIdentifier {
  value: string;
  authority: Authority;
}

/**
 * The matricule INS: the NIR, or a NIA while INSEE has not attributed the NIR. Both have 13 characters and a 2-digit
 * key; the PAM FR profile names their assigning authorities.
 */
export const INS_NIR_OID = '1.2.250.1.213.1.4.8';
const INS_NIA_OID = '1.2.250.1.213.1.4.9';
const INS_AUTHORITIES: Record<string, Authority> = {
  [`urn:oid:${INS_NIR_OID}`]: { namespace: 'ASIP-SANTE-INS-NIR', universalId: INS_NIR_OID, type: 'ISO' },
  [`urn:oid:${INS_NIA_OID}`]: { namespace: 'ASIP-SANTE-INS-NIA', universalId: INS_NIA_OID, type: 'ISO' },
};

/** The identity of a health professional (IDNPS: "8" + RPPS, or "0" + ADELI), as the CI-SIS names its authority. */
export const IDNPS_AUTHORITY: Authority = { namespace: 'ASIP-SANTE-PS', universalId: IDNPS_SYSTEM.slice('urn:oid:'.length), type: 'ISO' };

/** The STU3 and R4 spellings of the HL7 v2 identifier type table (0203), whose `PI` marks a patient's local number. */
const IDENTIFIER_TYPE_SYSTEMS = new Set(['http://hl7.org/fhir/v2/0203', 'http://terminology.hl7.org/CodeSystem/v2-0203']);

export interface PersonName {
  family?: string;
  given: string[];
  prefix?: string;
  /** HumanName.use, when the name says it. */
  use?: string;
}

export interface PatientIdentity {
  ins?: AssignedIdentifier;
  /** A patient number that is there but is not a valid INS: refused rather than sent. */
  invalidIns?: string;
  ipp?: AssignedIdentifier;
  names: PersonName[];
  /** YYYY-MM-DD (or a shorter partial date), as FHIR has it. */
  birthDate?: string;
  gender?: 'male' | 'female' | 'other' | 'unknown';
}

export interface AuthorIdentity {
  idnps?: string;
  name: PersonName;
}

export interface IdentityOptions {
  /**
   * The system of the IPP to send (the receiving hospital's patient numbers, say). Without it, the identifier typed
   * `PI` (HL7 table 0203) is the IPP.
   */
  ippSystem?: string;
}

export function patientIdentity(patient: Json | undefined, options: IdentityOptions = {}): PatientIdentity {
  const identifiers: Json[] = Array.isArray(patient?.identifier) ? patient.identifier : [];
  const identity: PatientIdentity = { names: namesOf(patient), birthDate: stringOr(patient?.birthDate), gender: patient?.gender };
  const ins = identifiers.find((identifier) => INS_AUTHORITIES[identifier.system] && typeof identifier.value === 'string');
  if (ins) {
    const value = normalizeIns(ins.value);
    if (isValidIns(value)) identity.ins = { value, authority: INS_AUTHORITIES[ins.system] };
    else identity.invalidIns = ins.value;
  }
  const ipp = identifiers.find((identifier) =>
    typeof identifier.value === 'string' && typeof identifier.system === 'string' && (options.ippSystem ? identifier.system === options.ippSystem : isTypedPi(identifier)),
  );
  if (ipp) identity.ipp = { value: ipp.value, authority: authorityOf(ipp.system, stringOr(ipp.assigner?.display)) };
  return identity;
}

/**
 * The author behind `CommunicationRequest.sender`, as the document flow resolves it (Delivery.sender): a Practitioner
 * (for a PractitionerRole sender, its practitioner) with its IDNPS, or an Organization, which has no author id.
 */
export function authorIdentity(sender: Json | undefined): AuthorIdentity {
  if (sender?.resourceType === 'Practitioner') return { idnps: idnpsOf(sender.identifier), name: namesOf(sender)[0] ?? { given: [] } };
  return { name: { family: stringOr(sender?.name), given: [] } };
}

/** The legal name ("nom de naissance"): the one marked official, else the first that is not the usual one. */
export function legalName(names: PersonName[]): PersonName | undefined {
  return names.find((name) => name.use === 'official') ?? names.find((name) => name.use !== 'usual') ?? names[0];
}

/** The IDNPS of a professional, from an IDNPS identifier or from the RPPS number it is made of. */
export function idnpsOf(identifiers: unknown): string | undefined {
  const list: Json[] = Array.isArray(identifiers) ? identifiers : [];
  const idnps = list.find((identifier) => identifier.system === IDNPS_SYSTEM && typeof identifier.value === 'string');
  if (idnps) return idnps.value;
  const rpps = list.find((identifier) => identifier.system === RPPS_SYSTEM && typeof identifier.value === 'string');
  return rpps ? `8${rpps.value}` : undefined;
}

/** The FHIR system of an identifier as an authority: `urn:oid:` systems are ISO OIDs, others URIs. */
function authorityOf(system: string, namespace?: string): Authority {
  return system.startsWith('urn:oid:') ? { namespace, universalId: system.slice('urn:oid:'.length), type: 'ISO' } : { namespace, universalId: system, type: 'URI' };
}

/** A NIR or NIA with its key (Corsica's 2A and 2B included): the Patient API's check (fhir/nir.ts). */
export function isValidIns(value: string): boolean {
  return nirProblem(value) === undefined;
}

const normalizeIns = (value: string) => value.replace(/\s+/g, '').toUpperCase();

function isTypedPi(identifier: Json): boolean {
  const codings: Json[] = Array.isArray(identifier.type?.coding) ? identifier.type.coding : [];
  return codings.some((coding) => coding.code === 'PI' && (coding.system === undefined || IDENTIFIER_TYPE_SYSTEMS.has(coding.system)));
}

function namesOf(resource: Json | undefined): PersonName[] {
  const names: Json[] = Array.isArray(resource?.name) ? resource.name : [];
  return names
    .map((name) => ({
      family: stringOr(name.family),
      given: Array.isArray(name.given) ? name.given.filter((given: unknown): given is string => typeof given === 'string') : [],
      prefix: Array.isArray(name.prefix) ? stringOr(name.prefix[0]) : undefined,
      use: stringOr(name.use),
    }))
    .filter((name) => name.family !== undefined || name.given.length > 0);
}

const stringOr = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
