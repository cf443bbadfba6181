import { defineStore } from 'pinia';
import { ref } from 'vue';
import { anonymousJson } from '../api';
import { FhirApiError, matches } from '../api/fhir-client';
import type { Bundle, Organization, Practitioner } from '../api/fhir-types';
import { identityToSend, type IdentitySettings, type ProviderTest } from './identity';
import { useSessionStore } from './session';

/**
 * The first run of a data folder with no user (docs/login.md, "First run"): every call carries the set-up code the
 * node made at start (`X-Liaison-Setup-Code`), which comes from the page's address in a browser
 * (`#/setup?code=…`) and from the main process in the desktop app. Either the practice, its first admin and the
 * identity provider (`POST /setup`), or this computer joins an existing office (`POST /setup/join`).
 */

export type NewPractice = { organizationId: string } | { name: string; finess?: string; siret?: string; address?: { line: string; postalCode: string; city: string } };

/** The practice as the set-up form holds it: chosen in the directory, or typed in. */
export interface PracticeDraft {
  mode: 'directory' | 'new';
  chosen?: Organization;
  name: string;
  finess: string;
  siret: string;
  line: string;
  postalCode: string;
  city: string;
}

/** What `POST /setup` takes of the form's practice. */
export function practiceToSend(draft: PracticeDraft): NewPractice {
  if (draft.mode === 'directory') return { organizationId: draft.chosen?.id ?? '' };
  const address = { line: draft.line.trim(), postalCode: draft.postalCode.trim(), city: draft.city.trim() };
  return {
    name: draft.name.trim(),
    ...(draft.finess.trim() ? { finess: draft.finess.replace(/\s+/g, '').toUpperCase() } : {}),
    ...(draft.siret.trim() ? { siret: draft.siret.replace(/\s+/g, '') } : {}),
    ...(address.line || address.postalCode || address.city ? { address } : {}),
  };
}

export interface FirstAdmin {
  login: string;
  password: string;
  displayName: string;
  practitionerId?: string;
}

/** FINESS: 9 characters, digits but for Corsica's 2A/2B department; SIRET: 14 digits. */
export function practiceQuery(text: string): Record<string, string> {
  const compact = text.replace(/\s+/g, '').toUpperCase();
  if (/^(\d{2}|2A|2B)\d{7}$/.test(compact)) return { finess: compact };
  if (/^\d{14}$/.test(compact)) return { siret: compact };
  return { name: text.trim() };
}

/** An RPPS number (11 digits) or a name. */
export function practitionerQuery(text: string): Record<string, string> {
  const compact = text.replace(/\s+/g, '');
  return /^\d{11}$/.test(compact) ? { rpps: compact } : { name: text.trim() };
}

export const useSetupStore = defineStore('setup', () => {
  const code = ref<string>();
  /** Once done: the login to fill in on the login screen, and whether this computer joined an office. */
  const finished = ref<{ login: string; joined: boolean }>();

  /** The set-up code: the address's in a browser, the main process's in the desktop app. */
  async function loadCode(fromAddress: string | undefined): Promise<void> {
    code.value = fromAddress?.trim() || (window.liaison ? ((await window.liaison.setupCode()) ?? undefined) : undefined) || code.value;
  }

  function send<T>(path: string, init: RequestInit = {}): Promise<T> {
    return anonymousJson<T>(path, { ...init, headers: { 'x-liaison-setup-code': code.value ?? '' } });
  }

  async function findPractices(text: string, signal?: AbortSignal): Promise<Organization[]> {
    return matches(await send<Bundle<Organization>>(`/setup/practices?${new URLSearchParams(practiceQuery(text))}`, { signal }));
  }

  async function findPractitioners(text: string, signal?: AbortSignal): Promise<Practitioner[]> {
    return matches(await send<Bundle<Practitioner>>(`/setup/practitioners?${new URLSearchParams(practitionerQuery(text))}`, { signal }));
  }

  /** The provider's discovery document, fetched by the node; 'later' where the node offers no test before set-up. */
  async function testProvider(identity: IdentitySettings): Promise<ProviderTest | 'later'> {
    try {
      return await send<ProviderTest>('/setup/identity/test', { method: 'POST', body: JSON.stringify(identityToSend(identity)) });
    } catch (error) {
      if (error instanceof FhirApiError && (error.status === 404 || error.status === 405)) return 'later';
      throw error;
    }
  }

  async function install(practice: NewPractice, admin: FirstAdmin, identity: IdentitySettings): Promise<void> {
    await send('/setup', { method: 'POST', body: JSON.stringify({ practice, admin, identity: identityToSend(identity) }) });
    await done({ login: admin.login, joined: false });
  }

  /** The data key's recovery kit (a JSON file to keep away from the computer), wrapped by `passphrase`. */
  function recoveryKit(passphrase: string): Promise<unknown> {
    return send('/setup/recovery-kit', { method: 'POST', body: JSON.stringify({ passphrase }) });
  }

  /** This computer joins an existing office with the code its admin gave: the colleague's account comes with it. */
  async function join(officeUrl: string, joinCode: string): Promise<void> {
    const joined = await send<{ login?: string }>('/setup/join', { method: 'POST', body: JSON.stringify({ officeUrl: officeUrl.trim(), code: joinCode.trim() }) });
    await done({ login: joined.login ?? '', joined: true });
  }

  async function done(result: { login: string; joined: boolean }): Promise<void> {
    finished.value = result;
    code.value = undefined;
    await useSessionStore().loadLoginScreen();
  }

  return { code, finished, loadCode, findPractices, findPractitioners, testProvider, install, join, recoveryKit };
});
