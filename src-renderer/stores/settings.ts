import { defineStore } from 'pinia';
import { ref } from 'vue';
import { availabilityOf, nodeJson, type Availability } from '../api';

/**
 * The node seen by the practice's admin: its health (`/health`, open to all), the API clients of the office's
 * software (`/admin/clients`, admins only: others get 403 and see why). Sync peers have their own store (`peers`).
 */

export interface NodeHealth {
  /** `ok`, or `degraded` with `reasons` (the text index rebuilding, a sync peer or a document channel failing…). */
  status: string;
  /** In English, for an administrator or support: the detail beside the words `problems` give. */
  reasons?: string[];
  /** The same, each with the part of the node it comes from (`text-index`, `sync`, `outbox`, `channel:<code>`), which the screen words. */
  problems?: Array<{ part: string; reason: string }>;
  version: string;
  fhirVersion: string;
  nodeId: string;
  schemaVersion: number;
  resources: { total: number; byType: Record<string, number> };
  textIndex: { ready: boolean; state?: string; lagMs?: number; lagP95Ms?: number; indexedSeq?: number; notIndexed?: number; error?: string };
}

export interface ApiClient {
  clientId: string;
  name: string;
  scopes: string[];
  role: string;
  rateLimit?: number;
  practitionerId?: string;
  organizationId?: string;
  createdAt: string;
  revokedAt?: string;
}

export interface NewApiClient {
  name: string;
  scopes: string[];
  practitionerId?: string;
  organizationId?: string;
}

export const useSettingsStore = defineStore('settings', () => {
  const health = ref<NodeHealth>();
  const healthError = ref<unknown>();
  const clients = ref<ApiClient[]>([]);
  const clientsState = ref<Availability>('loading');
  const clientsError = ref<unknown>();

  async function loadHealth(): Promise<void> {
    try {
      health.value = await nodeJson<NodeHealth>('/health');
      healthError.value = undefined;
    } catch (error) {
      healthError.value = error;
    }
  }

  async function loadClients(): Promise<void> {
    try {
      clients.value = (await nodeJson<{ clients: ApiClient[] }>('/admin/clients')).clients.filter((client) => client.role !== 'owner');
      clientsState.value = 'ready';
    } catch (error) {
      clientsState.value = availabilityOf(error);
      clientsError.value = error;
    }
  }

  /** Creates a client; its secret is in this answer only (the node keeps a hash). */
  async function createClient(client: NewApiClient): Promise<{ client_id: string; client_secret: string }> {
    const credentials = await nodeJson<{ client_id: string; client_secret: string }>('/admin/clients', { method: 'POST', body: JSON.stringify(client) });
    await loadClients();
    return credentials;
  }

  async function revokeClient(clientId: string): Promise<void> {
    await nodeJson(`/admin/clients/${encodeURIComponent(clientId)}`, { method: 'DELETE' });
    await loadClients();
  }

  return { health, healthError, clients, clientsState, clientsError, loadHealth, loadClients, createClient, revokeClient };
});
