import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isJson } from './fhir/json';

/**
 * The node's own settings, in `<data>/settings.json`, each section optional and every setting with its default:
 *   { "audit": { "retentionDays": 365 } }
 * Read at start: a change applies at the next start. A file that does not check out stops the start, saying what
 * is wrong, rather than running with a setting the admin did not mean.
 */

export const SETTINGS_FILE = 'settings.json';

export interface NodeSettings {
  audit: {
    /** Audit rows older than this many days are deleted (audit/audit-retention.ts). */
    retentionDays: number;
  };
}

const DEFAULTS: NodeSettings = { audit: { retentionDays: 365 } };
const MAX_RETENTION_DAYS = 36_500;

export function loadNodeSettings(dataDir: string): NodeSettings {
  const file = join(dataDir, SETTINGS_FILE);
  if (!existsSync(file)) return DEFAULTS;
  const problem = (message: string) => new Error(`Node settings (${file}): ${message}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw problem(`not valid JSON: ${(error as Error).message}`);
  }
  if (!isJson(parsed)) throw problem('expected a JSON object, e.g. { "audit": { "retentionDays": 365 } }');
  const unknown = Object.keys(parsed).find((key) => !(key in DEFAULTS));
  if (unknown) throw problem(`unknown section '${unknown}' (expected ${Object.keys(DEFAULTS).join(', ')})`);
  const audit = parsed.audit ?? {};
  if (!isJson(audit)) throw problem('audit must be an object');
  const unknownAudit = Object.keys(audit).find((key) => !(key in DEFAULTS.audit));
  if (unknownAudit) throw problem(`unknown audit setting '${unknownAudit}' (expected retentionDays)`);
  const retentionDays = audit.retentionDays ?? DEFAULTS.audit.retentionDays;
  if (!Number.isInteger(retentionDays) || (retentionDays as number) < 1 || (retentionDays as number) > MAX_RETENTION_DAYS) {
    throw problem(`audit.retentionDays must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}, not ${JSON.stringify(retentionDays)}`);
  }
  return { audit: { retentionDays: retentionDays as number } };
}
