import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ACTIVITY_COLUMNS_48, ACTIVITY_COLUMNS_52, MSSANTE_COLUMNS, type ActivityRecord, type Columns, type MssanteRecord } from './layouts';
import { seededRandom } from '../seeded-random';

/**
 * Synthetic ANS extractions at any scale, for tests, benchmarks and the demo: French names, real NOS code values,
 * about 30% of persons with several activities, shared sites (group practices, hospitals, pharmacies) beside
 * individual practices, and MSSanté mailboxes for about 45% of persons and 20% of shared sites. Deterministic for a
 * seed, so a benchmark or a test always reads the same file.
 */

export interface GenerateOptions {
  /** Activity lines to write (the header aside). */
  lines: number;
  seed?: number;
  /** 52 (current files) or 48 (older ones). */
  columns?: 52 | 48;
  /** Timestamp in the file names, YYYYMMDDhhmm. */
  stamp?: string;
}

export interface GeneratedFiles {
  activityFile: string;
  mssanteFile: string;
  persons: number;
  mailboxes: number;
}

const FAMILY = ['MARTIN', 'BERNARD', 'THOMAS', 'PETIT', 'ROBERT', 'RICHARD', 'DURAND', 'DUBOIS', 'MOREAU', 'LAURENT', 'SIMON', 'MICHEL', 'LEFÈVRE', 'LEROY', 'ROUX', 'DAVID', 'BERTRAND', 'MOREL', 'FOURNIER', 'GIRARD', 'BONNET', 'DUPONT', 'LAMBERT', 'FONTAINE', 'ROUSSEAU', 'VINCENT', 'MÜLLER', 'FAURE', 'ANDRÉ', 'MERCIER', 'BLANC', 'GUÉRIN', 'BOYER', 'GARNIER', 'CHEVALIER', 'FRANÇOIS', 'LEGRAND', 'GAUTHIER', 'GARCIA', 'PERRIN', 'ROBIN', 'CLÉMENT', 'MORIN', 'NICOLAS', 'HENRY', 'ROUSSEL', 'MATHIEU', 'GAUTIER', 'MASSON', 'MARCHAND', "D'ALMEIDA", "N'DIAYE", 'LE GALL', 'BENOÎT', 'NGUYEN', 'DA SILVA', 'KOWALSKI', 'BENSAÏD', 'HOARAU', 'PAYET'];
const GIVEN_MALE = ['JEAN', 'PIERRE', 'MICHEL', 'ANDRÉ', 'PHILIPPE', 'NICOLAS', 'FRANÇOIS', 'THOMAS', 'JULIEN', 'ANTOINE', 'LUC', 'ÉRIC', 'OLIVIER', 'MATHIEU', 'JÉRÔME', 'KARIM', 'HUGO', 'LOUIS', 'JEAN-MARC', 'NOËL'];
const GIVEN_FEMALE = ['MARIE', 'NATHALIE', 'ISABELLE', 'SYLVIE', 'CATHERINE', 'SOPHIE', 'CHRISTINE', 'HÉLÈNE', 'ÉLODIE', 'CAMILLE', 'JULIE', 'AURÉLIE', 'CÉLINE', 'LÉA', 'CHLOÉ', 'ANNE-LAURE', 'MAËLLE', 'SARAH', 'FATIMA', 'AGNÈS'];
const CITIES: Array<[string, string, string, string]> = [
  ['75015', '75115', 'Paris', 'Paris'], ['69003', '69383', 'Lyon', 'Rhône'], ['13008', '13208', 'Marseille', 'Bouches-du-Rhône'],
  ['31000', '31555', 'Toulouse', 'Haute-Garonne'], ['06000', '06088', 'Nice', 'Alpes-Maritimes'], ['44000', '44109', 'Nantes', 'Loire-Atlantique'],
  ['67000', '67482', 'Strasbourg', 'Bas-Rhin'], ['34000', '34172', 'Montpellier', 'Hérault'], ['33000', '33063', 'Bordeaux', 'Gironde'],
  ['59000', '59350', 'Lille', 'Nord'], ['35000', '35238', 'Rennes', 'Ille-et-Vilaine'], ['51100', '51454', 'Reims', 'Marne'],
  ['25000', '25056', 'Besançon', 'Doubs'], ['63000', '63113', 'Clermont-Ferrand', 'Puy-de-Dôme'], ['56000', '56260', 'Vannes', 'Morbihan'],
  ['97400', '97411', 'Saint-Denis', 'La Réunion'], ['38000', '38185', 'Grenoble', 'Isère'], ['21000', '21231', 'Dijon', "Côte-d'Or"],
];
const STREETS: Array<[string, string, string]> = [
  ['R', 'Rue', 'DE LA RÉPUBLIQUE'], ['AV', 'Avenue', 'JEAN JAURÈS'], ['BD', 'Boulevard', 'VICTOR HUGO'], ['PL', 'Place', 'DU GÉNÉRAL DE GAULLE'],
  ['R', 'Rue', 'PASTEUR'], ['CHE', 'Chemin', 'DES VIGNES'], ['R', 'Rue', "DE L'ÉGLISE"], ['AV', 'Avenue', 'DES ÉTATS-UNIS'], ['ALL', 'Allée', 'DES TILLEULS'],
];

/** Professions (TRE_G15) with their share of activities, their mailbox domain and what they practise in. */
const PROFESSIONS: Array<{ code: string; label: string; share: number; domain: string; doctor?: boolean; sites: string[] }> = [
  { code: '60', label: 'Infirmier', share: 0.35, domain: 'infirmier.mssante.fr', sites: ['SA07', 'SA08', 'SA01', 'SA05'] },
  { code: '10', label: 'Médecin', share: 0.3, domain: 'medecin.mssante.fr', doctor: true, sites: ['SA07', 'SA08', 'SA01', 'SA04', 'SA05'] },
  { code: '70', label: 'Masseur-Kinésithérapeute', share: 0.12, domain: 'kine.mssante.fr', sites: ['SA07', 'SA08'] },
  { code: '21', label: 'Pharmacien', share: 0.1, domain: 'pharmacien.mssante.fr', doctor: true, sites: ['SA33', 'SA01'] },
  { code: '40', label: 'Chirurgien-Dentiste', share: 0.06, domain: 'chirurgien-dentiste.mssante.fr', doctor: true, sites: ['SA07', 'SA08', 'SA05'] },
  { code: '50', label: 'Sage-Femme', share: 0.03, domain: 'sagefemme.mssante.fr', sites: ['SA07', 'SA01'] },
  { code: '91', label: 'Orthophoniste', share: 0.02, domain: 'orthophoniste.mssante.fr', sites: ['SA07'] },
  { code: '80', label: 'Pédicure-Podologue', share: 0.02, domain: 'podologue.mssante.fr', sites: ['SA07'] },
];
/** TRE_R38 specialties of doctors, general practice first (the most frequent). */
const SPECIALTIES: Array<[string, string]> = [
  ['SM54', 'Médecine Générale'], ['SM53', 'Spécialiste en Médecine Générale'], ['SM54', 'Médecine Générale'], ['SM04', 'Cardiologie et maladies vasculaires'],
  ['SM02', 'Anesthesie-réanimation'], ['SM15', 'Dermatologie et vénéréologie'], ['SM20', 'Gynécologie-obstétrique'], ['SM32', 'Neurologie'],
  ['SM38', 'Ophtalmologie'], ['SM40', 'Pédiatrie'], ['SM41', 'Pneumologie'], ['SM42', 'Psychiatrie'], ['SM44', 'Radio-diagnostic'], ['SM48', 'Rhumatologie'],
];
/** TRE_R02 activity sectors. */
const SECTORS: Record<string, string> = {
  SA01: 'Etablissement public de santé',
  SA04: 'Etablissement privé non PSPH',
  SA05: 'Centre de santé',
  SA07: 'Cabinet individuel',
  SA08: 'Cabinet de groupe',
  SA33: "Pharmacie d'officine",
};
const SHARED_SITE_NAMES: Record<string, string[]> = {
  SA01: ['CENTRE HOSPITALIER', 'CHU', 'HÔPITAL'],
  SA04: ['CLINIQUE', 'POLYCLINIQUE'],
  SA05: ['CENTRE DE SANTÉ'],
  SA08: ['CABINET MÉDICAL', 'MAISON DE SANTÉ', 'CABINET DE GROUPE'],
  SA33: ['PHARMACIE'],
};

interface Site {
  techId: string;
  former: string;
  siret: string;
  finess: string;
  sector: string;
  name: string;
  city: (typeof CITIES)[number];
  street: (typeof STREETS)[number];
  number: string;
  phone: string;
}


const asciiLower = (text: string) => text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

export function generateExtraction(dir: string, options: GenerateOptions): GeneratedFiles {
  const random = seededRandom(options.seed ?? 1);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const digits = (count: number) => Array.from({ length: count }, () => Math.floor(random() * 10)).join('');
  const stamp = options.stamp ?? '202501010000';
  const activityColumns: Columns = options.columns === 48 ? ACTIVITY_COLUMNS_48 : ACTIVITY_COLUMNS_52;
  const activityFile = join(dir, `PS_LibreAcces_Personne_activite_${stamp}.txt`);
  const mssanteFile = join(dir, `Extraction_Correspondance_MSSante_${stamp}.txt`);
  const activity = new LineSink(activityFile, activityColumns);
  const mssante = new LineSink(mssanteFile, MSSANTE_COLUMNS);

  const sharedSites = new Map<string, Site[]>();
  let siteCount = 0;
  const newSite = (sector: string, name: string): Site => {
    siteCount++;
    const siret = `${String(30000000 + siteCount * 7).padStart(9, '0')}${digits(5)}`;
    const finess = sector === 'SA07' || sector === 'SA08' ? '' : `${pick(CITIES)[0].slice(0, 2)}${String(siteCount).padStart(7, '0')}`;
    return {
      techId: sector === 'SA07' ? `C${siret}` : `R1${String(siteCount).padStart(13, '0')}`,
      former: finess ? `1${finess}` : `3${siret}`,
      siret,
      finess,
      sector,
      name,
      city: pick(CITIES),
      street: pick(STREETS),
      number: String(1 + Math.floor(random() * 120)),
      phone: `0${1 + Math.floor(random() * 5)}${digits(8)}`,
    };
  };
  const sharedSite = (sector: string): Site => {
    const sites = sharedSites.get(sector) ?? [];
    sharedSites.set(sector, sites);
    // Roughly one new site per 8 activities in shared sectors: hospitals and groups employ many.
    if (sites.length === 0 || random() < 0.12) {
      const city = pick(CITIES);
      sites.push({ ...newSite(sector, `${pick(SHARED_SITE_NAMES[sector])} ${pick(FAMILY)} ${city[2].toUpperCase()}`), city });
    }
    return pick(sites);
  };

  let lines = 0;
  let persons = 0;
  let mailboxes = 0;
  const mailboxSites = new Set<string>();
  while (lines < options.lines) {
    persons++;
    const female = random() < 0.55;
    const family = pick(FAMILY);
    const given = pick(female ? GIVEN_FEMALE : GIVEN_MALE);
    let roll = random();
    const profession = PROFESSIONS.find((candidate) => (roll -= candidate.share) < 0) ?? PROFESSIONS[0];
    const rpps = random() < 0.9;
    const ppId = rpps ? `10${String(100000000 + persons).slice(-9)}` : `${pick(CITIES)[0].slice(0, 2)}${String(persons).padStart(7, '0')}`;
    const specialty = profession.code === '10' ? pick(SPECIALTIES) : undefined;
    const professor = profession.code === '10' && random() < 0.02;
    const activities = Math.min(options.lines - lines, random() < 0.7 ? 1 : random() < 0.73 ? 2 : 3);
    let firstStructure: Site | undefined;
    for (let n = 0; n < activities; n++) {
      const sector = pick(profession.sites);
      const mode = sector === 'SA07' || sector === 'SA08' ? 'L' : sector === 'SA33' && random() < 0.5 ? 'L' : random() < 0.97 ? 'S' : 'B';
      const site = sector === 'SA07' ? newSite('SA07', `CABINET ${female ? 'MME' : 'M.'} ${family}`) : sharedSite(sector);
      firstStructure ??= site;
      const record: Partial<ActivityRecord> = {
        ppIdType: rpps ? '8' : '0',
        ppId,
        idnps: `${rpps ? '8' : '0'}${ppId}`,
        practiceCivilityCode: professor ? 'PR' : profession.doctor ? 'DR' : '',
        practiceCivilityLabel: professor ? 'Professeur' : profession.doctor ? 'Docteur' : '',
        civilityCode: female ? 'MME' : 'M',
        civilityLabel: female ? 'Madame' : 'Monsieur',
        familyName: family,
        givenName: given,
        professionCode: profession.code,
        professionLabel: profession.label,
        categoryCode: 'C',
        categoryLabel: 'Civil',
        specialtyTypeCode: specialty ? 'S' : '',
        specialtyTypeLabel: specialty ? 'Spécialité ordinale' : '',
        specialtyCode: specialty?.[0] ?? '',
        specialtyLabel: specialty?.[1] ?? '',
        modeCode: mode,
        modeLabel: { L: 'Libéral', S: 'Salarié', B: 'Bénévole' }[mode],
        siret: site.siret,
        finess: site.finess,
        structureTechnicalId: site.techId,
        siteName: site.name,
        addressRecipient: site.name,
        streetNumber: site.number,
        streetTypeCode: site.street[0],
        streetTypeLabel: site.street[1],
        streetName: site.street[2],
        cedexOffice: `${site.city[0]} ${site.city[2].toUpperCase()}`,
        postalCode: site.city[0],
        communeCode: site.city[1],
        communeLabel: site.city[2],
        phone: site.phone,
        email: sector === 'SA07' && random() < 0.2 ? `cabinet.${asciiLower(family)}@orange.fr` : '',
        departmentCode: site.city[0].slice(0, 2),
        departmentLabel: site.city[3],
        formerStructureId: site.former,
        registrationAuthority: profession.doctor ? 'CNOM/CNOM/CNOM' : 'ARS/ARS/ARS',
        sectorCode: site.sector,
        sectorLabel: SECTORS[site.sector],
        pharmacySectionCode: profession.code === '21' ? (site.sector === 'SA33' ? 'A' : 'H') : '',
        pharmacySectionLabel: profession.code === '21' ? (site.sector === 'SA33' ? "Pharmaciens titulaires d'officine" : 'Pharmaciens des établissements de santé') : '',
      };
      activity.write(record);
      lines++;
      if (site.finess && !mailboxSites.has(site.techId) && random() < 0.2) {
        mailboxSites.add(site.techId);
        mailboxes++;
        mssante.write({ mailboxType: 'ORG', mailbox: `secretariat.${asciiLower(site.name)}@${site.finess}.mssante.fr`, structureIdType: '1', structureId: site.finess, structureName: site.name, postalCode: site.city[0] });
      }
    }
    if (random() < 0.45) {
      mailboxes++;
      const structure = firstStructure && firstStructure.sector !== 'SA07' ? firstStructure : undefined;
      mssante.write({
        mailboxType: 'PER',
        mailbox: `${asciiLower(given)}.${asciiLower(family)}${persons}@${profession.domain}`,
        ppIdType: rpps ? '8' : '0',
        ppId,
        idnps: `${rpps ? '8' : '0'}${ppId}`,
        structureIdType: structure ? (structure.finess ? '1' : '3') : '',
        structureId: structure ? structure.finess || structure.siret : '',
        familyName: family,
        givenName: given,
        professionCode: profession.code,
        professionLabel: profession.label,
        dematerialisation: 'true',
      });
    }
  }
  activity.close();
  mssante.close();
  return { activityFile, mssanteFile, persons, mailboxes };
}

/** Writes `|`-separated lines with the trailing `|` of ANS files, buffered. */
class LineSink {
  private readonly fd: number;
  private buffer: string[] = [];

  constructor(
    path: string,
    private readonly columns: Columns,
  ) {
    this.fd = openSync(path, 'w');
    this.buffer.push(`${columns.map(([, name]) => name).join('|')}|`);
  }

  write(record: Partial<ActivityRecord> | Partial<MssanteRecord>): void {
    const values = record as Record<string, string | undefined>;
    this.buffer.push(`${this.columns.map(([field]) => values[field] ?? '').join('|')}|`);
    if (this.buffer.length >= 10_000) this.drain();
  }

  close(): void {
    this.drain();
    closeSync(this.fd);
  }

  private drain(): void {
    if (this.buffer.length > 0) writeSync(this.fd, `${this.buffer.join('\n')}\n`);
    this.buffer = [];
  }
}
