import { beforeAll, describe, expect, it } from 'vitest';
import { importDirectoryFile } from '../../../src-server/directory/import';
import { useTestNode, type TestNode } from '../../helpers/node';
import { activityLine, DOCTOR, HEADER_52, HOSPITAL_ACTIVITY, MSSANTE_HEADER, mssanteLine, tempDirs, writeExtraction } from './helpers';

/**
 * The directory searches vendors make on Practitioner, as Lifen's directory answers them: `address`,
 * `address-city`, `address-postalcode`, `telecom` (and `email`, `phone`) also match where the practitioner works
 * (their roles' sites and telecoms, MSSanté mailboxes included), `qualification` their profession and specialty,
 * and `identifier` each of the Annuaire Santé's systems.
 */

type Json = Record<string, any>;

const node = useTestNode();
const dir = tempDirs();
const MARTIN = 'pp-810001045367';
const OTHER = {
  ...DOCTOR, ppIdType: '0', ppId: '691234567', idnps: '0691234567', familyName: 'DURAND', givenName: 'PAUL', structureTechnicalId: 'C1', siret: '11111111111111',
  formerStructureId: '311111111111111', siteName: 'CABINET DURAND', streetName: 'DES LILAS', postalCode: '13001', cedexOffice: '', communeLabel: 'Marseille',
  phone: '0491000000', professionCode: '60', professionLabel: 'Infirmier', specialtyCode: '',
};

const ids = (bundle: Json): string[] => (bundle.entry ?? []).map((entry: Json) => entry.resource.id).sort();
const latestSeq = (running: TestNode) => (running.db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq;

async function search(path: string): Promise<string[]> {
  await node().textIndex.caughtUp(latestSeq(node()));
  const response = await node().request(path);
  const body = (await response.json()) as Json;
  expect(response.status, `${path}: ${JSON.stringify(body)}`).toBe(200);
  return ids(body);
}

beforeAll(async () => {
  const folder = dir();
  const { db, repository } = node();
  await importDirectoryFile(db, repository, writeExtraction(folder, 'a.txt', [HEADER_52, activityLine(DOCTOR), activityLine(HOSPITAL_ACTIVITY), activityLine(OTHER)]));
  await importDirectoryFile(db, repository, writeExtraction(folder, 'm.txt', [
    MSSANTE_HEADER,
    mssanteLine({ mailboxType: 'PER', mailbox: 'helene.martin@chu-lyon.mssante.fr', ppIdType: '8', ppId: '10001045367', idnps: '810001045367', structureIdType: '1', structureId: '690781810' }),
  ]));
});

describe('Practitioner searches on where they work', () => {
  it('address-city, address-postalcode and address match the sites of their roles', async () => {
    expect(await search('Practitioner?address-city=lyon')).toEqual([MARTIN]);
    expect(await search('Practitioner?address-city=marseille')).toEqual(['pp-0691234567']);
    expect(await search('Practitioner?address-postalcode=69003')).toEqual([MARTIN]);
    expect(await search('Practitioner?address-postalcode:exact=13001')).toEqual(['pp-0691234567']);
    expect(await search('Practitioner?address=arsonval')).toEqual([MARTIN]);
    expect(await search('Practitioner?address=lilas')).toEqual(['pp-0691234567']);
    expect(await search('Practitioner?address-city=paris')).toEqual([]);
  });

  it('telecom, email and phone match their roles’ telecoms, MSSanté mailboxes included', async () => {
    expect(await search('Practitioner?telecom=helene.martin@chu-lyon.mssante.fr')).toEqual([MARTIN]);
    expect(await search('Practitioner?email=helene.martin@chu-lyon.mssante.fr')).toEqual([MARTIN]);
    expect(await search('Practitioner?telecom=0472110000')).toEqual([MARTIN]);
    expect(await search('Practitioner?phone=0491000000')).toEqual(['pp-0691234567']);
    expect(await search('Practitioner?email=0491000000')).toEqual([]);
  });

  it('follow a role’s update, a site’s move and a role given up, in the same write', async () => {
    const { repository } = node();
    const role = (await (await node().request(`PractitionerRole?practitioner=pp-0691234567`)).json()) as Json;
    const roleResource = role.entry[0].resource as Json;
    repository.update('PractitionerRole', roleResource.id, { ...roleResource, telecom: [{ system: 'email', value: 'paul.durand@infirmier.mssante.fr' }] });
    expect(await search('Practitioner?telecom=paul.durand@infirmier.mssante.fr')).toEqual(['pp-0691234567']);
    expect(await search('Practitioner?phone=0491000000')).toEqual([]);

    const siteId = (roleResource.organization.reference as string).split('/')[1];
    const site = JSON.parse(repository.read('Organization', siteId)!.json) as Json;
    repository.update('Organization', siteId, { ...site, address: [{ line: ['1 quai du Port'], city: 'Toulon', postalCode: '83000' }] });
    expect(await search('Practitioner?address-city=toulon')).toEqual(['pp-0691234567']);
    expect(await search('Practitioner?address-city=marseille')).toEqual([]);

    // The practitioner's own update keeps where they work.
    const practitioner = JSON.parse(repository.read('Practitioner', 'pp-0691234567')!.json) as Json;
    repository.update('Practitioner', 'pp-0691234567', { ...practitioner, gender: 'male' });
    expect(await search('Practitioner?address-postalcode=83000')).toEqual(['pp-0691234567']);

    repository.update('PractitionerRole', roleResource.id, { ...roleResource, active: false });
    expect(await search('Practitioner?address-city=toulon')).toEqual([]);
    expect(await search('Practitioner?telecom=paul.durand@infirmier.mssante.fr')).toEqual([]);
  });
});

describe('Practitioner qualification and identifiers', () => {
  it('qualification matches the profession and the specialty', async () => {
    const specialty = 'https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale';
    expect(await search(`Practitioner?qualification=${encodeURIComponent(`${specialty}|SM04`)}`)).toEqual([MARTIN]);
    expect(await search('Practitioner?qualification=60')).toEqual(['pp-0691234567']);
    expect(await search('Practitioner?qualification=10,60')).toEqual([MARTIN, 'pp-0691234567'].sort());
  });

  it('identifier finds each system the Annuaire Santé fills: RPPS, ADELI, IDNPS on people, FINESS, SIRET… on sites', async () => {
    const by = (type: string, system: string, value: string) => search(`${type}?identifier=${encodeURIComponent(`${system}|${value}`)}`);
    expect(await by('Practitioner', 'https://rpps.esante.gouv.fr', '10001045367')).toEqual([MARTIN]);
    expect(await by('Practitioner', 'https://adeli.esante.gouv.fr', '691234567')).toEqual(['pp-0691234567']);
    expect(await by('Practitioner', 'urn:oid:1.2.250.1.71.4.2.1', '810001045367')).toEqual([MARTIN]);
    expect(await by('Practitioner', 'https://rpps.esante.gouv.fr', '691234567')).toEqual([]);
    expect(await by('Organization', 'https://finess.esante.gouv.fr', '690781810')).toEqual(['st-R10000000000042']);
    expect(await by('Organization', 'https://sirene.fr', '26690004600019')).toEqual(['st-R10000000000042']);
    expect(await by('Organization', 'urn:oid:1.2.250.1.71.4.2.2', '1690781810')).toEqual(['st-R10000000000042']);
  });
});
