import { createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDmpChannel, submissionIds, type DmpSettings } from '../../../src-server/integrations/dmp/dmp-channel';
import { delivery, IDNPS, INS, patient, PDF } from './deliveries';
import { DmpStandIn } from './dmp-stand-in';

type Json = Record<string, any>;

const standIn = new DmpStandIn();
let endpoint = '';
const settings = (): DmpSettings => ({
  endpoint,
  sourceOid: '1.2.250.1.999.1.1',
  custodian: { name: 'Cabinet du Dr Martin', idnst: '3751234567' },
  codes: {
    healthcareFacilityType: { code: 'SA07', display: 'Cabinet individuel', scheme: '1.2.250.1.71.4.2.4' },
    practiceSetting: { code: 'AMBULATOIRE', display: 'Ambulatoire', scheme: '1.2.250.1.213.1.1.4.9' },
    class: { code: '11', display: 'Compte rendu', scheme: '1.2.250.1.213.1.1.4.1' },
  },
});
const dmp = (overrides: Partial<DmpSettings> = {}) => createDmpChannel({ ...settings(), ...overrides });
const dmpDelivery = (overrides = {}) => delivery({ deliveryId: 'cr-1/Patient/pat-1/dmp', ...overrides });

beforeAll(async () => {
  endpoint = await standIn.start();
});
afterAll(async () => {
  await standIn.stop();
});
afterEach(() => {
  standIn.filed.clear();
  standIn.posts = 0;
  standIn.answer = { status: 200 };
});

const classification = (object: Json, scheme: string) => object.Classification.find((candidate: Json) => candidate['@classificationScheme'] === scheme);
const slot = (object: Json, name: string): string[] => object.Slot.find((candidate: Json) => candidate['@name'] === name)?.ValueList.Value;

describe('DMP over an XDM package', () => {
  it('posts a CDA R2 with the PDF as its non-XML body and XDS metadata that a real endpoint accepts', async () => {
    const outcome = await dmp().deliver(dmpDelivery());
    expect(outcome.status).toBe('completed');
    expect(standIn.filed.size).toBe(1);
    const [filed] = standIn.filed.values();
    expect(filed.files).toEqual(['IHE_XDM/SUBSET01/DOC0001.XML', 'IHE_XDM/SUBSET01/METADATA.XML', 'INDEX.HTM', 'README.TXT']);
    expect(filed.patientId).toBe(`${INS}^^^&1.2.250.1.213.1.4.8&ISO`);
    expect(filed.pdf.equals(PDF)).toBe(true);
    expect(filed.uniqueId).toBe(submissionIds('cr-1/Patient/pat-1/dmp').documentOid);
    expect(filed.uniqueId).toMatch(/^2\.25\.\d+$/);

    const { cda } = filed;
    expect(cda.typeId['@extension']).toBe('POCD_HD000040');
    expect(cda.templateId.map((template: Json) => template['@root'])).toContain('1.2.250.1.213.1.1.1.1');
    expect(cda.code['@code']).toBe('11488-4');
    expect(cda.code['@codeSystem']).toBe('2.16.840.1.113883.6.1');
    expect(cda.title).toBe('Compte rendu de consultation');
    expect(cda.languageCode['@code']).toBe('fr-FR');
    expect(cda.confidentialityCode['@code']).toBe('N');
    expect(cda.effectiveTime['@value']).toBe('20261120083000+0000');
    const person = cda.recordTarget.patientRole.patient;
    expect(person.name.family['#text']).toBe('Lefèvre|Martin');
    expect(person.name.family['@qualifier']).toBe('BR');
    expect(person.name.given).toEqual(['Hélène', 'Marie']);
    expect(person.birthTime['@value']).toBe('19800229');
    expect(person.administrativeGenderCode['@code']).toBe('F');
    expect(cda.author.assignedAuthor.id[0]).toMatchObject({ '@root': '1.2.250.1.71.4.2.1', '@extension': IDNPS });
    expect(cda.custodian.assignedCustodian.representedCustodianOrganization.id[0]).toMatchObject({ '@root': '1.2.250.1.71.4.2.2', '@extension': '3751234567' });

    const list = filed.metadata.SubmitObjectsRequest.RegistryObjectList;
    const entry = list.ExtrinsicObject[0];
    expect(entry['@mimeType']).toBe('text/xml');
    expect(classification(entry, 'urn:uuid:f0306f51-975f-434e-a61c-c59651d33983')['@nodeRepresentation']).toBe('11488-4');
    expect(classification(entry, 'urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d')['@nodeRepresentation']).toBe('urn:ihe:iti:xds-sd:pdf:2008');
    expect(classification(entry, 'urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a')['@nodeRepresentation']).toBe('11');
    expect(slot(classification(entry, 'urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d'), 'authorPerson')).toEqual([`${IDNPS}^Martin^Jean^^^Dr^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS`]);
    expect(slot(entry, 'sourcePatientInfo')).toEqual([`PID-3|${INS}^^^&1.2.250.1.213.1.4.8&ISO`, 'PID-5|Lefèvre\\F\\Martin^Hélène^Marie^^^^L', 'PID-7|19800229', 'PID-8|F']);
    expect(slot(entry, 'creationTime')).toEqual(['20261120083000']);
    const set = list.RegistryPackage[0];
    expect(set.ExternalIdentifier.find((identifier: Json) => identifier.Name.LocalizedString['@value'] === 'XDSSubmissionSet.sourceId')['@value']).toBe('1.2.250.1.999.1.1');
    expect(list.Association[0]).toMatchObject({ '@sourceObject': set['@id'], '@targetObject': entry['@id'] });
  });

  it('writes well-formed XML when a name holds a character XML cannot carry', async () => {
    const odd = patient();
    odd.name[0].family = 'Bell\u0007e & <Fils>';
    expect((await dmp().deliver(dmpDelivery({ patient: odd }))).status).toBe('completed');
    const [filed] = standIn.filed.values();
    expect(filed.cda.recordTarget.patientRole.patient.name.family['#text']).toBe('Bell\uFFFDe & <Fils>');
  });

  it('resends a delivery under the same uniqueIds, so the endpoint files it once; another delivery is another document', async () => {
    const channel = dmp();
    expect((await channel.deliver(dmpDelivery())).status).toBe('completed');
    expect((await channel.deliver(dmpDelivery())).status).toBe('completed');
    expect(standIn.posts).toBe(2);
    expect(standIn.filed.size).toBe(1);
    const [first] = standIn.filed.values();
    expect(first.submissionSetUniqueId).toBe(submissionIds('cr-1/Patient/pat-1/dmp').submissionSetOid);
    expect((await channel.deliver(dmpDelivery({ deliveryId: 'cr-2/Patient/pat-1/dmp' }))).status).toBe('completed');
    expect(standIn.filed.size).toBe(2);
  });

  it('fails for good on a 4xx with the endpoint\'s message, retries on 5xx, 429 and when unreachable', async () => {
    standIn.answer = { status: 400, body: 'Patient non trouvé dans le DMP\n(INS inconnu)' };
    expect(await dmp().deliver(dmpDelivery())).toEqual({ status: 'failed', reason: 'The DMP endpoint refused the document (400): Patient non trouvé dans le DMP (INS inconnu)' });
    standIn.answer = { status: 503, body: 'maintenance' };
    expect(await dmp().deliver(dmpDelivery())).toEqual({ status: 'retry', reason: 'The DMP endpoint answered 503: maintenance' });
    standIn.answer = { status: 429 };
    expect((await dmp().deliver(dmpDelivery())).status).toBe('retry');

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await dmp({ endpoint: `http://127.0.0.1:${port}/dmp` }).deliver(dmpDelivery());
    expect(unreachable).toEqual({ status: 'retry', reason: expect.stringContaining('could not be reached') });
  });

  it('retries when the endpoint does not answer in time', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const outcome = await dmp({ endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/dmp`, timeoutMs: 300 }).deliver(dmpDelivery());
      expect(outcome).toEqual({ status: 'retry', reason: expect.stringContaining('could not be reached') });
    } finally {
      silent.close();
    }
  });

  it('fails without posting when the patient has no INS or an invalid one, or the sender no RPPS', async () => {
    const withoutIns = await dmp().deliver(dmpDelivery({ patient: patient([{ system: 'urn:oid:1.2.250.1.71.4.2.7.999', value: 'IPP-42' }]) }));
    expect(withoutIns).toEqual({ status: 'failed', reason: expect.stringContaining('INS') });
    const badIns = await dmp().deliver(dmpDelivery({ patient: patient([{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '1234' }]) }));
    expect(badIns).toEqual({ status: 'failed', reason: expect.stringContaining("'1234'") });
    const anonymousSender = await dmp().deliver(dmpDelivery({ sender: { resourceType: 'Organization', name: 'Cabinet' } }));
    expect(anonymousSender).toEqual({ status: 'failed', reason: expect.stringContaining('RPPS') });
    expect(standIn.posts).toBe(0);
  });
});
