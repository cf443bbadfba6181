/**
 * The official FHIRPath test suite of STU3 (HL7/FHIRPath, tests-fhir-r3.xml: 547 active tests) against fhirpath.js
 * with its STU3 model, the engine search extraction relies on. The suite was written for FHIRPath STU1; fhirpath.js
 * implements FHIRPath N1/2.0, so part of the suite describes semantics that have since changed. Every failure is
 * listed below by reason; none of them is on a path search extraction uses. The fhirpath.js behaviours that do
 * matter for search (found on the STU3 definitions and examples, not by this suite) are pinned at the end with the
 * extractor's workaround for each.
 */
import { describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import fhirpath from 'fhirpath';
import stu3 from 'fhirpath/fhir-context/stu3';
import { compileFhirPath } from '../../../../src-server/fhir/search/fhirpath';
import { SHARED_FHIR } from '../../../helpers/fhir-data';
import { fhirXmlToJson, parseXml } from '../../../helpers/fhir-xml';

const SUITE = `${SHARED_FHIR}/../fhirpath-tests/stu3`;

/** Measured with fhirpath 5.2.2: 415 of 547. */
const PASS_FLOOR = 415;

const KNOWN_FAILURES: Array<{ reason: string; expressions: Array<string | RegExp> }> = [
  {
    reason: 'STU1 type functions (isInteger(), isString()…), renamed convertsToInteger()… in N1 (61 tests)',
    expressions: [/\.is(Integer|String|Decimal|Boolean|DateTime|Time|Quantity)\(\)/],
  },
  {
    reason: 'STU1 empty-collection logic: `x = {}`, `{} and true`… were true/false, N1 propagates empty (22)',
    expressions: [
      'Patient.name.given != {}',
      "'1.1'.toInteger() = {}",
      '{} = {}',
      '{} != {}',
      '(1 | 2).intersect(4) = {}',
      '(1 | 2).intersect({}) = {}',
      /^\(?(true|false|\{\}) (and|or|xor|implies) (true|false|\{\})\)? = (\{\}|true)$/,
    ],
  },
  {
    reason: 'Date/time comparisons across precisions: N1 answers empty, STU1 answered; and a TZ test against N1 (9)',
    expressions: [
      /^Patient\.birthDate != @1974-12-25T12:34:00/,
      '@2012-04-15 = @2012-04-15T10:00:00',
      '@2012-04-15 != @2012-04-15T10:00:00',
      '@2012-04-15 ~ @2012-04-15T10:00:00',
      '@2012-04-15 !~ @2012-04-15T10:00:00',
      '@2017-11-05T01:30:00.0-04:00 = @2017-11-05T00:30:00.0-05:00',
    ],
  },
  {
    reason: 'Decimal precision in equality and division (1.10 = 1.1 was false in STU1) (6)',
    expressions: ['1.10 = 1.1', '0.0 = 0', '1.10 != 1.1', '0.0 != 0', '1.toDecimal() != 1.0', '1.2 / 1.8 = 0.67'],
  },
  {
    reason: 'STU1 syntax: double-quoted identifiers (N1 uses backticks), time literals with a zone (5)',
    expressions: ['name."given"', /%"(vs|ext)-/, '@T14:34:28Z.isTime()', '@T14:34:28+10:00.isTime()'],
  },
  {
    reason: 'Static checks fhirpath.js does not make: unknown elements, JSON choice names, ordered functions (6)',
    expressions: [
      'name.given1',
      'Encounter.name.given',
      'Observation.valueQuantity.unit',
      '(Observation.value as Period).unit',
      'Patient.children().skip(1)',
      'Observation.value.value < \'test\'',
    ],
  },
  {
    reason: 'fhirpath.js defect: `~` between collections depends on their order (2)',
    expressions: ['name.given ~ name.last().given | name.first().given', 'name.given !~ name.last().given | name.first().given'],
  },
  {
    reason: 'Test file defects: empty expected outputs, a Questionnaire input in pre-STU3 form (concept, not code) (6)',
    expressions: [
      'Observation.value.unit',
      'Questionnaire.descendants().linkId.distinct()',
      'Questionnaire.descendants().linkId.select(substring(0,1)).distinct()',
      /^Questionnaire\.(repeat\(item\)|descendants\(\)|children\(\))\.code\.count\(\)/,
    ],
  },
  {
    reason: 'Other STU1 → N1 changes: empty-string matching, & on non-strings, all() without criteria, iif and not() on '
      + 'collections, operator precedence, quantity formatting and equivalence, exclude(), toBoolean(2) (17)',
    expressions: [
      "'12345'.startsWith('') = false",
      "'12345'.endsWith('') = false",
      "'12345'.contains('') = false",
      "1 & 1 = '11'",
      "1 & 'a' = '1a'",
      "(1 | 2 | 3) & 'b' = '1,2,3b'",
      'Patient.name.select(given.exists()).all()',
      'Patient.name.select(family.exists()).all()',
      'iif(1 | 2 | 3, true, false)',
      '(1|2).not() = false',
      '-1.toString()',
      "1 'wk'.toString()",
      "4 'g' ~ 4040 'mg'",
      '1.combine(1).exclude(2).count() = 1',
      '2.toBoolean()',
      '1 > 2 is Boolean',
      '1 | 1 is Integer',
    ],
  },
];

interface SuiteTest {
  group: string;
  name: string;
  expression: string;
  invalid: boolean;
  predicate: boolean;
  inputFile: string;
  outputs: Array<{ type: string; value: string }>;
}

function readSuite(): SuiteTest[] {
  const document = parseXml(readFileSync(`${SUITE}/tests-fhir-r3.xml`, 'utf8'));
  return document.children.flatMap((group) =>
    group.children.map((test) => {
      const expression = test.children.find((child) => child.name === 'expression');
      if (!expression) throw new Error(`test without expression in ${group.attributes.name}`);
      return {
        group: group.attributes.name ?? '',
        name: test.attributes.name ?? '',
        expression: expression.text.trim(),
        invalid: expression.attributes.invalid === 'true',
        predicate: test.attributes.predicate === 'true',
        inputFile: test.attributes.inputfile,
        outputs: test.children.filter((child) => child.name === 'output').map((output) => ({ type: output.attributes.type, value: output.text })),
      };
    }),
  );
}

const inputs = new Map<string, Record<string, unknown>>();
function input(file: string): Record<string, unknown> {
  let json = inputs.get(file);
  if (!json) {
    // The suite's inputs predate STU3 in places (Observation.encounter, Questionnaire concept): FHIR.js drops those.
    json = fhirXmlToJson(readFileSync(`${SUITE}/input/${file}`, 'utf8'));
    inputs.set(file, json);
  }
  return structuredClone(json);
}

/** The variables a FHIR context defines for FHIRPath. */
const FHIR_VARIABLES = { sct: 'http://snomed.info/sct', loinc: 'http://loinc.org', ucum: 'http://unitsofmeasure.org' };

/** Undefined when the test passes, else why it failed. */
function run(test: SuiteTest): string | undefined {
  let result: unknown;
  try {
    result = fhirpath.evaluate(input(test.inputFile), test.expression, FHIR_VARIABLES, stu3, { traceFn: () => undefined });
  } catch (error) {
    // fhirpath.js throws Errors, and arrays of parser messages for syntax errors.
    return test.invalid ? undefined : `error: ${String(error instanceof Error ? error.message : error).split('\n')[0]}`;
  }
  if (test.invalid) return `expected an error, got ${JSON.stringify(result)}`;
  if (!Array.isArray(result)) return `no collection: ${String(result)}`;
  const actual = test.predicate ? [result.length === 1 && typeof result[0] === 'boolean' ? result[0] : result.length > 0] : result;
  const matches =
    actual.length === test.outputs.length &&
    test.outputs.every(({ type, value }, i) => {
      const item = actual[i];
      if (type === 'boolean') return item === (value === 'true');
      if (type === 'integer') return typeof item === 'number' && item === Number(value);
      return String(item) === value;
    });
  return matches ? undefined : `expected ${JSON.stringify(test.outputs.map((output) => output.value))}, got ${JSON.stringify(actual)}`;
}

const isKnown = (expression: string) =>
  KNOWN_FAILURES.some(({ expressions }) =>
    expressions.some((known) => (typeof known === 'string' ? known === expression : known.test(expression))),
  );

describe('FHIRPath STU3 test suite on fhirpath.js', () => {
  const tests = readSuite();
  // fhirpath.js warns on the console about the arity of STU1 calls (`all()`): the failure list says it already.
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  const failures = tests.map((test) => ({ test, failure: run(test) })).filter((outcome) => outcome.failure !== undefined);
  warn.mockRestore();
  const passed = tests.length - failures.length;

  it(`passes ${passed} of ${tests.length} tests (${((100 * passed) / tests.length).toFixed(1)} %)`, () => {
    expect(tests).toHaveLength(547);
    expect(passed).toBeGreaterThanOrEqual(PASS_FLOOR);
  });

  it('fails only for the known reasons', () => {
    const unexplained = failures
      .filter(({ test }) => !isKnown(test.expression))
      .map(({ test, failure }) => `[${test.group}] ${test.expression} → ${failure}`);
    expect(unexplained).toEqual([]);
  });
});

describe('fhirpath.js behaviours that matter for search, and the extractor\'s workarounds', () => {
  const evaluate = (resource: Record<string, unknown>, expression: string) => fhirpath.evaluate(resource, expression, {}, stu3);
  const ours = (resource: Record<string, unknown>, expression: string, engine: 'auto' | 'fhirpath.js' = 'fhirpath.js') =>
    compileFhirPath(expression, String(resource.resourceType), engine)(resource, resource).map((item) => item.value);

  it('as() demands a singleton: STU3 expressions filter collections with it (rewritten to ofType())', () => {
    const medication = { resourceType: 'Medication', ingredient: [{ itemCodeableConcept: { text: 'a' } }, { itemCodeableConcept: { text: 'b' } }] };
    expect(() => evaluate(medication, 'Medication.ingredient.item.as(CodeableConcept)')).toThrow(/singleton/);
    expect(ours(medication, 'Medication.ingredient.item.as(CodeableConcept)')).toEqual([{ text: 'a' }, { text: 'b' }]);
  });

  it('capitalised primitive names are System types: STU3 means the FHIR type (rewritten to dateTime, string…)', () => {
    const patient = { resourceType: 'Patient', deceasedDateTime: '2020-01-01' };
    expect(evaluate(patient, 'Patient.deceased.as(DateTime)')).toEqual([]);
    expect(ours(patient, 'Patient.deceased.as(DateTime)')).toEqual(['2020-01-01']);
  });

  it('resolve() fetches (async only): search resolves offline, from the reference text', () => {
    const observation = { resourceType: 'Observation', subject: { reference: 'Patient/1' } };
    expect(() => evaluate(observation, 'Observation.subject.where(resolve() is Patient)')).toThrow();
    expect(ours(observation, 'Observation.subject.where(resolve() is Patient)')).toEqual([{ reference: 'Patient/1' }]);
  });

  it('an element named resourceType (Claim.payee) is taken for a resource: the walker types from the model', () => {
    const claim = { resourceType: 'Claim', payee: { resourceType: { code: 'provider' }, party: { reference: 'Organization/1' } } };
    const [raw] = fhirpath.evaluate(claim, 'Claim.payee.party', {}, stu3, { resolveInternalTypes: false }) as unknown[];
    expect(fhirpath.types([raw])).toEqual(['System.Object']);
    expect(compileFhirPath('Claim.payee.party', 'Claim')(claim, claim).map((item) => item.type)).toEqual(['Reference']);
  });
});
