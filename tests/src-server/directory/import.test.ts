import { describe, expect, it } from 'vitest';
import { CODE_SYSTEMS, MSSANTE_EXTENSION } from '../../../src-server/directory/codes';
import { importDirectoryFile } from '../../../src-server/directory/import';
import { mapPerson } from '../../../src-server/directory/person-resources';
import type { ActivityRecord } from '../../../src-server/directory/layouts';
import { activityLine, DOCTOR, HEADER_52, HOSPITAL_ACTIVITY, MSSANTE_HEADER, mssanteLine, openStore, versionsOf, tempDirs, writeExtraction } from './helpers';

const dir = tempDirs();
const full = (record: Partial<ActivityRecord>) => new Proxy(record, { get: (target, key) => (target as Record<string | symbol, string>)[key] ?? '' }) as ActivityRecord;
const read = (store: ReturnType<typeof openStore>, type: string, id: string) => JSON.parse(store.repository.read(type, id)!.json);

describe('mapping a person with several activities', () => {
  const { practitioner, roles, organizations } = mapPerson([full(DOCTOR), full(HOSPITAL_ACTIVITY)]);

  it('makes one Practitioner with RPPS and IDNPS identifiers, the civility as prefix, and every qualification', () => {
    expect(practitioner).toMatchObject({
      resourceType: 'Practitioner',
      id: 'pp-810001045367',
      identifier: [
        { system: 'https://rpps.esante.gouv.fr', value: '10001045367' },
        { system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810001045367' },
      ],
      active: true,
      name: [{ family: 'MARTIN', given: ['HÉLÈNE'], prefix: ['Dr'] }],
      gender: 'female',
    });
    expect(practitioner.qualification).toEqual([
      { code: { coding: [{ system: CODE_SYSTEMS.profession, code: '10', display: 'Médecin' }] } },
      { code: { coding: [{ system: CODE_SYSTEMS.specialty, code: 'SM04', display: 'Cardiologie et maladies vasculaires' }] } },
    ]);
  });

  it('makes a PractitionerRole per activity, with its codes, organization and telecom, and an Organization per site', () => {
    expect(roles).toHaveLength(2);
    expect(new Set(roles.map((role) => role.id)).size).toBe(2);
    const hospital = roles.find((role) => (role.organization as { reference: string }).reference === 'Organization/st-R10000000000042')!;
    expect(hospital.practitioner).toEqual({ reference: 'Practitioner/pp-810001045367' });
    const codes = (hospital.code as Array<{ coding: Array<{ system: string; code: string }> }>).map(({ coding: [first] }) => `${first.system.split('/NOS/')[1].split('/')[0]}:${first.code}`);
    expect(codes).toEqual(['TRE_G15-ProfessionSante:10', 'TRE_R09-CategorieProfessionnelle:C', 'TRE_R23-ModeExercice:S', 'TRE_R02-SecteurActivite:SA01']);
    expect(hospital.specialty).toEqual([{ coding: [{ system: CODE_SYSTEMS.specialty, code: 'SM04', display: 'Cardiologie et maladies vasculaires' }] }]);
    expect(hospital.telecom).toEqual([
      { system: 'phone', value: '0472110000', use: 'work' },
      { system: 'fax', value: '0472110001', use: 'work' },
    ]);
    expect(organizations.map((organization) => organization.id).sort()).toEqual(['st-C49940088500020', 'st-R10000000000042']);
    expect(organizations.find((organization) => organization.id === 'st-R10000000000042')).toMatchObject({
      identifier: expect.arrayContaining([{ system: 'https://finess.esante.gouv.fr', value: '690781810' }, { system: 'https://sirene.fr', value: '26690004600019' }]),
      name: 'HÔPITAL EDOUARD HERRIOT',
      address: [{ use: 'work', line: ["5 Place D'ARSONVAL"], city: 'Lyon', postalCode: '69003' }],
    });
  });

  it('is deterministic: the same lines give the same ids and JSON, whatever the node', () => {
    expect(JSON.stringify(mapPerson([full(DOCTOR), full(HOSPITAL_ACTIVITY)]))).toBe(JSON.stringify({ practitioner, roles, organizations }));
    for (const resource of [practitioner, ...roles, ...organizations]) expect(resource.id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
  });

  it('names an ADELI professional by ADELI and IDNPS', () => {
    const adeli = mapPerson([full({ ...DOCTOR, ppIdType: '0', ppId: '759124159', idnps: '0759124159', practiceCivilityCode: '', civilityCode: 'M' })]).practitioner;
    expect(adeli.identifier).toEqual([
      { system: 'https://adeli.esante.gouv.fr', value: '759124159' },
      { system: 'urn:oid:1.2.250.1.71.4.2.1', value: '0759124159' },
    ]);
    expect(adeli).toMatchObject({ id: 'pp-0759124159', name: [{ prefix: ['M.'] }], gender: 'male' });
  });
});

describe('MSSanté mailboxes and re-imports', () => {
  const OTHER = { ...DOCTOR, ppId: '10000000009', idnps: '810000000009', familyName: 'DURAND', givenName: 'PAUL', structureTechnicalId: 'C1', siret: '11111111111111', formerStructureId: '311111111111111', siteName: 'CABINET DURAND' };

  it('attaches PER mailboxes to the role at the structure (or the Practitioner) and ORG ones to the Organization', async () => {
    const folder = dir();
    const store = openStore(folder);
    await importDirectoryFile(store.db, store.repository, writeExtraction(folder, 'a.txt', [HEADER_52, activityLine(DOCTOR), activityLine(HOSPITAL_ACTIVITY), activityLine(OTHER)]));
    const report = await importDirectoryFile(store.db, store.repository, writeExtraction(folder, 'm.txt', [
      MSSANTE_HEADER,
      mssanteLine({ mailboxType: 'PER', mailbox: 'helene.martin@chu-lyon.mssante.fr', ppIdType: '8', ppId: '10001045367', idnps: '810001045367', structureIdType: '1', structureId: '690781810' }),
      mssanteLine({ mailboxType: 'PER', mailbox: 'helene.martin@medecin.mssante.fr', ppIdType: '8', ppId: '10001045367', idnps: '810001045367' }),
      mssanteLine({ mailboxType: 'ORG', mailbox: 'secretariat@chu-lyon.mssante.fr', structureIdType: '1', structureId: '690781810' }),
      mssanteLine({ mailboxType: 'PER', mailbox: 'nobody@medecin.mssante.fr', ppIdType: '8', ppId: '19999999999', idnps: '819999999999' }),
      mssanteLine({ mailboxType: 'XYZ', mailbox: 'x@y.fr' }),
    ]));
    expect(report).toMatchObject({ kind: 'mssante', lines: { accepted: 4, rejected: 1 }, unmatchedMailboxes: 1 });
    const emails = (resource: { telecom?: Array<{ system: string; value: string; extension?: Array<{ url: string }> }> }) =>
      (resource.telecom ?? []).filter((point) => point.extension?.[0].url === MSSANTE_EXTENSION).map((point) => point.value);
    expect(emails(read(store, 'Practitioner', 'pp-810001045367'))).toEqual(['helene.martin@medecin.mssante.fr']);
    const roles = store.db.prepare("SELECT resource_id FROM resources WHERE resource_type = 'PractitionerRole' AND resource_id LIKE 'pp-810001045367-%'").pluck().all() as string[];
    const roleEmails = roles.map((id) => emails(read(store, 'PractitionerRole', id))).sort((a, b) => b.length - a.length);
    expect(roleEmails).toEqual([['helene.martin@chu-lyon.mssante.fr'], []]);
    const hospital = read(store, 'Organization', 'st-R10000000000042');
    expect(emails(hospital)).toEqual(['secretariat@chu-lyon.mssante.fr']);
    expect(hospital.telecom[0]).toEqual({ system: 'phone', value: '0472110000', use: 'work' });

    // A newer activity file keeps the mailboxes (the MSSanté file owns them) and changes nothing else.
    const again = await importDirectoryFile(store.db, store.repository, writeExtraction(folder, 'a2.txt', [HEADER_52, activityLine(DOCTOR), activityLine(HOSPITAL_ACTIVITY), activityLine(OTHER)]));
    expect(Object.values(again.resources).every((counts) => counts.created + counts.updated + counts.archived === 0)).toBe(true);
    expect(emails(read(store, 'Organization', 'st-R10000000000042'))).toEqual(['secretariat@chu-lyon.mssante.fr']);

    // A newer MSSanté file without the ORG mailbox takes it away.
    await importDirectoryFile(store.db, store.repository, writeExtraction(folder, 'm2.txt', [
      MSSANTE_HEADER,
      mssanteLine({ mailboxType: 'PER', mailbox: 'helene.martin@medecin.mssante.fr', ppIdType: '8', ppId: '10001045367', idnps: '810001045367' }),
    ]));
    expect(emails(read(store, 'Organization', 'st-R10000000000042'))).toEqual([]);
    expect(emails(read(store, 'Practitioner', 'pp-810001045367'))).toEqual(['helene.martin@medecin.mssante.fr']);
    store.db.close();
  });

  // The guard's reading of the file keeps what is to be written, or, past heldMax resources, the file is read again.
  it.each([
    ['in one reading', undefined],
    ['in two readings', 0],
  ])('re-imports incrementally: unchanged untouched, changed versioned, vanished archived (never deleted), %s', async (_reading, heldMax) => {
    const folder = dir();
    const store = openStore(folder);
    const reimport = (file: string) => importDirectoryFile(store.db, store.repository, file, { heldMax });
    const first = await reimport(writeExtraction(folder, 'a.txt', [HEADER_52, activityLine(DOCTOR), activityLine(HOSPITAL_ACTIVITY), activityLine(OTHER)]));
    expect(first.resources).toMatchObject({ Practitioner: { created: 2 }, PractitionerRole: { created: 3 }, Organization: { created: 3 } });
    const [hospitalRole] = (store.db.prepare("SELECT resource_id FROM resources WHERE resource_type = 'PractitionerRole' AND resource_id LIKE 'pp-810001045367-%'").pluck().all() as string[]).filter(
      (id) => read(store, 'PractitionerRole', id).organization.reference.endsWith('R10000000000042'),
    );

    // Dr Martin married (new name), the hospital changed its phone, Dr Durand left the directory.
    const second = await reimport(writeExtraction(folder, 'b.txt', [
      HEADER_52,
      activityLine({ ...DOCTOR, familyName: 'MARTIN-DURAND' }),
      activityLine({ ...HOSPITAL_ACTIVITY, familyName: 'MARTIN-DURAND', phone: '0472119999' }),
    ]));
    expect(second.resources).toEqual({
      Practitioner: { created: 0, updated: 1, unchanged: 0, archived: 1, invalid: 0 },
      PractitionerRole: { created: 0, updated: 1, unchanged: 1, archived: 1, invalid: 0 },
      Organization: { created: 0, updated: 1, unchanged: 1, archived: 1, invalid: 0 },
    });
    expect(versionsOf(store.db, 'Practitioner', 'pp-810001045367')).toBe(2);
    expect(read(store, 'Practitioner', 'pp-810001045367').name[0].family).toBe('MARTIN-DURAND');
    expect(versionsOf(store.db, 'Organization', 'st-C49940088500020')).toBe(1);
    expect(versionsOf(store.db, 'PractitionerRole', hospitalRole)).toBe(2);
    expect(read(store, 'Practitioner', 'pp-810000000009')).toMatchObject({ active: false, name: [{ family: 'DURAND' }] });
    expect(read(store, 'Organization', 'st-C1').active).toBe(false);

    // The same file again: nothing to write, and what is archived stays archived once.
    const third = await reimport(writeExtraction(folder, 'c.txt', [
      HEADER_52,
      activityLine({ ...DOCTOR, familyName: 'MARTIN-DURAND' }),
      activityLine({ ...HOSPITAL_ACTIVITY, familyName: 'MARTIN-DURAND', phone: '0472119999' }),
    ]));
    expect(Object.values(third.resources).reduce((sum, counts) => sum + counts.created + counts.updated + counts.archived, 0)).toBe(0);
    expect(versionsOf(store.db, 'Practitioner', 'pp-810000000009')).toBe(2);

    // Dr Durand comes back: the same resource, active again.
    await reimport(writeExtraction(folder, 'd.txt', [HEADER_52, activityLine(OTHER)]));
    expect(read(store, 'Practitioner', 'pp-810000000009').active).toBe(true);
    expect(versionsOf(store.db, 'Practitioner', 'pp-810000000009')).toBe(3);
    store.db.close();
  });
});
