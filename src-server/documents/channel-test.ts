import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import nodemailer from 'nodemailer';
import type { DpiChannelSettings, SmtpRelaySettings } from './channel-settings';
import type { DmpSettings } from '../integrations/dmp/dmp-channel';
import { smtpConnection } from './mssante-channel';

/**
 * "Tester" in Réglages: tries a channel's settings without sending anything, and says what happened as a code the UI
 * words in French (`settings.channels.results.<code>`), with the technical detail in English for the support.
 * SMTP: connect, TLS, authenticate (no mail); MLLP: connect; drop folder: exists and is writable; DMP: the gateway
 * answers HTTP.
 */

export type ChannelTestResult =
  | 'ok'
  | 'unreachable'
  | 'timeout'
  | 'tls-refused'
  | 'certificate'
  | 'auth-refused'
  | 'auth-unsupported'
  | 'relay-refused'
  | 'folder-missing'
  | 'folder-not-writable';

export interface ChannelTest {
  result: ChannelTestResult;
  /** What the other side said, for the support (never a secret). */
  detail?: string;
}

const TEST_TIMEOUT_MS = 10_000;

export async function testSmtpRelay(settings: SmtpRelaySettings): Promise<ChannelTest> {
  const transport = nodemailer.createTransport({ ...smtpConnection(settings), connectionTimeout: TEST_TIMEOUT_MS, greetingTimeout: TEST_TIMEOUT_MS, socketTimeout: TEST_TIMEOUT_MS });
  try {
    await transport.verify();
    return { result: 'ok' };
  } catch (error) {
    return { result: smtpFailure(error as SmtpFailure), detail: oneLine((error as Error).message) };
  } finally {
    transport.close();
  }
}

interface SmtpFailure extends Error {
  code?: string;
  responseCode?: number;
  /** nodemailer's stage: conn, auth, … */
  command?: string;
}

const CERTIFICATE_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT|HOSTNAME|ALTNAME/;

function smtpFailure(error: SmtpFailure): ChannelTestResult {
  const code = error.code ?? '';
  const cause = (error as { cause?: { code?: string } }).cause?.code ?? '';
  if (CERTIFICATE_ERRORS.test(code) || CERTIFICATE_ERRORS.test(cause) || CERTIFICATE_ERRORS.test(error.message)) return 'certificate';
  if (code === 'EAUTH') return /does not support|no supported|not supported/i.test(error.message) ? 'auth-unsupported' : 'auth-refused';
  if (code === 'ETLS' || /STARTTLS|TLS|SSL|wrong version number/i.test(error.message)) return 'tls-refused';
  if (code === 'ETIMEDOUT' || /timeout|timed out/i.test(error.message)) return 'timeout';
  if (code === 'ECONNECTION' || code === 'EDNS' || /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN/.test(`${code} ${cause} ${error.message}`)) return 'unreachable';
  return 'relay-refused';
}

export async function testDpiEndpoint(settings: DpiChannelSettings): Promise<ChannelTest> {
  if (settings.dropFolder) {
    const folder = await stat(settings.dropFolder).catch(() => undefined);
    if (!folder?.isDirectory()) return { result: 'folder-missing', detail: `No folder at ${settings.dropFolder}` };
    try {
      await access(settings.dropFolder, constants.W_OK);
      return { result: 'ok' };
    } catch (error) {
      return { result: 'folder-not-writable', detail: oneLine((error as Error).message) };
    }
  }
  const { host, port } = settings.mllp!;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (test: ChannelTest) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(test);
    };
    const timer = setTimeout(() => finish({ result: 'timeout', detail: `No connection to ${host}:${port} within ${TEST_TIMEOUT_MS} ms` }), TEST_TIMEOUT_MS);
    socket.on('connect', () => finish({ result: 'ok' }));
    socket.on('error', (error) => finish({ result: 'unreachable', detail: oneLine(`${host}:${port}: ${error.message}`) }));
  });
}

/** The gateway answers at all (any HTTP status): the DMP's own refusals come with a document, not with a probe. */
export async function testDmpGateway(settings: DmpSettings): Promise<ChannelTest> {
  try {
    await fetch(settings.endpoint, { method: 'HEAD', signal: AbortSignal.timeout(TEST_TIMEOUT_MS) });
    return { result: 'ok' };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if ((error as Error).name === 'TimeoutError') return { result: 'timeout', detail: oneLine((error as Error).message) };
    if (cause?.code && CERTIFICATE_ERRORS.test(cause.code)) return { result: 'certificate', detail: oneLine(cause.message ?? cause.code) };
    return { result: 'unreachable', detail: oneLine(cause?.message ?? (error as Error).message) };
  }
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 300);
