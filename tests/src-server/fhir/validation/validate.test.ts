import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isResourceType, resourceTypes } from '../../../../src-server/fhir/validation/model';
import { validateResource, type ValidationIssue } from '../../../../src-server/fhir/validation/validate';

// Test-only reference data (the product itself never reads ../shared).
const sharedDir =
  process.env.FHIR_SHARED_DIR ?? fileURLToPath(new URL('../../../../../shared/fhir/stu3/', import.meta.url));

type Json = Record<string, unknown>;

const patient = (extra: Json = {}): Json => ({ resourceType: 'Patient', id: 'p1', ...extra });
const observation = (extra: Json = {}): Json => ({
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'weight' },
  ...extra,
});

/** Asserts exactly one issue, with this code and expression. */
function expectOne(resource: unknown, code: ValidationIssue['code'], expression: string): ValidationIssue {
  const issues = validateResource(resource);
  expect(issues, JSON.stringify(issues)).toHaveLength(1);
  expect(issues[0]).toMatchObject({ severity: 'error', code, expression });
  expect(issues[0].diagnostics).not.toBe('');
  return issues[0];
}

const expectValid = (resource: unknown) => expect(validateResource(resource)).toEqual([]);
/** CPU time of this process since `start`, in ms: what a costly input costs, whatever else the machine is doing. */
const cpuMs = (start: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000;
};

describe('model', () => {
  it('knows the concrete STU3 resource types', () => {
    const types = resourceTypes();
    expect(types).toHaveLength(117);
    expect([...types].sort()).toEqual(types);
    expect(isResourceType('Patient')).toBe(true);
    expect(isResourceType('Bundle')).toBe(true);
    expect(isResourceType('DomainResource')).toBe(false);
    expect(isResourceType('Resource')).toBe(false);
    expect(isResourceType('HumanName')).toBe(false);
    expect(isResourceType('patient')).toBe(false);
  });
});

describe('official STU3 examples', () => {
  // Examples that genuinely violate the StructureDefinitions (missing 1..1 elements), with the issues expected.
  const exclusions: Record<string, { reason: string; expressions: RegExp }> = {
    'ImplementationGuide/fhir': {
      reason: 'the "FHIR Core package" guide has no name and no status, both 1..1',
      expressions: /^ImplementationGuide\.(name|status)$/,
    },
    'Questionnaire/qs1': {
      reason: 'nested items (Questionnaire.item.item, via #Questionnaire.item) have no linkId, which is 1..1',
      expressions: /^Questionnaire\.item\[0\](\.item\[\d+\])+\.linkId$/,
    },
  };

  it('all 666 resources of examples-all.ndjson validate, except the listed exclusions', () => {
    const lines = readFileSync(`${sharedDir}/examples-all.ndjson`, 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(666);
    const failing: Record<string, ValidationIssue[]> = {};
    for (const line of lines) {
      const resource = JSON.parse(line) as Json;
      const issues = validateResource(resource);
      if (issues.length) failing[`${String(resource.resourceType)}/${String(resource.id)}`] = issues;
    }
    const unexpected = Object.fromEntries(Object.entries(failing).filter(([key]) => !(key in exclusions)));
    expect(unexpected).toEqual({});
    expect(Object.keys(failing).sort()).toEqual(Object.keys(exclusions).sort());
    for (const [key, { expressions }] of Object.entries(exclusions)) {
      for (const issue of failing[key]) {
        expect(issue.code).toBe('required');
        expect(issue.expression).toMatch(expressions);
      }
    }
  });

  it('all files of examples/ validate', () => {
    const dir = `${sharedDir}/examples`;
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(100);
    const failing = files
      .map((f) => [f, validateResource(JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')))] as const)
      .filter(([, issues]) => issues.length > 0);
    expect(failing).toEqual([]);
  });
});

describe('resource envelope', () => {
  it('requires a JSON object', () => {
    expectOne(null, 'structure', 'Resource');
    expectOne([patient()], 'structure', 'Resource');
    expectOne('Patient', 'structure', 'Resource');
  });

  it('requires a known concrete resourceType', () => {
    expectOne({ id: 'x' }, 'required', 'Resource');
    expectOne({ resourceType: 42 }, 'invalid', 'Resource');
    expectOne({ resourceType: 'Foo', id: 'x' }, 'invalid', 'Resource');
    expectOne({ resourceType: 'patient' }, 'invalid', 'Resource');
    expectOne({ resourceType: 'DomainResource' }, 'invalid', 'Resource');
    expectValid({ resourceType: 'Patient' });
  });

  it('allows resourceType only on resources', () => {
    expectOne(patient({ name: [{ resourceType: 'HumanName', family: 'Chalmers' }] }), 'structure', 'Patient.name[0].resourceType');
  });
});

describe('elements', () => {
  it('refuses unknown elements, at any level', () => {
    expectOne(patient({ foo: 1 }), 'structure', 'Patient.foo');
    expectOne(patient({ name: [{ family: 'Chalmers', nickname: 'Jim' }] }), 'structure', 'Patient.name[0].nickname');
    expectOne(patient({ contact: [{ gender: 'male', age: 3 }] }), 'structure', 'Patient.contact[0].age');
    // Not part of STU3 JSON (it was DSTU2's), and no STU3 example uses it.
    expectOne(patient({ fhir_comments: ['hello'] }), 'structure', 'Patient.fhir_comments');
  });

  it('accepts choice elements by their type suffix only', () => {
    expectValid(patient({ deceasedBoolean: false }));
    expectValid(patient({ deceasedDateTime: '2015-02-14T13:42:00+10:00' }));
    expectValid(patient({ multipleBirthInteger: 2 }));
    expectOne(patient({ deceasedString: 'yes' }), 'structure', 'Patient.deceasedString');
    expectOne(observation({ valueFoo: 'x' }), 'structure', 'Observation.valueFoo');
    expectOne(observation({ value: 'x' }), 'structure', 'Observation.value');
    expectOne(observation({ 'value[x]': 'x' }), 'structure', 'Observation.value[x]');
    expectValid(observation({ valueQuantity: { value: 72.5, unit: 'kg' } }));
    expectOne(observation({ valueQuantity: { value: '72.5' } }), 'value', 'Observation.valueQuantity.value');
  });

  it('allows a single type of a choice element', () => {
    expectOne(patient({ deceasedBoolean: true, deceasedDateTime: '2015' }), 'structure', 'Patient.deceasedDateTime');
    expectOne(patient({ deceasedBoolean: true, _deceasedDateTime: { id: 'd' } }), 'structure', 'Patient._deceasedDateTime');
    expectValid(patient({ deceasedBoolean: true, _deceasedBoolean: { id: 'd' } }));
  });

  it('requires elements with min >= 1', () => {
    const issues = validateResource({ resourceType: 'Observation' });
    expect(issues.map((i) => `${i.code} ${i.expression}`).sort()).toEqual(['required Observation.code', 'required Observation.status']);
    expectOne(observation({ status: undefined }), 'required', 'Observation.status');
    expectOne(observation({ component: [{ valueString: 'x' }] }), 'required', 'Observation.component[0].code');
    expectOne(patient({ communication: [{ preferred: true }] }), 'required', 'Patient.communication[0].language');
    expectOne(patient({ extension: [{ valueString: 'x' }] }), 'required', 'Patient.extension[0].url');
    // An extension may stand for a required primitive value.
    const absent = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] };
    expectValid(observation({ status: undefined, _status: absent }));
  });

  it('reports a missing required choice element by its [x] name', () => {
    const substance = { resourceType: 'Substance', code: { text: 's' }, ingredient: [{ quantity: { numerator: { value: 1 } } }] };
    expectOne(substance, 'required', 'Substance.ingredient[0].substance[x]');
    expectValid({ ...substance, ingredient: [{ substanceCodeableConcept: { text: 'water' } }] });
    expectValid({ ...substance, ingredient: [{ substanceReference: { reference: 'Substance/1' } }] });
  });

  it('validates backbone elements of datatypes (Element-typed, e.g. Timing.repeat)', () => {
    const timing = (repeat: Json) => patient({ extension: [{ url: 'http://example.org/x', valueTiming: { repeat } }] });
    expectValid(timing({ frequency: 2, period: 1, periodUnit: 'd' }));
    expectOne(timing({ foo: 1 }), 'structure', 'Patient.extension[0].valueTiming.repeat.foo');
    expectOne(timing({ frequency: 1.5 }), 'value', 'Patient.extension[0].valueTiming.repeat.frequency');
  });
});

describe('cardinality and JSON shape', () => {
  it('refuses an array where a single value is expected', () => {
    expectOne(patient({ gender: ['male'] }), 'structure', 'Patient.gender');
    expectOne(patient({ birthDate: ['1974-12-25'] }), 'structure', 'Patient.birthDate');
    expectOne(patient({ maritalStatus: [{ text: 'married' }] }), 'structure', 'Patient.maritalStatus');
    expectOne(patient({ name: [{ family: ['Chalmers'] }] }), 'structure', 'Patient.name[0].family');
  });

  it('refuses a single value where an array is expected', () => {
    expectOne(patient({ name: { family: 'Chalmers' } }), 'structure', 'Patient.name');
    expectOne(patient({ name: [{ given: 'Peter' }] }), 'structure', 'Patient.name[0].given');
    expectOne(patient({ identifier: { value: '12345' } }), 'structure', 'Patient.identifier');
  });

  it('refuses empty arrays, empty objects and nulls', () => {
    expectOne(patient({ name: [] }), 'structure', 'Patient.name');
    expectOne(patient({ name: [{ given: [] }] }), 'structure', 'Patient.name[0].given');
    expectOne(patient({ maritalStatus: {} }), 'structure', 'Patient.maritalStatus');
    expectOne(patient({ gender: null }), 'structure', 'Patient.gender');
    expectOne(patient({ maritalStatus: null }), 'structure', 'Patient.maritalStatus');
    expectOne(patient({ name: [null] }), 'structure', 'Patient.name[0]');
    expectOne(patient({ name: [{ given: ['Peter', null] }] }), 'structure', 'Patient.name[0].given[1]');
  });

  it('refuses a wrong nested type', () => {
    expectOne(patient({ name: ['Peter Chalmers'] }), 'structure', 'Patient.name[0]');
    expectOne(patient({ maritalStatus: 'M' }), 'structure', 'Patient.maritalStatus');
    expectOne(patient({ contact: [{ name: [{ family: 'x' }] }] }), 'structure', 'Patient.contact[0].name');
    expectOne(patient({ birthDate: { value: '1974-12-25' } }), 'structure', 'Patient.birthDate');
    expectOne(patient({ name: [{ period: { start: 1974 } }] }), 'value', 'Patient.name[0].period.start');
  });
});

describe('primitive values', () => {
  it('checks the JSON type', () => {
    expectOne(patient({ active: 'true' }), 'value', 'Patient.active');
    expectOne(patient({ active: 1 }), 'value', 'Patient.active');
    expectOne(patient({ gender: 1 }), 'value', 'Patient.gender');
    expectOne(patient({ multipleBirthInteger: '2' }), 'value', 'Patient.multipleBirthInteger');
    expectOne(patient({ name: [{ given: ['Peter', 42] }] }), 'value', 'Patient.name[0].given[1]');
  });

  it('refuses empty strings', () => {
    expectOne(patient({ name: [{ given: ['Peter', ''] }] }), 'value', 'Patient.name[0].given[1]');
    expectOne(patient({ name: [{ family: '' }] }), 'value', 'Patient.name[0].family');
    expectOne(patient({ gender: '' }), 'value', 'Patient.gender');
  });

  it('checks dates against the calendar', () => {
    expectValid(patient({ birthDate: '1974-12-25' }));
    expectValid(patient({ birthDate: '1974-12' }));
    expectValid(patient({ birthDate: '1974' }));
    expectOne(patient({ birthDate: '1974-13-45' }), 'value', 'Patient.birthDate');
    expectOne(patient({ birthDate: '1974-12-32' }), 'value', 'Patient.birthDate');
    expectOne(patient({ birthDate: '1974-12-00' }), 'value', 'Patient.birthDate');
    expectOne(patient({ birthDate: '2017-02-30' }), 'value', 'Patient.birthDate');
    expectOne(patient({ birthDate: '2017-04-31' }), 'value', 'Patient.birthDate');
    expectOne(patient({ birthDate: '1974-1-5' }), 'value', 'Patient.birthDate');
    expectOne(patient({ birthDate: '1974-12-25T10:00:00Z' }), 'value', 'Patient.birthDate');
  });

  it('handles leap years', () => {
    expectValid(patient({ birthDate: '2016-02-29' }));
    expectValid(patient({ birthDate: '2000-02-29' }));
    expectOne(patient({ birthDate: '2017-02-29' }), 'value', 'Patient.birthDate');
    expectOne(patient({ birthDate: '1900-02-29' }), 'value', 'Patient.birthDate');
    expectValid(patient({ deceasedDateTime: '2016-02-29T23:59:59Z' }));
    expectOne(patient({ deceasedDateTime: '2017-02-29T10:00:00Z' }), 'value', 'Patient.deceasedDateTime');
  });

  it('requires a time zone on instant, and on dateTime with a time', () => {
    expectValid(patient({ meta: { lastUpdated: '2017-01-01T10:00:00Z' } }));
    expectValid(patient({ meta: { lastUpdated: '2017-01-01T10:00:00.123+02:00' } }));
    expectOne(patient({ meta: { lastUpdated: '2017-01-01T10:00:00' } }), 'value', 'Patient.meta.lastUpdated');
    expectOne(patient({ meta: { lastUpdated: '2017-01-01' } }), 'value', 'Patient.meta.lastUpdated');
    expectOne(patient({ meta: { lastUpdated: '2017-02-30T10:00:00Z' } }), 'value', 'Patient.meta.lastUpdated');
    expectValid(patient({ deceasedDateTime: '2015-02' }));
    expectOne(patient({ deceasedDateTime: '2015-02-14T13:42:00' }), 'value', 'Patient.deceasedDateTime');
    expectOne(patient({ deceasedDateTime: '2015-02-14T13:42Z' }), 'value', 'Patient.deceasedDateTime');
  });

  // Each primitive type through an extension value: [type suffix, valid values, invalid values].
  const cases: Array<[string, unknown[], unknown[]]> = [
    ['Boolean', [true, false], ['true', 0, null]],
    ['Integer', [0, -5, 2147483647, -2147483648], [1.5, 2147483648, -2147483649, '1']],
    ['UnsignedInt', [0, 7], [-1, 1.2, 2147483648]],
    ['PositiveInt', [1, 2147483647], [0, -3]],
    ['Decimal', [0, -1.25, 1e10], ['1.0', true]],
    ['String', ['x', ' padded '], ['', 3]],
    ['Markdown', ['# title'], ['']],
    ['Code', ['male', 'a b'], [' male', 'male ', 'a  b', '', 'x\n']],
    ['Id', ['a-B.9', 'x'.repeat(64)], ['a_b', 'a b', 'x'.repeat(65), '']],
    ['Uri', ['http://example.org/a?b=c', 'urn:uuid:1'], ['http://example.org/a b', '']],
    ['Oid', ['urn:oid:1.2.840.10008'], ['1.2.840', 'urn:oid:1.02']],
    ['Base64Binary', ['SGVsbG8=', 'SGVs\nbG8h'], ['SGVsbG8', 'SGVs*G8=', 'SG=sbG8=']],
    ['Time', ['10:30:00', '23:59:59.5'], ['24:00:00', '10:30', '10:30:00Z']],
    ['Date', ['2012', '2012-03', '2012-03-31'], ['2012-02-30', '2012-3', '20120301']],
    ['DateTime', ['2012', '2012-03-31T10:00:00-05:00'], ['2012-03-31T10:00:00', '2012-03-31T25:00:00Z']],
    ['Instant', ['2012-03-31T10:00:00Z'], ['2012-03-31T10:00:00', '2012-03-31']],
  ];
  for (const [suffix, good, bad] of cases) {
    it(`checks ${suffix} values`, () => {
      const withValue = (v: unknown) => patient({ extension: [{ url: 'http://example.org/x', [`value${suffix}`]: v }] });
      for (const v of good) expect(validateResource(withValue(v)), JSON.stringify(v)).toEqual([]);
      for (const v of bad) {
        const issues = validateResource(withValue(v));
        expect(issues, JSON.stringify(v)).toHaveLength(1);
        expect(issues[0]).toMatchObject({ expression: `Patient.extension[0].value${suffix}` });
        expect(['value', 'structure']).toContain(issues[0].code);
      }
    });
  }

  it('checks ids of resources', () => {
    expectOne(patient({ id: 'a/b' }), 'value', 'Patient.id');
    expectOne(patient({ id: 7 }), 'value', 'Patient.id');
  });

  it('checks that the narrative is a div', () => {
    const text = (div: string) => patient({ text: { status: 'generated', div } });
    expectValid(text('<div xmlns="http://www.w3.org/1999/xhtml"><p>Peter</p></div>'));
    expectOne(text('<p>Peter</p>'), 'value', 'Patient.text.div');
    expectOne(patient({ text: { div: '<div>x</div>' } }), 'required', 'Patient.text.status');
    expectOne(patient({ text: { status: 'generated', div: '<div>x</div>', _div: { id: 'a' } } }), 'structure', 'Patient.text._div');
  });

  it('answers quickly on code values built to make its regex backtrack', () => {
    const start = process.cpuUsage();
    expectOne(patient({ gender: 'a'.repeat(50_000) + ' ' }), 'value', 'Patient.gender');
    expect(cpuMs(start)).toBeLessThan(100);
  });
});

describe('primitive extensions (_name)', () => {
  const ext = { extension: [{ url: 'http://example.org/fhir/StructureDefinition/precision', valueCode: 'day' }] };

  it('accepts an _element object, with or without its value', () => {
    expectValid(patient({ birthDate: '1974-12-25', _birthDate: ext }));
    expectValid(patient({ _birthDate: ext }));
    expectValid(patient({ _birthDate: { id: 'bd' } }));
    expectValid(observation({ valueString: 'x', _valueString: ext }));
  });

  it('checks the _element object', () => {
    expectOne(patient({ _birthDate: 'x' }), 'structure', 'Patient._birthDate');
    expectOne(patient({ _birthDate: null }), 'structure', 'Patient._birthDate');
    expectOne(patient({ _birthDate: [ext] }), 'structure', 'Patient._birthDate');
    expectOne(patient({ _birthDate: {} }), 'structure', 'Patient._birthDate');
    expectOne(patient({ _birthDate: { value: '1974' } }), 'structure', 'Patient._birthDate.value');
    expectOne(patient({ _birthDate: { extension: [{ valueCode: 'day' }] } }), 'required', 'Patient._birthDate.extension[0].url');
    // Only primitives have a _name form.
    expectOne(patient({ _maritalStatus: ext }), 'structure', 'Patient._maritalStatus');
    expectOne(patient({ _foo: ext }), 'structure', 'Patient._foo');
  });

  it('aligns _element arrays with primitive arrays, nulls standing for the missing side', () => {
    const name = (given: unknown, _given: unknown) => patient({ name: [{ given, _given }] });
    expectValid(name(['Bénédicte', 'Denise', 'Marie'], [null, ext, null]));
    expectValid(name(['Bénédicte', null], [null, ext]));
    expectValid(name(undefined, [ext, ext]));
    expectOne(name(['Bénédicte', 'Denise'], [ext]), 'structure', 'Patient.name[0]._given');
    expectOne(name(['Bénédicte', null], [ext, null]), 'structure', 'Patient.name[0].given[1]');
    expectOne(name(['Bénédicte'], ext), 'structure', 'Patient.name[0]._given');
    expectOne(name(['Bénédicte'], []), 'structure', 'Patient.name[0]._given');
    expectOne(name(['Bénédicte', 'Denise'], [null, 'x']), 'structure', 'Patient.name[0]._given[1]');
    expectOne(name(['Bénédicte', ''], [null, ext]), 'value', 'Patient.name[0].given[1]');
  });
});

describe('nested structures', () => {
  it('follows content references (#Questionnaire.item)', () => {
    const q = (item: Json) => ({ resourceType: 'Questionnaire', status: 'draft', item: [{ linkId: '1', type: 'group', item: [item] }] });
    expectValid(q({ linkId: '1.1', type: 'string', item: [{ linkId: '1.1.1', type: 'display' }] }));
    expectOne(q({ linkId: '1.1', type: 'string', colour: 'red' }), 'structure', 'Questionnaire.item[0].item[0].colour');
    expectOne(q({ type: 'string' }), 'required', 'Questionnaire.item[0].item[0].linkId');
    expectOne(q({ linkId: '1.1', type: 'string', item: [{ linkId: 'x' }] }), 'required', 'Questionnaire.item[0].item[0].item[0].type');
  });

  it('validates contained resources as their declared type', () => {
    const org = { resourceType: 'Organization', id: 'org1', name: 'ACME' };
    expectValid(patient({ contained: [org], managingOrganization: { reference: '#org1' } }));
    expectOne(patient({ contained: [org, { ...org, id: 'org2', name: 5 }] }), 'value', 'Patient.contained[1].name');
    expectOne(patient({ contained: [{ ...org, gender: 'male' }] }), 'structure', 'Patient.contained[0].gender');
    expectOne(patient({ contained: [{ id: 'x', name: 'ACME' }] }), 'required', 'Patient.contained[0]');
    expectOne(patient({ contained: [{ resourceType: 'Nope', id: 'x' }] }), 'invalid', 'Patient.contained[0]');
    const issues = validateResource(patient({ contained: [org, { resourceType: 'Observation', id: 'o' }] }));
    expect(issues.map((i) => `${i.code} ${i.expression}`).sort()).toEqual([
      'required Patient.contained[1].code',
      'required Patient.contained[1].status',
    ]);
  });

  it('validates Bundle entries and Parameters resources', () => {
    const entry = (resource: Json) => ({ fullUrl: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a', resource });
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [entry(patient()), entry(observation()), entry(patient({ gender: 12 }))],
    };
    expectOne(bundle, 'value', 'Bundle.entry[2].resource.gender');
    expectOne({ ...bundle, entry: [entry(patient({ name: 'x' }))] }, 'structure', 'Bundle.entry[0].resource.name');
    expectOne({ ...bundle, entry: [{ resource: 'Patient/1' }] }, 'structure', 'Bundle.entry[0].resource');
    const parameters = { resourceType: 'Parameters', parameter: [{ name: 'p', resource: { resourceType: 'Observation' } }] };
    const issues = validateResource(parameters);
    expect(issues.map((i) => `${i.code} ${i.expression}`).sort()).toEqual([
      'required Parameters.parameter[0].resource.code',
      'required Parameters.parameter[0].resource.status',
    ]);
  });
});

describe('depth limit', () => {
  const nest = (levels: number): Json => {
    let ext: Json = { url: 'http://example.org/leaf', valueString: 'leaf' };
    for (let i = 0; i < levels; i++) ext = { url: 'http://example.org/level', extension: [ext] };
    return patient({ extension: [ext] });
  };

  it('validates reasonably nested resources', () => {
    expectValid(nest(25));
  });

  it('answers 10,000 nested extension levels with one too-costly issue, quickly', () => {
    const deep = nest(10_000);
    const start = process.cpuUsage();
    const issues = validateResource(deep);
    expect(cpuMs(start)).toBeLessThan(100);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ severity: 'error', code: 'too-costly' });
    expect(issues[0].expression).toMatch(/^Patient\.extension\[0\](\.extension\[0\])+$/);
  });

  it('honours the maxDepth option', () => {
    const resource = patient({ name: [{ period: { start: '2001' } }] }); // Patient > name[] > {} > period
    expect(validateResource(resource, { maxDepth: 4 })).toEqual([]);
    const issues = validateResource(resource, { maxDepth: 3 });
    expect(issues).toEqual([expect.objectContaining({ code: 'too-costly', expression: 'Patient.name[0].period' })]);
  });
});

describe('input limits', () => {
  /** Elements as docs/architecture.md defines them: every object and every string, number or boolean; arrays and nulls not. */
  const elements = (value: unknown): number => {
    if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + elements(item), 0);
    if (value === null) return 0;
    if (typeof value === 'object') return Object.values(value).reduce((sum: number, item) => sum + elements(item), 1);
    return 1;
  };

  /** The resource with tags added to `meta` until it has exactly `total` elements (a tag of a code is 2, with a system 3). */
  const padded = (resource: Json, total: number): Json => {
    const meta = (resource.meta ?? {}) as Json;
    const tag = [...((meta.tag ?? []) as Json[])];
    const copy = { ...resource, meta: { ...meta, tag } };
    let missing = total - elements(copy);
    if (missing % 2 === 1) {
      tag.push({ system: 'urn:liaison:test', code: 'odd' });
      missing -= 3;
    }
    for (let index = 0; index < missing / 2; index++) tag.push({ code: `t${index}` });
    expect(elements(copy)).toBe(total);
    return copy;
  };

  it('counts the elements of a resource as documented: primitive extensions, nulls, contained and entry resources included', () => {
    for (const file of ['Patient-null.json', 'RelatedPerson-benedicte.json', 'Communication-fm-solicited.json', 'Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json']) {
      const example = JSON.parse(readFileSync(`${sharedDir}/examples/${file}`, 'utf8')) as Json;
      expect(validateResource(padded(example, 100_000)), file).toEqual([]);
      const issues = validateResource(padded(example, 100_001));
      expect(issues, file).toEqual([expect.objectContaining({ code: 'too-costly', diagnostics: expect.stringMatching(/at most 100,000 elements/) })]);
    }
  });

  it('bounds inline binary data by the Binary limit, decoded, rather than by the string limit', () => {
    const MiB = 1024 * 1024;
    expectValid({ resourceType: 'Binary', contentType: 'application/pdf', content: Buffer.alloc(50 * MiB - 1).toString('base64') });
    const issue = expectOne({ resourceType: 'Binary', contentType: 'application/pdf', content: Buffer.alloc(50 * MiB).toString('base64') }, 'too-long', 'Binary.content');
    expect(issue.diagnostics).toMatch(/less than 50 MiB/);
    // Any other string: 1 MiB of UTF-8.
    expectOne(patient({ gender: 'x'.repeat(MiB + 1) }), 'too-long', 'Patient.gender');
  });
});
