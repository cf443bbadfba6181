import type { Channel, ChannelCode } from './channel';
import type { ChannelSettings } from './channel-settings';
import { createInternalChannel } from './internal-channel';
import type { LocalRecipients } from './local-recipients';
import { createMssanteChannel } from './mssante-channel';

/** What a channel may need from the node besides its own settings. */
export interface ChannelContext {
  localRecipients: LocalRecipients;
  /** This node's id: the origin of the ids channels derive (XDS uniqueIds, control ids). */
  nodeId: string;
}

/** Makes a channel from the node's settings; undefined when its settings are absent (not configured). */
export type ChannelFactory = (settings: ChannelSettings, context: ChannelContext) => Channel | undefined;

/**
 * One line per channel. The DPI and DMP channels (src-server/integrations) plug in here, e.g.
 * `dpi: (settings) => settings.dpi && createDpiChannel(settings.dpi)`.
 */
export const CHANNEL_FACTORIES: Record<ChannelCode, ChannelFactory> = {
  internal: (_settings, context) => createInternalChannel(context.localRecipients),
  mssante: (settings, context) => settings.mssante && createMssanteChannel(settings.mssante, context.nodeId),
  dpi: () => undefined,
  dmp: () => undefined,
};

/** The channels this node has configured, by code. */
export class ChannelRegistry {
  private readonly channels = new Map<ChannelCode, Channel>();

  constructor(settings: ChannelSettings, context: ChannelContext, factories: Record<ChannelCode, ChannelFactory> = CHANNEL_FACTORIES) {
    for (const [code, factory] of Object.entries(factories) as Array<[ChannelCode, ChannelFactory]>) {
      const channel = factory(settings, context);
      if (channel) this.channels.set(code, channel);
    }
  }

  get(code: ChannelCode): Channel | undefined {
    return this.channels.get(code);
  }

  async close(): Promise<void> {
    await Promise.all([...this.channels.values()].map((channel) => channel.close?.()));
  }
}
