import { nirContradiction, nirProblem } from '../src-server/fhir/nir';
import type { Address, Extension, HumanName, Patient } from './api/fhir-types';
import type { RefusalValue } from './api/refusal';

/**
 * A patient's identity as the RNIV reads it (docs/patients.md): the INS, the trust status of FR Core's reliability
 * extension and the document a user checked, the birthplace and the birth and used names. The NIR is checked by the
 * node's own function (src-server/fhir/nir.ts), so the form says as the user types what the node would refuse, in the
 * words of the node's refusal codes.
 */

export const INS_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';
export const IDENTITY_RELIABILITY_URL = 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability';
export const IDENTITY_STATUS_SYSTEM = 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-identity-status';
export const VALIDATION_MODE_SYSTEM = 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-mode-validation-identity';
/** STU3's birthplace extension (R4 renamed it patient-birthPlace); its address carries FR Core's INSEE code. */
export const BIRTH_PLACE_URL = 'http://hl7.org/fhir/StructureDefinition/birthPlace';
export const INSEE_CODE_URL = 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code';
export const INSEE_CODE_SYSTEM = 'https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM';

export type IdentityStatus = 'PROV' | 'RECUP' | 'VALI' | 'QUAL';
/** The statuses only software that called INSi sets; a user keeps them, never sets them. */
export const FROM_INSI: readonly IdentityStatus[] = ['RECUP', 'QUAL'];
/** The documents of high trust a user may validate an identity with (FR Core's codes): identity card, passport, residence permit, family record book, birth certificate. */
export const IDENTITY_DOCUMENTS = ['CN', 'PA', 'CS', 'LE', 'AN'] as const;

export interface Reliability {
  status?: IdentityStatus;
  document?: string;
}

export function reliabilityOf(patient: Patient | undefined): Reliability {
  const parts = patient?.extension?.find((extension) => extension.url === IDENTITY_RELIABILITY_URL)?.extension ?? [];
  const status = parts.find((part) => part.url === 'identityStatus')?.valueCoding?.code as IdentityStatus | undefined;
  const document = parts.find((part) => part.url === 'validationMode')?.valueCoding?.code;
  return { status, document };
}

/** The reliability extension for a status (and the document checked, for VALI), dated today when the user validates. */
export function reliabilityExtension(status: IdentityStatus, document?: string, kept?: Extension): Extension {
  const others = (kept?.extension ?? []).filter((part) => part.url !== 'identityStatus' && part.url !== 'validationMode');
  return {
    url: IDENTITY_RELIABILITY_URL,
    extension: [
      { url: 'identityStatus', valueCoding: { system: IDENTITY_STATUS_SYSTEM, code: status } },
      ...(status === 'VALI' && document ? [{ url: 'validationMode', valueCoding: { system: VALIDATION_MODE_SYSTEM, code: document } }] : []),
      ...others,
    ],
  };
}

export const insOf = (patient: Patient | undefined) => patient?.identifier?.find((identifier) => identifier.system === INS_SYSTEM)?.value;

export interface BirthPlace {
  city?: string;
  insee?: string;
}

export function birthPlaceOf(patient: Patient | undefined): BirthPlace {
  const address = patient?.extension?.find((extension) => extension.url === BIRTH_PLACE_URL)?.valueAddress;
  return { city: address?.city, insee: address?.extension?.find((extension) => extension.url === INSEE_CODE_URL)?.valueCoding?.code };
}

export function birthPlaceExtension({ city, insee }: BirthPlace): Extension | undefined {
  if (!city && !insee) return undefined;
  const address: Address = { ...(city ? { city } : {}), ...(insee ? { extension: [{ url: INSEE_CODE_URL, valueCoding: { system: INSEE_CODE_SYSTEM, code: insee } }] } : {}) };
  return { url: BIRTH_PLACE_URL, valueAddress: address };
}

/** The birth name (FR Core: `official`) and the used one (`usual`), when it differs. */
export function namesOf(patient: Patient | undefined): { birth?: HumanName; used?: HumanName } {
  const names = patient?.name ?? [];
  return { birth: names.find((name) => name.use === 'official') ?? names.find((name) => name.use !== 'usual') ?? names[0], used: names.find((name) => name.use === 'usual') };
}

/** Why a typed NIR is not one, or contradicts the sex or birth date: a refusal code and its values, as the node would answer. */
export function nirCheck(value: string, traits: { gender?: string; birthDate?: string }): { code: string; parameters: Record<string, RefusalValue> } | undefined {
  const problem = nirProblem(value);
  if (problem?.kind === 'format') return { code: 'nir-format', parameters: { value } };
  if (problem) return { code: 'nir-key', parameters: { value, expected: problem.expected, given: problem.given } };
  const contradiction = nirContradiction(value, traits);
  if (!contradiction) return undefined;
  const { kind, text: _text, ...parameters } = contradiction;
  return { code: kind === 'sex' ? 'nir-sex' : kind === 'year' ? 'nir-birth-year' : 'nir-birth-month', parameters: { value, ...parameters } };
}

/** A name as compared for likely duplicates: no accents, case, hyphens, apostrophes or double spaces. */
export function comparable(text: string | undefined): string {
  return (text ?? '')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLocaleLowerCase('fr')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/**
 * Whether two identities born the same day are likely one person: a family name of one (birth or used) equal to one
 * of the other's, or one of them a word of the other ("Dupont" and "Dupont-Moreau"), and the first given names alike.
 */
export function closeNames(a: Patient, b: Patient): boolean {
  const families = (patient: Patient) => (patient.name ?? []).map((name) => comparable(name.family)).filter(Boolean);
  const firstGiven = (patient: Patient) => new Set((patient.name ?? []).map((name) => comparable(name.given?.[0]).split(' ')[0]).filter(Boolean));
  const sameFamily = families(a).some((one) => families(b).some((other) => one === other || ` ${other} `.includes(` ${one} `) || ` ${one} `.includes(` ${other} `)));
  if (!sameFamily) return false;
  const given = firstGiven(b);
  return given.size === 0 || firstGiven(a).size === 0 || [...firstGiven(a)].some((name) => given.has(name));
}
