import { beforeAll, describe, expect, it } from 'vitest';
import { useTestNode } from '../../helpers/node';
import { NIR, patient, reliability, setUpPractices, type Json, type Practices } from './practices';

/**
 * The identity vigilance rules of the RNIV as the node applies them over HTTP (docs/patients.md): a NIR contradicting
 * the patient's sex, birth year or month is refused (422, coded, under the INS), whatever the NIR's special cases
 * allow (unknown month, born abroad, Corsica, temporary numbers); and the identity status follows who writes it —
 * RECUP and QUAL only from software that called INSi, VALI from a user naming the identity document.
 */

const node = useTestNode();
let practices: Practices;
const as: Practices['as'] = (...args) => practices.as(...args);

/** The 13 characters and their key, 97 − (number mod 97), Corsica's 2A read as 19 and 2B as 18. */
function nir(first13: string): string {
  const key = 97n - (BigInt(first13.replace('2A', '19').replace('2B', '18')) % 97n);
  return `${first13}${String(key).padStart(2, '0')}`;
}

const codeOf = (body: Json) => body.issue?.[0]?.details?.coding?.[0]?.code;

beforeAll(async () => {
  practices = setUpPractices(node());
  await practices.addClient('dpi', ['PATIENT_READ', 'PATIENT_CREATE', 'PATIENT_UPDATE'], 'a1');
});

describe('a NIR against the sex and birth date (422)', () => {
  // Each row: the NIR's 13 characters, the Patient's sex and birth date, and the answer: 201 or the refusal's code.
  const cases: Array<[string, string, string | undefined, string, 201 | string]> = [
    ['valid, a man', '1841276451089', 'male', '1984-12-27', 201],
    ['valid, a woman', '2841276451089', 'female', '1984-12-03', 201],
    ['wrong sex: a man\'s NIR for a woman', '1841276451089', 'female', '1984-12-27', 'nir-sex'],
    ['wrong sex: a woman\'s NIR for a man', '2700175100010', 'male', '1970-01-15', 'nir-sex'],
    ['sex other or unknown: nothing to contradict', '2700175100010', 'unknown', '1970-01-15', 201],
    ['wrong year', '1841276451089', 'male', '1985-12-27', 'nir-birth-year'],
    ['wrong century is the same year: 1884 and 1984 end alike', '1841276451095', 'male', '1884-12-27', 201],
    ['wrong month', '1841276451089', 'male', '1984-11-27', 'nir-birth-month'],
    ['a birth date of a year only: its year is checked', '1841276451089', 'male', '1983', 'nir-birth-year'],
    ['unknown month (20–42): any month', '2843099352004', 'female', '1984-06-15', 201],
    ['unknown month (50–99): any month', '1625599100123', 'male', '1962-09-01', 201],
    ['unknown month, wrong year', '2843099352004', 'female', '1985-06-15', 'nir-birth-year'],
    ['no such month (13)', '1841376451089', 'male', '1984-12-27', 'nir-format'],
    ['born abroad (99, Algeria 352)', '2750699352123', 'female', '1975-06-02', 201],
    ['born abroad, wrong month', '2750699352123', 'female', '1975-07-02', 'nir-birth-month'],
    ['Corsica (2A)', '290012A004012', 'female', '1990-01-20', 201],
    ['Corsica (2B), wrong month', '185122B015077', 'male', '1985-11-03', 'nir-birth-month'],
    ['temporary number (NIA, 8): its first digit is not checked against the sex', '8910499100456', 'male', '1991-04-11', 201],
    ['temporary number (7), wrong year', '7910499100456', 'male', '1990-04-11', 'nir-birth-year'],
    ['special number (3)', '3650599100789', 'female', '1965-05-05', 201],
  ];

  for (const [name, first13, gender, birthDate, expected] of cases) {
    it(`${name}: ${expected}`, async () => {
      const value = nir(first13);
      const count = async () => (await as('owner', `Patient?identifier=${NIR}|${value}&_total=accurate`)).body.total;
      const before = await count();
      const answer = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { gender, birthDate }, value) });
      if (expected === 201) {
        expect(answer.status, JSON.stringify(answer.body)).toBe(201);
        return;
      }
      expect(answer.status).toBe(422);
      expect(codeOf(answer.body)).toBe(expected);
      expect(answer.body.issue[0].expression).toEqual(['Patient.identifier[0].value']);
      expect(await count()).toBe(before);
    });
  }

  it('names the contradiction: the digit and the sex, the years, the months', async () => {
    const sex = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { gender: 'female', birthDate: '1984-12-27' }, nir('1841276451089')) });
    expect(sex.body.issue[0].diagnostics).toContain('begins with 1, the NIR of a man, but Patient.gender is female');
    const year = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { birthDate: '1985-12-27' }, nir('1841276451089')) });
    expect(JSON.stringify(year.body.issue[0].extension)).toContain('"valueString":"1985"');
    expect(year.body.issue[0].diagnostics).toContain('year ending in 84, but Patient.birthDate is in 1985');
  });

  it('holds on update and in a transaction too', async () => {
    const created = await as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { gender: 'male', birthDate: '1984-12-27' }, nir('1841276451090')) });
    expect(created.status).toBe(201);
    const update = await as('a1', `Patient/${created.body.id}`, { method: 'PUT', json: { ...created.body, gender: 'female' } });
    expect(update.status).toBe(422);
    expect(codeOf(update.body)).toBe('nir-sex');
    const entry = { resource: patient('Practitioner/a1', { gender: 'male', birthDate: '1984-01-27' }, nir('1841276451091')), request: { method: 'POST', url: 'Patient' } };
    const bundle = await as('a1', '', { method: 'POST', json: { resourceType: 'Bundle', type: 'transaction', entry: [entry] } });
    expect(bundle.status).toBe(422);
  });
});

describe('the identity status follows who writes it', () => {
  const withStatus = (status: string, nirValue?: string, fields: Json = {}) => ({ ...patient('Practitioner/a1', fields, nirValue), extension: [reliability(status)] });
  const document = (code: string) => ({ url: 'validationMode', valueCoding: { system: 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-mode-validation-identity', code } });

  it('RECUP and QUAL come from software that called INSi: a user of Liaison cannot set them', async () => {
    for (const status of ['RECUP', 'QUAL']) {
      const byUser = await as('a1', 'Patient', { method: 'POST', json: withStatus(status, nir('1600599100001')) });
      expect(byUser.status, status).toBe(422);
      expect(codeOf(byUser.body)).toBe('identity-status-insi');
    }
    const bySoftware = await as('dpi', 'Patient', { method: 'POST', json: withStatus('QUAL', nir('1600599100001'), { gender: 'male', birthDate: '1960-05-02' }) });
    expect(bySoftware.status).toBe(201);
  });

  it('a user may keep the QUAL software set (editing the phone), not change its INS nor raise a PROV to it', async () => {
    const qualified = await as('dpi', 'Patient', { method: 'POST', json: withStatus('QUAL', nir('1610599100002')) });
    expect(qualified.status).toBe(201);
    const phone = await as('a1', `Patient/${qualified.body.id}`, { method: 'PUT', json: { ...qualified.body, telecom: [{ system: 'phone', value: '0612345678' }] } });
    expect(phone.status).toBe(200);
    const otherIns = await as('a1', `Patient/${qualified.body.id}`, { method: 'PUT', json: { ...phone.body, identifier: [{ system: NIR, value: nir('1610599100003') }] } });
    expect(otherIns.status).toBe(422);
    expect(codeOf(otherIns.body)).toBe('identity-status-insi');
    const provisional = await as('a1', 'Patient', { method: 'POST', json: withStatus('PROV') });
    const raised = await as('a1', `Patient/${provisional.body.id}`, { method: 'PUT', json: { ...withStatus('QUAL', nir('1620599100004')), id: provisional.body.id } });
    expect(raised.status).toBe(422);
    expect(codeOf(raised.body)).toBe('identity-status-insi');
  });

  it('RECUP and QUAL carry the INS INSi returned', async () => {
    const withoutIns = await as('dpi', 'Patient', { method: 'POST', json: withStatus('RECUP') });
    expect(withoutIns.status).toBe(422);
    expect(codeOf(withoutIns.body)).toBe('identity-status-without-ins');
  });

  it('a user validates an identity by naming the document checked (FR Core validationMode); software vouches for itself', async () => {
    const bare = await as('a1', 'Patient', { method: 'POST', json: withStatus('VALI') });
    expect(bare.status).toBe(422);
    expect(codeOf(bare.body)).toBe('identity-document-missing');
    const checked = withStatus('VALI');
    checked.extension[0].extension.push(document('CN'));
    const validated = await as('a1', 'Patient', { method: 'POST', json: checked });
    expect(validated.status).toBe(201);
    expect(JSON.stringify(validated.body.extension)).toContain('"code":"CN"');
    // Kept as it is on a later edit, document and all.
    const edited = await as('a1', `Patient/${validated.body.id}`, { method: 'PUT', json: { ...validated.body, birthDate: '1970-01-01' } });
    expect(edited.status).toBe(200);
    expect((await as('dpi', 'Patient', { method: 'POST', json: withStatus('VALI') })).status).toBe(201);
  });
});
