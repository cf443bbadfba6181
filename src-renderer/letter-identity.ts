// The INS (NIR) and the INSi test and demonstration NIRs: the node's own list, so a letter is read as the node reads it.
import { INS_SYSTEMS } from '../src-server/patients/identity';
import type { Communication, DocumentReference, HumanName, Identifier, Patient, Reference, Resource } from './api/fhir-types';

export { INS_SYSTEM } from './identity';

/**
 * Whom a received letter is about when the reader does not follow that patient (docs/documents.md, "Letters without a
 * known patient"): the identity as the letter gives it — an internal delivery's `patient-identity` (the sender's
 * patient, as the sender has them), a contained Patient, or the INS of a logical reference — and how close one of the
 * reader's patients is to it, to propose the right one first.
 */

/** On an internal delivery: the patient as its sender identifies them (src-server/documents/communications.ts). */
export const PATIENT_IDENTITY_URL = 'http://liaison.health/fhir/StructureDefinition/patient-identity';

export interface LetterIdentity {
  name?: HumanName[];
  /** The name as the sender wrote it in the reference, when no structured name came. */
  display?: string;
  birthDate?: string;
  gender?: Patient['gender'];
  ins?: string;
}

function insOf(identifiers: Array<Identifier | undefined>): string | undefined {
  return identifiers.find((identifier) => identifier?.value && INS_SYSTEMS.has(identifier.system ?? ''))?.value;
}

function containedPatient(resource: { contained?: Resource[] }, reference: string | undefined): Patient | undefined {
  if (!reference?.startsWith('#')) return undefined;
  return resource.contained?.find((contained): contained is Patient => contained.resourceType === 'Patient' && contained.id === reference.slice(1));
}

function traitsOf(patient: Patient, display?: string): LetterIdentity {
  return { name: patient.name, display, birthDate: patient.birthDate, gender: patient.gender, ins: insOf(patient.identifier ?? []) };
}

/** The identity a letter gives of its patient; undefined when it names a patient by reference only. */
export function identityOf(communication: Communication, document: DocumentReference | undefined): LetterIdentity | undefined {
  const sentWith = communication.extension?.find((extension) => extension.url === PATIENT_IDENTITY_URL)?.valueReference?.reference;
  const delivered = containedPatient(communication, sentWith);
  if (delivered) return traitsOf(delivered);
  const subject: Reference | undefined = document?.subject;
  if (!subject) return undefined;
  const contained = document && containedPatient(document, subject.reference);
  if (contained) return traitsOf(contained, subject.display);
  if (subject.reference) return undefined;
  return { display: subject.display, ins: insOf([subject.identifier]) };
}

const words = (text: string | undefined) =>
  (text ?? '')
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLocaleLowerCase('fr')
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length >= 2);

function nameWords(names: HumanName[] | undefined, display?: string): string[] {
  return [...(names ?? []).flatMap((name) => [...words(name.family), ...(name.given ?? []).flatMap(words), ...words(name.text)]), ...words(display)];
}

/** Levenshtein's distance, for short words: how many letters to add, remove or change to go from one to the other. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    previous = row;
  }
  return previous[b.length];
}

/** Two words of names that may be the same: equal, one beginning the other (a first name cut short), or a letter or two apart (Lefèvre, Lefebvre). */
function sameWord(word: string, other: string): boolean {
  if (word === other) return true;
  const shorter = Math.min(word.length, other.length);
  if (shorter >= 3 && (other.startsWith(word) || word.startsWith(other))) return true;
  return shorter >= 5 && distance(word, other) <= (shorter >= 8 ? 2 : 1);
}

/**
 * Whether a patient's name is close to the letter's: a word of one is a word of the other, as sameWord reads them
 * (accents and case left aside: a birth name and a married name side by side, a spelling the sender's software
 * changed).
 */
export function isCloseName(patient: Patient, identity: LetterIdentity): boolean {
  const theirs = nameWords(identity.name, identity.display);
  const ours = nameWords(patient.name);
  return theirs.some((word) => ours.some((other) => sameWord(word, other)));
}
