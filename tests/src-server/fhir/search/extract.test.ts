import { describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import {
  extractSearchValues,
  extractSearchValuesUsing,
  QUANTITY_MAX,
  QUANTITY_MIN,
  type IndexValue,
} from '../../../../src-server/fhir/search/extract';
import { branchesFor, splitUnion } from '../../../../src-server/fhir/search/expressions';
import { sharedRows } from '../../../../src-server/fhir/search/shared-rows';
import { compileFhirPath, stu3SearchExpression, walkerHandles } from '../../../../src-server/fhir/search/fhirpath';
import { DATE_MAX, DATE_MIN, numberRange, parseReference } from '../../../../src-server/fhir/search/index-values';
import { normalizeString } from '../../../../src-server/fhir/search/normalize-string';
import { readAllExamples, type Resource } from '../../../helpers/fhir-data';
import { SearchParameters } from '../../../../src-server/fhir/search/parameters';

const definitions = SearchParameters.builtIn();

type Json = Record<string, unknown>;

/**
 * The index values of every parameter of the resource's type that has some, as searches see them: a parameter
 * whose values other parameters' rows hold (shared-rows.ts) gets those rows, restricted as declared.
 */
function indexedValues(resource: Json): Map<string, IndexValue[]> {
  const extracted = extractSearchValues(definitions, resource);
  const own = (code: string) => extracted.find((parameter) => parameter.code === code)?.values ?? [];
  const result = new Map<string, IndexValue[]>();
  const resourceType = resource.resourceType as string;
  for (const code of definitions.ofType(resourceType).keys()) {
    const shared = sharedRows(definitions, resourceType, code);
    const restriction = shared?.restriction;
    const kept = (value: IndexValue) =>
      !restriction ||
      (restriction.column === 'part' && value.kind === 'string' && restriction.values.includes(value.part)) ||
      (restriction.column === 'system' && value.kind === 'token' && restriction.values.includes(value.system ?? '')) ||
      (restriction.column === 'target_type' && value.kind === 'reference' && restriction.values.includes(value.type ?? ''));
    const values = shared ? shared.codes.flatMap(own).filter(kept) : own(code);
    if (values.length > 0) result.set(code, values);
  }
  return result;
}

/** The index values of one parameter ([] when the parameter has none). */
function valuesOf(resource: Json, code: string): IndexValue[] {
  return indexedValues(resource).get(code) ?? [];
}

const utc = (iso: string) => Date.parse(iso);
const token = (system: string | null, code: string | null, text: string | null = null): IndexValue => ({ kind: 'token', system, code, text });
const reference = (type: string | null, id: string | null, url: string | null = null): IndexValue => ({ kind: 'reference', type, id, url });
const strings = (values: IndexValue[]) => values.map((value) => (value.kind === 'string' ? value.normalized : undefined));

describe('normalisation', () => {
  it('folds case and accents and collapses whitespace', () => {
    expect(normalizeString('  Hélène\t  DUPONT\n')).toBe('helene dupont');
    expect(normalizeString('Bénédicte Marché')).toBe('benedicte marche');
    expect(normalizeString('Ørsted')).toBe('ørsted'); // Ø is a letter, not O plus a mark
  });

  it('gives a number the range of its written precision', () => {
    expect(numberRange(100)).toEqual({ low: 99.5, high: 100.5 });
    const decimal = numberRange(1.5);
    expect(decimal.low).toBeCloseTo(1.45, 12);
    expect(decimal.high).toBeCloseTo(1.55, 12);
    const small = numberRange(2.5e-7);
    expect(small.low).toBeCloseTo(2.45e-7, 20);
    expect(small.high).toBeCloseTo(2.55e-7, 20);
  });

  it('reads literal references', () => {
    expect(parseReference('Patient/1')).toEqual({ type: 'Patient', id: '1', url: null });
    expect(parseReference('Patient/1/_history/3')).toEqual({ type: 'Patient', id: '1', url: null });
    expect(parseReference('http://x/fhir/Patient/1/_history/3')).toEqual({ type: 'Patient', id: '1', url: 'http://x/fhir/Patient/1' });
    expect(parseReference('urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a')).toEqual({
      type: null,
      id: null,
      url: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a',
    });
    expect(parseReference('Unknown/1')).toEqual({ type: null, id: null, url: 'Unknown/1' });
    expect(parseReference('a/Patient/1')).toEqual({ type: null, id: null, url: 'a/Patient/1' });
  });
});

describe('union branches', () => {
  it('splits at top-level bars only', () => {
    expect(splitUnion("A.b | A.c.where(x = 'a|b') | (A.d | A.e)")).toEqual(["A.b", "A.c.where(x = 'a|b')", '(A.d | A.e)']);
  });

  it('keeps the branches of the type and of Resource/DomainResource', () => {
    const identifier = definitions.ofType('Goal').get('identifier')!;
    expect(identifier.expression).toContain('DocumentManifest.identifier');
    expect(branchesFor(identifier.expression!, 'Goal')).toEqual(['Goal.identifier']);
    expect(branchesFor('Resource.meta.tag', 'Goal')).toEqual(['Resource.meta.tag']);
    const goal = { resourceType: 'Goal', identifier: [{ system: 'urn:goals', value: 'g1' }], status: 'accepted' };
    expect(valuesOf(goal, 'identifier')).toEqual([token('urn:goals', 'g1')]);
  });
});

describe('parameters of a type', () => {
  it('lists own, Resource and DomainResource parameters', () => {
    const patient = definitions.ofType('Patient');
    for (const code of ['name', 'birthdate', '_id', '_lastUpdated', '_tag', '_profile', '_security', '_text', '_content']) {
      expect(patient.has(code), code).toBe(true);
    }
    expect(definitions.ofType('Bundle').has('_text')).toBe(false); // Bundle is not a DomainResource
    expect(definitions.ofType('Bundle').has('_tag')).toBe(true);
  });

  it('extracts meta parameters but not _id and _lastUpdated', () => {
    const codes = extractSearchValues(definitions, {
      resourceType: 'Patient',
      id: 'p1',
      meta: {
        lastUpdated: '2020-01-01T00:00:00Z',
        tag: [{ system: 'urn:tags', code: 'vip', display: 'V.I.P.' }],
        profile: ['http://example.org/StructureDefinition/p'],
        security: [{ system: 'http://hl7.org/fhir/v3/Confidentiality', code: 'R' }],
      },
    }).map((parameter) => parameter.code);
    expect(codes).toEqual(expect.arrayContaining(['_tag', '_profile', '_security']));
    expect(codes).not.toContain('_id');
    expect(codes).not.toContain('_lastUpdated');
  });
});

describe('string parameters', () => {
  const patient = {
    resourceType: 'Patient',
    name: [
      { use: 'official', family: 'Dupont', given: ['Hélène', 'Marie'], prefix: ['Mme'], suffix: ['PhD'], text: 'Mme Hélène  Marie DUPONT' },
      { family: 'Dupont' },
    ],
    address: [
      {
        line: ['12 rue de la Paix', 'Bâtiment B'],
        city: 'Paris',
        district: 'Paris 2e',
        state: 'Île-de-France',
        postalCode: '75002',
        country: 'FR',
        text: '12 rue de la Paix, 75002 Paris',
      },
    ],
  };

  it('indexes every part of a HumanName, accent-folded, de-duplicated', () => {
    expect(strings(valuesOf(patient, 'name'))).toEqual(['dupont', 'helene', 'marie', 'mme', 'phd', 'mme helene marie dupont']);
    expect(valuesOf(patient, 'given')).toEqual([
      { kind: 'string', normalized: 'helene', exact: 'Hélène', part: 'given' },
      { kind: 'string', normalized: 'marie', exact: 'Marie', part: 'given' },
    ]);
    expect(strings(valuesOf(patient, 'family'))).toEqual(['dupont']);
  });

  it('indexes every part of an Address', () => {
    expect(strings(valuesOf(patient, 'address'))).toEqual([
      '12 rue de la paix',
      'batiment b',
      'paris',
      'paris 2e',
      'ile-de-france',
      '75002',
      'fr',
      '12 rue de la paix, 75002 paris',
    ]);
    expect(strings(valuesOf(patient, 'address-city'))).toEqual(['paris']);
    expect(strings(valuesOf(patient, 'address-postalcode'))).toEqual(['75002']);
  });

  it('indexes a choice-typed string (Observation.value as string)', () => {
    const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: 'Légèrement élevé' };
    expect(valuesOf(observation, 'value-string')).toEqual([{ kind: 'string', normalized: 'legerement eleve', exact: 'Légèrement élevé', part: '' }]);
  });
});

describe('token parameters', () => {
  it('maps Coding, CodeableConcept (codings and text) with normalised display text', () => {
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: {
        coding: [
          { system: 'http://loinc.org', code: '29463-7', display: 'Body Weight' },
          { system: 'http://snomed.info/sct', code: '27113001' },
        ],
        text: 'Poids corporel',
      },
    };
    expect(valuesOf(observation, 'code')).toEqual([
      token('http://loinc.org', '29463-7', 'body weight'),
      token('http://snomed.info/sct', '27113001'),
      token(null, null, 'poids corporel'),
    ]);
    expect(valuesOf(observation, 'status')).toEqual([token(null, 'final')]);
    expect(valuesOf({ ...observation, meta: { tag: [{ system: 's', code: 'c', display: 'Étiquette' }] } }, '_tag')).toEqual([
      token('s', 'c', 'etiquette'),
    ]);
  });

  it('maps Identifier (type.text as text, system-only kept) and de-duplicates', () => {
    const patient = {
      resourceType: 'Patient',
      identifier: [
        { system: 'urn:oid:1.2.250.1.213.1.4.8', value: '1234567890123', type: { text: 'NIR' } },
        { system: 'urn:oid:1.2.250.1.213.1.4.8', value: '1234567890123', type: { text: 'NIR' } },
        { system: 'urn:oid:2.16.840.1.113883.2.4.6.3' },
        { type: { text: 'no system, no value' } },
      ],
    };
    expect(valuesOf(patient, 'identifier')).toEqual([
      token('urn:oid:1.2.250.1.213.1.4.8', '1234567890123', 'nir'),
      token('urn:oid:2.16.840.1.113883.2.4.6.3', null),
      token(null, null, 'no system, no value'),
    ]);
  });

  it('maps ContactPoint by system and value, and the where() filtered phone/email', () => {
    const practitioner = {
      resourceType: 'Practitioner',
      telecom: [
        { system: 'phone', value: '+33 1 23 45 67 89', use: 'work' },
        { system: 'email', value: 'dr.martin@example.org' },
        { system: 'fax' }, // no value: nothing to search
      ],
    };
    expect(valuesOf(practitioner, 'telecom')).toEqual([token('phone', '+33 1 23 45 67 89'), token('email', 'dr.martin@example.org')]);
    expect(valuesOf(practitioner, 'phone')).toEqual([token('phone', '+33 1 23 45 67 89')]);
    expect(valuesOf(practitioner, 'email')).toEqual([token('email', 'dr.martin@example.org')]);
  });

  it('maps code, boolean and computed booleans', () => {
    const patient = { resourceType: 'Patient', gender: 'female', active: false, deceasedBoolean: false };
    expect(valuesOf(patient, 'gender')).toEqual([token(null, 'female')]);
    expect(valuesOf(patient, 'active')).toEqual([token(null, 'false')]);
    // STU3's `Patient.deceased.exists()` would call this patient deceased; the R4 fix does not.
    expect(valuesOf(patient, 'deceased')).toEqual([token(null, 'false')]);
    expect(valuesOf({ resourceType: 'Patient' }, 'deceased')).toEqual([token(null, 'false')]);
    expect(valuesOf({ resourceType: 'Patient', deceasedBoolean: true }, 'deceased')).toEqual([token(null, 'true')]);
    expect(valuesOf({ resourceType: 'Patient', deceasedDateTime: '2020-02-01' }, 'deceased')).toEqual([token(null, 'true')]);
  });

  it('keeps only true type tests (Condition abatement-boolean)', () => {
    const condition = (extra: Json) => ({ resourceType: 'Condition', subject: { reference: 'Patient/1' }, ...extra });
    expect(valuesOf(condition({ abatementDateTime: '2020-01-01' }), 'abatement-boolean')).toEqual([token(null, 'true')]);
    expect(valuesOf(condition({ abatementBoolean: false }), 'abatement-boolean')).toEqual([token(null, 'false')]);
    expect(valuesOf(condition({}), 'abatement-boolean')).toEqual([]);
  });

  it('filters collections with as() like STU3 did (several Medication ingredients)', () => {
    const medication = {
      resourceType: 'Medication',
      ingredient: [
        { itemCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '203134' }] } },
        { itemCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '221167' }] } },
        { itemReference: { reference: 'Substance/s1' } },
      ],
    };
    expect(valuesOf(medication, 'ingredient-code').map((value) => value.kind === 'token' && value.code)).toEqual(['203134', '221167']);
    expect(valuesOf(medication, 'ingredient')).toEqual([reference('Substance', 's1')]);
  });
});

describe('reference parameters', () => {
  const observation = (subject: Json, extra: Json = {}) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject, ...extra });

  it('maps relative, versioned, absolute, urn and contained references', () => {
    expect(valuesOf(observation({ reference: 'Patient/1/_history/2' }), 'subject')).toEqual([reference('Patient', '1')]);
    expect(valuesOf(observation({ reference: 'https://fhir.example.org/r3/Patient/1' }), 'subject')).toEqual([
      reference('Patient', '1', 'https://fhir.example.org/r3/Patient/1'),
    ]);
    expect(valuesOf(observation({ reference: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a' }), 'subject')).toEqual([
      reference(null, null, 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a'),
    ]);
    const contained = observation({ reference: '#p' }, { contained: [{ resourceType: 'Patient', id: 'p' }] });
    expect(valuesOf(contained, 'subject')).toEqual([reference('Patient', null, '#p')]);
  });

  it('ignores identifier-only and display-only references', () => {
    expect(valuesOf(observation({ identifier: { system: 'urn:ins', value: '1' } }), 'subject')).toEqual([]);
    expect(valuesOf(observation({ display: 'Jean Martin' }), 'subject')).toEqual([]);
  });

  it('keeps a reference only under the parameters whose target types it matches', () => {
    const onPatient = observation({ reference: 'Patient/1' });
    const onGroup = observation({ reference: 'Group/1' });
    expect(valuesOf(onPatient, 'subject')).toEqual([reference('Patient', '1')]);
    expect(valuesOf(onPatient, 'patient')).toEqual([reference('Patient', '1')]);
    expect(valuesOf(onGroup, 'subject')).toEqual([reference('Group', '1')]);
    expect(valuesOf(onGroup, 'patient')).toEqual([]);
    // A reference of unknown type may point anywhere.
    expect(valuesOf(observation({ reference: 'urn:uuid:1' }), 'patient')).toEqual([reference(null, null, 'urn:uuid:1')]);
  });

  it("evaluates where(resolve() is Patient) without fetching", () => {
    const subjectIsPatient = compileFhirPath('Observation.subject.where(resolve() is Patient)', 'Observation');
    const patients = (resource: Json) => subjectIsPatient(resource, resource).map((item) => item.value);
    expect(patients(observation({ reference: 'Patient/1' }))).toEqual([{ reference: 'Patient/1' }]);
    expect(patients(observation({ reference: 'http://x/fhir/Patient/1' }))).toEqual([{ reference: 'http://x/fhir/Patient/1' }]);
    expect(patients(observation({ reference: 'Group/1' }))).toEqual([]);
    expect(patients(observation({ display: 'no reference' }))).toEqual([]);
    const contained = observation({ reference: '#g' }, { contained: [{ resourceType: 'Group', id: 'g', type: 'person', actual: true }] });
    expect(patients(contained)).toEqual([]);
    const containedPatient = observation({ reference: '#p' }, { contained: [{ resourceType: 'Patient', id: 'p' }] });
    expect(patients(containedPatient)).toEqual([{ reference: '#p' }]);
  });

  it('maps a uri under a reference parameter, and a resource in place of a reference', () => {
    const conceptMap = { resourceType: 'ConceptMap', status: 'draft', sourceUri: 'http://hl7.org/fhir/ValueSet/address-use' };
    expect(valuesOf(conceptMap, 'source-uri')).toEqual([reference('ValueSet', 'address-use', 'http://hl7.org/fhir/ValueSet/address-use')]);
    const document = {
      resourceType: 'Bundle',
      type: 'document',
      entry: [{ resource: { resourceType: 'Composition', id: 'c1' } }, { resource: { resourceType: 'Patient', id: 'p1' } }],
    };
    expect(valuesOf(document, 'composition')).toEqual([reference('Composition', 'c1')]);
    expect(valuesOf({ ...document, type: 'searchset', entry: document.entry.slice(1) }, 'composition')).toEqual([]);
  });
});

describe('date parameters', () => {
  it('gives a date the range of its precision, UTC when it has no zone', () => {
    expect(valuesOf({ resourceType: 'Patient', birthDate: '1974' }, 'birthdate')).toEqual([
      { kind: 'date', low: utc('1974-01-01T00:00:00Z'), high: utc('1975-01-01T00:00:00Z') },
    ]);
    expect(valuesOf({ resourceType: 'Patient', birthDate: '1974-12' }, 'birthdate')).toEqual([
      { kind: 'date', low: utc('1974-12-01T00:00:00Z'), high: utc('1975-01-01T00:00:00Z') },
    ]);
    expect(valuesOf({ resourceType: 'Patient', birthDate: '1974-12-25' }, 'birthdate')).toEqual([
      { kind: 'date', low: utc('1974-12-25T00:00:00Z'), high: utc('1974-12-26T00:00:00Z') },
    ]);
    expect(valuesOf({ resourceType: 'Patient', deceasedDateTime: '2020-03-01T10:30:00+01:00' }, 'death-date')).toEqual([
      { kind: 'date', low: utc('2020-03-01T09:30:00Z'), high: utc('2020-03-01T09:30:01Z') },
    ]);
  });

  it('maps a Period, with open ends', () => {
    const encounter = (period: Json) => ({ resourceType: 'Encounter', status: 'finished', period });
    expect(valuesOf(encounter({ start: '2020-01-01', end: '2020-01-03' }), 'date')).toEqual([
      { kind: 'date', low: utc('2020-01-01T00:00:00Z'), high: utc('2020-01-04T00:00:00Z') },
    ]);
    expect(valuesOf(encounter({ start: '2020-01-01T08:00:00Z' }), 'date')).toEqual([{ kind: 'date', low: utc('2020-01-01T08:00:00Z'), high: DATE_MAX }]);
    expect(valuesOf(encounter({ end: '2020-01' }), 'date')).toEqual([{ kind: 'date', low: DATE_MIN, high: utc('2020-02-01T00:00:00Z') }]);
    expect(valuesOf(encounter({}), 'date')).toEqual([]);
  });

  it('reads choice types: Observation effective as Period, value as dateTime', () => {
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      effectivePeriod: { start: '2021-05-01T10:00:00Z', end: '2021-05-01T11:00:00Z' },
      valueDateTime: '2021-04-30',
    };
    expect(valuesOf(observation, 'date')).toEqual([{ kind: 'date', low: utc('2021-05-01T10:00:00Z'), high: utc('2021-05-01T11:00:01Z') }]);
    expect(valuesOf(observation, 'value-date')).toEqual([{ kind: 'date', low: utc('2021-04-30T00:00:00Z'), high: utc('2021-05-01T00:00:00Z') }]);
  });

  it('maps a Timing to the span of its events and bounds', () => {
    const request = (occurrenceTiming: Json) => ({
      resourceType: 'ProcedureRequest',
      status: 'active',
      intent: 'order',
      code: { text: 'x' },
      subject: { reference: 'Patient/1' },
      occurrenceTiming,
    });
    expect(valuesOf(request({ event: ['2020-01-05', '2020-01-02T10:00:00Z'] }), 'occurrence')).toEqual([
      { kind: 'date', low: utc('2020-01-02T10:00:00Z'), high: utc('2020-01-06T00:00:00Z') },
    ]);
    expect(valuesOf(request({ repeat: { boundsPeriod: { start: '2020-02-01' }, frequency: 1, period: 1, periodUnit: 'd' } }), 'occurrence')).toEqual([
      { kind: 'date', low: utc('2020-02-01T00:00:00Z'), high: DATE_MAX },
    ]);
    expect(valuesOf(request({ repeat: { frequency: 1, period: 1, periodUnit: 'd' } }), 'occurrence')).toEqual([]);
  });
});

describe('number and quantity parameters', () => {
  const observation = (extra: Json) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...extra });

  it('maps a Quantity with the range of its precision, and comparators as open ends', () => {
    const [weight] = valuesOf(observation({ valueQuantity: { value: 72.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } }), 'value-quantity');
    expect(weight).toMatchObject({ kind: 'quantity', value: 72.5, system: 'http://unitsofmeasure.org', code: 'kg', unit: 'kg' });
    expect(weight.kind === 'quantity' && weight.low).toBeCloseTo(72.45, 10);
    expect(weight.kind === 'quantity' && weight.high).toBeCloseTo(72.55, 10);
    expect(valuesOf(observation({ valueQuantity: { value: 5, comparator: '<', unit: 'mmol/L' } }), 'value-quantity')).toEqual([
      { kind: 'quantity', value: 5, low: QUANTITY_MIN, high: 5.5, system: null, code: null, unit: 'mmol/L' },
    ]);
    expect(valuesOf(observation({ valueQuantity: { unit: 'kg' } }), 'value-quantity')).toEqual([]);
  });

  it('maps a Range to its low..high span, Age and Money as quantities', () => {
    const condition = (extra: Json) => ({ resourceType: 'Condition', subject: { reference: 'Patient/1' }, ...extra });
    expect(valuesOf(condition({ onsetRange: { low: { value: 10, unit: 'a' }, high: { value: 20, unit: 'a' } } }), 'onset-age')).toEqual([
      { kind: 'quantity', value: 10, low: 9.5, high: 20.5, system: null, code: null, unit: 'a' },
    ]);
    expect(valuesOf(condition({ onsetRange: { high: { value: 20, unit: 'a' } } }), 'onset-age')).toEqual([
      { kind: 'quantity', value: 20, low: QUANTITY_MIN, high: 20.5, system: null, code: null, unit: 'a' },
    ]);
    expect(valuesOf(condition({ onsetRange: { low: { value: 65, unit: 'a' } } }), 'onset-age')).toEqual([
      { kind: 'quantity', value: 65, low: 64.5, high: QUANTITY_MAX, system: null, code: null, unit: 'a' },
    ]);
    expect(valuesOf(condition({ onsetAge: { value: 52, system: 'http://unitsofmeasure.org', code: 'a' } }), 'onset-age')).toEqual([
      { kind: 'quantity', value: 52, low: 51.5, high: 52.5, system: 'http://unitsofmeasure.org', code: 'a', unit: null },
    ]);
    const account = { resourceType: 'Account', balance: { value: 120, system: 'urn:iso:std:iso:4217', code: 'EUR' } };
    expect(valuesOf(account, 'balance')).toEqual([
      { kind: 'quantity', value: 120, low: 119.5, high: 120.5, system: 'urn:iso:std:iso:4217', code: 'EUR', unit: null },
    ]);
  });

  it('maps numbers, and quantities under number parameters', () => {
    const assessment = { resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/1' }, prediction: [{ probabilityDecimal: 0.25 }] };
    const [probability] = valuesOf(assessment, 'probability');
    expect(probability).toMatchObject({ kind: 'number', value: 0.25 });
    expect(probability.kind === 'number' && probability.low).toBeCloseTo(0.245, 12);
    const encounter = { resourceType: 'Encounter', status: 'finished', length: { value: 140, unit: 'min' } };
    expect(valuesOf(encounter, 'length')).toEqual([{ kind: 'number', value: 140, low: 139.5, high: 140.5 }]);
  });
});

describe('uri parameters', () => {
  it('maps uri values', () => {
    const valueSet = { resourceType: 'ValueSet', status: 'draft', url: 'http://example.org/fhir/ValueSet/x' };
    expect(valuesOf(valueSet, 'url')).toEqual([{ kind: 'uri', value: 'http://example.org/fhir/ValueSet/x' }]);
  });
});

describe('composite parameters', () => {
  const quantity = (value: number, code: string) => ({ value, unit: code, system: 'http://unitsofmeasure.org', code });
  const bloodPressure = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
    component: [
      { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: quantity(107, 'mm[Hg]') },
      { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: quantity(60, 'mm[Hg]') },
      { code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, dataAbsentReason: { text: 'not measured' } },
    ],
  };
  const pair = (code: string, value: number): IndexValue => ({
    kind: 'composite',
    parts: [token('http://loinc.org', code), { kind: 'quantity', value, low: value - 0.5, high: value + 0.5, system: 'http://unitsofmeasure.org', code: 'mm[Hg]', unit: 'mm[Hg]' }],
  });

  it('correlates code and value on the same component', () => {
    expect(valuesOf(bloodPressure, 'component-code-value-quantity')).toEqual([pair('8480-6', 107), pair('8462-4', 60)]);
    expect(valuesOf(bloodPressure, 'combo-code-value-quantity')).toEqual([pair('8480-6', 107), pair('8462-4', 60)]);
    expect(valuesOf(bloodPressure, 'code-value-quantity')).toEqual([]); // the panel itself has no value
  });

  it('builds one composite per combination of component values on an element', () => {
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }, { system: 'http://snomed.info/sct', code: '27113001' }] },
      valueQuantity: quantity(72, 'kg'),
    };
    const parts = valuesOf(observation, 'code-value-quantity').map((value) => value.kind === 'composite' && value.parts.map((part) => (part.kind === 'token' ? part.code : part.kind)));
    expect(parts).toEqual([
      ['29463-7', 'quantity'],
      ['27113001', 'quantity'],
    ]);
  });

  it('orders DocumentReference relationship parts as its components (relatesto, relation)', () => {
    const document = {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { text: 'x' },
      indexed: '2020-01-01T00:00:00Z',
      content: [{ attachment: { url: 'Binary/1' } }],
      relatesTo: [{ code: 'replaces', target: { reference: 'DocumentReference/old' } }],
    };
    expect(valuesOf(document, 'relationship')).toEqual([{ kind: 'composite', parts: [reference('DocumentReference', 'old'), token(null, 'replaces')] }]);
  });

  it('evaluates components that reach the resource (%resource in Sequence coordinate)', () => {
    const sequence = {
      resourceType: 'Sequence',
      type: 'dna',
      coordinateSystem: 0,
      referenceSeq: { chromosome: { coding: [{ system: 'http://hl7.org/fhir/chromosome-human', code: '1' }] }, windowStart: 0, windowEnd: 100 },
      variant: [{ start: 10, end: 12 }],
    };
    expect(valuesOf(sequence, 'coordinate')).toEqual([
      {
        kind: 'composite',
        parts: [token('http://hl7.org/fhir/chromosome-human', '1'), { kind: 'number', value: 10, low: 9.5, high: 10.5 }, { kind: 'number', value: 12, low: 11.5, high: 12.5 }],
      },
    ]);
  });
});

describe('robustness', () => {
  it('never throws on odd data', () => {
    const odd: Json[] = [
      { resourceType: 'Nonsense' },
      { resourceType: 42 },
      { resourceType: 'Patient', name: 'not an array', birthDate: '2017-02-30', telecom: [null, 3, 'x'], identifier: [{ value: 7 }] },
      { resourceType: 'Patient', name: [{ given: [null, 'Jean'], _given: [{ extension: [] }, null] }], _birthDate: { extension: [] } },
      { resourceType: 'Observation', valueQuantity: { value: 'heavy' }, component: [null, { code: 'x' }], subject: 'Patient/1' },
      { resourceType: 'Observation', effectivePeriod: { start: 'yesterday' }, valueRange: { low: 'x' }, code: { coding: 'bad' } },
      { resourceType: 'Encounter', period: 'always', length: { value: Infinity } },
      { resourceType: 'Bundle', entry: [{ resource: null }, { resource: 'x' }] },
    ];
    for (const resource of odd) expect(() => extractSearchValues(definitions, resource)).not.toThrow();
    expect(extractSearchValues(definitions, { resourceType: 'Nonsense' })).toEqual([]);
    expect(valuesOf(odd[3], 'given')).toEqual([{ kind: 'string', normalized: 'jean', exact: 'Jean', part: 'given' }]);
  });
});

describe('the official examples', () => {
  const examples = readAllExamples();

  // Measured when written: 5,269 (parameter, example) pairs with values; the floor leaves room for definition
  // fixes that drop wrong values (a regression that loses whole parameters still fails).
  const FLOOR = 5200;
  const pairs = examples.reduce((count, resource) => count + indexedValues(resource).size, 0);

  it(`yield values for ${pairs} (parameter, example) pairs over ${examples.length} examples, without throwing`, () => {
    expect(examples).toHaveLength(666);
    expect(pairs).toBeGreaterThanOrEqual(FLOOR);
  });

  it('index every value kind', () => {
    const kinds = new Set(examples.flatMap((resource) => extractSearchValues(definitions, resource).flatMap((parameter) => parameter.values.map((value) => value.kind))));
    expect([...kinds].sort()).toEqual(['composite', 'date', 'number', 'quantity', 'reference', 'string', 'token', 'uri']);
  });

  it('give the same values with the fast path as with fhirpath.js alone', () => {
    const differing = examples
      .filter((resource) => !isDeepStrictEqual(extractSearchValuesUsing('auto', definitions, resource), extractSearchValuesUsing('fhirpath.js', definitions, resource)))
      .map((resource) => `${resource.resourceType}/${resource.id}`);
    expect(differing).toEqual([]);
  });

  it('evaluate every branch the walker takes exactly as fhirpath.js does', () => {
    let branches = 0;
    let walked = 0;
    const differing: string[] = [];
    for (const resource of examples as Resource[]) {
      for (const definition of definitions.ofType(resource.resourceType).values()) {
        for (const branch of definition.expression ? branchesFor(definition.expression, resource.resourceType) : []) {
          branches++;
          if (!walkerHandles(branch, resource.resourceType)) continue;
          walked++;
          const fast = compileFhirPath(branch, resource.resourceType)(resource, resource).map((item) => item.value);
          const reference = compileFhirPath(branch, resource.resourceType, 'fhirpath.js')(resource, resource).map((item) => item.value);
          if (!isDeepStrictEqual(fast, reference)) differing.push(`${resource.resourceType}/${resource.id} ${branch}`);
        }
      }
    }
    expect(differing).toEqual([]);
    expect(walked / branches).toBeGreaterThan(0.99);
  });
});

describe('STU3 expressions in today\'s FHIRPath', () => {
  it('filters with ofType() and names FHIR primitive types', () => {
    expect(stu3SearchExpression('Observation.value.as(DateTime) | Observation.value.as(Period)')).toBe(
      'Observation.value.ofType(dateTime) | Observation.value.ofType(Period)',
    );
    expect(stu3SearchExpression('ConceptMap.source.as(Uri)')).toBe('ConceptMap.source.ofType(uri)');
    expect(stu3SearchExpression('Condition.abatement.is(dateTime)')).toBe('Condition.abatement.is(dateTime)');
  });
});
