import { describe, expect, it } from 'vitest';
import { extractParameterValues, extractSearchValues, type IndexValue } from '../../../../src-server/fhir/search/extract';
import { sharedRows } from '../../../../src-server/fhir/search/shared-rows';
import { resourceTypes } from '../../../../src-server/fhir/validation/model';
import { readAllExamples } from '../../../helpers/fhir-data';
import { SearchParameters } from '../../../../src-server/fhir/search/parameters';

const definitions = SearchParameters.builtIn();

/** A value as a search sees it: the part a string came from is how the rows are told apart, not part of the value. */
const comparable = (value: IndexValue) => JSON.stringify(value.kind === 'string' ? { ...value, part: undefined } : value);

/** The values the index answers for a shared parameter: the rows of the parameters holding them, restricted. */
function sharedValues(resource: Record<string, unknown>, code: string): string[] {
  const shared = sharedRows(definitions, resource.resourceType as string, code)!;
  const extracted = extractSearchValues(definitions, resource);
  const restriction = shared.restriction;
  return shared.codes
    .flatMap((other) => extracted.find((parameter) => parameter.code === other)?.values ?? [])
    .filter(
      (value) =>
        !restriction ||
        (restriction.column === 'part' && value.kind === 'string' && restriction.values.includes(value.part)) ||
        (restriction.column === 'system' && value.kind === 'token' && restriction.values.includes(value.system ?? '')) ||
        (restriction.column === 'target_type' && value.kind === 'reference' && restriction.values.includes(value.type ?? '')),
    )
    .map(comparable);
}

describe('shared index rows', () => {
  it('derives the repeated STU3 parameters from their definitions', () => {
    expect(sharedRows(definitions, 'Patient', 'phonetic')).toEqual({ codes: ['name'] });
    expect(sharedRows(definitions, 'Patient', 'family')).toEqual({ codes: ['name'], restriction: { column: 'part', values: ['family'] } });
    expect(sharedRows(definitions, 'Patient', 'address-postalcode')).toEqual({ codes: ['address'], restriction: { column: 'part', values: ['postalCode'] } });
    expect(sharedRows(definitions, 'Practitioner', 'email')).toEqual({ codes: ['telecom'], restriction: { column: 'system', values: ['email'] } });
    expect(sharedRows(definitions, 'Observation', 'patient')).toEqual({ codes: ['subject'], restriction: { column: 'target_type', values: ['', 'Patient'] } });
    expect(sharedRows(definitions, 'Appointment', 'practitioner')).toEqual({ codes: ['actor'], restriction: { column: 'target_type', values: ['', 'Practitioner'] } });
    expect(sharedRows(definitions, 'Observation', 'combo-code')).toEqual({ codes: ['code', 'component-code'] });
    expect(sharedRows(definitions, 'Observation', 'combo-code-value-quantity')).toEqual({ codes: ['code-value-quantity', 'component-code-value-quantity'] });
    // The parameters the others read keep their rows; unrelated ones are left alone.
    for (const [type, code] of [['Patient', 'name'], ['Patient', 'telecom'], ['Observation', 'subject'], ['Observation', 'code'], ['Patient', 'birthdate'], ['Organization', 'name']]) {
      expect(sharedRows(definitions, type, code)).toBeUndefined();
    }
  });

  it('never shares rows with a parameter that does not keep its own, nor across parameter types', () => {
    for (const type of resourceTypes()) {
      for (const [code, definition] of definitions.ofType(type)) {
        const shared = sharedRows(definitions, type, code);
        if (!shared) continue;
        for (const other of shared.codes) {
          expect(sharedRows(definitions, type, other), `${type}.${code} reads ${other}`).toBeUndefined();
          expect(definitions.ofType(type).get(other)?.type, `${type}.${code} reads ${other}`).toBe(definition.type);
        }
      }
    }
  });

  // The proof: on every official example, a shared parameter's own expression yields exactly the rows it reads.
  const examples = readAllExamples();
  let checked = 0;
  const differences: string[] = [];
  for (const resource of examples) {
    for (const code of definitions.ofType(resource.resourceType).keys()) {
      if (!sharedRows(definitions, resource.resourceType, code)) continue;
      const own = extractParameterValues(definitions, resource, code).map(comparable).sort();
      const read = [...new Set(sharedValues(resource, code))].sort();
      if (own.length > 0) checked++;
      if (JSON.stringify(own) !== JSON.stringify(read)) differences.push(`${resource.resourceType}/${resource.id} ${code}: ${own.join(' ')} ≠ ${read.join(' ')}`);
    }
  }

  it(`reads for each shared parameter exactly its own values (${checked} example/parameter pairs with values)`, () => {
    expect(differences).toEqual([]);
    expect(checked).toBeGreaterThan(300);
  });
});
