import { readFileSync } from 'node:fs';
import type { Channel } from '../documents/channel';
import type { FhirOperation, WriteRule } from '../fhir/rest/extensions';
import { deliveryRequirementsRule } from './delivery-requirements';
import { createDmpChannel, type DmpSettings } from './dmp/dmp-channel';
import { createDpiChannel, type DpiSettings } from './dpi/dpi-channel';

/**
 * The document integration connectors (docs/integrations.md) as the node wires them: the DPI and DMP channels the
 * document outbox delivers through, the rule that refuses undeliverable requests, and a close that ends deliveries
 * under way (as retries: a resend is recognised by the receiver).
 */

export interface IntegrationSettings {
  dpi?: DpiSettings;
  dmp?: DmpSettings;
}

export interface Integrations {
  /** The configured channels, for the document outbox. */
  channels: Channel[];
  operations: FhirOperation[];
  writeRules: WriteRule[];
  close(): Promise<void>;
}

export function createIntegrations(settings: IntegrationSettings = {}): Integrations {
  const stopping = new AbortController();
  return {
    channels: [
      ...(settings.dpi ? [createDpiChannel(settings.dpi, stopping.signal)] : []),
      ...(settings.dmp ? [createDmpChannel(settings.dmp, stopping.signal)] : []),
    ],
    operations: [],
    writeRules: [deliveryRequirementsRule],
    async close() {
      stopping.abort();
    },
  };
}

/**
 * Reads the settings from a JSON file (`liaison serve --integrations <file>`), checking what each channel cannot do
 * without, so a wrong file stops the start with a clear message rather than failing deliveries later.
 */
export function readIntegrationSettings(file: string): IntegrationSettings {
  let settings: IntegrationSettings;
  try {
    settings = JSON.parse(readFileSync(file, 'utf8')) as IntegrationSettings;
  } catch (error) {
    throw new Error(`Cannot read the integration settings ${file}: ${(error as Error).message}`);
  }
  const problems = [...dpiProblems(settings.dpi), ...dmpProblems(settings.dmp)];
  if (problems.length > 0) throw new Error(`The integration settings ${file} are incomplete: ${problems.join('; ')}`);
  return settings;
}

function dpiProblems(dpi: DpiSettings | undefined): string[] {
  if (!dpi) return [];
  const problems = missing(dpi, 'dpi', ['sendingApplication', 'sendingFacility', 'receivingApplication', 'receivingFacility']);
  if (dpi.messageType !== 'MDM^T02' && dpi.messageType !== 'ORU^R01') problems.push('dpi.messageType must be "MDM^T02" or "ORU^R01"');
  if (!dpi.mllp === !dpi.dropFolder) problems.push('dpi needs either mllp {host, port} or dropFolder');
  if (dpi.mllp && (typeof dpi.mllp.host !== 'string' || !Number.isInteger(dpi.mllp.port))) problems.push('dpi.mllp needs a host and an integer port');
  return problems;
}

function dmpProblems(dmp: DmpSettings | undefined): string[] {
  if (!dmp) return [];
  const problems = missing(dmp, 'dmp', ['endpoint', 'sourceOid']);
  if (typeof dmp.endpoint === 'string' && !URL.canParse(dmp.endpoint)) problems.push('dmp.endpoint is not a URL');
  if (typeof dmp.custodian?.name !== 'string') problems.push('dmp.custodian needs a name');
  for (const code of ['healthcareFacilityType', 'practiceSetting', 'class'] as const) {
    const value = dmp.codes?.[code];
    if (typeof value?.code !== 'string' || typeof value.display !== 'string' || typeof value.scheme !== 'string') problems.push(`dmp.codes.${code} needs a code, display and scheme`);
  }
  return problems;
}

function missing<T extends object>(settings: T, prefix: string, keys: (keyof T & string)[]): string[] {
  return keys.filter((key) => typeof settings[key] !== 'string' || settings[key] === '').map((key) => `${prefix}.${key} is missing`);
}
