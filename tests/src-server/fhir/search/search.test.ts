import { beforeAll, describe, expect, it } from 'vitest';
import { parseDateRange } from '../../../../src-server/fhir/search/dates';
import { useTestNode } from '../../../helpers/node';
import { searchHelpers, type Json } from './search-helpers';

/**
 * Search semantics per parameter type, modifier and prefix (STU3 search page), over HTTP: strings, tokens,
 * references, dates, numbers, quantities, URIs, :missing, OR/AND, chains, _has, compartments, errors.
 * Results, paging, sorting and shaping are in search-results.test.ts.
 */

const node = useTestNode();
const { put, get, ids, refused } = searchHelpers(node);
const enc = encodeURIComponent;

describe('string', () => {
  beforeAll(async () => {
    await put('str', { resourceType: 'Patient', id: 's1', name: [{ family: 'Dupont', given: ['Hélène'] }] });
    await put('str', { resourceType: 'Patient', id: 's2', name: [{ family: 'DUPONTEL', given: ['Marc'] }], address: [{ line: ['3 rue des Lilas'], city: 'Saint-Étienne' }] });
    await put('str', { resourceType: 'Patient', id: 's3', name: [{ family: 'Martin', given: ['Jean-Pierre'], text: 'Jean-Pierre Martin' }] });
    await put('str', { resourceType: 'Patient', id: 's4', name: [{ family: 'Smith, Jr', given: ['Ann'] }] });
    await put('str', { resourceType: 'Patient', id: 's5', name: [{ family: "O'Brien", given: ['100%_sure'] }] });
  });

  it('matches a case- and accent-insensitive prefix of any part of the name', async () => {
    expect(await ids('str', 'Patient?name=dup')).toEqual(['s1', 's2']);
    expect(await ids('str', 'Patient?family=DUP')).toEqual(['s1', 's2']);
    expect(await ids('str', 'Patient?name=helene')).toEqual(['s1']);
    expect(await ids('str', `Patient?name=${enc('HÉLÈNE')}`)).toEqual(['s1']);
    expect(await ids('str', `Patient?given=${enc('Hél')}`)).toEqual(['s1']);
    expect(await ids('str', `Patient?name=${enc('jean-pierre mar')}`)).toEqual(['s3']); // the name's text
    expect(await ids('str', 'Patient?name=pont')).toEqual([]); // not a prefix
    expect(await ids('str', 'Patient?name=dupontelle')).toEqual([]);
  });

  it(':exact matches the whole value, case and accents included', async () => {
    expect(await ids('str', 'Patient?name:exact=Dupont')).toEqual(['s1']);
    expect(await ids('str', 'Patient?name:exact=dupont')).toEqual([]);
    expect(await ids('str', 'Patient?name:exact=Dup')).toEqual([]);
    expect(await ids('str', `Patient?given:exact=${enc('Hélène')}`)).toEqual(['s1']);
    expect(await ids('str', 'Patient?given:exact=Helene')).toEqual([]);
  });

  it(':contains matches anywhere, case- and accent-insensitively', async () => {
    expect(await ids('str', 'Patient?name:contains=pont')).toEqual(['s1', 's2']);
    expect(await ids('str', 'Patient?name:contains=ONTE')).toEqual(['s2']);
    expect(await ids('str', `Patient?name:contains=${enc('lène')}`)).toEqual(['s1']);
    expect(await ids('str', 'Patient?address:contains=lilas')).toEqual(['s2']);
  });

  it('searches addresses by any part, and by city', async () => {
    expect(await ids('str', `Patient?address=${enc('3 rue')}`)).toEqual(['s2']);
    // Word by word with prefixes (Lifen's directory semantics, served by the text index): "lilas" begins a word.
    expect(await ids('str', 'Patient?address=lilas')).toEqual(['s2']);
    expect(await ids('str', 'Patient?address=ilas')).toEqual([]);
    expect(await ids('str', 'Patient?address-city=saint-etienne')).toEqual(['s2']);
    expect(await ids('str', `Patient?address-city=${enc('SAINT-ÉT')}`)).toEqual(['s2']);
  });

  it('ORs comma-separated values, ANDs repeated parameters, and reads \\, as a comma', async () => {
    expect(await ids('str', 'Patient?family=smith,martin')).toEqual(['s3', 's4']);
    expect(await ids('str', 'Patient?name=dup&given=marc')).toEqual(['s2']);
    expect(await ids('str', 'Patient?name=dup&name=hel')).toEqual(['s1']);
    expect(await ids('str', `Patient?family=${enc('smith\\, jr')}`)).toEqual(['s4']);
    expect(await ids('str', `Patient?family:exact=${enc('Smith\\, Jr')}`)).toEqual(['s4']);
  });

  it('takes LIKE wildcards and quotes literally', async () => {
    expect(await ids('str', `Patient?given:contains=${enc('%')}`)).toEqual(['s5']);
    expect(await ids('str', `Patient?given:contains=${enc('0%_s')}`)).toEqual(['s5']);
    expect(await ids('str', `Patient?given:contains=${enc('_')}`)).toEqual(['s5']);
    expect(await ids('str', `Patient?name=${enc("o'bri")}`)).toEqual(['s5']);
  });
});

describe('token', () => {
  beforeAll(async () => {
    await put('tok', { resourceType: 'Patient', id: 't1', gender: 'female', active: true, identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '285067512345639' }] });
    await put('tok', { resourceType: 'Patient', id: 't2', gender: 'male', active: false, identifier: [{ value: 'X1' }] });
    await put('tok', { resourceType: 'Patient', id: 't3', identifier: [{ system: 'urn:sys2', value: 'X1' }], telecom: [{ system: 'email', value: 'a@b.fr' }] });
    const observation = (id: string, code: Json) => put('tok', { resourceType: 'Observation', id, status: 'final', code });
    await observation('to1', { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }], text: 'Poids du patient' });
    await observation('to2', { coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body height' }] });
    await observation('to3', { coding: [{ code: '8302-2' }] });
  });

  it('matches code, system|code, |code (no system) and system| (any code)', async () => {
    expect(await ids('tok', 'Patient?identifier=X1')).toEqual(['t2', 't3']);
    expect(await ids('tok', `Patient?identifier=${enc('urn:sys2|X1')}`)).toEqual(['t3']);
    expect(await ids('tok', `Patient?identifier=${enc('|X1')}`)).toEqual(['t2']);
    expect(await ids('tok', `Patient?identifier=${enc('urn:sys2|')}`)).toEqual(['t3']);
    expect(await ids('tok', `Patient?identifier=${enc('urn:oid:1.2.250.1.213.1.4.8|285067512345639')}`)).toEqual(['t1']);
    expect(await ids('tok', `Patient?identifier=${enc('urn:oid:1.2.250.1.213.1.4.8|X1')}`)).toEqual([]);
    expect(await ids('tok', 'Observation?code=8302-2')).toEqual(['to2', 'to3']);
    expect(await ids('tok', `Observation?code=${enc('http://loinc.org|8302-2')}`)).toEqual(['to2']);
    expect(await ids('tok', `Observation?code=${enc('|8302-2')}`)).toEqual(['to3']);
    expect(await ids('tok', `Observation?code=${enc('http://snomed.info/sct|8302-2')}`)).toEqual([]);
    expect(await ids('tok', 'Observation?code=8302')).toEqual([]); // tokens are exact
  });

  it('matches codes, booleans and contact points', async () => {
    expect(await ids('tok', 'Patient?gender=female')).toEqual(['t1']);
    expect(await ids('tok', 'Patient?gender=female,male')).toEqual(['t1', 't2']);
    expect(await ids('tok', 'Patient?gender=FEMALE')).toEqual([]);
    expect(await ids('tok', 'Patient?active=true')).toEqual(['t1']);
    expect(await ids('tok', 'Patient?active=false')).toEqual(['t2']);
    expect(await ids('tok', 'Patient?email=a@b.fr')).toEqual(['t3']);
    expect(await ids('tok', 'Patient?telecom=a@b.fr')).toEqual(['t3']);
    expect(await ids('tok', 'Patient?phone=a@b.fr')).toEqual([]);
  });

  it(':not matches the resources without a matching value, those without any value included', async () => {
    expect(await ids('tok', 'Patient?gender:not=female')).toEqual(['t2', 't3']);
    expect(await ids('tok', 'Patient?gender:not=female,male')).toEqual(['t3']);
    expect(await ids('tok', `Observation?code:not=${enc('http://loinc.org|8302-2')}`)).toEqual(['to1', 'to3']);
  });

  it(':text matches the start of a word of the display or text, accent- and case-insensitively', async () => {
    expect(await ids('tok', 'Observation?code:text=poids')).toEqual(['to1']);
    expect(await ids('tok', 'Observation?code:text=PATIENT')).toEqual(['to1']);
    expect(await ids('tok', 'Observation?code:text=weight')).toEqual(['to1']);
    expect(await ids('tok', 'Observation?code:text=body')).toEqual(['to1', 'to2']);
    expect(await ids('tok', 'Observation?code:text=atient')).toEqual([]);
  });
});

describe('reference', () => {
  beforeAll(async () => {
    const base = node().fhir;
    await put('ref', { resourceType: 'Patient', id: 'rp1' });
    await put('ref', { resourceType: 'Patient', id: 'rp2' });
    await put('ref', { resourceType: 'Group', id: 'rp1', type: 'person', actual: true });
    const observation = (id: string, subject?: Json) => put('ref', { resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, ...(subject ? { subject } : {}) });
    await observation('ro1', { reference: 'Patient/rp1' });
    await observation('ro2', { reference: `${base}/Patient/rp2` });
    await observation('ro3', { reference: 'Group/rp1' });
    await observation('ro4', { reference: 'http://other.example/fhir/Patient/rp1' });
    await observation('ro5');
    await observation('ro6', { reference: 'Patient/rp2/_history/1' });
  });

  it('matches Type/id, a bare id (any type), the absolute URL of this node, and a version-specific reference', async () => {
    const base = node().fhir;
    expect(await ids('ref', 'Observation?subject=Patient/rp1')).toEqual(['ro1']);
    expect(await ids('ref', 'Observation?subject=rp1')).toEqual(['ro1', 'ro3']);
    expect(await ids('ref', `Observation?subject=${enc(`${base}/Patient/rp1`)}`)).toEqual(['ro1']);
    expect(await ids('ref', 'Observation?subject=Patient/rp2')).toEqual(['ro2', 'ro6']);
    expect(await ids('ref', `Observation?subject=${enc(`${base}/Patient/rp2`)}`)).toEqual(['ro2', 'ro6']);
    expect(await ids('ref', 'Observation?subject=Patient/rp1/_history/7')).toEqual(['ro1']);
    expect(await ids('ref', 'Observation?subject=Patient/rp1,Group/rp1')).toEqual(['ro1', 'ro3']);
    expect(await ids('ref', 'Observation?patient=rp1')).toEqual(['ro1']);
  });

  it('tells another server\'s Patient/rp1 from the local one: it is found by its URL only', async () => {
    expect(await ids('ref', `Observation?subject=${enc('http://other.example/fhir/Patient/rp1')}`)).toEqual(['ro4']);
    expect(await ids('ref', `Observation?subject=${enc('http://other.example/fhir/Patient/rp2')}`)).toEqual([]);
  });

  it(':Type restricts a bare id to one target type', async () => {
    expect(await ids('ref', 'Observation?subject:Patient=rp1')).toEqual(['ro1']);
    expect(await ids('ref', 'Observation?subject:Group=rp1')).toEqual(['ro3']);
    expect(await ids('ref', 'Observation?subject:Device=rp1')).toEqual([]);
    expect(await ids('ref', 'Observation?subject:Patient=Patient/rp2')).toEqual(['ro2', 'ro6']);
    expect((await refused('Observation?subject:Organization=rp1')).expression).toEqual(['subject:Organization']);
  });

  it(':missing', async () => {
    expect(await ids('ref', 'Observation?subject:missing=true')).toEqual(['ro5']);
    expect(await ids('ref', 'Observation?subject:missing=false')).toEqual(['ro1', 'ro2', 'ro3', 'ro4', 'ro6']);
  });
});

describe('date', () => {
  beforeAll(async () => {
    const observation = (id: string, effective: Json) => put('date', { resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, ...effective });
    await observation('d1', { effectiveDateTime: '2017-03-04T10:00:00+01:00' }); // 09:00:00Z
    await observation('d2', { effectiveDateTime: '2017-03-04' });
    await observation('d3', { effectivePeriod: { start: '2017-03-01', end: '2017-03-31' } });
    await observation('d4', { effectivePeriod: { start: '2017-03-10' } }); // open end
    await observation('d5', { effectivePeriod: { end: '2017-02-15' } }); // open start
    await observation('d6', { effectiveDateTime: '2016-12-31T23:30:00-02:00' }); // 2017-01-01T01:30:00Z
    await observation('d7', { effectiveDateTime: '2020-06-01' });
    await observation('d8', {});
  });

  const dates = (query: string) => ids('date', `Observation?${query}`);

  it('eq (the default): the value lies within the searched precision (year, month, day, minute, second), in UTC', async () => {
    expect(await dates('date=2017')).toEqual(['d1', 'd2', 'd3', 'd6']);
    expect(await dates('date=eq2017-03')).toEqual(['d1', 'd2', 'd3']);
    expect(await dates('date=2017-03-04')).toEqual(['d1', 'd2']);
    expect(await dates(`date=${enc('2017-03-04T10:00+01:00')}`)).toEqual(['d1']);
    expect(await dates(`date=${enc('2017-03-04T10:00:00+01:00')}`)).toEqual(['d1']);
    expect(await dates('date=2017-03-04T09:00Z')).toEqual(['d1']);
    expect(await dates('date=2017-03-04T10:00Z')).toEqual([]);
    expect(await dates('date=2017-03-04T08:59:59Z')).toEqual([]);
    expect(await dates('date=2016')).toEqual([]); // d6 is 2017 in UTC
    expect(await dates('date=2017-01-01')).toEqual(['d6']);
    expect(await dates(`date=${enc('2016-12-31T23:30-02:00')}`)).toEqual(['d6']);
  });

  it('ne: the value does not lie within the searched range', async () => {
    expect(await dates('date=ne2017-03')).toEqual(['d4', 'd5', 'd6', 'd7']);
  });

  it('gt, lt, ge, le: the value (a period: some of it) lies after / before the searched range, or in it', async () => {
    expect(await dates('date=gt2017-03-04')).toEqual(['d3', 'd4', 'd7']);
    expect(await dates('date=lt2017-03-04')).toEqual(['d3', 'd5', 'd6']);
    expect(await dates('date=ge2017-03-04')).toEqual(['d1', 'd2', 'd3', 'd4', 'd7']);
    expect(await dates('date=le2017-03-04')).toEqual(['d1', 'd2', 'd3', 'd5', 'd6']);
    expect(await dates('date=gt2017-03-04T09:00:00Z')).toEqual(['d2', 'd3', 'd4', 'd7']);
  });

  it('sa, eb: the whole value starts after / ends before the searched range', async () => {
    expect(await dates('date=sa2017-03-04')).toEqual(['d4', 'd7']);
    expect(await dates('date=eb2017-03-04')).toEqual(['d5', 'd6']);
    expect(await dates('date=sa2017-03')).toEqual(['d7']);
  });

  it('ap: approximately, within 10% of the distance to now', async () => {
    expect(await dates('date=ap2020-06-01')).toEqual(['d4', 'd7']); // d4 has no end
    expect(await dates('date=ap2017-03-04')).toEqual(['d1', 'd2', 'd3', 'd4', 'd5', 'd6']);
  });

  it('periods with open ends reach to the end (start) of time', async () => {
    expect(await dates('date=gt2999')).toEqual(['d4']);
    expect(await dates('date=lt1900')).toEqual(['d5']);
    expect(await dates('date=ge2017-03-01&date=le2017-03-31')).toEqual(['d1', 'd2', 'd3', 'd4']);
  });

  it('ORs and ANDs, and :missing', async () => {
    expect(await dates('date=2017-03-04,2020')).toEqual(['d1', 'd2', 'd7']);
    expect(await dates('date=ge2017&date=lt2018')).toEqual(['d1', 'd2', 'd3', 'd4', 'd5', 'd6']);
    expect(await dates('date:missing=true')).toEqual(['d8']);
  });

  it('refuses bad dates and prefixes with 400 naming the parameter', async () => {
    for (const value of ['2017-13', '2017-02-30', '2017-03-04T25:00', 'xx2017', 'gt', '17-03-04', '2017-03-04T10:00+15:00']) {
      const issue = await refused(`Observation?date=${enc(value)}`);
      expect(issue.expression, value).toEqual(['date']);
      expect(issue.diagnostics).toContain(value);
    }
  });

  it('_lastUpdated compares the instant the node wrote', async () => {
    const { body } = await get('Observation/d8');
    const instant = body.meta.lastUpdated as string;
    expect(await dates(`_lastUpdated=${instant}`)).toEqual(['d8']);
    expect(await dates(`_lastUpdated=gt${instant}`)).toEqual([]);
    expect(await dates(`_lastUpdated=ge${instant}`)).toEqual(['d8']);
    expect(await dates('_lastUpdated=ge2000')).toHaveLength(8);
    expect(await dates('_lastUpdated=lt2000')).toEqual([]);
    // Bounds past the year 9999 still compare with the stored instants' text.
    expect(await dates('_lastUpdated=le9999')).toHaveLength(8);
    expect(await dates('_lastUpdated=sa9999')).toEqual([]);
    expect(await dates('_lastUpdated=gt9999')).toEqual([]);
  });
});

describe('number', () => {
  beforeAll(async () => {
    const risk = (id: string, probability?: number) =>
      put('num', { resourceType: 'RiskAssessment', id, status: 'final', ...(probability === undefined ? {} : { prediction: [{ outcome: { text: 'x' }, probabilityDecimal: probability }] }) });
    await risk('n1', 99.7);
    await risk('n2', 100.4);
    await risk('n3', 100.5);
    await risk('n4', 101);
    await risk('n5', 5);
    await risk('n6');
  });

  const numbers = (query: string) => ids('num', `RiskAssessment?${query}`);

  it('eq matches within the precision of the searched value: 100 matches 99.7 but 100.0 does not', async () => {
    expect(await numbers('probability=100')).toEqual(['n1', 'n2']);
    expect(await numbers('probability=100.0')).toEqual([]);
    expect(await numbers('probability=99.7')).toEqual(['n1']);
    expect(await numbers('probability=99.70')).toEqual(['n1']);
    expect(await numbers('probability=1e2')).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(await numbers('probability=eq5')).toEqual(['n5']);
  });

  it('ne, gt, lt, ge, le, sa, eb, ap', async () => {
    expect(await numbers('probability=ne100')).toEqual(['n3', 'n4', 'n5']);
    expect(await numbers('probability=gt100')).toEqual(['n2', 'n3', 'n4']);
    expect(await numbers('probability=ge100.4')).toEqual(['n2', 'n3', 'n4']);
    expect(await numbers('probability=lt100')).toEqual(['n1', 'n5']);
    expect(await numbers('probability=le99.7')).toEqual(['n1', 'n5']);
    expect(await numbers('probability=sa100.5')).toEqual(['n4']);
    expect(await numbers('probability=eb99.7')).toEqual(['n5']);
    expect(await numbers('probability=ap100')).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(await numbers('probability=gt100&probability=lt101')).toEqual(['n2', 'n3']);
    expect(await numbers('probability:missing=true')).toEqual(['n6']);
  });

  it('refuses what is not a number', async () => {
    for (const value of ['abc', 'zz5', 'gt', '5,5x']) expect((await refused(`RiskAssessment?probability=${enc(value)}`)).expression).toEqual(['probability']);
  });
});

describe('quantity', () => {
  beforeAll(async () => {
    const ucum = 'http://unitsofmeasure.org';
    const observation = (id: string, valueQuantity: Json) => put('qty', { resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, valueQuantity });
    await observation('q1', { value: 5.4, unit: 'mg', system: ucum, code: 'mg' });
    await observation('q2', { value: 5.4, unit: 'mg' });
    await observation('q3', { value: 5400, unit: 'µg', system: ucum, code: 'ug' });
    await observation('q4', { value: 7, unit: 'mmol/L', system: ucum, code: 'mmol/L' });
  });

  const quantities = (value: string) => ids('qty', `Observation?value-quantity=${enc(value)}`);

  it('matches the number with its precision, then the system and code (||code also matches the unit)', async () => {
    expect(await quantities('5.4')).toEqual(['q1', 'q2']);
    expect(await quantities('5')).toEqual(['q1', 'q2']);
    expect(await quantities('5.40')).toEqual(['q1', 'q2']);
    expect(await quantities('5.4|http://unitsofmeasure.org|mg')).toEqual(['q1']);
    expect(await quantities('5.4||mg')).toEqual(['q1', 'q2']);
    expect(await quantities('5.4|http://unitsofmeasure.org|')).toEqual(['q1']);
    expect(await quantities('5.4|http://unitsofmeasure.org|ug')).toEqual([]);
    expect(await quantities('5400|http://unitsofmeasure.org|ug')).toEqual(['q3']);
  });

  it('takes prefixes', async () => {
    expect(await quantities('gt5|http://unitsofmeasure.org|mg')).toEqual(['q1']);
    expect(await quantities('lt6')).toEqual(['q1', 'q2']);
    expect(await quantities('ge7||mmol/L')).toEqual(['q4']);
    expect(await quantities('ne5.4')).toEqual(['q3', 'q4']);
    expect(await quantities('ap7')).toEqual(['q4']);
  });

  it('refuses malformed quantities', async () => {
    for (const value of ['5.4|a|b|c', 'mg', 'xx5||mg']) expect((await refused(`Observation?value-quantity=${enc(value)}`)).expression).toEqual(['value-quantity']);
  });
});

describe('uri', () => {
  beforeAll(async () => {
    const valueSet = (id: string, url: string) => put('uri', { resourceType: 'ValueSet', id, status: 'active', url });
    await valueSet('u1', 'http://example.org/fhir/ValueSet/a');
    await valueSet('u2', 'http://example.org/fhir/ValueSet/a/b');
    await valueSet('u3', 'http://example.org/fhir/ValueSet/ab');
    await valueSet('u4', 'urn:oid:1.2.3');
  });

  it('matches exactly, :below a path, :above a path', async () => {
    expect(await ids('uri', `ValueSet?url=${enc('http://example.org/fhir/ValueSet/a')}`)).toEqual(['u1']);
    expect(await ids('uri', `ValueSet?url=${enc('http://example.org/fhir/ValueSet')}`)).toEqual([]);
    expect(await ids('uri', `ValueSet?url=${enc('urn:oid:1.2.3')}`)).toEqual(['u4']);
    expect(await ids('uri', `ValueSet?url:below=${enc('http://example.org/fhir/ValueSet/a')}`)).toEqual(['u1', 'u2']);
    expect(await ids('uri', `ValueSet?url:below=${enc('http://example.org/fhir')}`)).toEqual(['u1', 'u2', 'u3']);
    expect(await ids('uri', `ValueSet?url:below=${enc('http://example.org/fhir/')}`)).toEqual(['u1', 'u2', 'u3']);
    expect(await ids('uri', `ValueSet?url:above=${enc('http://example.org/fhir/ValueSet/a/b/c')}`)).toEqual(['u1', 'u2']);
    expect(await ids('uri', `ValueSet?url:above=${enc('http://example.org/fhir/ValueSet/ab')}`)).toEqual(['u3']);
  });
});

describe('composite', () => {
  beforeAll(async () => {
    const loinc = (code: string) => ({ coding: [{ system: 'http://loinc.org', code }] });
    const ucum = (value: number, code: string) => ({ value, unit: code, system: 'http://unitsofmeasure.org', code });
    const observation = (id: string, extra: Json) => put('comp', { resourceType: 'Observation', id, status: 'final', ...extra });
    await observation('cq1', { code: loinc('8302-2'), valueQuantity: ucum(170, 'cm') });
    await observation('cq2', { code: loinc('29463-7'), valueQuantity: ucum(60, 'kg') });
    await observation('cq3', { code: { text: 'panel' }, related: [{ type: 'has-member', target: { reference: 'Observation/cq1' } }] });
    await observation('cq4', {
      code: loinc('85354-9'),
      component: [
        { code: loinc('8480-6'), valueQuantity: ucum(120, 'mm[Hg]') },
        { code: loinc('8462-4'), valueQuantity: ucum(80, 'mm[Hg]') },
      ],
    });
  });

  const composite = (query: string) => ids('comp', `Observation?${query}`);

  it('matches every component on the same element, each by its own type', async () => {
    expect(await composite(`code-value-quantity=${enc('http://loinc.org|8302-2$170')}`)).toEqual(['cq1']);
    expect(await composite(`code-value-quantity=${enc('8302-2$gt100')}`)).toEqual(['cq1']);
    expect(await composite(`code-value-quantity=${enc('8302-2$lt100')}`)).toEqual([]);
    expect(await composite(`code-value-quantity=${enc('8302-2$170|http://unitsofmeasure.org|cm')}`)).toEqual(['cq1']);
    expect(await composite(`code-value-quantity=${enc('8302-2$170|http://unitsofmeasure.org|kg')}`)).toEqual([]);
    expect(await composite(`code-value-quantity=${enc('http://loinc.org|$60')}`)).toEqual(['cq2']); // any code of the system
    expect(await composite(`code-value-quantity=${enc('8302-2$170,29463-7$60')}`)).toEqual(['cq1', 'cq2']);
    expect(await composite(`component-code-value-quantity=${enc('8480-6$120')}`)).toEqual(['cq4']);
    expect(await composite(`component-code-value-quantity=${enc('8462-4$80')}`)).toEqual(['cq4']);
    expect(await composite(`component-code-value-quantity=${enc('8480-6$80')}`)).toEqual([]); // not on the same component
    expect(await composite(`combo-code-value-quantity=${enc('8480-6$120')}`)).toEqual(['cq4']);
    expect(await composite(`combo-code-value-quantity=${enc('8302-2$170')}`)).toEqual(['cq1']);
  });

  it('reads a reference component like a reference parameter', async () => {
    expect(await composite(`related=${enc('Observation/cq1$has-member')}`)).toEqual(['cq3']);
    expect(await composite(`related=${enc('cq1$has-member')}`)).toEqual(['cq3']);
    expect(await composite(`related=${enc(`${node().fhir}/Observation/cq1$has-member`)}`)).toEqual(['cq3']);
    expect(await composite(`related=${enc('Observation/cq1$derived-from')}`)).toEqual([]);
    expect(await composite(`related=${enc('http://other.example/fhir/Observation/cq1$has-member')}`)).toEqual([]);
  });
});

describe(':missing', () => {
  beforeAll(async () => {
    await put('missing', { resourceType: 'Patient', id: 'm1', birthDate: '1980-01-01', name: [{ family: 'A' }] });
    await put('missing', { resourceType: 'Patient', id: 'm2' });
  });

  it('true: no value; false: some value; both: everything', async () => {
    expect(await ids('missing', 'Patient?birthdate:missing=true')).toEqual(['m2']);
    expect(await ids('missing', 'Patient?birthdate:missing=false')).toEqual(['m1']);
    expect(await ids('missing', 'Patient?name:missing=true')).toEqual(['m2']);
    expect(await ids('missing', 'Patient?gender:missing=true')).toEqual(['m1', 'm2']);
    expect(await ids('missing', 'Patient?birthdate:missing=true,false')).toEqual(['m1', 'm2']);
    expect((await refused('Patient?birthdate:missing=maybe')).expression).toEqual(['birthdate:missing']);
  });
});

describe('chains, _has and compartments', () => {
  beforeAll(async () => {
    await put('chain', { resourceType: 'Patient', id: 'cp1', name: [{ family: 'Dupont', given: ['Hélène'] }] });
    await put('chain', { resourceType: 'Patient', id: 'cp2', name: [{ family: 'Durand', given: ['Marc'] }] });
    await put('chain', { resourceType: 'Location', id: 'cl1', name: 'Hélène ward' });
    await put('chain', { resourceType: 'Encounter', id: 'ce1', status: 'finished', subject: { reference: 'Patient/cp1' } });
    await put('chain', { resourceType: 'Encounter', id: 'ce2', status: 'in-progress', subject: { reference: 'Patient/cp2' } });
    const weight = { coding: [{ system: 'http://loinc.org', code: '29463-7' }] };
    const height = { coding: [{ system: 'http://loinc.org', code: '8302-2' }] };
    const observation = (id: string, code: Json, subject: string, context?: string) =>
      put('chain', { resourceType: 'Observation', id, status: 'final', code, subject: { reference: subject }, ...(context ? { context: { reference: context } } : {}) });
    await observation('co1', weight, 'Patient/cp1', 'Encounter/ce1');
    await observation('co2', height, 'Patient/cp2', 'Encounter/ce2');
    await observation('co3', weight, 'Location/cl1');
    await observation('co4', height, 'http://other.example/fhir/Patient/cp1');
  });

  it('chains one level, with or without a type', async () => {
    expect(await ids('chain', 'Observation?subject:Patient.name=helene')).toEqual(['co1']);
    expect(await ids('chain', 'Observation?subject.name=helene')).toEqual(['co1', 'co3']); // Patient and Location have `name`
    expect(await ids('chain', 'Observation?subject:Location.name=helene')).toEqual(['co3']);
    expect(await ids('chain', 'Observation?subject:Patient.name=marc,helene')).toEqual(['co1', 'co2']);
    expect(await ids('chain', 'Observation?patient.name:exact=Durand')).toEqual(['co2']);
    expect(await ids('chain', 'Observation?subject:Patient._id=cp1')).toEqual(['co1']);
    expect(await ids('chain', 'Observation?subject:Patient.name=nobody')).toEqual([]);
  });

  it('chains two levels', async () => {
    expect(await ids('chain', 'Observation?encounter.subject.name=helene')).toEqual(['co1']);
    expect(await ids('chain', 'Observation?encounter.patient:Patient.family=durand')).toEqual(['co2']);
    expect(await ids('chain', 'Observation?encounter.status=finished&subject:Patient.given=hel')).toEqual(['co1']);
  });

  it('refuses chains through unknown or non-reference parameters', async () => {
    expect((await refused('Observation?subject.foo=x')).expression).toEqual(['subject.foo']);
    expect((await refused('Observation?status.name=x')).expression).toEqual(['status.name']);
    expect((await refused('Observation?subject:Organization.name=x')).expression).toEqual(['subject:Organization.name']);
  });

  it('_has selects the resources that matching resources point at', async () => {
    expect(await ids('chain', `Patient?_has:Observation:patient:code=${enc('http://loinc.org|29463-7')}`)).toEqual(['cp1']);
    expect(await ids('chain', 'Patient?_has:Observation:subject:code=8302-2')).toEqual(['cp2']); // not cp1 through co4's foreign URL
    expect(await ids('chain', 'Patient?_has:Encounter:patient:status=finished,in-progress')).toEqual(['cp1', 'cp2']);
    expect(await ids('chain', 'Location?_has:Observation:subject:code=29463-7')).toEqual(['cl1']);
    expect(await ids('chain', 'Patient?_has:Observation:patient:code=nothing')).toEqual([]);
    expect((await refused('Patient?_has:Observation:code:code=x')).expression).toEqual(['_has:Observation:code:code']);
  });

  it('searches a compartment: Patient/cp1/Encounter', async () => {
    expect(await ids('chain', 'Patient/cp1/Encounter')).toEqual(['ce1']);
    expect(await ids('chain', 'Patient/cp1/Observation')).toEqual(['co1']);
    expect(await ids('chain', 'Patient/cp2/Observation?code=8302-2')).toEqual(['co2']);
    expect(await ids('chain', 'Patient/cp1/Observation?code=8302-2')).toEqual([]);
    expect(await ids('chain', 'Patient/cp1/Patient')).toEqual(['cp1']);
    expect(await ids('chain', 'Encounter/ce1/Observation')).toEqual(['co1']);
    const { body } = await get('Patient/cp1/Encounter?status=finished');
    expect(body.link[0]).toEqual({ relation: 'self', url: `${node().fhir}/Patient/cp1/Encounter?status=finished` });
    await refused('Patient/cp1/Organization');
  });
});

describe('errors and lenient handling', () => {
  beforeAll(async () => {
    await put('err', { resourceType: 'Patient', id: 'e1', name: [{ family: 'Lenient' }] });
  });

  it('answers 400 with an OperationOutcome naming the parameter', async () => {
    const cases: Array<[string, string]> = [
      ['Patient?foo=bar', 'foo'],
      ['Patient?name:foo=x', 'name:foo'],
      ['Patient?name:a:b=x', 'name:a:b'],
      ['Patient?gender:contains=x', 'gender:contains'],
      ['Patient?_text=x', '_text'],
      ['Patient?birthdate=2017-13', 'birthdate'],
      ['Patient?birthdate=xx2017', 'birthdate'],
      ['Patient?_cursor=garbage', '_cursor'],
      [`Patient?_cursor=${Buffer.from('[[1,2],3,0]').toString('base64url')}`, '_cursor'],
      [`Patient?identifier=${enc('a|b|c')}`, 'identifier'],
      [`Patient?identifier=${enc('|')}`, 'identifier'],
      ['Patient?_count=-1', '_count'],
      ['Patient?_count=ten', '_count'],
      ['Patient?_sort=foo', '_sort'],
      ['Patient?_total=all', '_total'],
      ['Patient?_summary=some', '_summary'],
      ['Patient?_include=Patient:foo', '_include'],
      ['Patient?_revinclude=Observation:subject:Organization', '_revinclude'],
      [`Observation?code-value-quantity=${enc('8302-2')}`, 'code-value-quantity'],
    ];
    for (const [path, name] of cases) {
      const issue = await refused(path);
      expect(issue.expression, path).toEqual([name]);
      expect(issue.code).toBe('invalid');
      expect(issue.diagnostics.length).toBeGreaterThan(0);
    }
  });

  it('Prefer: handling=lenient ignores unknown parameters and modifiers and leaves them out of the self link', async () => {
    const lenient = { headers: { prefer: 'handling=lenient' } };
    const { status, body } = await get(`Patient?foo=bar&name=lenient&name:zzz=1&_tag=${enc('urn:liaison:search-test|err')}`, lenient);
    expect(status).toBe(200);
    expect(body.entry.map((entry: Json) => entry.resource.id)).toEqual(['e1']);
    expect(body.link[0]).toEqual({ relation: 'self', url: `${node().fhir}/Patient?name=lenient&_tag=${enc('urn:liaison:search-test|err')}` });
    // Bad values of known parameters stay errors.
    expect((await refused('Patient?birthdate=2017-13', lenient)).expression).toEqual(['birthdate']);
  });

  it('treats SQL injection attempts as literal values', async () => {
    const tricky = "Robert'); DROP TABLE resources;--";
    await put('err', { resourceType: 'Patient', id: 'e2', name: [{ family: tricky }] });
    for (const value of ["' OR '1'='1", "x' OR 1=1 --", '%', "') OR 1=1 --"]) {
      // `name` is a text query, which needs two letters or digits: '%' has none.
      if (value === '%') expect((await refused(`Patient?name=${enc(value)}`)).expression).toEqual(['name']);
      else expect(await ids('err', `Patient?name=${enc(value)}`), value).toEqual([]);
      expect(await ids('err', `Patient?identifier=${enc(`${value}|${value}`)}`), value).toEqual([]);
      expect(await ids('err', `Patient?_id=${enc(value)}`), value).toEqual([]);
      expect(await ids('err', `Patient?birthdate:missing=false&name:exact=${enc(value)}`), value).toEqual([]);
    }
    expect(await ids('err', `Patient?name:exact=${enc(tricky)}`)).toEqual(['e2']);
    expect(await ids('err', `Patient?name=${enc("robert'); drop")}`)).toEqual(['e2']);
    // A cursor of the right shape with hostile keys is only compared, as bound values.
    const cursor = Buffer.from(JSON.stringify([["x' OR 1=1 --"], 1, 0])).toString('base64url');
    expect((await get(`Patient?_cursor=${cursor}`)).status).toBe(200);
    expect((await refused(`Patient?_sort=${enc('name;DROP TABLE resources')}`)).expression).toEqual(['_sort']);
    expect(await ids('err', 'Patient')).toEqual(['e1', 'e2']);
  });
});

describe('parseDateRange', () => {
  it('reads years 0000–0099 as themselves, not as 1900–1999', () => {
    expect(parseDateRange('0050')).toEqual({ start: Date.parse('0050-01-01T00:00:00Z'), end: Date.parse('0051-01-01T00:00:00Z') });
    expect(parseDateRange('0004-02-29')).toEqual({ start: Date.parse('0004-02-29T00:00:00Z'), end: Date.parse('0004-03-01T00:00:00Z') });
    expect(parseDateRange('2017-03')).toEqual({ start: Date.parse('2017-03-01T00:00:00Z'), end: Date.parse('2017-04-01T00:00:00Z') });
  });
});
