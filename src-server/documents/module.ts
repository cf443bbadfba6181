import type { NodeModule } from '../rest/extensions';
import type { Store } from '../store/store';
import { carriedDocumentsRule } from './carried-documents-rule';
import type { ChannelCode, SendRequirement } from '../channels/channel';
import { ChannelRegistry } from './channel-registry';
import { DEFAULT_OUTBOX, fixedChannelSettings, type ChannelSettings, type DpiChannelSettings, type SmtpRelaySettings } from './channel-settings';
import { testDmpGateway, testDpiEndpoint, testSmtpRelay, type ChannelTest } from './channel-test';
import { refusal } from '../fhir/outcome';
import type { DmpSettings } from '../integrations/dmp/dmp-channel';
import { SAVED_CHANNELS, SavedChannels, viewOf, type ChannelView, type SavedChannel } from './saved-channels';
import { DeliveryHealth } from './delivery-health';
import { DeliveryLoader } from './delivery-loader';
import { documentContentRule } from './document-content-rule';
import type { LocalRecipients } from './local-recipients';
import { NetworkRecipients } from './network-recipients';
import { Outbox, type DeliveryRecipient } from './outbox';
import { OutboxWorker } from './outbox-worker';
import { readStateRule } from './read-state-rule';
import { retryOperation } from './retry-operation';
import { attachOperation } from './attach-operation';
import { routeOperation } from './route-operation';
import { sendRule } from './send-rule';

/**
 * The Document API flow (docs/documents.md) as the node runs it: the write rules that keep documents and their
 * content to those who may see them, accept a CommunicationRequest and guard delivered Communications, and the
 * outbox worker that delivers through the configured channels.
 */

export interface DocumentsSettings {
  dataDir: string;
  /** Channel settings; absent: `channelsFile`, by default `<data>/channels.json` (channel-settings.ts). */
  channels?: ChannelSettings;
  channelsFile?: string;
  /** What channels require of a send beyond the flow's own checks (the DPI and DMP's), checked as it is accepted. */
  requirements?: readonly SendRequirement[];
  /** This node's own recipients (its users' practitioners and practices), shared with sync's handshake. */
  localRecipients: LocalRecipients;
}

/** What the flow tells other modules (the Lifen operations) about how this node sends. */
export interface DocumentsModule extends NodeModule {
  /** Whether the channel has settings on this node (an unconfigured one ends its deliveries `not-configured`). */
  configured(channel: ChannelCode): boolean;
  /** The Organizations the configured DPI endpoint serves (`dpi.organizations`). */
  readonly dpiOrganizations: readonly string[];
  /** Whom each delivery of a CommunicationRequest goes to (its MSSanté address among them), by delivery id. */
  recipientsOf(requestId: string): Map<string, DeliveryRecipient>;
  /** The channels as Réglages sets them up (`/admin/channels`). */
  readonly channelAdmin: ChannelAdmin;
}

/** What `/admin/channels` reads and changes: secrets go in, never out. */
export interface ChannelAdmin {
  /** Each channel's settings without secrets; `fixedBy` names the file that fixes them (then read-only). */
  view(): { fixedBy?: string; channels: Partial<Record<SavedChannel, ChannelView>> };
  /** Saves one channel's settings and applies them at once. 400 `channel-settings-invalid`, 409 `channel-settings-fixed`. */
  save(channel: SavedChannel, change: unknown): ChannelView;
  remove(channel: SavedChannel): void;
  /** Tries settings about to be saved (secrets left out: the saved ones), sending nothing. */
  test(channel: SavedChannel, change: unknown): Promise<ChannelTest>;
}

/** Delivers, once the node serves, from `<url>/fhir`. */
export function documentsModule(store: Store, options: DocumentsSettings): DocumentsModule {
  const fixed = fixedChannelSettings(options.dataDir, options.channels, options.channelsFile);
  const saved = new SavedChannels(store.db, options.dataDir);
  let settings = fixed?.settings ?? saved.load();
  const internalRecipients = new NetworkRecipients(store.db, options.localRecipients);
  const outbox = new Outbox(store.db);
  const channels = new ChannelRegistry(settings, { internalRecipients, nodeId: store.repository.nodeId });
  const outboxSettings = { ...DEFAULT_OUTBOX, ...settings.outbox };
  const health = new DeliveryHealth();
  // One set, refilled when an admin changes the DPI's organizations: the send rule reads it as it is.
  const dpiOrganizations = new Set(settings.dpi?.organizations ?? []);
  const apply = (next: ChannelSettings) => {
    settings = next;
    channels.reconfigure(next);
    dpiOrganizations.clear();
    for (const id of next.dpi?.organizations ?? []) dpiOrganizations.add(id);
  };
  const changeable = () => {
    if (fixed) throw refusal(409, 'channel-settings-fixed', `The channels are fixed by ${fixed.where}, which wins over Réglages: edit it, or remove it and restart the node`);
  };
  const channelAdmin: ChannelAdmin = {
    view: () => ({
      ...(fixed ? { fixedBy: fixed.where } : {}),
      channels: Object.fromEntries(SAVED_CHANNELS.filter((code) => settings[code]).map((code) => [code, viewOf(code, settings[code]!)])),
    }),
    save(channel, change) {
      changeable();
      apply(saved.save(channel, change));
      return viewOf(channel, settings[channel]!);
    },
    remove(channel) {
      changeable();
      apply(saved.remove(channel));
    },
    async test(channel, change) {
      // With a channels.json, "Tester" tries the file's settings: they are the ones in force.
      const tried: object | undefined = fixed ? fixed.settings[channel] : saved.merged(channel, change ?? settings[channel]);
      if (!tried) throw refusal(400, 'channel-settings-invalid', `There are no ${channel} settings to test`, channel);
      if (channel === 'mssante') return testSmtpRelay(tried as unknown as SmtpRelaySettings);
      if (channel === 'dpi') return testDpiEndpoint(tried as unknown as DpiChannelSettings);
      return testDmpGateway(tried as unknown as DmpSettings);
    },
  };
  // Both read live: a channel set up or removed in Réglages routes the next send and $route at once.
  const configured = (channel: ChannelCode) => channels.get(channel) !== undefined;
  const routing = { internalRecipients, dpiOrganizations, configured };
  let worker: OutboxWorker | undefined;
  return {
    operations: [routeOperation(routing), retryOperation(outbox, configured), attachOperation()],
    writeRules: [documentContentRule(), carriedDocumentsRule(), sendRule({ outbox, ...routing, requirements: options.requirements }), readStateRule()],
    configured,
    get dpiOrganizations() {
      return [...dpiOrganizations];
    },
    recipientsOf: (requestId) => outbox.recipientsOf(requestId),
    channelAdmin,
    start(url) {
      worker = new OutboxWorker({
        db: store.db,
        repository: store.repository,
        outbox,
        loader: new DeliveryLoader(store.repository, store.binaries, `${url}/fhir`),
        channels,
        commits: store.commits,
        settings: outboxSettings,
        health,
      });
      worker.start();
    },
    health: () => health.problems(outbox, outboxSettings),
    async close() {
      await worker?.close();
      await channels.close();
    },
  };
}
