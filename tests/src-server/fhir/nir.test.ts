import { describe, expect, it } from 'vitest';
import { nirProblem } from '../../../src-server/fhir/nir';

describe('NIR', () => {
  it('accepts NIRs whose key is 97 − (number mod 97), Corsica read as 19 (2A) and 18 (2B)', () => {
    for (const nir of ['184127645108946', '285067512345639', '290012A00401202', '185122B01507708']) expect(nirProblem(nir), nir).toBeUndefined();
  });

  it('says what is wrong: the key it should have, or the format', () => {
    expect(nirProblem('184127645108947')).toEqual({ kind: 'key', text: expect.stringContaining('control key should be 46, not 47') as string, expected: '46', given: '47' });
    // 2A with the key computed as if it were 20: the Corsican rule is not applied.
    expect(nirProblem('290012A00401205')?.text).toContain('should be 02');
    for (const bad of ['18412764510894', '1841276451089466', '1 84 12 76 451 089 46', '184122C45108946', '084127645108946', 'abcdefghijklmno', '']) {
      expect(nirProblem(bad)?.text, bad).toContain('15 characters');
    }
  });
});
