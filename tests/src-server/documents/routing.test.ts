import { describe, expect, it } from 'vitest';
import type { NetworkRecipients } from '../../../src-server/documents/network-recipients';
import { routeRecipients, type RoutingContext } from '../../../src-server/documents/routing';

/** The routing rules of docs/documents.md on their own, against a small directory. */

type Json = Record<string, any>;

const directory: Record<string, Json> = {
  'Practitioner/local': { resourceType: 'Practitioner', id: 'local', telecom: [{ system: 'email', value: 'local@pro.mssante.fr' }] },
  'Practitioner/far': { resourceType: 'Practitioner', id: 'far', telecom: [{ system: 'email', value: 'far@pro.mssante.fr' }] },
  'Organization/clinic': { resourceType: 'Organization', id: 'clinic' },
  'PractitionerRole/far-at-clinic': { resourceType: 'PractitionerRole', id: 'far-at-clinic', practitioner: { reference: 'Practitioner/far' }, organization: { reference: 'Organization/clinic' } },
  'Patient/p': { resourceType: 'Patient', id: 'p' },
};

const context: RoutingContext = {
  base: 'http://127.0.0.1:8347/fhir',
  read: (type, id) => directory[`${type}/${id}`] as never,
  internalRecipients: { has: (type: string, id: string) => type === 'Practitioner' && id === 'local' } as NetworkRecipients,
  dpiOrganizations: new Set(['clinic']),
};

const route = (recipient: Json[], more: Json = {}) =>
  routeRecipients({ resourceType: 'CommunicationRequest', subject: { reference: 'Patient/p' }, recipient, ...more }, context).map((each) => `${each.channel} ${each.recipient.reference ?? ''} ${each.recipient.address ?? ''} [${each.named.join(', ')}]`.trim());
const medium = (...codes: string[]) => ({ medium: [{ coding: codes.map((code) => ({ system: 'urn:liaison:channel', code })) }] });

describe('routing', () => {
  it('prefers this node, then MSSanté, then the DPI endpoint of an organization', () => {
    expect(route([{ reference: 'Practitioner/local' }])).toEqual(['internal Practitioner/local  [Practitioner/local]']);
    expect(route([{ reference: 'http://127.0.0.1:8347/fhir/Practitioner/far' }])).toEqual(['mssante Practitioner/far far@pro.mssante.fr [Practitioner/far]']);
    expect(route([{ reference: 'Organization/clinic' }])).toEqual(['dpi Organization/clinic  [Organization/clinic]']);
    // A role reaches its practitioner's mailbox, and names the practitioner so that they see it.
    expect(route([{ reference: 'PractitionerRole/far-at-clinic' }])).toEqual(['mssante PractitionerRole/far-at-clinic far@pro.mssante.fr [PractitionerRole/far-at-clinic, Practitioner/far]']);
  });

  it('lets medium force channels, one delivery per recipient and channel, and dmp go to the subject once', () => {
    expect(route([{ reference: 'Practitioner/local' }, { reference: 'Practitioner/local' }], medium('mssante', 'internal'))).toEqual([
      'mssante Practitioner/local local@pro.mssante.fr [Practitioner/local]',
      'internal Practitioner/local  [Practitioner/local]',
    ]);
    expect(route([{ reference: 'PractitionerRole/far-at-clinic' }], medium('dmp', 'dpi'))).toEqual([
      'dmp Patient/p  [Patient/p]',
      'dpi PractitionerRole/far-at-clinic  [PractitionerRole/far-at-clinic, Practitioner/far]',
    ]);
    expect(route([], medium('dmp'))).toEqual(['dmp Patient/p  [Patient/p]']);
    expect(() => route([{ reference: 'Practitioner/far' }], medium('dmp'))).toThrow('needs another medium as well');
    expect(() => route([{ reference: 'Patient/p' }])).toThrow('through the DMP');
  });
});
