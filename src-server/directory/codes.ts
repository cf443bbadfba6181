/**
 * The national vocabularies the directory import writes: NOS code systems (as the ANS FHIR directory names them) and
 * the identifier systems of people and structures. See docs/directory.md for where each comes from.
 */

const nos = (table: string) => {
  const [tre, name] = table.split('-');
  return `https://mos.esante.gouv.fr/NOS/${tre}-${name}/FHIR/${tre.replace('_', '-')}-${name}`;
};

export const CODE_SYSTEMS = {
  profession: nos('TRE_G15-ProfessionSante'),
  professionalCategory: nos('TRE_R09-CategorieProfessionnelle'),
  specialty: nos('TRE_R38-SpecialiteOrdinale'),
  practiceMode: nos('TRE_R23-ModeExercice'),
  activitySector: nos('TRE_R02-SecteurActivite'),
  practiceCivility: nos('TRE_R11-CiviliteExercice'),
  civility: nos('TRE_R81-Civilite'),
  role: nos('TRE_R21-Fonction'),
  activityKind: nos('TRE_R22-GenreActivite'),
  /** The French identifier types (RPPS, ADELI, IDNPS, SIRET, FINEG…), from FR Core. */
  identifierType: 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203',
} as const;

export const IDENTIFIER_SYSTEMS = {
  rpps: 'https://rpps.esante.gouv.fr',
  adeli: 'https://adeli.esante.gouv.fr',
  /** Identification nationale PP: "8" + RPPS, or "0" + ADELI. */
  idnps: 'urn:oid:1.2.250.1.71.4.2.1',
  /** Identification nationale de structure: a type digit + FINESS, SIRET, cabinet number (the file's "ancien identifiant"). */
  idnst: 'urn:oid:1.2.250.1.71.4.2.2',
  siret: 'https://sirene.fr',
  siren: 'https://sirene.fr/siren',
  finess: 'https://finess.esante.gouv.fr',
  /** "Identifiant technique de la structure" of the RASS: no public system; this one is Liaison's (documented). */
  structureTechnicalId: 'https://annuaire.sante.fr/identifiant-technique-structure',
} as const;

/** The MSSanté mailbox marker (ANS "as-mailbox-mss" telecom): lets each import own its share of `telecom`. */
export const MSSANTE_EXTENSION = 'https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata';

/** How a name is prefixed: the civility of practice first (Dr, Pr), else the civility. */
const PREFIXES: Record<string, string> = { DR: 'Dr', PR: 'Pr', M: 'M.', MME: 'Mme', MLLE: 'Mlle' };

export function namePrefix(practiceCivility: { code: string; display: string }, civility: { code: string; display: string }): string | undefined {
  for (const { code, display } of [practiceCivility, civility]) {
    if (code) return PREFIXES[code] ?? (display || code);
  }
  return undefined;
}

export function genderOf(civilityCode: string): 'male' | 'female' | undefined {
  if (civilityCode === 'M') return 'male';
  if (civilityCode === 'MME' || civilityCode === 'MLLE') return 'female';
  return undefined;
}
