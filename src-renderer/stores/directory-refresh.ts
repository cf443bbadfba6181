import { defineStore } from 'pinia';
import { ref } from 'vue';
import { availabilityOf, nodeJson, type Availability } from '../api';

/**
 * The directory's daily refresh (`/admin/directory/refresh`, admins only): the publication imported last, the one
 * being fetched or imported, the next check, the last failure with its code, a publication waiting for the admin's
 * confirmation; and the source and proxy settings (`PUT /admin/directory/source`).
 */

export type PublicationKind = 'activity' | 'mssante';

export interface ImportedPublication {
  name: string;
  /** Paris wall-clock time of the publication (from its file name), without offset. */
  publishedAt?: string;
  importedAt: string;
  lines: number;
}

export interface RefreshState {
  enabled: boolean;
  source?: string;
  proxy?: string;
  imported: Partial<Record<PublicationKind, ImportedPublication>>;
  running?: { kind: PublicationKind; phase: 'checking' | 'downloading' | 'checking-zip' | 'importing'; bytes: number; totalBytes?: number; lines: number };
  nextCheck?: string;
  lastCheck?: string;
  failure?: { code: string; message: string; at: string; parameters?: Record<string, number | string> };
  /** Why the node does not fetch though a source is set: it follows its office's node, or waits for its set-up. */
  heldBack?: 'directory-peer' | 'setup';
  waiting?: { kind: PublicationKind; publication: { name: string; publishedAt?: string }; refusal: { code: string; type: string; archiving: number; active: number } };
}

export const useDirectoryRefreshStore = defineStore('directory-refresh', () => {
  const refresh = ref<RefreshState>({ enabled: false, imported: {} });
  const state = ref<Availability>('loading');
  const error = ref<unknown>();

  async function load(): Promise<void> {
    try {
      refresh.value = await nodeJson<RefreshState>('/admin/directory/refresh');
      state.value = 'ready';
      error.value = undefined;
    } catch (caught) {
      state.value = availabilityOf(caught);
      error.value = caught;
    }
  }

  /** Asks the node, then follows the check it started until it ends (its progress shown meanwhile). */
  async function asking(path: string, init: RequestInit): Promise<void> {
    const before = refresh.value.lastCheck;
    refresh.value = await nodeJson<RefreshState>(path, init);
    if (!refresh.value.enabled) return;
    for (let polls = 0; polls < 600 && (refresh.value.running || refresh.value.lastCheck === before); polls++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      refresh.value = await nodeJson<RefreshState>('/admin/directory/refresh');
    }
  }

  /** Checks now (the "Réessayer" of a failure). */
  const checkNow = () => asking('/admin/directory/refresh', { method: 'POST', body: '{}' });

  /** The waiting publication is the whole directory: it is imported, archiving what it lacks. */
  const confirm = () => asking('/admin/directory/refresh/confirm', { method: 'POST', body: '{}' });

  /** Saves the source ('off': no refresh) and the proxy ('none': never one): a check follows. */
  const save = (settings: { source: string; proxy: string }) => asking('/admin/directory/source', { method: 'PUT', body: JSON.stringify(settings) });

  return { refresh, state, error, load, checkNow, confirm, save };
});
