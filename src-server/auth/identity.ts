import { refusal } from '../fhir/outcome';
import { checkIdentitySettings, DEFAULT_SETTINGS_FILE, effectiveIdentity, identityLayers, saveIdentitySettings, SettingsError, type IdentitySettings } from '../node-settings';
import { issuerOf, providerOf, testProvider, type ProviderConfig } from './identity-provider';
import type { LoginFlow } from './login-flow';
import { OidcLogin, type DecryptionKey } from './oidc-login';

/**
 * Who users log in with, as the running node applies it: the data folder's identity settings (node-settings.ts), or a
 * provider given on the command line for this run (`--oidc-issuer`, `--demo`), which wins. An admin's change
 * (`PUT /admin/identity`, `liaison auth set`) is saved, then applied at once: new logins go to the new provider,
 * without a restart. The client secret goes in and never comes out.
 */

/** The settings as an admin reads them: never the secret, only whether there is one. */
export type IdentityView = Omit<IdentitySettings, 'clientSecret'> & { hasClientSecret: boolean; overriddenByFlags: boolean };

/** `GET /auth/config`: the provider the login screen offers. */
export interface ProviderScreen {
  kind: ProviderConfig['kind'];
  issuer: string;
  label: string;
}

export interface IdentityOptions {
  dataDir: string;
  flow: LoginFlow;
  /** The settings in force at start (node-settings.ts `loadNodeSettings`). */
  settings: IdentitySettings;
  /** A provider for this run only (flags, demo), over the saved settings. */
  override?: ProviderConfig;
  /** This node's key for providers that encrypt userinfo to it. */
  decryptionKey: () => Promise<DecryptionKey>;
  warn: (message: string) => void;
  defaultsFile?: string;
}

export class Identity {
  private current: IdentitySettings;

  constructor(private readonly options: IdentityOptions) {
    this.current = options.settings;
    this.apply();
  }

  get localAccounts(): boolean {
    return this.current.localAccounts;
  }

  /** The provider new logins go to, for the login screen; null when there is none. */
  screen(): ProviderScreen | null {
    const provider = this.options.flow.provider?.provider;
    return provider ? { kind: provider.kind, issuer: provider.issuer, label: provider.label } : null;
  }

  view(): IdentityView {
    return viewOf(this.current, this.options.override !== undefined);
  }

  /** Saves an admin's change (the secret kept when left out) and applies it to new logins. 400 `identity-invalid`. */
  save(change: unknown): IdentityView {
    this.current = saveIdentityChange(this.options.dataDir, change, this.options.defaultsFile);
    this.apply();
    return this.view();
  }

  /** Builds the login flow's provider from the settings in force. */
  private apply(): void {
    const { override, flow, decryptionKey, warn } = this.options;
    const provider = override ?? providerOf(this.current);
    if (!override && this.current.provider !== 'none' && !provider) {
      warn(`Identity provider ${this.current.provider} has no client id: logins through it are off until one is set (Réglages, or liaison auth set --client-id)`);
    }
    flow.useProvider(provider && new OidcLogin(provider, decryptionKey));
  }
}

export function viewOf(settings: IdentitySettings, overriddenByFlags: boolean): IdentityView {
  const { clientSecret, ...rest } = settings;
  return { ...rest, hasClientSecret: Boolean(clientSecret), overriddenByFlags };
}

/**
 * Checks an admin's change against the settings saved in `dataDir` and saves it: `clientSecret` left out keeps the
 * saved one (for the same provider and client id), `null` removes it. The settings then in force, installer's
 * defaults included; a provider that could not log anyone in (no client id anywhere) is refused.
 */
export function saveIdentityChange(dataDir: string, change: unknown, defaultsFile = DEFAULT_SETTINGS_FILE): IdentitySettings {
  const layers = identityLayers(dataDir, defaultsFile);
  const body = typeof change === 'object' && change !== null && !Array.isArray(change) ? (change as Record<string, unknown>) : undefined;
  if (!body) throw refusal(400, 'identity-invalid', 'Send { "provider": "psc" | "psc-sandbox" | "oidc" | "none", "clientId"?, "clientSecret"?, "issuer"?, "scopes"?, "localAccounts"? }', 'provider');
  const { clientSecret, ...rest } = body;
  let next: IdentitySettings;
  try {
    next = checkIdentitySettings({ ...rest, ...(typeof clientSecret === 'string' && clientSecret !== '' ? { clientSecret } : {}) });
  } catch (error) {
    if (error instanceof SettingsError) throw refusal(400, 'identity-invalid', error.message, error.field?.replace(/^identity\./, ''));
    throw error;
  }
  const saved = layers.own;
  const sameClient = saved?.provider === next.provider && saved.clientId === next.clientId && saved.issuer === next.issuer;
  if (clientSecret === undefined && sameClient && saved?.clientSecret) next.clientSecret = saved.clientSecret;
  const effective = effectiveIdentity({ own: next, installed: layers.installed });
  if (effective.provider !== 'none' && !effective.clientId) {
    throw refusal(400, 'identity-invalid', `A client id is needed to log in through ${effective.provider}: the one the provider registered this software with`, 'clientId');
  }
  saveIdentitySettings(dataDir, next);
  return effective;
}

/** "Test the provider" for settings an admin is about to save (the secret is not needed to read a discovery document). */
export function testIdentitySettings(change: unknown): ReturnType<typeof testProvider> {
  let settings: IdentitySettings;
  try {
    settings = checkIdentitySettings(typeof change === 'object' && change !== null && !Array.isArray(change) ? { ...change, clientSecret: undefined } : change);
  } catch (error) {
    if (error instanceof SettingsError) throw refusal(400, 'identity-invalid', error.message, error.field?.replace(/^identity\./, ''));
    throw error;
  }
  const where = issuerOf(settings);
  if (!where) throw refusal(400, 'identity-invalid', 'There is no provider to test: local accounts only', 'provider');
  return testProvider(where);
}
