import { refusal, unprocessable } from '../fhir/outcome';
import { nirProblem } from './nir';
import { arrayOf, type Json } from '../fhir/json';

/**
 * A patient's identity as French practices record it (docs/patients.md): the INS — the NIR matricule, under the OID
 * of the NIR (or of the test and demonstration NIRs of the INSi teleservice) — with the identity's trust status of
 * the RNIV in FR Core's `fr-core-identity-reliability` extension, and the IPP, the practice software's own number.
 */

export const NIR_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';
/** NIRs of the test and demonstration patients of the INSi teleservice: the same format, never real people. */
export const INS_SYSTEMS: ReadonlySet<string> = new Set([NIR_SYSTEM, 'urn:oid:1.2.250.1.213.1.4.10', 'urn:oid:1.2.250.1.213.1.4.11']);

export const IDENTITY_RELIABILITY_URL = 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability';
export const IDENTITY_STATUS_SYSTEM = 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status';
/**
 * The four trust statuses of the RNIV (EXI SI 07): provisional, retrieved from INSi, validated against an identity
 * document, qualified (both).
 */
export const IDENTITY_STATUSES = ['PROV', 'RECUP', 'VALI', 'QUAL'] as const;
/** Statuses of an identity whose INS came from the INSi teleservice: the only ones that may carry an INS. */
const FROM_INSI: ReadonlySet<string> = new Set(['RECUP', 'QUAL']);

/** Identifier types of HL7 table 0203 (`PI`: the patient's number in a facility, the IPP), STU3's and R4's system. */
const IDENTIFIER_TYPE_SYSTEMS: ReadonlySet<string> = new Set(['http://hl7.org/fhir/v2/0203', 'http://terminology.hl7.org/CodeSystem/v2-0203']);


export interface Ins {
  system: string;
  value: string;
}

/** The INS identifiers of a Patient. */
export function insOf(patient: Readonly<Json>): Ins[] {
  return arrayOf(patient.identifier).flatMap((identifier) => {
    const { system, value } = identifier as Json;
    return typeof system === 'string' && INS_SYSTEMS.has(system) && typeof value === 'string' ? [{ system, value }] : [];
  });
}

/** Refuses (422) a Patient whose INS, trust status or IPP is malformed, saying what is wrong and where. */
export function checkIdentity(patient: Readonly<Json>): void {
  const identifiers = arrayOf(patient.identifier) as Json[];
  identifiers.forEach((identifier, index) => {
    const where = `Patient.identifier[${index}]`;
    if (typeof identifier.system === 'string' && INS_SYSTEMS.has(identifier.system)) {
      if (typeof identifier.value !== 'string') throw refusal(422, 'ins-value-missing', 'An INS identifier needs its NIR as value', `${where}.value`);
      const value = identifier.value;
      const problem = nirProblem(value);
      if (problem?.kind === 'format') throw refusal(422, 'nir-format', problem.text, `${where}.value`, { parameters: { value } });
      if (problem) throw refusal(422, 'nir-key', problem.text, `${where}.value`, { parameters: { value, expected: problem.expected, given: problem.given } });
    }
    if (isIpp(identifier) && (typeof identifier.system !== 'string' || typeof identifier.value !== 'string')) {
      throw unprocessable('ipp-invalid', 'An IPP (identifier of type PI) needs the system of the software that assigned it and its value', where);
    }
  });
  const status = identityStatus(patient);
  if (status !== undefined && !FROM_INSI.has(status) && insOf(patient).length > 0) {
    throw refusal(422, 'ins-status', `An INS comes from the INSi teleservice: the identity's status must be RECUP or QUAL, not ${status}`, 'Patient.identifier', { parameters: { status } });
  }
}

/** The RNIV trust status of the identity (`identityStatus` of the reliability extension), checked; undefined without one. */
function identityStatus(patient: Readonly<Json>): string | undefined {
  const statuses = arrayOf(patient.extension)
    .filter((extension) => (extension as Json).url === IDENTITY_RELIABILITY_URL)
    .flatMap((extension) => arrayOf((extension as Json).extension).filter((part) => (part as Json).url === 'identityStatus')) as Json[];
  if (statuses.length === 0) return undefined;
  if (statuses.length > 1) throw unprocessable('identity-status-invalid', 'A patient has one identity status: give identityStatus once', 'Patient.extension');
  const coding = statuses[0].valueCoding as Json | undefined;
  const known = coding?.system === IDENTITY_STATUS_SYSTEM && (IDENTITY_STATUSES as readonly unknown[]).includes(coding.code);
  if (!known) {
    throw unprocessable('identity-status-invalid', `identityStatus must be a valueCoding of ${IDENTITY_STATUS_SYSTEM}: ${IDENTITY_STATUSES.join(', ')}`, 'Patient.extension');
  }
  return coding.code as string;
}

function isIpp(identifier: Json): boolean {
  const codings = arrayOf((identifier.type as Json | undefined)?.coding) as Json[];
  return codings.some((coding) => coding.code === 'PI' && typeof coding.system === 'string' && IDENTIFIER_TYPE_SYSTEMS.has(coding.system));
}

