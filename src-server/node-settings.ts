import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isJson, type Json } from './fhir/json';
import { dataFolderKey, seal, unseal } from './sealing';

/**
 * The node's own settings, in `<data>/settings.json` (0600), each section optional and every setting with its default:
 *   { "audit": { "retentionDays": 365 },
 *     "identity": { "provider": "psc", "clientId": "…", "clientSecret": "<sealed>", "localAccounts": true } }
 * Read at every start, by the desktop node and `liaison serve` alike. Under it, `resources/default-settings.json`
 * holds what an installer ships (a Pro Santé Connect client id and secret, say): the data folder's `identity` wins,
 * and takes the client id, secret and scopes it lacks from the defaults when both name the same provider. A file that
 * does not check out stops the start, saying what is wrong, rather than running with a setting the admin did not mean.
 *
 * The client secret is sealed under the data folder's key in the data folder's file (never in clear there); the
 * installer's defaults, shipped to every practice alike, carry it as it is. In memory it is in clear, for the login.
 */

export const SETTINGS_FILE = 'settings.json';
export const DEFAULT_SETTINGS_FILE = fileURLToPath(new URL('../resources/default-settings.json', import.meta.url));

export const PROVIDER_KINDS = ['none', 'psc', 'psc-sandbox', 'oidc'] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/** Who users log in with (docs/login.md): an upstream OpenID provider, local accounts, or both. */
export interface IdentitySettings {
  provider: ProviderKind;
  /** `oidc`: its issuer. The Pro Santé Connect presets fix theirs; one given here replaces it (another realm, tests). */
  issuer?: string;
  clientId?: string;
  /** In clear here; sealed in the data folder's file. */
  clientSecret?: string;
  /** Space separated; the preset's (or `openid profile email`) when absent. */
  scopes?: string;
  /** Local accounts (login and password) may log in. */
  localAccounts: boolean;
}

export interface NodeSettings {
  audit: {
    /** Audit rows older than this many days are deleted (audit/audit-retention.ts). */
    retentionDays: number;
  };
  identity: IdentitySettings;
  /** The daily backup (backup/daily-backup.ts): the folder it writes to, none until the practice chooses one. */
  backup: { folder?: string };
  /**
   * The directory's daily refresh (directory/refresh.ts): `source` the extraction service's base URL, or 'off'
   * (absent: the node's default, the ANS service); `proxy` an HTTP proxy URL that wins over HTTPS_PROXY, or 'none'.
   */
  directory: DirectorySettings;
}

export interface DirectorySettings {
  source?: string;
  proxy?: string;
}

export const NO_PROVIDER: IdentitySettings = { provider: 'none', localAccounts: true };
const DEFAULTS: NodeSettings = { audit: { retentionDays: 365 }, identity: NO_PROVIDER, backup: {}, directory: {} };
/** `dataKeyFile`: where `liaison serve` finds the data key when LIAISON_KEY_FILE is not set (data-key.ts `keyFileSetting`). */
const SECTIONS = new Set([...Object.keys(DEFAULTS), 'dataKeyFile']);
const IDENTITY_KEYS = new Set(['provider', 'issuer', 'clientId', 'clientSecret', 'scopes', 'localAccounts']);
const MAX_RETENTION_DAYS = 36_500;
const MAX_TEXT = 2000;

export class SettingsError extends Error {
  constructor(
    message: string,
    /** The setting it is about (`identity.issuer`). */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'SettingsError';
  }
}

export function loadNodeSettings(dataDir: string, defaultsFile = DEFAULT_SETTINGS_FILE): NodeSettings {
  const defaults = readSettingsFile(defaultsFile);
  const own = readSettingsFile(join(dataDir, SETTINGS_FILE));
  const audit = own?.audit !== undefined ? checked(join(dataDir, SETTINGS_FILE), () => auditOf(own.audit)) : checked(defaultsFile, () => auditOf(defaults?.audit));
  const layers = identityLayers(dataDir, defaultsFile);
  const backup = checked(join(dataDir, SETTINGS_FILE), () => backupOf(own?.backup));
  const directory = checked(join(dataDir, SETTINGS_FILE), () => checkDirectorySettings(own?.directory ?? {}));
  return { audit, identity: effectiveIdentity(layers), backup, directory };
}

/** Saves the directory refresh's source and proxy in the data folder's settings. */
export function saveDirectorySettings(dataDir: string, directory: DirectorySettings): void {
  const file = join(dataDir, SETTINGS_FILE);
  const current = readSettingsFile(file) ?? {};
  writeFileAtomically(file, `${JSON.stringify({ ...current, directory: checkDirectorySettings(directory) }, null, 2)}\n`);
}

/** The directory section as given (file, API, CLI): `source` an http(s) URL or 'off', `proxy` an http(s) URL or 'none'. */
export function checkDirectorySettings(value: unknown): DirectorySettings {
  if (!isJson(value)) throw new SettingsError('directory must be an object: { "source": "https://…" | "off", "proxy": "http://…" | "none" }', 'directory');
  const unknownKey = Object.keys(value).find((key) => key !== 'source' && key !== 'proxy');
  if (unknownKey) throw new SettingsError(`unknown directory setting '${unknownKey}' (expected source, proxy)`, `directory.${unknownKey}`);
  const settings: DirectorySettings = {};
  for (const [name, off] of [['source', 'off'], ['proxy', 'none']] as const) {
    const given = value[name];
    if (given === undefined) continue;
    if (typeof given !== 'string' || given.length > MAX_TEXT || (given !== off && !isHttpUrl(given))) {
      throw new SettingsError(`directory.${name} must be an http(s) URL without credentials in the path, or '${off}'`, `directory.${name}`);
    }
    settings[name] = given === off ? off : given.replace(/\/$/, '');
  }
  return settings;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.search && !url.hash;
  } catch {
    return false;
  }
}

/** Saves the daily backup's folder (none: no daily backup) in the data folder's settings. */
export function saveBackupSettings(dataDir: string, backup: NodeSettings['backup']): void {
  const file = join(dataDir, SETTINGS_FILE);
  const current = readSettingsFile(file) ?? {};
  writeFileAtomically(file, `${JSON.stringify({ ...current, backup: backupOf(backup) }, null, 2)}\n`);
}

function backupOf(backup: unknown): NodeSettings['backup'] {
  if (backup === undefined) return {};
  if (!isJson(backup)) throw new SettingsError('backup must be an object');
  const unknownKey = Object.keys(backup).find((key) => key !== 'folder');
  if (unknownKey) throw new SettingsError(`unknown backup setting '${unknownKey}' (expected folder)`);
  if (backup.folder === undefined) return {};
  if (typeof backup.folder !== 'string' || !isAbsolute(backup.folder) || backup.folder.length > MAX_TEXT) throw new SettingsError('backup.folder must be an absolute path', 'backup.folder');
  return { folder: backup.folder };
}

/** Where identity settings come from: the data folder's own (secret unsealed), over the installer's. */
export interface IdentityLayers {
  own?: IdentitySettings;
  installed: IdentitySettings;
}

export function identityLayers(dataDir: string, defaultsFile = DEFAULT_SETTINGS_FILE): IdentityLayers {
  const defaults = readSettingsFile(defaultsFile);
  const file = join(dataDir, SETTINGS_FILE);
  const own = readSettingsFile(file);
  return {
    ...(own?.identity !== undefined ? { own: checked(file, () => identityOf(own.identity, (sealed) => unsealSecret(dataDir, sealed))) } : {}),
    installed: defaults?.identity === undefined ? NO_PROVIDER : checked(defaultsFile, () => identityOf(defaults.identity, (text) => text)),
  };
}

/** The settings in force: the data folder's, with the client id, secret and scopes it lacks from the installer's. */
export function effectiveIdentity({ own, installed }: IdentityLayers): IdentitySettings {
  return own ? underDefaults(own, installed) : installed;
}

/** `read()`, its problems named with the file they are in. */
function checked<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw error instanceof SettingsError ? new Error(`Node settings (${file}): ${error.message}`) : error;
  }
}

/** The identity settings as an admin gives them (API, CLI): checked, without the secret's sealing. */
export function checkIdentitySettings(value: unknown): IdentitySettings {
  return identityOf(value, (text) => text);
}

/**
 * Saves the identity settings in the data folder's file, the secret sealed, the other sections as they were. Written
 * to a temporary file then renamed, so a crash leaves the old file or the new one, never half of one.
 */
export function saveIdentitySettings(dataDir: string, identity: IdentitySettings): void {
  const file = join(dataDir, SETTINGS_FILE);
  const current = readSettingsFile(file) ?? {};
  const { clientSecret, ...rest } = identity;
  const saved: Json = { ...rest, ...(clientSecret ? { clientSecret: seal(dataFolderKey(dataDir), clientSecret) } : {}) };
  writeFileAtomically(file, `${JSON.stringify({ ...current, identity: saved }, null, 2)}\n`);
}

/**
 * The identity secret of the folder's settings sealed again by `reseal` (a change of sealing key); the file is
 * rewritten only when the secret changed.
 */
export function resealIdentitySecret(dataDir: string, reseal: (sealed: string) => string): void {
  const file = join(dataDir, SETTINGS_FILE);
  const current = readSettingsFile(file);
  const identity = current?.identity as Json | undefined;
  if (!current || !identity || typeof identity.clientSecret !== 'string') return;
  const clientSecret = reseal(identity.clientSecret);
  if (clientSecret !== identity.clientSecret) writeFileAtomically(file, `${JSON.stringify({ ...current, identity: { ...identity, clientSecret } }, null, 2)}\n`);
}

/** Writes `text` to `file` (0600) through a temporary file renamed over it. */
export function writeFileAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

function readSettingsFile(file: string): Json | undefined {
  if (!existsSync(file)) return undefined;
  const problem = (message: string) => new Error(`Node settings (${file}): ${message}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw problem(`not valid JSON: ${(error as Error).message}`);
  }
  if (!isJson(parsed)) throw problem('expected a JSON object, e.g. { "audit": { "retentionDays": 365 } }');
  const unknown = Object.keys(parsed).find((key) => !SECTIONS.has(key));
  if (unknown) throw problem(`unknown section '${unknown}' (expected ${[...SECTIONS].join(', ')})`);
  return parsed;
}

function auditOf(audit: unknown): NodeSettings['audit'] {
  if (audit === undefined) return DEFAULTS.audit;
  if (!isJson(audit)) throw new SettingsError('audit must be an object');
  const unknownAudit = Object.keys(audit).find((key) => !(key in DEFAULTS.audit));
  if (unknownAudit) throw new SettingsError(`unknown audit setting '${unknownAudit}' (expected retentionDays)`);
  const retentionDays = audit.retentionDays ?? DEFAULTS.audit.retentionDays;
  if (!Number.isInteger(retentionDays) || (retentionDays as number) < 1 || (retentionDays as number) > MAX_RETENTION_DAYS) {
    throw new SettingsError(`audit.retentionDays must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}, not ${JSON.stringify(retentionDays)}`);
  }
  return { retentionDays: retentionDays as number };
}

/** Checks an identity section; `secretOf` turns the stored secret into the secret (unsealing the data folder's). */
function identityOf(value: unknown, secretOf: (stored: string) => string): IdentitySettings {
  if (!isJson(value)) throw new SettingsError('identity must be an object: { "provider": "psc" | "psc-sandbox" | "oidc" | "none", … }', 'identity');
  const unknown = Object.keys(value).find((key) => !IDENTITY_KEYS.has(key));
  if (unknown) throw new SettingsError(`unknown identity setting '${unknown}' (expected ${[...IDENTITY_KEYS].join(', ')})`, `identity.${unknown}`);
  const { provider, issuer, clientId, clientSecret, scopes, localAccounts } = value;
  if (!(PROVIDER_KINDS as readonly unknown[]).includes(provider)) throw new SettingsError(`identity.provider must be one of ${PROVIDER_KINDS.join(', ')}, not ${JSON.stringify(provider)}`, 'identity.provider');
  for (const [name, text] of Object.entries({ issuer, clientId, clientSecret, scopes })) {
    if (text !== undefined && (typeof text !== 'string' || text.trim() === '' || text.length > MAX_TEXT)) {
      throw new SettingsError(`identity.${name} must be a text of 1 to ${MAX_TEXT} characters`, `identity.${name}`);
    }
  }
  if (localAccounts !== undefined && typeof localAccounts !== 'boolean') throw new SettingsError('identity.localAccounts must be true or false', 'identity.localAccounts');
  if (issuer !== undefined) checkIssuer(issuer as string);
  if (provider === 'oidc' && issuer === undefined) throw new SettingsError('identity.issuer is needed for an OpenID Connect provider', 'identity.issuer');
  if (provider === 'none' && localAccounts === false) throw new SettingsError('without an identity provider, local accounts are the only way in: identity.localAccounts cannot be false', 'identity.localAccounts');
  return {
    provider: provider as ProviderKind,
    ...(issuer !== undefined ? { issuer: (issuer as string).trim() } : {}),
    ...(clientId !== undefined ? { clientId: (clientId as string).trim() } : {}),
    ...(clientSecret !== undefined ? { clientSecret: secretOf(clientSecret as string) } : {}),
    ...(scopes !== undefined ? { scopes: (scopes as string).trim() } : {}),
    localAccounts: (localAccounts as boolean | undefined) ?? true,
  };
}

/** An issuer is an https URL, or http on this computer (a provider for tests and the demo). */
function checkIssuer(issuer: string): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new SettingsError(`identity.issuer must be a URL, not '${issuer}'`, 'identity.issuer');
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new SettingsError('identity.issuer must be an https URL (http only on this computer)', 'identity.issuer');
  if (url.username || url.password || url.search || url.hash) throw new SettingsError('identity.issuer carries no credentials, query or fragment', 'identity.issuer');
}

/** The data folder's settings, with the client id, secret and scopes it lacks from the installer's for the same provider. */
function underDefaults(own: IdentitySettings, installed: IdentitySettings): IdentitySettings {
  if (own.provider !== installed.provider || own.issuer !== installed.issuer) return own;
  const inherited = own.clientId === undefined || own.clientId === installed.clientId;
  return {
    ...own,
    ...(own.clientId === undefined && installed.clientId !== undefined ? { clientId: installed.clientId } : {}),
    // The secret goes with its client id: never another client's.
    ...(own.clientSecret === undefined && inherited && installed.clientSecret !== undefined ? { clientSecret: installed.clientSecret } : {}),
    ...(own.scopes === undefined && installed.scopes !== undefined ? { scopes: installed.scopes } : {}),
  };
}

function unsealSecret(dataDir: string, sealed: string): string {
  try {
    return unseal(dataFolderKey(dataDir), sealed);
  } catch {
    throw new SettingsError(
      "identity.clientSecret is not sealed under this data folder's key (it was written elsewhere, by hand, or the key file changed): set it again with `liaison auth set` or from Réglages",
      'identity.clientSecret',
    );
  }
}
