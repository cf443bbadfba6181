/**
 * The national vocabularies the directory filters offer: professions (TRE_G15) and doctors' specialties (TRE_R38),
 * the most common ones, with the code systems the directory import writes (docs/directory.md).
 */

const nos = (table: string, name: string) => `https://mos.esante.gouv.fr/NOS/${table}-${name}/FHIR/${table.replace('_', '-')}-${name}`;

export const PROFESSION_SYSTEM = nos('TRE_G15', 'ProfessionSante');
export const SPECIALTY_SYSTEM = nos('TRE_R38', 'SpecialiteOrdinale');

export interface Term {
  code: string;
  label: string;
  /** Other words people type for it ("généraliste" for Médecine générale). */
  synonyms?: string[];
}

export const PROFESSIONS: readonly Term[] = [
  { code: '10', label: 'Médecin', synonyms: ['docteur'] },
  { code: '21', label: 'Pharmacien' },
  { code: '40', label: 'Chirurgien-dentiste', synonyms: ['dentiste'] },
  { code: '50', label: 'Sage-femme' },
  { code: '60', label: 'Infirmier', synonyms: ['infirmière'] },
  { code: '70', label: 'Masseur-kinésithérapeute', synonyms: ['kiné'] },
  { code: '80', label: 'Pédicure-podologue', synonyms: ['podologue'] },
  { code: '91', label: 'Orthophoniste' },
  { code: '92', label: 'Orthoptiste' },
  { code: '96', label: 'Psychomotricien' },
  { code: '26', label: 'Audioprothésiste' },
  { code: '28', label: 'Opticien-lunetier', synonyms: ['opticien'] },
];

export const SPECIALTIES: readonly Term[] = [
  { code: 'SM54', label: 'Médecine générale', synonyms: ['généraliste'] },
  { code: 'SM53', label: 'Spécialiste en médecine générale' },
  { code: 'SM02', label: 'Anesthésie-réanimation', synonyms: ['anesthésiste'] },
  { code: 'SM04', label: 'Cardiologie et maladies vasculaires', synonyms: ['cardiologue'] },
  { code: 'SM15', label: 'Dermatologie et vénéréologie', synonyms: ['dermatologue'] },
  { code: 'SM19', label: 'Gastro-entérologie et hépatologie', synonyms: ['gastro-entérologue'] },
  { code: 'SM20', label: 'Gynécologie-obstétrique', synonyms: ['gynécologue'] },
  { code: 'SM26', label: 'Médecine interne' },
  { code: 'SM32', label: 'Neurologie', synonyms: ['neurologue'] },
  { code: 'SM38', label: 'Ophtalmologie', synonyms: ['ophtalmologue'] },
  { code: 'SM39', label: 'Oto-rhino-laryngologie', synonyms: ['orl'] },
  { code: 'SM40', label: 'Pédiatrie', synonyms: ['pédiatre'] },
  { code: 'SM41', label: 'Pneumologie', synonyms: ['pneumologue'] },
  { code: 'SM42', label: 'Psychiatrie', synonyms: ['psychiatre'] },
  { code: 'SM44', label: 'Radio-diagnostic', synonyms: ['radiologue'] },
  { code: 'SM48', label: 'Rhumatologie', synonyms: ['rhumatologue'] },
];
