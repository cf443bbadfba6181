import { describe, expect, it } from 'vitest';
import { authorIdentity, isValidIns, patientIdentity } from '../../../src-server/integrations/identities';
import { INS, IPP, patient } from './deliveries';

describe('INS', () => {
  it('accepts a NIR or NIA with its key, Corsica included, and refuses a wrong key or shape', () => {
    expect(isValidIns(INS)).toBe(true);
    expect(isValidIns('185022A12345682')).toBe(true);
    expect(isValidIns('280027512345627')).toBe(false);
    expect(isValidIns('185022C12345682')).toBe(false);
    expect(isValidIns('28002751234562')).toBe(false);
  });

  it('reads the NIR or the NIA with its PAM FR authority; spaces in the number do not matter', () => {
    expect(patientIdentity(patient()).ins).toEqual({ value: INS, authority: { namespace: 'ASIP-SANTE-INS-NIR', universalId: '1.2.250.1.213.1.4.8', type: 'ISO' } });
    const nia = patientIdentity(patient([{ system: 'urn:oid:1.2.250.1.213.1.4.9', value: '2 80 02 75 123 456 26' }]));
    expect(nia.ins).toEqual({ value: INS, authority: { namespace: 'ASIP-SANTE-INS-NIA', universalId: '1.2.250.1.213.1.4.9', type: 'ISO' } });
    const unknown = patientIdentity(patient([{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: 'inconnu' }]));
    expect([unknown.ins, unknown.invalidIns]).toEqual([undefined, 'inconnu']);
  });
});

describe('IPP', () => {
  it('is the identifier typed PI, or the one of the configured system, with its authority', () => {
    expect(patientIdentity(patient()).ipp).toEqual({ value: IPP, authority: { namespace: 'CABINET&DUPONT', universalId: '1.2.250.1.71.4.2.7.999', type: 'ISO' } });
    const hospital = patient([...patient().identifier, { system: 'https://ch-exemple.fr/ipp', value: 'H-77' }]);
    expect(patientIdentity(hospital, { ippSystem: 'https://ch-exemple.fr/ipp' }).ipp).toEqual({ value: 'H-77', authority: { universalId: 'https://ch-exemple.fr/ipp', type: 'URI' } });
    expect(patientIdentity(patient([{ system: 'urn:other', value: '1' }])).ipp).toBeUndefined();
  });
});

describe('author', () => {
  // A PractitionerRole sender reaches the channels as its practitioner (the outbox resolves it: delivery-loader.ts).
  it('is the IDNPS of a Practitioner (or "8" + its RPPS); an Organization has none', () => {
    expect(authorIdentity({ resourceType: 'Practitioner', identifier: [{ system: 'https://rpps.esante.gouv.fr', value: '10001234567' }] }).idnps).toBe('810001234567');
    expect(authorIdentity({ resourceType: 'Practitioner', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810001234567' }], name: [{ family: 'Martin', given: ['Jean'] }] })).toEqual({
      idnps: '810001234567',
      name: { family: 'Martin', given: ['Jean'] },
    });
    expect(authorIdentity({ resourceType: 'Organization', name: 'Cabinet' })).toEqual({ name: { family: 'Cabinet', given: [] } });
  });
});
