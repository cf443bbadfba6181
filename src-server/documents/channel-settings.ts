import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DmpSettings } from '../integrations/dmp/dmp-channel';
import type { DpiSettings } from '../integrations/dpi/dpi-channel';
import { integrationSettingsProblems } from '../integrations/module';
import { isJson } from '../fhir/json';

/**
 * How this node reaches the outside world to deliver documents: the MSSanté operator's SMTP relay, the practice
 * software's DPI endpoint (HL7 v2 over MLLP or a drop folder), the DMP endpoint, and the outbox's retry policy.
 * Read from `<data>/channels.json` (or `liaison serve --channels <file>`, or `NodeOptions.channels`) when there is
 * one, which then wins; otherwise set up by an admin in Réglages and kept in the database (saved-channels.ts). A
 * channel left out is not configured, and documents routed to it end `entered-in-error` saying so. The file may hold
 * the relay's password: keep it readable by the node's account only (the node never logs it).
 */

const CHANNELS_FILE = 'channels.json';

export interface SmtpRelaySettings {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the relay offers it (required with `requireTLS`). */
  secure?: boolean;
  requireTLS?: boolean;
  auth?: { user: string; pass: string };
  /** The node's MSSanté mailbox (the practice's or the software's applicative one): the messages' From. */
  from: string;
  /** Accept a relay certificate that does not chain to a trusted root (a test relay); never in production. */
  allowUntrustedCertificate?: boolean;
  /** The node's certificate, for operators that authenticate the software by its certificate (PEM; the key is a secret). */
  clientCertificate?: { cert: string; key: string };
}

/** The DPI channel's settings (docs/integrations.md), and the Organizations its endpoint serves. */
export interface DpiChannelSettings extends DpiSettings {
  /** Organizations served by this endpoint: documents addressed to them go to the DPI unless `medium` says otherwise. */
  organizations?: string[];
}

export interface OutboxSettings {
  /** Delay before the first retry; each later one doubles it, up to `maxDelayMs`. */
  firstRetryMs: number;
  maxDelayMs: number;
  /** Attempts in all, the first included; after the last one the delivery ends `entered-in-error`. */
  maxAttempts: number;
  /** How long one attempt may take before it counts as failed (retried). */
  attemptTimeoutMs: number;
}

export interface ChannelSettings {
  mssante?: SmtpRelaySettings;
  dpi?: DpiChannelSettings;
  dmp?: DmpSettings;
  outbox?: Partial<OutboxSettings>;
}

export const DEFAULT_OUTBOX: OutboxSettings = { firstRetryMs: 30_000, maxDelayMs: 3_600_000, maxAttempts: 12, attemptTimeoutMs: 300_000 };

/** The settings given, or those of `<data>/channels.json` (none: only the internal channel). Throws naming what is wrong. */
export function loadChannelSettings(dataDir: string, given?: ChannelSettings, chosenFile?: string): ChannelSettings {
  return fixedChannelSettings(dataDir, given, chosenFile)?.settings ?? {};
}

/**
 * The settings fixed at start: those given, or the file's (`where` says which). Undefined when there are none, and
 * then the channels are those an admin saved in Réglages.
 */
export function fixedChannelSettings(dataDir: string, given?: ChannelSettings, chosenFile?: string): { settings: ChannelSettings; where: string } | undefined {
  if (given) return { settings: checkChannelSettings(given, 'NodeOptions.channels'), where: 'NodeOptions.channels' };
  const file = chosenFile ?? join(dataDir, CHANNELS_FILE);
  if (!existsSync(file)) {
    if (chosenFile) throw new Error(`The channel settings file ${chosenFile} does not exist`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  return { settings: checkChannelSettings(parsed, file), where: file };
}

export function checkChannelSettings(value: unknown, where: string): ChannelSettings {
  const problem = (message: string) => new Error(`Channel settings (${where}): ${message}`);
  if (!isJson(value)) throw problem('expected a JSON object with any of mssante, dpi, dmp, outbox');
  const unknown = Object.keys(value).find((key) => !['mssante', 'dpi', 'dmp', 'outbox'].includes(key));
  if (unknown) throw problem(`unknown section '${unknown}' (expected mssante, dpi, dmp, outbox)`);
  const { mssante, dpi, dmp, outbox } = value;
  if (mssante !== undefined) {
    if (!isJson(mssante)) throw problem('mssante must be an object');
    if (!isHostName(mssante.host)) throw problem('mssante.host must name the SMTP relay (a host name or an IP address)');
    if (!isPort(mssante.port)) throw problem('mssante.port must be a port number');
    if (typeof mssante.from !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(mssante.from)) throw problem('mssante.from must be the MSSanté mailbox messages are sent from');
    if (mssante.auth !== undefined && !(isJson(mssante.auth) && typeof mssante.auth.user === 'string' && typeof mssante.auth.pass === 'string')) {
      throw problem('mssante.auth must be { "user": "…", "pass": "…" }');
    }
    const certificate = mssante.clientCertificate;
    if (certificate !== undefined && !(isJson(certificate) && isPem(certificate.cert, 'CERTIFICATE') && isPem(certificate.key, 'PRIVATE KEY'))) {
      throw problem('mssante.clientCertificate must be { "cert": "<PEM certificate>", "key": "<PEM private key>" }');
    }
    for (const flag of ['secure', 'requireTLS', 'allowUntrustedCertificate']) {
      if (mssante[flag] !== undefined && typeof mssante[flag] !== 'boolean') throw problem(`mssante.${flag} must be true or false`);
    }
  }
  if (dpi !== undefined && !isJson(dpi)) throw problem('dpi must be an object');
  if (isJson(dpi) && isJson(dpi.mllp) && !(isHostName(dpi.mllp.host) && isPort(dpi.mllp.port))) throw problem('dpi.mllp needs a host name or IP address and a port number');
  if (isJson(dpi) && dpi.organizations !== undefined && !(Array.isArray(dpi.organizations) && dpi.organizations.every((id) => typeof id === 'string'))) {
    throw problem('dpi.organizations must be a list of Organization ids');
  }
  if (dmp !== undefined && !isJson(dmp)) throw problem('dmp must be an object');
  const integrationProblems = integrationSettingsProblems({ dpi: dpi as DpiSettings | undefined, dmp: dmp as DmpSettings | undefined });
  if (integrationProblems.length > 0) throw problem(integrationProblems.join('; '));
  if (outbox !== undefined) {
    if (!isJson(outbox)) throw problem('outbox must be an object');
    for (const [key, setting] of Object.entries(outbox)) {
      if (!(key in DEFAULT_OUTBOX)) throw problem(`unknown outbox setting '${key}'`);
      if (!Number.isInteger(setting) || (setting as number) < 1) throw problem(`outbox.${key} must be a positive integer`);
    }
  }
  return value as ChannelSettings;
}


const isPort = (value: unknown) => Number.isInteger(value) && (value as number) > 0 && (value as number) < 65536;

/** A DNS name or an IPv4/IPv6 address: nothing a URL, a path or a space could hide in. */
const isHostName = (value: unknown) => typeof value === 'string' && value.length <= 253 && (/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(value) || /^[0-9A-Fa-f:.]+$/.test(value) && value.includes(':'));

const isPem = (value: unknown, label: string) => typeof value === 'string' && new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(value);
