import { resourceTypes } from '../fhir/validation/model';
import type { GROUPED_SCOPES } from './scopes';

/**
 * The scopes an app asks for, in the words its user reads on the consent page (app-login.ts): "Lire les dossiers de
 * vos patients", never `PATIENT_READ`. The same words as Réglages' rights (src-renderer/rights.ts), said to the user
 * whose data it is.
 */

const ACTIONS: Record<string, string> = { READ: 'Lire', SEARCH: 'Rechercher', CREATE: 'Créer', UPDATE: 'Modifier' };
const OBJECTS: Record<string, string> = {
  Patient: 'les dossiers de vos patients',
  Encounter: 'les consultations de vos patients',
  EpisodeOfCare: 'les épisodes de soins de vos patients',
  DocumentReference: 'les documents de vos patients',
  // What SMART apps usually ask for (patient/*.read grants every type the app may ask for).
  Observation: 'les résultats et mesures de vos patients',
  Condition: 'les problèmes de santé de vos patients',
  AllergyIntolerance: 'les allergies de vos patients',
  MedicationRequest: 'les prescriptions de vos patients',
  Immunization: 'les vaccinations de vos patients',
  Procedure: 'les actes réalisés chez vos patients',
  Binary: 'le contenu de ces documents',
  CommunicationRequest: 'les demandes d’envoi',
  Communication: 'les envois et messages',
  Appointment: 'les rendez-vous',
  Practitioner: 'les fiches des professionnels (annuaire)',
  PractitionerRole: 'les fonctions des professionnels (annuaire)',
  Organization: 'les fiches des structures (annuaire)',
};
const GROUPED: Record<keyof typeof GROUPED_SCOPES, string> = {
  SEND_TO_EHR: 'Envoyer au logiciel du cabinet',
  SEND_TO_MSS: 'Envoyer par messagerie sécurisée (MSSanté)',
};

let typeNames: Map<string, string> | undefined;

/** One sentence per scope, in the order asked. */
export function scopeSentences(scopes: readonly string[]): string[] {
  typeNames ??= new Map(resourceTypes().map((type) => [type.toUpperCase(), type]));
  return scopes.map((scope) => {
    if (Object.hasOwn(GROUPED, scope)) return GROUPED[scope];
    const match = /^([A-Z]+)_(READ|SEARCH|CREATE|UPDATE)$/.exec(scope);
    const type = match && typeNames!.get(match[1]);
    if (!match || !type) return scope;
    return `${ACTIONS[match[2]]} ${OBJECTS[type] ?? `les ressources ${type}`}`;
  });
}
