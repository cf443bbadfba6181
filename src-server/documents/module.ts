import type { NodeModule } from '../rest/extensions';
import type { Store } from '../store/store';
import { carriedDocumentsRule } from './carried-documents-rule';
import type { SendRequirement } from '../channels/channel';
import { ChannelRegistry } from './channel-registry';
import { DEFAULT_OUTBOX, loadChannelSettings, type ChannelSettings } from './channel-settings';
import { DeliveryHealth } from './delivery-health';
import { DeliveryLoader } from './delivery-loader';
import { documentContentRule } from './document-content-rule';
import type { LocalRecipients } from './local-recipients';
import { NetworkRecipients } from './network-recipients';
import { Outbox } from './outbox';
import { OutboxWorker } from './outbox-worker';
import { readStateRule } from './read-state-rule';
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

/** Delivers, once the node serves, from `<url>/fhir`. */
export function documentsModule(store: Store, options: DocumentsSettings): NodeModule {
  const settings = loadChannelSettings(options.dataDir, options.channels, options.channelsFile);
  const internalRecipients = new NetworkRecipients(store.db, options.localRecipients);
  const outbox = new Outbox(store.db);
  const channels = new ChannelRegistry(settings, { internalRecipients, nodeId: store.repository.nodeId });
  const outboxSettings = { ...DEFAULT_OUTBOX, ...settings.outbox };
  const health = new DeliveryHealth();
  let worker: OutboxWorker | undefined;
  return {
    writeRules: [documentContentRule(), carriedDocumentsRule(), sendRule({ outbox, internalRecipients, dpiOrganizations: new Set(settings.dpi?.organizations ?? []), requirements: options.requirements }), readStateRule()],
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
