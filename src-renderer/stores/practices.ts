import { defineStore } from 'pinia';
import { ref } from 'vue';
import { availabilityOf, nodeJson, type Availability } from '../api';
import { useNamesStore } from './names';
import { useSessionStore } from './session';

/**
 * The settings of the admin's practices (`/admin/practices`, admins only: others get 403 and the screen shows nothing
 * of it): whether the practice's practitioners share their patients (docs/access.md). The node lists every practice
 * of its users; an admin changes only their own, so only those are kept.
 */

export interface PracticeSetting {
  id: string;
  sharesPatients: boolean;
  updatedAt?: string;
  updatedBy?: string;
}

export const usePracticesStore = defineStore('practices', () => {
  const practices = ref<PracticeSetting[]>([]);
  const state = ref<Availability>('loading');
  const error = ref<unknown>();

  async function load(): Promise<void> {
    try {
      const mine = useSessionStore().user?.organizations ?? [];
      practices.value = (await nodeJson<{ practices: PracticeSetting[] }>('/admin/practices')).practices.filter((practice) => mine.includes(practice.id));
      state.value = 'ready';
      error.value = undefined;
      await useNamesStore().learnReferences(practices.value.map((practice) => `Organization/${practice.id}`));
    } catch (caught) {
      state.value = availabilityOf(caught);
      error.value = caught;
    }
  }

  async function setSharing(id: string, sharesPatients: boolean): Promise<void> {
    const changed = await nodeJson<PracticeSetting>(`/admin/practices/${encodeURIComponent(id)}`, { method: 'PUT', body: JSON.stringify({ sharesPatients }) });
    practices.value = practices.value.map((practice) => (practice.id === id ? changed : practice));
  }

  return { practices, state, error, load, setSharing };
});
