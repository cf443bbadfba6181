import type { SendRequirement } from '../channels/channel';
import type { NodeModule } from '../rest/extensions';
import { deliveryRequirements } from './delivery-requirements';
import type { DmpSettings } from './dmp/dmp-channel';
import type { DpiSettings } from './dpi/dpi-channel';

/**
 * The document integration connectors (docs/integrations.md): the DPI and DMP channels themselves are made by the
 * document outbox's channel registry from `<data>/channels.json` (src-server/documents/channel-registry.ts); here
 * are what those channels require of a send (checked by the document flow as it accepts one) and the check of the
 * settings each channel cannot do without.
 */

export interface IntegrationsModule extends NodeModule {
  /** What the DPI and DMP channels require of a send, which the document flow checks as it accepts one. */
  sendRequirements: readonly SendRequirement[];
}

export function integrationsModule(): IntegrationsModule {
  return { sendRequirements: [deliveryRequirements] };
}

/** What the DPI and DMP settings lack, one message per problem (none: usable). */
export function integrationSettingsProblems(settings: { dpi?: DpiSettings; dmp?: DmpSettings }): string[] {
  return [...dpiProblems(settings.dpi), ...dmpProblems(settings.dmp)];
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
