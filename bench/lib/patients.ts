import { prng } from './settings';
/**
 * Deterministic, realistic French Patients for the benchmarks: the same seed gives the same ids and bodies in
 * every process, so the load generator knows the seeded ids without them crossing IPC.
 */

export type PatientResource = Record<string, unknown> & { resourceType: 'Patient'; id?: string };

const FAMILY_NAMES = [
  'Martin', 'Bernard', 'Thomas', 'Petit', 'Robert', 'Richard', 'Durand', 'Dubois', 'Moreau', 'Laurent',
  'Simon', 'Michel', 'Lefebvre', 'Leroy', 'Roux', 'David', 'Bertrand', 'Morel', 'Fournier', 'Girard',
  'Bonnet', 'Dupont', 'Lambert', 'Fontaine', 'Rousseau', 'Vincent', 'Muller', 'Lefèvre', 'Faure', 'André',
  'Mercier', 'Blanc', 'Guérin', 'Boyer', 'Garnier', 'Chevalier', 'François', 'Legrand', 'Gauthier', 'Garcia',
  'Perrin', 'Robin', 'Clément', 'Morin', 'Nicolas', 'Henry', 'Roussel', 'Mathieu', 'Gautier', 'Masson',
];
const MALE_GIVEN = [
  'Jean', 'Pierre', 'Michel', 'André', 'Philippe', 'Louis', 'Nicolas', 'François', 'Laurent', 'Éric',
  'Julien', 'Thomas', 'Lucas', 'Hugo', 'Antoine', 'Mathieu', 'Olivier', 'Théo', 'Gabriel', 'Raphaël',
];
const FEMALE_GIVEN = [
  'Marie', 'Jeanne', 'Françoise', 'Monique', 'Catherine', 'Nathalie', 'Isabelle', 'Sylvie', 'Anne', 'Céline',
  'Sophie', 'Julie', 'Camille', 'Léa', 'Manon', 'Chloé', 'Emma', 'Inès', 'Louise', 'Hélène',
];
/** [city, postal code, INSEE département code, INSEE commune code within it] */
const CITIES: ReadonlyArray<readonly [string, string, string, string]> = [
  ['Paris', '75011', '75', '111'], ['Lyon', '69003', '69', '383'], ['Marseille', '13008', '13', '208'],
  ['Toulouse', '31000', '31', '555'], ['Nantes', '44000', '44', '109'], ['Bordeaux', '33000', '33', '063'],
  ['Lille', '59000', '59', '350'], ['Rennes', '35000', '35', '238'], ['Strasbourg', '67000', '67', '482'],
  ['Montpellier', '34000', '34', '172'], ['Grenoble', '38000', '38', '185'], ['Dijon', '21000', '21', '231'],
];
const STREETS = ['rue de la République', 'avenue Jean Jaurès', 'rue Victor Hugo', 'boulevard Gambetta', 'place de la Mairie', 'rue des Écoles', 'chemin des Vignes', 'allée des Tilleuls'];

/** INS-NIR (French national health identifier) OID. */
const NIR_SYSTEM = 'urn:oid:1.2.250.1.213.1.4.8';
/** A practice-local patient number. */
const LOCAL_SYSTEM = 'urn:oid:1.2.250.1.999.1.1';


const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const digitsOf = (random: () => number, count: number): string =>
  Array.from({ length: count }, () => Math.floor(random() * 10)).join('');
const pad = (value: number, width: number) => String(value).padStart(width, '0');

function uuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** A NIR with its control key (97 - NIR mod 97), consistent with sex, birth year/month and birthplace. */
function nir(sex: 1 | 2, year: number, month: number, department: string, commune: string, order: string): string {
  const base = `${sex}${pad(year % 100, 2)}${pad(month, 2)}${department}${commune}${order}`;
  return `${base}${pad(97 - Number(BigInt(base) % 97n), 2)}`;
}

function patient(random: () => number, index: number): PatientResource {
  const male = random() < 0.5;
  const family = pick(random, FAMILY_NAMES);
  const given = [pick(random, male ? MALE_GIVEN : FEMALE_GIVEN)];
  if (random() < 0.3) given.push(pick(random, male ? MALE_GIVEN : FEMALE_GIVEN));
  const year = 1930 + Math.floor(random() * 90);
  const month = 1 + Math.floor(random() * 12);
  const day = 1 + Math.floor(random() * 28);
  const [city, postalCode, department, commune] = pick(random, CITIES);
  return {
    resourceType: 'Patient',
    identifier: [
      {
        use: 'official',
        type: { coding: [{ system: 'http://interopsante.org/fhir/CodeSystem/fr-v2-0203', code: 'INS-NIR' }] },
        system: NIR_SYSTEM,
        value: nir(male ? 1 : 2, year, month, department, commune, digitsOf(random, 3)),
      },
      { use: 'usual', system: LOCAL_SYSTEM, value: `P${pad(index + 1, 7)}` },
    ],
    active: true,
    name: [{ use: 'official', family: family.toUpperCase(), given }],
    telecom: [
      { system: 'phone', value: `+33 6 ${digitsOf(random, 2)} ${digitsOf(random, 2)} ${digitsOf(random, 2)} ${digitsOf(random, 2)}`, use: 'mobile' },
      { system: 'email', value: `${given[0]}.${family}@example.fr`.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, ''), use: 'home' },
    ],
    gender: male ? 'male' : 'female',
    birthDate: `${year}-${pad(month, 2)}-${pad(day, 2)}`,
    address: [
      {
        use: 'home',
        line: [`${1 + Math.floor(random() * 120)} ${pick(random, STREETS)}`],
        city,
        postalCode,
        country: 'FR',
      },
    ],
  };
}

/** A copy of `items` in a fixed pseudo-random order (Fisher-Yates). */
export function shuffled<T>(items: readonly T[], seed = 3): T[] {
  const random = prng(seed);
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other], copy[index]];
  }
  return copy;
}

/** `count` Patients with fixed ids, to seed a store before reading them back. */
export function seedPatients(count: number, seed = 1): Array<PatientResource & { id: string }> {
  const random = prng(seed);
  return Array.from({ length: count }, (_, index) => {
    const id = uuid(random);
    return { ...patient(random, index), id };
  });
}

/** `count` Patients without ids, as a client would POST them. */
export function newPatients(count: number, seed = 2): PatientResource[] {
  const random = prng(seed);
  return Array.from({ length: count }, (_, index) => patient(random, 1_000_000 + index));
}
