import { Hl7Message } from '@medplum/core';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryOutcome } from '../../../src-server/channels/channel';
import { createDpiChannel, type DpiSettings } from '../../../src-server/integrations/dpi/dpi-channel';
import { controlIdOf } from '../../../src-server/integrations/dpi/hl7-message';
import { delivery, IDNPS, INS, IPP, IPP_SYSTEM, patient, PDF } from './deliveries';
import { HospitalListener } from './hospital-listener';

const names = { sendingApplication: 'LIAISON', sendingFacility: 'CABINET', receivingApplication: 'DPI', receivingFacility: 'CH-EXEMPLE' };
const listener = new HospitalListener();
let port = 0;
const mllpChannel = (settings: Partial<DpiSettings> = {}) => createDpiChannel({ ...names, messageType: 'MDM^T02', mllp: { host: '127.0.0.1', port }, ippSystem: IPP_SYSTEM, ...settings });

beforeAll(async () => {
  port = await listener.start();
});
afterAll(async () => {
  await listener.stop();
});
afterEach(() => {
  listener.received.length = 0;
  listener.answer = { code: 'AA' };
});

/** Every segment ends with a carriage return (HL7 v2.5 §2.5.1); the parser reads the last one as an empty segment. */
const segmentNames = (message: Hl7Message) => message.segments.map((segment) => segment.name).filter((name) => name !== '');

/** Reverses the escapes of HL7 v2.5 §2.7 the sender applied to text values. */
const unescape = (value: string) =>
  value.replace(/\\(E|F|S|T|R|X[0-9A-F]+)\\/g, (_, code: string) => ({ E: '\\', F: '|', S: '^', T: '&', R: '~' })[code] ?? String.fromCharCode(parseInt(code.slice(1), 16)));

describe('DPI over MLLP', () => {
  it('sends an MDM^T02 that a real HL7 parser reads: PAM FR identifiers, names, the PDF in OBX ED; AA completes it', async () => {
    const outcome = await mllpChannel().deliver(delivery());
    expect(outcome.status).toBe('completed');
    expect(listener.received).toHaveLength(1);
    const message = listener.received[0];
    expect(segmentNames(message)).toEqual(['MSH', 'EVN', 'PID', 'PV1', 'TXA', 'OBX']);
    const msh = message.getSegment('MSH')!;
    expect(msh.getField(9).toString()).toBe('MDM^T02^MDM_T02');
    expect(msh.getField(10).toString()).toBe(controlIdOf(delivery().deliveryId));
    expect(msh.getField(12).toString()).toBe('2.5');
    expect(msh.getField(18).toString()).toBe('UNICODE UTF-8');
    expect([3, 4, 5, 6].map((field) => msh.getField(field).toString())).toEqual(['LIAISON', 'CABINET', 'DPI', 'CH-EXEMPLE']);

    const pid = message.getSegment('PID')!;
    const identifiers = pid.getField(3);
    // The IPP with its authority (the assigner's '&' escaped inside the subcomponent), then the INS as PAM FR writes it.
    expect(identifiers.getComponent(1, undefined, 0)).toBe(IPP);
    expect(identifiers.getComponent(4, undefined, 0)).toBe('CABINET\\T\\DUPONT&1.2.250.1.71.4.2.7.999&ISO');
    expect(identifiers.getComponent(5, undefined, 0)).toBe('PI');
    expect(identifiers.toString().split('~')[1]).toBe(`${INS}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS`);
    const legal = pid.getField(5);
    expect(unescape(legal.getComponent(1, undefined, 0))).toBe('Lefèvre|Martin');
    expect([legal.getComponent(2, undefined, 0), legal.getComponent(3, undefined, 0), legal.getComponent(7, undefined, 0)]).toEqual(['Hélène', 'Marie', 'L']);
    expect(unescape(legal.getComponent(1, undefined, 1))).toBe('Dupont^Moreau');
    expect(legal.getComponent(7, undefined, 1)).toBe('D');
    expect(pid.getField(7).toString()).toBe('19800229');
    expect(pid.getField(8).toString()).toBe('F');

    const txa = message.getSegment('TXA')!;
    expect(txa.getField(2).toString()).toBe('11488-4');
    expect(txa.getField(5).toString()).toBe(`${IDNPS}^Martin^Jean^^^Dr^^^ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^RPPS`);
    expect(txa.getField(12).getComponent(1)).toBe('doc-1');

    const obx = message.getSegment('OBX')!;
    expect(obx.getField(2).toString()).toBe('ED');
    expect(obx.getField(3).toString()).toBe('11488-4^Consult note^LN');
    const value = obx.getField(5);
    expect([2, 3, 4].map((component) => value.getComponent(component))).toEqual(['application', 'pdf', 'Base64']);
    expect(Buffer.from(value.getComponent(5), 'base64').equals(PDF)).toBe(true);
    expect(obx.getField(11).toString()).toBe('F');
  });

  it('sends an ORU^R01 when configured: OBR with the LOINC type and the author, no EVN', async () => {
    expect((await mllpChannel({ messageType: 'ORU^R01' }).deliver(delivery())).status).toBe('completed');
    const message = listener.received[0];
    expect(segmentNames(message)).toEqual(['MSH', 'PID', 'PV1', 'OBR', 'OBX']);
    expect(message.getSegment('MSH')!.getField(9).toString()).toBe('ORU^R01^ORU_R01');
    const obr = message.getSegment('OBR')!;
    expect(obr.getField(4).toString()).toBe('11488-4^Consult note^LN');
    expect(obr.getField(7).toString()).toBe('20261120083000+0000');
    expect(obr.getField(25).toString()).toBe('F');
    expect(obr.getField(32).toString()).toBe(`${IDNPS}&Martin&Jean&&&Dr&&&ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO`);
    expect(Buffer.from(message.getSegment('OBX')!.getField(5).getComponent(5), 'base64').equals(PDF)).toBe(true);
  });

  it('escapes control characters, so a name holding a line break or an MLLP frame byte cannot cut the message', async () => {
    const odd = patient();
    odd.name[0].family = 'Line\nBreak\x1cFrame\x0bStart';
    expect((await mllpChannel().deliver(delivery({ patient: odd }))).status).toBe('completed');
    const pid = listener.received[0].getSegment('PID')!;
    expect(pid.getField(5).getComponent(1, undefined, 0)).toBe('Line\\X0A\\Break\\X1C\\Frame\\X0B\\Start');
    expect(unescape(pid.getField(5).getComponent(1, undefined, 0))).toBe('Line\nBreak\x1cFrame\x0bStart');
    expect(pid.getField(7).toString()).toBe('19800229');
  });

  it('resends a delivery with the same control id, and another delivery with another', async () => {
    const channel = mllpChannel();
    await channel.deliver(delivery());
    await channel.deliver(delivery());
    await channel.deliver(delivery({ deliveryId: 'cr-2/Organization/hospital/dpi' }));
    const ids = listener.received.map((message) => message.getSegment('MSH')!.getField(10).toString());
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
    expect(ids[0]).toMatch(/^[0-9A-F]{20}$/);
  });

  it('fails for good on AE and AR, with the receiver\'s explanation, and retries an AR for an internal error', async () => {
    listener.answer = { code: 'AE', text: 'Patient inconnu' };
    const error = await mllpChannel().deliver(delivery());
    expect(error).toEqual({ status: 'failed', reason: expect.stringContaining('Patient inconnu') });
    expect((error as { reason: string }).reason).toContain('(AE)');
    listener.answer = { code: 'AR', text: 'Unsupported message type' };
    expect(await mllpChannel().deliver(delivery())).toEqual({ status: 'failed', reason: expect.stringContaining('(AR)') });
    listener.answer = { code: 'AR', errorCode: '207' };
    expect((await mllpChannel().deliver(delivery())).status).toBe('retry');
  });

  it('retries when the listener refuses the connection or does not acknowledge in time', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await mllpChannel({ mllp: { host: '127.0.0.1', port: closedPort, timeoutMs: 2000 } }).deliver(delivery());
    expect(refused).toEqual({ status: 'retry', reason: expect.stringContaining('ECONNREFUSED') });

    listener.answer = 'silence';
    const started = Date.now();
    const silent = await mllpChannel({ mllp: { host: '127.0.0.1', port, timeoutMs: 300 } }).deliver(delivery());
    expect(silent).toEqual({ status: 'retry', reason: expect.stringContaining('No acknowledgement') });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(listener.received).toHaveLength(1);
  });

  it('fails a document without a LOINC type, or a patient whose INS is not valid, without sending', async () => {
    const untyped = delivery();
    untyped.documentReference = { ...untyped.documentReference, type: { text: 'Courrier' } };
    expect(await mllpChannel().deliver(untyped)).toEqual({ status: 'failed', reason: expect.stringContaining('LOINC') });
    const badIns = delivery({ patient: patient([{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '280027512345627' }]) });
    expect(await mllpChannel().deliver(badIns)).toEqual({ status: 'failed', reason: expect.stringContaining('280027512345627') });
    expect(listener.received).toHaveLength(0);
  });
});

describe('DPI into a drop folder', () => {
  const folders: string[] = [];
  const folder = () => {
    const made = mkdtempSync(join(tmpdir(), 'liaison-drop-'));
    folders.push(made);
    return made;
  };
  afterAll(() => {
    for (const made of folders) rmSync(made, { recursive: true, force: true });
  });

  it('writes the message whole under a name from the control id; a resend replaces it', async () => {
    const dropFolder = folder();
    const channel = createDpiChannel({ ...names, messageType: 'MDM^T02', dropFolder });
    const outcomes: DeliveryOutcome[] = [await channel.deliver(delivery()), await channel.deliver(delivery())];
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['completed', 'completed']);
    const files = readdirSync(dropFolder);
    expect(files).toEqual([`LIAISON_${controlIdOf(delivery().deliveryId)}.hl7`]);
    const message = Hl7Message.parse(readFileSync(join(dropFolder, files[0]), 'utf8'));
    expect(message.getSegment('MSH')!.getField(10).toString()).toBe(controlIdOf(delivery().deliveryId));
    // Without a configured IPP system, the identifier typed PI is the IPP.
    expect(message.getSegment('PID')!.getField(3).getComponent(1, undefined, 0)).toBe(IPP);
    expect(Buffer.from(message.getSegment('OBX')!.getField(5).getComponent(5), 'base64').equals(PDF)).toBe(true);
  });

  it('retries when the folder is missing or the file cannot be put in place, and leaves no temporary file', async () => {
    const missing = join(folder(), 'share-offline');
    const outcome = await createDpiChannel({ ...names, messageType: 'MDM^T02', dropFolder: missing }).deliver(delivery());
    expect(outcome).toEqual({ status: 'retry', reason: expect.stringContaining('drop folder') });
    expect(existsSync(missing)).toBe(false);
    const blocked = folder();
    mkdirSync(join(blocked, `LIAISON_${controlIdOf(delivery().deliveryId)}.hl7`));
    expect((await createDpiChannel({ ...names, messageType: 'MDM^T02', dropFolder: blocked }).deliver(delivery())).status).toBe('retry');
    expect(readdirSync(blocked)).toEqual([`LIAISON_${controlIdOf(delivery().deliveryId)}.hl7`]);
  });

  it('needs exactly one of MLLP and a drop folder', () => {
    expect(() => createDpiChannel({ ...names, messageType: 'MDM^T02' })).toThrow(/either/);
    expect(() => createDpiChannel({ ...names, messageType: 'MDM^T02', dropFolder: '/tmp', mllp: { host: '127.0.0.1', port: 1 } })).toThrow(/either/);
  });
});
