import { defineStore } from 'pinia';
import { ref } from 'vue';
import { availabilityOf, nodeJson, type Availability } from '../api';

/**
 * The identity provider the node logs users in with (`/admin/identity`, admins only; docs/login.md): Pro Santé
 * Connect, its sandbox, another OpenID Connect issuer, or local accounts only. The client secret goes to the node
 * and never comes back: the node only says whether one is saved.
 */

export type IdentityProvider = 'none' | 'psc' | 'psc-sandbox' | 'oidc';

/** What the set-up and Settings send (`POST /setup` `identity`, `PUT /admin/identity`, the provider tests). */
export interface IdentitySettings {
  provider: IdentityProvider;
  /** `oidc` only: the presets fix theirs. */
  issuer?: string;
  clientId?: string;
  /** Write-only; omitted, the node keeps the one it has. */
  clientSecret?: string;
  scopes?: string;
}

/** `GET /admin/identity`: the settings without their secret. */
export interface SavedIdentity extends Omit<IdentitySettings, 'clientSecret'> {
  localAccounts: boolean;
  hasClientSecret: boolean;
  /** `liaison serve` flags replace these settings for this run. */
  overriddenByFlags: boolean;
}

/** `POST /admin/identity/test` (and the set-up's): whether the discovery document was found and made sense. */
export interface ProviderTest {
  ok: boolean;
  /** `provider-unreachable`, `discovery-invalid`, `issuer-mismatch`, `tls-error`. */
  code?: string;
  detail?: string;
}

/** The issuers of the Pro Santé Connect presets (the node fixes them; shown so the admin knows where logins go). */
export const PSC_ISSUERS: Record<'psc' | 'psc-sandbox', string> = {
  psc: 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet',
  'psc-sandbox': 'https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet',
};

/** The settings a form holds, trimmed, with only the fields its provider takes and no empty secret. */
export function identityToSend(draft: IdentitySettings): IdentitySettings {
  if (draft.provider === 'none') return { provider: 'none' };
  const secret = draft.clientSecret ?? '';
  return {
    provider: draft.provider,
    ...(draft.provider === 'oidc' ? { issuer: draft.issuer?.trim() ?? '' } : {}),
    clientId: draft.clientId?.trim() ?? '',
    ...(secret ? { clientSecret: secret } : {}),
    ...(draft.provider === 'oidc' && draft.scopes?.trim() ? { scopes: draft.scopes.trim() } : {}),
  };
}

export const useIdentityStore = defineStore('identity', () => {
  const saved = ref<SavedIdentity>();
  const state = ref<Availability>('loading');
  const error = ref<unknown>();

  async function load(): Promise<void> {
    try {
      saved.value = await nodeJson<SavedIdentity>('/admin/identity');
      state.value = 'ready';
      error.value = undefined;
    } catch (caught) {
      state.value = availabilityOf(caught);
      error.value = caught;
    }
  }

  /** Saves the provider; new logins use it at once. A secret left empty keeps the one saved. */
  async function save(settings: IdentitySettings): Promise<void> {
    await nodeJson('/admin/identity', { method: 'PUT', body: JSON.stringify(identityToSend(settings)) });
    await load();
  }

  function test(settings: IdentitySettings): Promise<ProviderTest> {
    return nodeJson<ProviderTest>('/admin/identity/test', { method: 'POST', body: JSON.stringify(identityToSend(settings)) });
  }

  return { saved, state, error, load, save, test };
});
