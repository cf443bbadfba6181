import { type Hl7Message, Hl7Segment } from '@medplum/core';
import { Hl7Connection, type Hl7MessageEvent } from '@medplum/hl7';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

import type { DpiChannelSettings } from '../../../src-server/documents/channel-settings';

/** The DPI channel's settings (channels.json `dpi`) for a hospital listening on `port`, serving `organizations`. */
export function hospitalDpi(port: number, organizations: string[]): DpiChannelSettings {
  return {
    messageType: 'MDM^T02',
    mllp: { host: '127.0.0.1', port, timeoutMs: 5000 },
    sendingApplication: 'LIAISON',
    sendingFacility: 'CABINET',
    receivingApplication: 'DPI',
    receivingFacility: 'CH-EXEMPLE',
    organizations,
  };
}

export type Answer = { code: 'AA' | 'AE' | 'AR'; text?: string; errorCode?: string } | 'silence';

/**
 * A hospital's MLLP listener on 127.0.0.1: @medplum/hl7's MLLP connection parses what arrives (with @medplum/core's
 * HL7 v2 parser) and sends the acknowledgement the test asks for.
 */
export class HospitalListener {
  readonly received: Hl7Message[] = [];
  /** What to answer: the same to every message, or chosen per message. */
  answer: Answer | ((message: Hl7Message) => Answer) = { code: 'AA' };
  private readonly server: Server = createServer((socket) => this.accept(socket));
  private readonly sockets = new Set<Socket>();

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const connection = new Hl7Connection(socket, 'utf-8');
    connection.addEventListener('message', ({ message }: Hl7MessageEvent) => {
      this.received.push(message);
      const answer = typeof this.answer === 'function' ? this.answer(message) : this.answer;
      if (answer === 'silence') return;
      const err = answer.errorCode ? new Hl7Segment(['ERR', '', '', `${answer.errorCode}^Application internal error^HL70357`, 'E'], message.context) : undefined;
      const ack = message.buildAck({ ackCode: answer.code, errSegment: err });
      if (answer.text) ack.getSegment('MSA')!.setField(3, answer.text);
      connection.send(ack);
    });
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * DPI and DMP channels set up towards endpoints that never answer (a closed port): a node refuses sends over a
 * channel it has not set up, so tests of what a send must carry set both up, and deliver nothing.
 */
/** The settings of a DMP gateway at `endpoint`, for a practice's default document codes. */
export function dmpGateway(endpoint: string) {
  return {
    endpoint,
    sourceOid: '1.2.250.1.999.1.1',
    custodian: { name: 'Cabinet' },
    codes: {
      healthcareFacilityType: { code: 'SA07', display: 'Cabinet individuel', scheme: '1.2.250.1.71.4.2.4' },
      practiceSetting: { code: 'AMBULATOIRE', display: 'Ambulatoire', scheme: '1.2.250.1.213.1.1.4.9' },
      class: { code: '11', display: 'Compte rendu', scheme: '1.2.250.1.213.1.1.4.1' },
    },
  };
}

export const CLOSED_INTEGRATIONS = {
  dpi: { ...hospitalDpi(9, []), mllp: { host: '127.0.0.1', port: 9, timeoutMs: 1000 } },
  dmp: dmpGateway('http://127.0.0.1:9/submissions'),
};
