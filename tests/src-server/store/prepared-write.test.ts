import { describe, expect, it } from 'vitest';
import { FhirError } from '../../../src-server/fhir/outcome';
import { SearchParameters } from '../../../src-server/fhir/search/parameters';
import { preparedJson, prepareWrite } from '../../../src-server/store/prepared-write';

/** A write prepared away from the database (prepared-write.ts) must store what Repository.update would. */

const pids = new Map<string, number>();
const pidOf = (code: string) => pids.get(code) ?? pids.set(code, pids.size + 1).get(code)!;
const definitions = SearchParameters.builtIn();
const meta = { versionId: '01a2', lastUpdated: '2026-11-26T10:00:00.000Z' };

describe('prepareWrite', () => {
  it('gives the JSON the repository stores, with or without meta, whatever the resource holds', () => {
    for (const resource of [
      { resourceType: 'Organization', id: 'st-1', active: true, name: 'CABINET "LES TILLEULS" \u00e9\u2028', telecom: [{ system: 'phone', value: '0478000000' }] },
      { resourceType: 'Organization', id: 'st-2' },
    ]) {
      const prepared = prepareWrite(resource, definitions, pidOf);
      const { resourceType, id, ...rest } = resource;
      expect(preparedJson(prepared)).toBe(JSON.stringify(resource));
      expect(preparedJson(prepared, meta)).toBe(JSON.stringify({ resourceType, id, meta, ...rest }));
    }
  });

  it('makes index rows with the vseq left to the writer', () => {
    const { rows } = prepareWrite({ resourceType: 'Organization', id: 'st-1', name: 'Cabinet Martin' }, definitions, pidOf);
    const strings = rows.find(([kind]) => kind === 'string')![1];
    expect(strings.slice(0, 5)).toEqual([0, pidOf('name'), '', 'cabinet martin', 'Cabinet Martin']);
  });

  it('refuses what the repository refuses, and what it cannot prepare', () => {
    expect(() => prepareWrite({ resourceType: 'Organization', id: 'st-1', active: 'yes' }, definitions, pidOf)).toThrow(FhirError);
    expect(() => prepareWrite({ resourceType: 'Organization', id: 'st-1', meta }, definitions, pidOf)).toThrow(/without meta/);
    expect(() => prepareWrite({ resourceType: 'SearchParameter', id: 'x' }, definitions, pidOf)).toThrow(/SearchParameter/);
  });
});
