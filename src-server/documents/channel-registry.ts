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

/** The channels this node has configured, by code. */
export class ChannelRegistry {
  private readonly channels = new Map<ChannelCode, Channel>();
  private readonly stopping = new AbortController();

  constructor(settings: ChannelSettings, context: Omit<ChannelContext, 'stopping'>, factories: Record<ChannelCode, ChannelFactory> = CHANNEL_FACTORIES) {
    for (const [code, factory] of Object.entries(factories) as Array<[ChannelCode, ChannelFactory]>) {
      const channel = factory(settings, { ...context, stopping: this.stopping.signal });
      if (channel) this.channels.set(code, channel);
    }
  }

  get(code: ChannelCode): Channel | undefined {
    return this.channels.get(code);
  }

  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.all([...this.channels.values()].map(async (channel) => channel.close?.()));
  }
}
