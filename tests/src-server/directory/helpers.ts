import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACTIVITY_COLUMNS_48, ACTIVITY_COLUMNS_52, MSSANTE_COLUMNS, type ActivityRecord, type Columns, type MssanteRecord } from '../../../src-server/directory/layouts';
import { openDatabase, type Db } from '../../../src-server/store/database';
import { Repository } from '../../../src-server/store/repository';
import { afterAll } from 'vitest';
import { tempDir } from '../../helpers/node';

/** Extraction files written by hand, line by line, as the ANS writes them (header, `|` after every field). */

export const HEADER_52 = `${ACTIVITY_COLUMNS_52.map(([, name]) => name).join('|')}|`;
export const HEADER_48 = `${ACTIVITY_COLUMNS_48.map(([, name]) => name).join('|')}|`;
export const MSSANTE_HEADER = `${MSSANTE_COLUMNS.map(([, name]) => name).join('|')}|`;

export const DOCTOR: Partial<ActivityRecord> = {
  ppIdType: '8', ppId: '10001045367', idnps: '810001045367', practiceCivilityCode: 'DR', practiceCivilityLabel: 'Docteur',
  civilityCode: 'MME', civilityLabel: 'Madame', familyName: 'MARTIN', givenName: 'HÉLÈNE', professionCode: '10', professionLabel: 'Médecin',
  categoryCode: 'C', categoryLabel: 'Civil', specialtyTypeCode: 'S', specialtyTypeLabel: 'Spécialité ordinale', specialtyCode: 'SM04',
  specialtyLabel: 'Cardiologie et maladies vasculaires', modeCode: 'L', modeLabel: 'Libéral', siret: '49940088500020',
  structureTechnicalId: 'C49940088500020', siteName: 'CABINET DU DR MARTIN', streetNumber: '9', streetTypeCode: 'R', streetTypeLabel: 'Rue',
  streetName: 'DE LA RÉPUBLIQUE', cedexOffice: '69003 LYON', postalCode: '69003', communeCode: '69383', communeLabel: 'Lyon',
  phone: '0478000000', formerStructureId: '349940088500020', sectorCode: 'SA07', sectorLabel: 'Cabinet individuel',
};

export const HOSPITAL_ACTIVITY: Partial<ActivityRecord> = {
  ...DOCTOR, modeCode: 'S', modeLabel: 'Salarié', siret: '26690004600019', finess: '690781810', structureTechnicalId: 'R10000000000042',
  siteName: 'HÔPITAL EDOUARD HERRIOT', streetNumber: '5', streetTypeLabel: 'Place', streetName: "D'ARSONVAL", postalCode: '69003',
  phone: '0472110000', fax: '0472110001', formerStructureId: '1690781810', sectorCode: 'SA01', sectorLabel: 'Etablissement public de santé',
};

export function line(columns: Columns, record: Partial<ActivityRecord> | Partial<MssanteRecord>): string {
  const values = record as Record<string, string | undefined>;
  return `${columns.map(([field]) => values[field] ?? '').join('|')}|`;
}

export const activityLine = (record: Partial<ActivityRecord>) => line(ACTIVITY_COLUMNS_52, record);
export const mssanteLine = (record: Partial<MssanteRecord>) => line(MSSANTE_COLUMNS, record);

export function writeExtraction(dir: string, name: string, lines: string[], encoding: 'utf-8' | 'latin1' = 'utf-8'): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.from(`${lines.join('\r\n')}\r\n`, encoding === 'utf-8' ? 'utf8' : 'latin1'));
  return path;
}

export function openStore(dir: string): { db: Db; repository: Repository } {
  const db = openDatabase(join(dir, 'liaison.db'));
  return { db, repository: new Repository(db) };
}

export const versionsOf = (db: Db, resourceType: string, id: string) =>
  (db.prepare('SELECT count(*) FROM resource_versions WHERE resource_type = ? AND resource_id = ?').pluck().get(resourceType, id) as number);

/** Fresh folders for a test file's imports, removed once its tests are done. */
export function tempDirs(): () => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  return () => {
    const made = tempDir('liaison-directory-');
    dirs.push(made);
    return made;
  };
}
