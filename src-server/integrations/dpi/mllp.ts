import { connect } from 'node:net';

/**
 * One HL7 v2 message over MLLP (the Minimal Lower Layer Protocol: 0x0B, the message, 0x1C 0x0D) on its own TCP
 * connection, and the acknowledgement that comes back on it.
 */

const START_BLOCK = 0x0b;
const END_BLOCK = 0x1c;
const CARRIAGE_RETURN = 0x0d;
/** An acknowledgement is a few segments: a peer that sends more is not answering us. */
const MAX_ACK_BYTES = 1024 * 1024;
const DEFAULT_MLLP_TIMEOUT_MS = 30_000;

export interface MllpTarget {
  host: string;
  port: number;
  /** How long the connection, the sending and the acknowledgement may take together. */
  timeoutMs?: number;
}

/** The peer could not be reached, or did not acknowledge in time: nothing says the message was refused. */
export class MllpTransportError extends Error {}

export function frame(message: string): Buffer {
  return Buffer.concat([Buffer.of(START_BLOCK), Buffer.from(message, 'utf8'), Buffer.of(END_BLOCK, CARRIAGE_RETURN)]);
}

/**
 * Sends the message and resolves with the first framed message the peer answers (its acknowledgement), as text.
 * `signal` (the node closing) ends the exchange at once, as a transport error.
 */
export function sendMllp(target: MllpTarget, message: string, signal?: AbortSignal): Promise<string> {
  const timeoutMs = target.timeoutMs ?? DEFAULT_MLLP_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new MllpTransportError('Stopped before sending'));
    const socket = connect({ host: target.host, port: target.port });
    const onAbort = () => finish(new MllpTransportError(`Stopped while waiting for ${target.host}:${target.port}`));
    signal?.addEventListener('abort', onAbort, { once: true });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | undefined, ack?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve(ack!);
    };
    const timer = setTimeout(() => finish(new MllpTransportError(`No acknowledgement from ${target.host}:${target.port} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(frame(message)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const start = received.indexOf(START_BLOCK);
      const end = start < 0 ? -1 : received.indexOf(Buffer.of(END_BLOCK, CARRIAGE_RETURN), start);
      if (end >= 0) finish(undefined, received.subarray(start + 1, end).toString('utf8'));
      else if (received.length > MAX_ACK_BYTES) finish(new MllpTransportError(`${target.host}:${target.port} sent more than ${MAX_ACK_BYTES} bytes without a framed acknowledgement`));
    });
    socket.on('error', (error) => finish(new MllpTransportError(`${target.host}:${target.port}: ${error.message}`)));
    socket.on('close', () => finish(new MllpTransportError(`${target.host}:${target.port} closed the connection before acknowledging`)));
  });
}
