import type { Channel, ChannelCode } from '../channels/channel';
import type { ChannelSettings } from './channel-settings';
import { createDmpChannel } from '../integrations/dmp/dmp-channel';
import { createDpiChannel } from '../integrations/dpi/dpi-channel';
import { createInternalChannel } from './internal-channel';
import type { NetworkRecipients } from './network-recipients';
import { createMssanteChannel } from './mssante-channel';

/** What a channel may need from the node besides its own settings. */
export interface ChannelContext {
  /** Who the internal channel reaches (this node's users and practices, and its office peers'). */
  internalRecipients: NetworkRecipients;
  /** This node's id: the origin of the ids channels derive (XDS uniqueIds, control ids). */
  nodeId: string;
  /** Aborted when the node stops: deliveries under way end at once, as retries. */
  stopping: AbortSignal;
}

/** Makes a channel from the node's settings; undefined when its settings are absent (not configured). */
export type ChannelFactory = (settings: ChannelSettings, context: ChannelContext) => Channel | undefined;

/** One line per channel; the DPI and DMP channels are the integrations' (src-server/integrations). */
export const CHANNEL_FACTORIES: Record<ChannelCode, ChannelFactory> = {
  internal: (_settings, context) => createInternalChannel(context.internalRecipients),
  mssante: (settings, context) => settings.mssante && createMssanteChannel(settings.mssante, context.nodeId),
  dpi: (settings, context) => settings.dpi && createDpiChannel(settings.dpi, context.stopping),
  dmp: (settings, context) => settings.dmp && createDmpChannel(settings.dmp, context.stopping),
};

/** The channels this node has configured, by code; an admin's change in Réglages replaces them while the node runs. */
export class ChannelRegistry {
  private channels = new Map<ChannelCode, Channel>();
  private readonly stopping = new AbortController();

  constructor(
    settings: ChannelSettings,
    private readonly context: Omit<ChannelContext, 'stopping'>,
    private readonly factories: Record<ChannelCode, ChannelFactory> = CHANNEL_FACTORIES,
  ) {
    this.channels = this.make(settings);
  }

  /** The channels of new settings: deliveries that start from now on take them; those under way finish on the old ones. */
  reconfigure(settings: ChannelSettings): void {
    const old = this.channels;
    this.channels = this.make(settings);
    for (const channel of old.values()) void channel.close?.();
  }

  private make(settings: ChannelSettings): Map<ChannelCode, Channel> {
    const channels = new Map<ChannelCode, Channel>();
    for (const [code, factory] of Object.entries(this.factories) as Array<[ChannelCode, ChannelFactory]>) {
      const channel = factory(settings, { ...this.context, stopping: this.stopping.signal });
      if (channel) channels.set(code, channel);
    }
    return channels;
  }

  get(code: ChannelCode): Channel | undefined {
    return this.channels.get(code);
  }

  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.all([...this.channels.values()].map(async (channel) => channel.close?.()));
  }
}
