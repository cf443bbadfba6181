import { defineStore } from 'pinia';
import { ref } from 'vue';
import { availabilityOf, fhir, nodeJson, type Availability } from '../api';
import { matches } from '../api/fhir-client';
import type { Practitioner } from '../api/fhir-types';
import { useSessionStore } from './session';
import { practitionerQuery } from './setup';

/**
 * The practice's user accounts, for its admins (`/admin/users`, docs/login.md): colleagues' local accounts added with
 * a temporary password shown once, passwords reset, accounts disabled, and the join codes that link a colleague's new
 * computer to this node (`/admin/join-codes`). Others get 403 and see nothing of it. And, for anyone who logs in
 * through the provider, their own offline password (`/auth/me/local-password`).
 */

/** New passwords: at least this long (the node says the same). */
export const MIN_PASSWORD_LENGTH = 12;

export type Role = 'practitioner' | 'staff' | 'admin';

/** The issuer of the accounts made on the node itself (src-server/auth/users.ts); any other is a provider's. */
export const LOCAL_ISSUER = 'local';

export interface Account {
  id: string;
  /** Who vouches for this person: the node itself (LOCAL_ISSUER) or an identity provider. */
  issuer: string;
  displayName: string;
  /** Its local account's login (the only way in of a local user; a provider's user's offline password). */
  login?: string;
  /** May log in with a login and password (a local account, or a provider's user with an offline password). */
  localAccount: boolean;
  /** Reset, or just created: the person chooses a new password at the next login. */
  mustChangePassword: boolean;
  roles: Role[];
  organizations: string[];
  practitionerId?: string;
  email?: string;
  lastLoginAt?: string;
  disabledAt?: string;
}

export interface NewAccount {
  login: string;
  displayName: string;
  roles: Role[];
  organizations: string[];
  practitionerId?: string;
}

export interface JoinCode {
  code: string;
  expiresAt: string;
}

export const useAccountsStore = defineStore('accounts', () => {
  const accounts = ref<Account[]>([]);
  const state = ref<Availability>('loading');
  const error = ref<unknown>();

  async function load(): Promise<void> {
    try {
      accounts.value = (await nodeJson<{ users: Account[] }>('/admin/users')).users;
      state.value = 'ready';
      error.value = undefined;
    } catch (caught) {
      state.value = availabilityOf(caught);
      error.value = caught;
    }
  }

  /** Creates a colleague's local account; its temporary password is in this answer only. */
  async function add(account: NewAccount): Promise<{ user: Account; temporaryPassword: string }> {
    const created = await nodeJson<{ user: Account; temporaryPassword: string }>('/admin/users', { method: 'POST', body: JSON.stringify(account) });
    await load();
    return created;
  }

  /** A new temporary password (shown once); the person chooses their own at the next login. */
  async function resetPassword(id: string): Promise<string> {
    const { temporaryPassword } = await nodeJson<{ temporaryPassword: string }>(`/admin/users/${encodeURIComponent(id)}/reset-password`, { method: 'POST' });
    await load();
    return temporaryPassword;
  }

  /** Disabling ends the person's sessions at once; enabling lets them log in again. */
  async function setDisabled(id: string, disabled: boolean): Promise<void> {
    await nodeJson(`/admin/users/${encodeURIComponent(id)}`, { method: 'PATCH', body: JSON.stringify({ disabled }) });
    await load();
  }

  /** A single-use code (24 h) with which a colleague's new computer joins this office as their account. */
  function joinCode(userId: string): Promise<JoinCode> {
    return nodeJson<JoinCode>('/admin/join-codes', { method: 'POST', body: JSON.stringify({ userId }) });
  }

  /** The logged-in provider user's local password, for the days the provider cannot be reached. */
  async function setOfflinePassword(login: string, newPassword: string): Promise<void> {
    await nodeJson('/auth/me/local-password', { method: 'POST', body: JSON.stringify({ login, newPassword }) });
    await useSessionStore().reloadUser();
  }

  /** Practitioners of the directory, by RPPS number or name, to link an account to. */
  async function findPractitioners(text: string, signal?: AbortSignal): Promise<Practitioner[]> {
    const query = practitionerQuery(text);
    const params = query.rpps ? { identifier: `https://rpps.esante.gouv.fr|${query.rpps}` } : { name: query.name };
    return matches(await fhir.search<Practitioner>('Practitioner', { ...params, _count: 10 }, signal));
  }

  return { accounts, state, error, load, add, resetPassword, setDisabled, joinCode, setOfflinePassword, findPractitioners };
});
