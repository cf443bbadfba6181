import { describe, expect, it } from 'vitest';
import type { NetworkRecipients } from '../../../src-server/documents/network-recipients';
import { routeEach, routeRecipients, type RoutingContext } from '../../../src-server/documents/routing';
import { RECIPIENT_DETAILS_URL } from '../../../src-server/lifen/codes';

/** The routing rules of docs/documents.md on their own, against a small directory. */

type Json = Record<string, any>;

const directory: Record<string, Json> = {
  'Practitioner/local': { resourceType: 'Practitioner', id: 'local', telecom: [{ system: 'email', value: 'local@pro.mssante.fr' }] },
  'Practitioner/far': { resourceType: 'Practitioner', id: 'far', telecom: [{ system: 'email', value: 'far@pro.mssante.fr' }] },
  'Practitioner/two': { resourceType: 'Practitioner', id: 'two', telecom: [{ system: 'email', value: 'cabinet@two.mssante.fr' }, { system: 'email', value: 'hopital@two.mssante.fr' }] },
  'Organization/clinic': { resourceType: 'Organization', id: 'clinic' },
  'PractitionerRole/far-at-clinic': { resourceType: 'PractitionerRole', id: 'far-at-clinic', practitioner: { reference: 'Practitioner/far' }, organization: { reference: 'Organization/clinic' } },
  'Patient/p': { resourceType: 'Patient', id: 'p' },
};

const context: RoutingContext = {
  base: 'http://127.0.0.1:8347/fhir',
  read: (type, id) => directory[`${type}/${id}`] as never,
  internalRecipients: { has: (type: string, id: string) => type === 'Practitioner' && id === 'local' } as NetworkRecipients,
  dpiOrganizations: new Set(['clinic']),
  configured: () => true,
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

  it('sends to the mailbox chosen among a recipient\'s several, and only to one of its own', () => {
    const choosing = (value: string) => [{ reference: 'Practitioner/two', extension: [{ url: RECIPIENT_DETAILS_URL, valueContactPoint: { system: 'email', value } }] }];
    expect(route([{ reference: 'Practitioner/two' }])).toEqual(['mssante Practitioner/two cabinet@two.mssante.fr [Practitioner/two]']);
    expect(route(choosing('hopital@two.mssante.fr'))).toEqual(['mssante Practitioner/two hopital@two.mssante.fr [Practitioner/two]']);
    expect(() => route(choosing('autre@ailleurs.mssante.fr'))).toThrow('is not an MSSanté mailbox of Practitioner/two');
  });

  it('says per recipient which channel reaches it or why none does, an unconfigured channel refused', () => {
    const each = routeEach(
      { resourceType: 'CommunicationRequest', recipient: [{ reference: 'Practitioner/local' }, { reference: 'Practitioner/two' }, { reference: 'Practitioner/nobody' }] },
      { ...context, configured: (channel) => channel !== 'mssante' },
    );
    expect(each.map((routing) => [routing.reference, routing.routes.map((one) => one.channel), routing.mailboxes, routing.refusal?.status, routing.refusal?.issues[0].details.coding[0].code])).toEqual([
      ['Practitioner/local', ['internal'], ['local@pro.mssante.fr'], undefined, undefined],
      ['Practitioner/two', [], ['cabinet@two.mssante.fr', 'hopital@two.mssante.fr'], 412, 'recipient-channel-not-configured'],
      ['Practitioner/nobody', [], [], 422, 'recipient-unknown'],
    ]);
  });
});
