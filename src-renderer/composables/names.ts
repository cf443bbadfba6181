import { useI18n } from 'vue-i18n';
import type { Patient, Practitioner, Reference } from '../api/fhir-types';
import { formatDate, formatIns, patientName, practitionerName } from '../format';
import type { LetterIdentity } from '../letter-identity';
import { useNamesStore } from '../stores/names';

/** What a reference stands for when the user may not see it: said in words, never as its `Type/id`. */
export type Unnamed = 'patient' | 'sender' | 'recipient' | 'author' | 'participant';

/**
 * A reference as a person reads it, from the shared names (stores/names.ts): "DUPONT Jeanne, née le 04/05/1960",
 * "Dr Claire MARTIN (Médecin — Médecine générale)", "Cabinet des Lilas". What the node did not give (out of the
 * user's reach, or gone) reads as the reference's own `display` if it has one, else as `unnamed` says
 * ("Patient non visible", "Expéditeur inconnu").
 */
export function useNames() {
  const { t } = useI18n();
  const names = useNamesStore();

  /** "DUPONT Jeanne, née le 04/05/1960", from a name already said. */
  function withBirth(name: string, { birthDate, gender }: Pick<Patient, 'birthDate' | 'gender'>): string {
    if (!birthDate) return name;
    const born = gender === 'female' ? 'names.bornFemale' : gender === 'male' ? 'names.bornMale' : 'names.born';
    return `${name}, ${t(born, { date: formatDate(birthDate) })}`;
  }

  function patientLabel(patient: Patient): string {
    return withBirth(patientName(patient.name) || t('names.unnamedPatient'), patient);
  }

  function practitionerLabel(practitioner: Practitioner, reference: string): string {
    const trade = names.trades.get(reference) || practitioner.qualification?.map((qualification) => qualification.code.coding?.[0]?.display ?? qualification.code.text).find(Boolean);
    const name = practitionerName(practitioner.name);
    return trade ? `${name} (${trade})` : name;
  }

  /** The name the shared names or the reference's `display` give, '' when neither does. */
  function knownName(reference: Reference | undefined): string {
    const key = reference?.reference ?? '';
    const resource = names.resources.get(key);
    let label = '';
    if (resource?.resourceType === 'Patient') label = patientLabel(resource);
    else if (resource?.resourceType === 'Practitioner') label = practitionerLabel(resource, key);
    else if (resource?.resourceType === 'Organization') label = resource.name ?? '';
    return label || reference?.display || '';
  }

  function nameOf(reference: Reference | undefined, unnamed: Unnamed): string {
    return knownName(reference) || t(`names.unknown.${unnamed}`);
  }

  /** "Patient : DUPONT Jeanne, née le 04/05/1960", or "Patient non visible". */
  function patientLine(reference: Reference | undefined): string {
    const name = knownName(reference);
    return name ? t('documents.patient', { patient: name }) : t('names.unknown.patient');
  }

  /** The patient as a letter identifies them: "MARTIN Hélène, née le 29/02/1980 · INS 2 80 02 99 123 456 10". */
  function identityLabel(identity: LetterIdentity): string {
    const person = withBirth(patientName(identity.name) || identity.display || t('names.unnamedPatient'), identity);
    return [person, identity.ins ? t('documents.attach.ins', { ins: formatIns(identity.ins) }) : ''].filter(Boolean).join(' · ');
  }

  return { nameOf, patientLine, patientLabel, identityLabel };
}
