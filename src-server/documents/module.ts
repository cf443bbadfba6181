import type { NodeModule } from '../rest/extensions';
import type { Store } from '../store/store';
import { carriedDocumentsRule } from './carried-documents-rule';
import type { ChannelCode, SendRequirement } from '../channels/channel';
import { ChannelRegistry } from './channel-registry';
import { DEFAULT_OUTBOX, loadChannelSettings, type ChannelSettings } from './channel-settings';
import { DeliveryHealth } from './delivery-health';
import { DeliveryLoader } from './delivery-loader';
import { documentContentRule } from './document-content-rule';
import type { LocalRecipients } from './local-recipients';
import { NetworkRecipients } from './network-recipients';
import { Outbox, type DeliveryRecipient } from './outbox';
import { OutboxWorker } from './outbox-worker';
import { readStateRule } from './read-state-rule';
import { retryOperation } from './retry-operation';
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
}

/** Delivers, once the node serves, from `<url>/fhir`. */
export function documentsModule(store: Store, options: DocumentsSettings): DocumentsModule {
  const settings = loadChannelSettings(options.dataDir, options.channels, options.channelsFile);
  const internalRecipients = new NetworkRecipients(store.db, options.localRecipients);
  const outbox = new Outbox(store.db);
  const channels = new ChannelRegistry(settings, { internalRecipients, nodeId: store.repository.nodeId });
  const outboxSettings = { ...DEFAULT_OUTBOX, ...settings.outbox };
  const health = new DeliveryHealth();
  const dpiOrganizations = settings.dpi?.organizations ?? [];
  const configured = (channel: ChannelCode) => channels.get(channel) !== undefined;
  const routing = { internalRecipients, dpiOrganizations: new Set(dpiOrganizations), configured };
  let worker: OutboxWorker | undefined;
  return {
    operations: [routeOperation(routing), retryOperation(outbox, configured)],
    writeRules: [documentContentRule(), carriedDocumentsRule(), sendRule({ outbox, ...routing, requirements: options.requirements }), readStateRule()],
    configured,
    dpiOrganizations,
    recipientsOf: (requestId) => outbox.recipientsOf(requestId),
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
