import { describe, expect, it } from 'vitest';
import type { HumanName, Patient } from '../../src-renderer/api/fhir-types';
import { closeNames, nirCheck } from '../../src-renderer/identity';

/** The likely duplicates the patient form offers before creating, and the NIR check it shares with the node. */

const person = (...name: HumanName[]): Patient => ({ resourceType: 'Patient', name, birthDate: '1950-03-03' });

describe('closeNames', () => {
  it('takes accents, case, hyphens and apostrophes as the same name, and a birth name for a used one', () => {
    const jeanne = person({ use: 'official', family: 'Lefèvre-D’Almeida', given: ['Jeanne', 'Marie'] });
    expect(closeNames(person({ family: 'LEFEVRE D ALMEIDA', given: ['jeanne'] }), jeanne)).toBe(true);
    // A part of a compound name: the birth name of one, the used name of the other.
    expect(closeNames(person({ use: 'official', family: 'Martin', given: ['Jeanne'] }), person({ use: 'official', family: 'Durand', given: ['Jeanne'] }, { use: 'usual', family: 'Martin' }))).toBe(true);
    expect(closeNames(person({ family: 'Lefevre', given: ['Jeanne'] }), jeanne)).toBe(true);
  });

  it('does not take another first name or another family for the same person', () => {
    expect(closeNames(person({ family: 'Dupont', given: ['Paul'] }), person({ family: 'Dupont', given: ['Jeanne'] }))).toBe(false);
    expect(closeNames(person({ family: 'Dupond', given: ['Jeanne'] }), person({ family: 'Dupont', given: ['Jeanne'] }))).toBe(false);
    expect(closeNames(person({ family: 'Martineau', given: ['Jeanne'] }), person({ family: 'Martin', given: ['Jeanne'] }))).toBe(false);
  });
});

describe('nirCheck', () => {
  it('words a NIR as the node refuses it: its key, then what contradicts the sex or birth date', () => {
    expect(nirCheck('250037505612372', { gender: 'male', birthDate: '1950-03-03' })).toEqual({ code: 'nir-sex', parameters: { value: '250037505612372', digit: '2', gender: 'male' } });
    expect(nirCheck('250037505612372', { gender: 'female', birthDate: '1950-04-03' })?.code).toBe('nir-birth-month');
    expect(nirCheck('250037505612372', { gender: 'female', birthDate: '1950-03-03' })).toBeUndefined();
    expect(nirCheck('250037505612373', {})?.code).toBe('nir-key');
  });
});
