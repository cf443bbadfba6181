import { defineStore } from 'pinia';
import { ref } from 'vue';
import { availabilityOf, nodeJson, type Availability } from '../api';

/**
 * How documents leave the node (`/admin/channels`, admins only; docs/documents.md "Channels"): the MSSanté operator's
 * SMTP relay, the DPI endpoint, the DMP gateway. Secrets (the relay's password, the certificate's key) go to the node
 * and never come back: it only names those it keeps. A channels.json on the node fixes everything (read-only here).
 */

export type ChannelCode = 'mssante' | 'dpi' | 'dmp';
export type ChannelSettingsJson = Record<string, unknown>;

export interface ChannelView {
  settings: ChannelSettingsJson;
  /** The secrets the node keeps for it: `auth.pass`, `clientCertificate.key`, `headers`. */
  savedSecrets: string[];
}

export interface ChannelsView {
  /** The file that fixes the channels (then nothing here can change them). */
  fixedBy?: string;
  channels: Partial<Record<ChannelCode, ChannelView>>;
}

/** `POST /admin/channels/<channel>/test`: what happened, coded (`settings.channels.results.<result>`). */
export interface ChannelTest {
  result: string;
  detail?: string;
}

export const useChannelsStore = defineStore('channels', () => {
  const view = ref<ChannelsView>();
  const state = ref<Availability>('loading');
  const error = ref<unknown>();

  async function load(): Promise<void> {
    try {
      view.value = await nodeJson<ChannelsView>('/admin/channels');
      state.value = 'ready';
      error.value = undefined;
    } catch (caught) {
      state.value = availabilityOf(caught);
      error.value = caught;
    }
  }

  /** Saves one channel; the node applies it at once. A secret left out keeps the one saved. */
  async function save(channel: ChannelCode, settings: ChannelSettingsJson): Promise<void> {
    await nodeJson(`/admin/channels/${channel}`, { method: 'PUT', body: JSON.stringify(settings) });
    await load();
  }

  async function remove(channel: ChannelCode): Promise<void> {
    await nodeJson(`/admin/channels/${channel}`, { method: 'DELETE' });
    await load();
  }

  function test(channel: ChannelCode, settings: ChannelSettingsJson | undefined): Promise<ChannelTest> {
    return nodeJson<ChannelTest>(`/admin/channels/${channel}/test`, { method: 'POST', ...(settings ? { body: JSON.stringify(settings) } : {}) });
  }

  return { view, state, error, load, save, remove, test };
});
