import { beforeAll, describe, expect, it } from 'vitest';
import { useTestNode } from '../../helpers/node';
import { NIR, patient, setUpPractices, type Json, type Practices } from './practices';

/**
 * Lifen-style patient search over HTTP, under the access rules: `family`/`given` match the beginning of words (case
 * and accents ignored, two characters at least) and see a write at once; `name` is the text index's; `birthdate`,
 * `identifier` (INS, IPP) and `telecom` are exact. Each practitioner finds only the patients they follow.
 */

const node = useTestNode();
let practices: Practices;
const IPP = 'urn:oid:1.2.250.1.999.7.1';

async function found(who: string, query: string): Promise<string[]> {
  const { status, body } = await practices.as(who, `Patient?${query}`);
  expect(status, `${who} ${query}: ${JSON.stringify(body)}`).toBe(200);
  return (body.entry ?? []).map((entry: Json) => entry.resource.id).sort();
}

beforeAll(async () => {
  practices = setUpPractices(node());
  const put = async (id: string, resource: Json) => {
    const response = await practices.as('owner', `Patient/${id}`, { method: 'PUT', json: { ...resource, id } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
  };
  await put('legall', patient('Practitioner/a1', {
    name: [{ family: 'Le Gall', given: ['Jean-Pierre'] }],
    birthDate: '1980-02-29',
    telecom: [{ system: 'phone', value: '0612345678' }, { system: 'email', value: 'jp.legall@example.fr' }],
    identifier: [{ system: NIR, value: '180027545108912' }, { type: { coding: [{ system: 'http://hl7.org/fhir/v2/0203', code: 'PI' }] }, system: IPP, value: '000123' }],
  }));
  await put('muller', patient('Practitioner/a1', { name: [{ family: 'Müller', given: ['Hélène'] }], birthDate: '1955-07-14' }));
  await put('martin', patient('Organization/cabinet-lilas', { name: [{ family: 'Martin', given: ['Éloïse'] }], birthDate: '1980-03-01' }));
  await put('martinez', patient('Practitioner/b1', { name: [{ family: 'Martinez', given: ['Jean'] }], birthDate: '1980-02-29', telecom: [{ system: 'phone', value: '0612345678' }] }));
  await put('odonnell', patient('Practitioner/b1', { name: [{ family: "O'Donnell", given: ['Pierre'] }] }));
});

describe('family and given: beginning of words', () => {
  it('match the start of any word of the family or given name, ignoring case and accents', async () => {
    expect(await found('a1', 'family=gall')).toEqual(['legall']);
    expect(await found('a1', 'family=LE')).toEqual(['legall']);
    expect(await found('a1', 'family=le%20gall')).toEqual(['legall']);
    expect(await found('a1', 'given=pierre')).toEqual(['legall']);
    expect(await found('a1', 'given=jean')).toEqual(['legall']);
    expect(await found('a1', 'family=mul')).toEqual(['muller']);
    expect(await found('a1', 'family=M%C3%9CLL')).toEqual(['muller']);
    expect(await found('a1', 'given=helene')).toEqual(['muller']);
    expect(await found('a1', 'given=%C3%A9lo')).toEqual(['martin']);
    expect(await found('owner', 'family=donnell')).toEqual(['odonnell']);
  });

  it('do not match inside a word, nor the other part of the name', async () => {
    expect(await found('a1', 'family=all')).toEqual([]);
    expect(await found('a1', 'family=artin')).toEqual([]);
    expect(await found('a1', 'given=gall')).toEqual([]);
    expect(await found('a1', 'family=pierre')).toEqual([]);
  });

  it('find only the patients the caller follows', async () => {
    expect(await found('a1', 'family=mart')).toEqual(['martin']);
    expect(await found('secretary', 'family=mart')).toEqual(['martin']);
    expect(await found('b1', 'family=mart')).toEqual(['martinez']);
    expect(await found('owner', 'family=mart')).toEqual(['martin', 'martinez']);
    expect(await found('a1', 'given=jean')).toEqual(['legall']);
  });

  it('need two letters or digits (400 with a clear message)', async () => {
    for (const query of ['family=a', 'given=J.', 'family=%20-%20', 'family=ma,b']) {
      const { status, body } = await practices.as('a1', `Patient?${query}`);
      expect(status, query).toBe(400);
      expect(body.issue[0].diagnostics, query).toContain('at least 2 letters or digits');
    }
  });

  it('see a write as soon as it returns; :exact and :contains keep their meaning', async () => {
    const created = await practices.as('a1', 'Patient', { method: 'POST', json: patient('Practitioner/a1', { name: [{ family: 'De la Fontaine' }] }) });
    expect(await found('a1', 'family=font')).toEqual([created.body.id]);
    expect(await found('a1', 'family:exact=De%20la%20Fontaine')).toEqual([created.body.id]);
    expect(await found('a1', 'family:exact=de%20la%20fontaine')).toEqual([]);
    expect(await found('a1', 'family:contains=ontai')).toEqual([created.body.id]);
  });
});

describe('name (text index), birthdate, identifier, telecom', () => {
  it('name matches words of any part once indexed, two characters at least', async () => {
    const latest = (node().db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq;
    await node().textIndex.caughtUp(latest);
    expect(await found('a1', 'name=jean%20gall')).toEqual(['legall']);
    expect(await found('a1', 'name=HEL')).toEqual(['muller']);
    expect(await found('a1', 'name=mart')).toEqual(['martin']);
    expect((await practices.as('a1', 'Patient?name=h')).status).toBe(400);
  });

  it('birthdate, identifier (INS, IPP) and telecom are exact, under the access rules', async () => {
    expect(await found('a1', 'birthdate=1980-02-29')).toEqual(['legall']);
    expect(await found('b1', 'birthdate=1980-02-29')).toEqual(['martinez']);
    expect(await found('a1', 'birthdate=1980')).toEqual(['legall', 'martin']);
    expect(await found('a1', `identifier=${NIR}|180027545108912`)).toEqual(['legall']);
    expect(await found('b1', `identifier=${NIR}|180027545108912`)).toEqual([]);
    expect(await found('a1', `identifier=${IPP}|000123`)).toEqual(['legall']);
    expect(await found('a1', `identifier=${IPP}|123`)).toEqual([]);
    expect(await found('a1', 'telecom=0612345678')).toEqual(['legall']);
    expect(await found('owner', 'telecom=0612345678')).toEqual(['legall', 'martinez']);
    expect(await found('a1', 'telecom=061234')).toEqual([]);
    expect(await found('a1', 'email=jp.legall@example.fr')).toEqual(['legall']);
    expect(await found('a1', 'family=gall&birthdate=1980-02-29&telecom=0612345678')).toEqual(['legall']);
  });
});
