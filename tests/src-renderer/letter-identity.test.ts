import { describe, expect, it } from 'vitest';
import type { Communication, DocumentReference, Patient } from '../../src-renderer/api/fhir-types';
import { identityOf, isCloseName, PATIENT_IDENTITY_URL } from '../../src-renderer/letter-identity';

/** Whom a received letter is about, as the inbox reads it, and which of the user's patients it proposes for it. */

const INS = { system: 'urn:oid:1.2.250.1.213.1.4.8', value: '284037512345640' };
const communication: Communication = { resourceType: 'Communication', status: 'completed' };
const letter = (more: Partial<DocumentReference>): DocumentReference => ({ resourceType: 'DocumentReference', status: 'current', type: {}, indexed: '2026-12-07T08:00:00Z', content: [], ...more });
const patient = (family: string, given: string): Patient => ({ resourceType: 'Patient', name: [{ family, given: [given] }] });

describe('the identity a letter gives', () => {
  it("an internal delivery's patient-identity, a contained Patient, a logical reference's INS; none for a plain reference", () => {
    const contained = { resourceType: 'Patient', id: 'patient', identifier: [INS], name: [{ family: 'Lefèvre', given: ['Margaux'] }], birthDate: '1984-03-12', gender: 'female' as const };
    const delivered: Communication = { ...communication, contained: [contained], extension: [{ url: PATIENT_IDENTITY_URL, valueReference: { reference: '#patient' } }] };
    const expected = { name: contained.name, birthDate: '1984-03-12', gender: 'female', ins: INS.value };
    expect(identityOf(delivered, letter({ subject: { reference: 'Patient/elsewhere' } }))).toEqual({ ...expected, display: undefined });
    expect(identityOf(communication, letter({ contained: [contained], subject: { reference: '#patient', display: 'LEFEVRE Margaux' } }))).toEqual({ ...expected, display: 'LEFEVRE Margaux' });
    expect(identityOf(communication, letter({ subject: { identifier: INS, display: 'LEFEVRE Margaux' } }))).toEqual({ display: 'LEFEVRE Margaux', ins: INS.value });
    expect(identityOf(communication, letter({ subject: { reference: 'Patient/p1' } }))).toBeUndefined();
    expect(identityOf(communication, letter({}))).toBeUndefined();
  });
});

describe('a close name', () => {
  const identity = { name: [{ family: 'LEFEVRE', given: ['MARGAUX'] }] };
  it('shares a word, accents and case aside, or one a letter or two apart, or one beginning the other', () => {
    expect(isCloseName(patient('Lefèvre', 'Margaux'), identity)).toBe(true);
    expect(isCloseName(patient('Lefebvre', 'Marie'), identity)).toBe(true);
    expect(isCloseName(patient('Dupont', 'Margaux'), identity)).toBe(true);
    expect(isCloseName(patient('Dupont-Lefèvre', 'Anne'), identity)).toBe(true);
    expect(isCloseName(patient('Lef', 'Anne'), identity)).toBe(true);
  });
  it('not a merely similar one', () => {
    expect(isCloseName(patient('Durand', 'Paul'), identity)).toBe(false);
    expect(isCloseName(patient('Leroy', 'Marie'), identity)).toBe(false);
    expect(isCloseName(patient('Le', 'Ma'), identity)).toBe(false);
  });
});
