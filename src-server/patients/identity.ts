import { refusal, unprocessable } from '../fhir/outcome';
import { nirContradiction, nirProblem } from '../fhir/nir';
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
/** FR Core's identity documents (`validationMode` of the reliability extension): what a user checked to validate. */
export const VALIDATION_MODE_SYSTEM = 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-mode-validation-identity';

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

/** Who writes, as the status rules need it: Liaison's own screens (a user's session), or software; the version replaced. */
export interface IdentityWriter {
  /** A user through Liaison's screens, which cannot call the INSi teleservice (nor vouch for software that did). */
  userSession: boolean;
  /** The version replaced, read only when a rule needs it (a user's session); one that cannot be read counts as none. */
  previous?: () => Readonly<Json> | undefined;
}

/**
 * Refuses (422) a Patient whose INS, trust status or IPP is malformed, or whose NIR contradicts its sex or birth date,
 * saying what is wrong and where; and a status its writer may not set (docs/patients.md "Trust status").
 */
export function checkIdentity(patient: Readonly<Json>, writer: IdentityWriter): void {
  const identifiers = arrayOf(patient.identifier) as Json[];
  identifiers.forEach((identifier, index) => {
    const where = `Patient.identifier[${index}]`;
    if (typeof identifier.system === 'string' && INS_SYSTEMS.has(identifier.system)) {
      if (typeof identifier.value !== 'string') throw refusal(422, 'ins-value-missing', 'An INS identifier needs its NIR as value', `${where}.value`);
      checkNir(identifier.value, patient, `${where}.value`);
    }
    if (isIpp(identifier) && (typeof identifier.system !== 'string' || typeof identifier.value !== 'string')) {
      throw unprocessable('ipp-invalid', 'An IPP (identifier of type PI) needs the system of the software that assigned it and its value', where);
    }
  });
  const reliability = identityReliability(patient);
  if (reliability) checkStatus(reliability, patient, writer);
}

function checkNir(value: string, patient: Readonly<Json>, where: string): void {
  const problem = nirProblem(value);
  if (problem?.kind === 'format') throw refusal(422, 'nir-format', problem.text, where, { parameters: { value } });
  if (problem) throw refusal(422, 'nir-key', problem.text, where, { parameters: { value, expected: problem.expected, given: problem.given } });
  const contradiction = nirContradiction(value, patient);
  if (contradiction?.kind === 'sex') throw refusal(422, 'nir-sex', contradiction.text, where, { parameters: { value, digit: contradiction.digit, gender: contradiction.gender } });
  if (contradiction?.kind === 'year') throw refusal(422, 'nir-birth-year', contradiction.text, where, { parameters: { value, nirYear: contradiction.nirYear, birthYear: contradiction.birthYear } });
  if (contradiction) throw refusal(422, 'nir-birth-month', contradiction.text, where, { parameters: { value, nirMonth: contradiction.nirMonth, birthMonth: contradiction.birthMonth } });
}

/**
 * The RNIV's statuses as this node can vouch for them. An INS comes from INSi, so only RECUP and QUAL carry one, and
 * they need one. Liaison's screens cannot call INSi: a user's session may keep the RECUP or QUAL (and the INS) that
 * software set, never set them; and a user who validates an identity names the document checked (`validationMode`).
 */
function checkStatus({ status, validationMode }: Reliability, patient: Readonly<Json>, { userSession, previous }: IdentityWriter): void {
  const ins = insOf(patient);
  if (!FROM_INSI.has(status) && ins.length > 0) {
    throw refusal(422, 'ins-status', `An INS comes from the INSi teleservice: the identity's status must be RECUP or QUAL, not ${status}`, 'Patient.identifier', { parameters: { status } });
  }
  if (FROM_INSI.has(status) && ins.length === 0) {
    throw refusal(422, 'identity-status-without-ins', `Status ${status} is of an identity whose INS was retrieved from INSi: give that INS`, 'Patient.extension', { parameters: { status } });
  }
  if (!userSession) return;
  const replaced = previous?.();
  const before = replaced ? previousReliability(replaced) : undefined;
  if (FROM_INSI.has(status) && !(before?.status === status && sameIns(ins, insOf(replaced!)))) {
    throw refusal(422, 'identity-status-insi', `Status ${status} comes from the INSi teleservice, which Liaison does not call: the practice software that called it sets it`, 'Patient.extension', { parameters: { status } });
  }
  if (status === 'VALI' && before?.status !== 'VALI' && validationMode === undefined) {
    throw unprocessable('identity-document-missing', `A validated identity names the identity document checked: a validationMode of ${VALIDATION_MODE_SYSTEM}`, 'Patient.extension');
  }
}

/** The status of the version replaced; one written without the API's checks (an import, a sync) and malformed counts as none. */
function previousReliability(previous: Readonly<Json>): Reliability | undefined {
  try {
    return identityReliability(previous);
  } catch {
    return undefined;
  }
}

const sameIns = (a: Ins[], b: Ins[]) => a.length === b.length && a.every((ins, index) => ins.system === b[index].system && ins.value === b[index].value);

interface Reliability {
  status: string;
  /** The identity document checked (FR Core's `validationMode` code), when given. */
  validationMode?: string;
}

/** The RNIV trust status of the identity (`identityStatus` of the reliability extension), checked; undefined without one. */
export function identityReliability(patient: Readonly<Json>): Reliability | undefined {
  const parts = arrayOf(patient.extension)
    .filter((extension) => (extension as Json).url === IDENTITY_RELIABILITY_URL)
    .flatMap((extension) => arrayOf((extension as Json).extension)) as Json[];
  const statuses = parts.filter((part) => part.url === 'identityStatus');
  if (statuses.length === 0) return undefined;
  if (statuses.length > 1) throw unprocessable('identity-status-invalid', 'A patient has one identity status: give identityStatus once', 'Patient.extension');
  const coding = statuses[0].valueCoding as Json | undefined;
  const known = coding?.system === IDENTITY_STATUS_SYSTEM && (IDENTITY_STATUSES as readonly unknown[]).includes(coding.code);
  if (!known) {
    throw unprocessable('identity-status-invalid', `identityStatus must be a valueCoding of ${IDENTITY_STATUS_SYSTEM}: ${IDENTITY_STATUSES.join(', ')}`, 'Patient.extension');
  }
  const mode = parts.find((part) => part.url === 'validationMode')?.valueCoding as Json | undefined;
  const validationMode = mode?.system === VALIDATION_MODE_SYSTEM && typeof mode.code === 'string' ? mode.code : undefined;
  return { status: coding.code as string, validationMode };
}

function isIpp(identifier: Json): boolean {
  const codings = arrayOf((identifier.type as Json | undefined)?.coding) as Json[];
  return codings.some((coding) => coding.code === 'PI' && typeof coding.system === 'string' && IDENTIFIER_TYPE_SYSTEMS.has(coding.system));
}

