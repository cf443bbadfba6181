import { defineStore } from 'pinia';
import { ref } from 'vue';
import { availabilityOf, nodeJson, type Availability } from '../api';

/**
 * The apps whose users log in through the node (`/admin/apps`, admins only; docs/login.md "Apps"). A confidential
 * app's secret is in the creation's answer only, and this store keeps none: the panel shows it once.
 */

export interface App {
  clientId: string;
  name: string;
  redirectUris: string[];
  public: boolean;
  scopes: string[];
  rateLimit?: number;
  createdAt: string;
  disabledAt?: string;
}

export interface NewApp {
  name: string;
  redirectUris: string[];
  public: boolean;
  scopes: string[];
}

export interface AppCredentials {
  client_id: string;
  client_secret?: string;
}

export const useAppsStore = defineStore('apps', () => {
  const apps = ref<App[]>([]);
  const state = ref<Availability>('loading');
  const error = ref<unknown>();

  async function load(): Promise<void> {
    try {
      apps.value = (await nodeJson<{ apps: App[] }>('/admin/apps')).apps;
      state.value = 'ready';
      error.value = undefined;
    } catch (caught) {
      state.value = availabilityOf(caught);
      error.value = caught;
    }
  }

  async function add(app: NewApp): Promise<AppCredentials> {
    const credentials = await nodeJson<AppCredentials>('/admin/apps', { method: 'POST', body: JSON.stringify(app) });
    await load();
    return credentials;
  }

  /** Every grant its users gave it ends; its tokens stop at once. */
  async function disable(clientId: string): Promise<void> {
    await nodeJson(`/admin/apps/${encodeURIComponent(clientId)}/disable`, { method: 'POST' });
    await load();
  }

  async function remove(clientId: string): Promise<void> {
    await nodeJson(`/admin/apps/${encodeURIComponent(clientId)}`, { method: 'DELETE' });
    await load();
  }

  return { apps, state, error, load, add, disable, remove };
});
