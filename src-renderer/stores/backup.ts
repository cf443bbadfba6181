import { defineStore } from 'pinia';
import { ref } from 'vue';
import { availabilityOf, nodeJson, type Availability } from '../api';

/**
 * The daily backup (`/admin/backup/daily`, admins only: others get 403 and the screen shows nothing of it): the folder
 * the node writes a sealed backup to once a day (saved in the data folder's settings.json), and the last one's result.
 */

export interface BackupResult {
  at: string;
  ok: boolean;
  file?: string;
  bytes?: number;
  /** Why it failed, in the node's words (English): shown as the detail, for support. */
  error?: string;
  /** What kind of failure it is (src-server/backup/daily-backup.ts), which the screen words; absent from older nodes. */
  problem?: BackupProblem;
}

export type BackupProblem = 'noFolder' | 'folderMissing' | 'refused' | 'diskFull' | 'readOnly' | 'diskError' | 'other';

export interface DailyBackupState {
  folder?: string;
  last?: BackupResult;
}

export const useBackupStore = defineStore('backup', () => {
  const daily = ref<DailyBackupState>({});
  const state = ref<Availability>('loading');
  const error = ref<unknown>();

  async function load(): Promise<void> {
    try {
      daily.value = await nodeJson<DailyBackupState>('/admin/backup/daily');
      state.value = 'ready';
      error.value = undefined;
    } catch (caught) {
      state.value = availabilityOf(caught);
      error.value = caught;
    }
  }

  /** Chooses the folder (an absolute path on the computer the node runs on), or none: no daily backup. */
  async function choose(folder: string | undefined): Promise<void> {
    daily.value = await nodeJson<DailyBackupState>('/admin/backup/daily', { method: 'PUT', body: JSON.stringify({ folder: folder ?? null }) });
  }

  async function runNow(): Promise<void> {
    daily.value = await nodeJson<DailyBackupState>('/admin/backup/daily/now', { method: 'POST', body: '{}' });
  }

  return { daily, state, error, load, choose, runNow };
});
