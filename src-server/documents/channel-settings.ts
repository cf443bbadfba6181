import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DmpSettings } from '../integrations/dmp/dmp-channel';
import type { DpiSettings } from '../integrations/dpi/dpi-channel';
import { integrationSettingsProblems } from '../integrations/module';
import { isJson } from '../fhir/json';

/**
 * How this node reaches the outside world to deliver documents: the MSSanté operator's SMTP relay, the practice
 * software's DPI endpoint (HL7 v2 over MLLP or a drop folder), the DMP endpoint, and the outbox's retry policy.
 * Read from `<data>/channels.json` (or `liaison serve --channels <file>`, or `NodeOptions.channels`); a channel
 * left out is not configured, and documents routed to it end `entered-in-error` saying so. The file may hold the
 * relay's password: keep it readable by the node's account only (the node never logs it).
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
  if (given) return checkChannelSettings(given, 'NodeOptions.channels');
  const file = chosenFile ?? join(dataDir, CHANNELS_FILE);
  if (!existsSync(file)) {
    if (chosenFile) throw new Error(`The channel settings file ${chosenFile} does not exist`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  return checkChannelSettings(parsed, file);
}

export function checkChannelSettings(value: unknown, where: string): ChannelSettings {
  const problem = (message: string) => new Error(`Channel settings (${where}): ${message}`);
  if (!isJson(value)) throw problem('expected a JSON object with any of mssante, dpi, dmp, outbox');
  const unknown = Object.keys(value).find((key) => !['mssante', 'dpi', 'dmp', 'outbox'].includes(key));
  if (unknown) throw problem(`unknown section '${unknown}' (expected mssante, dpi, dmp, outbox)`);
  const { mssante, dpi, dmp, outbox } = value;
  if (mssante !== undefined) {
    if (!isJson(mssante)) throw problem('mssante must be an object');
    if (typeof mssante.host !== 'string' || mssante.host === '') throw problem('mssante.host must name the SMTP relay');
    if (!isPort(mssante.port)) throw problem('mssante.port must be a port number');
    if (typeof mssante.from !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(mssante.from)) throw problem('mssante.from must be the MSSanté mailbox messages are sent from');
    if (mssante.auth !== undefined && !(isJson(mssante.auth) && typeof mssante.auth.user === 'string' && typeof mssante.auth.pass === 'string')) {
      throw problem('mssante.auth must be { "user": "…", "pass": "…" }');
    }
    for (const flag of ['secure', 'requireTLS', 'allowUntrustedCertificate']) {
      if (mssante[flag] !== undefined && typeof mssante[flag] !== 'boolean') throw problem(`mssante.${flag} must be true or false`);
    }
  }
  if (dpi !== undefined && !isJson(dpi)) throw problem('dpi must be an object');
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
