import { beforeAll, describe, expect, it } from 'vitest';
import { useTestNode } from '../../helpers/node';
import { NIR, patient, reliability, setUpPractices, type Json, type Practices } from './practices';

/**
 * The identity of patients over HTTP, as practitioners of two practices: the INS (NIR checked, trust status of the
 * RNIV), the IPP, and the rule that one INS is one patient — a create with a known INS answers the existing patient
 * when the caller follows it, is refused without details when another practice does, and two simultaneous creates
 * make one patient.
 */

const node = useTestNode();
let practices: Practices;
const as: Practices['as'] = (...args) => practices.as(...args);

const countByNir = async (nir: string) => (await as('owner', `Patient?identifier=${NIR}|${nir}&_total=accurate`)).body.total;

beforeAll(() => {
  practices = setUpPractices(node());
});

describe('INS and IPP checks (422)', () => {
  it('refuses a NIR with a wrong key or format, saying which identifier and why; nothing is stored', async () => {
    const wrongKey = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { name: [{ family: 'Clef' }] }, '270017510001085') });
    expect(wrongKey.status).toBe(422);
    expect(wrongKey.body.issue[0].diagnostics).toContain('control key should be 84, not 85');
    expect(wrongKey.body.issue[0].expression).toEqual(['Patient.identifier[0].value']);
    expect(await countByNir('270017510001085')).toBe(0);
    const spaced = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', {}, '2 70 01 75 100 010 84') });
    expect(spaced.status).toBe(422);
    expect(spaced.body.issue[0].diagnostics).toContain('15 characters');
    // The same rules on update, and in a Bundle entry.
    const created = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { name: [{ family: 'Sansins' }] }) });
    expect(created.status).toBe(201);
    const update = await as('a1', `Patient/${created.body.id}`, { method: 'PUT', json: { ...patient('Practitioner/a1', {}, '1234'), id: created.body.id } });
    expect(update.status).toBe(422);
    const bundle = await as('a1', '', { method: 'POST', json: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patient('Practitioner/a1', {}, '999999999999999'), request: { method: 'POST', url: 'Patient' } }] } });
    expect(bundle.status).toBe(422);
  });

  it('accepts the Corsican NIRs and the four RNIV statuses, refuses an unknown status and an INS on a PROV or VALI identity', async () => {
    const corsican = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', {}, '290012A00401202') });
    expect(corsican.status).toBe(201);
    for (const status of ['PROV', 'VALI']) {
      // A user validating an identity names the document checked (identity-vigilance.test.ts).
      const extension = reliability(status);
      if (status === 'VALI') extension.extension.push({ url: 'validationMode', valueCoding: { system: 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-mode-validation-identity', code: 'PA' } });
      const withoutIns = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { extension: [extension] }) });
      expect(withoutIns.status, status).toBe(201);
      const withIns = await as('a1', 'Patient', { method: 'POST', json: { ...patient('Practitioner/a1', {}, '271027510101120'), extension: [reliability(status)] } });
      expect(withIns.status, status).toBe(422);
      expect(withIns.body.issue[0].diagnostics).toContain(`must be RECUP or QUAL, not ${status}`);
    }
    // RECUP is set by software that called INSi (docs/patients.md): an API client here.
    await practices.addClient('insi-software', ['PATIENT_READ', 'PATIENT_CREATE'], 'a1');
    const recup = await as('insi-software', 'Patient', { method: 'POST', json: { ...patient('Practitioner/a1', {}, '271027510101120'), extension: [reliability('RECUP')] } });
    expect(recup.status).toBe(201);
    const unknown = await as('a1', 'Patient', { method: 'POST', json: { ...patient('Practitioner/a1'), extension: [reliability('VIDE')] } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.issue[0].diagnostics).toContain('PROV, RECUP, VALI, QUAL');
  });

  it('an IPP (type PI) needs its system; it is then searchable with it', async () => {
    const type = { coding: [{ system: 'http://hl7.org/fhir/v2/0203', code: 'PI' }] };
    const noSystem = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { identifier: [{ type, value: 'IPP-1' }] }) });
    expect(noSystem.status).toBe(422);
    expect(noSystem.body.issue[0].diagnostics).toContain('IPP');
    const created = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { identifier: [{ type, system: 'urn:oid:1.2.250.1.999.7.1', value: 'IPP-1' }] }) });
    expect(created.status).toBe(201);
    const found = await as('a1', 'Patient?identifier=urn:oid:1.2.250.1.999.7.1|IPP-1');
    expect(found.body.entry.map((entry: Json) => entry.resource.id)).toEqual([created.body.id]);
  });
});

describe('one INS, one patient', () => {
  it('a create with the INS of a patient the caller follows answers 200 with that patient and writes nothing', async () => {
    const first = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { name: [{ family: 'Durand' }] }, '272037510201253') });
    expect(first.status).toBe(201);
    // The secretary of the same practice registers the same person again, with another spelling.
    const again = await as('secretary', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { name: [{ family: 'DURANT' }] }, '272037510201253') });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.name[0].family).toBe('Durand');
    expect(await countByNir('272037510201253')).toBe(1);
    // The owner (the whole node) too; and a transaction entry, whose references then point at the existing patient.
    expect((await as('owner', 'Patient', { method: 'POST', json: patient('Practitioner/a1', {}, '272037510201253') })).body.id).toBe(first.body.id);
    const bundle = await as('a1', '', {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:6f1c3b0e-1111-4c8f-9a3e-2f1d1d0f6a11', resource: patient('Practitioner/a1', {}, '272037510201253'), request: { method: 'POST', url: 'Patient' } },
          { resource: { resourceType: 'Encounter', status: 'finished', subject: { reference: 'urn:uuid:6f1c3b0e-1111-4c8f-9a3e-2f1d1d0f6a11' } }, request: { method: 'POST', url: 'Encounter' } },
        ],
      },
    });
    expect(bundle.status).toBe(200);
    expect(bundle.body.entry[0].response.status).toBe('200 OK');
    expect(bundle.body.entry[1].resource.subject.reference).toBe(`Patient/${first.body.id}`);
    expect(await countByNir('272037510201253')).toBe(1);
  });

  it('a create with the INS of another practice\'s patient is refused (409) without naming it; nothing is created', async () => {
    const theirs = await as('b1', 'Patient', { method: 'POST', json: patient('Practitioner/b1', { name: [{ family: 'Secretnom' }] }, '273047510301386') });
    expect(theirs.status).toBe(201);
    const mine = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { name: [{ family: 'Secretnom' }] }, '273047510301386') });
    expect(mine.status).toBe(409);
    const text = JSON.stringify(mine.body);
    expect(text).not.toContain(theirs.body.id);
    expect(text).not.toContain('Secretnom');
    expect(mine.body.issue[0].diagnostics).toContain('another practice');
    expect(await countByNir('273047510301386')).toBe(1);
  });

  it('an update that gives a patient the INS of another one is refused (409)', async () => {
    const one = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', {}, '274057510401422') });
    const other = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1') });
    const update = await as('a1', `Patient/${other.body.id}`, { method: 'PUT', json: { ...patient('Practitioner/a1', {}, '274057510401422'), id: other.body.id } });
    expect(update.status).toBe(409);
    expect(update.body.issue[0].diagnostics).toContain(`Patient/${one.body.id} already has this INS`);
    // Updating the patient that has it is fine.
    const own = await as('a1', `Patient/${one.body.id}`, { method: 'PUT', json: { ...patient('Practitioner/a1', { birthDate: '1974-05-01' }, '274057510401422'), id: one.body.id } });
    expect(own.status).toBe(200);
  });

  it('two entries of one transaction creating the same INS are refused together', async () => {
    const entry = (uuid: string) => ({ fullUrl: `urn:uuid:${uuid}`, resource: patient('Practitioner/a1', {}, '275067510501555'), request: { method: 'POST', url: 'Patient' } });
    const bundle = await as('a1', '', { method: 'POST', json: { resourceType: 'Bundle', type: 'transaction', entry: [entry('0d3f5a4e-2222-4c8f-9a3e-2f1d1d0f6a11'), entry('0d3f5a4e-3333-4c8f-9a3e-2f1d1d0f6a11')] } });
    expect(bundle.status).toBe(409);
    expect(await countByNir('275067510501555')).toBe(0);
  });

  it('simultaneous creates of the same INS make one patient; the others are answered with it', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, index) => as(index % 2 ? 'a1' : 'secretary', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { name: [{ family: `Simultane${index}` }] }, '276077510601688') })),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((answer) => answer.body.id)).size).toBe(1);
    expect(await countByNir('276077510601688')).toBe(1);
  });
});
