import { appointmentExtensions } from './appointments/module';
import type { ChannelSettings } from './documents/channel-settings';
import { createDocumentFlow } from './documents/module';
import { LocalRecipients } from './documents/local-recipients';
import type { FhirExtensions } from './rest/extensions';
import type { SearchEngine } from './store/search/search';
import { INTEGRATION_SEND_REQUIREMENTS } from './integrations/module';
import { patientApi } from './patients/module';
import type { BinaryStore } from './store/binary-store';
import type { CommitSignal } from './store/commit-signal';
import type { Db } from './store/database';
import type { GroupCommit } from './store/group-commit';
import type { Repository } from './store/repository';
import { startSubscriptions, type SubscriptionOptions } from './subscriptions/module';
import { createSync, type RunningSync, type SyncOptions } from './sync/module';

/**
 * The flows of the Lifen APIs and sync on top of the generic FHIR node, each a module of its own: the document
 * flow with its outbox and channels (documents/, integrations/), the Patient API (patients/), appointments
 * (appointments/), rest-hook subscriptions (subscriptions/) and sync with peers (sync/). They plug in as FHIR
 * operations and write rules (rest/extensions.ts) and as background work woken by the commit signal.
 */

export interface FlowSettings {
  /** How documents leave the node (SMTP relay, DPI, DMP); absent: `channelsFile`, by default `<data>/channels.json` (docs/documents.md). */
  channels?: ChannelSettings;
  channelsFile?: string;
  /** Delivery settings of the rest-hook subscriptions (timeouts, retries). */
  subscriptions?: SubscriptionOptions;
  /** How the sync loops poll, back off and page (docs/sync.md). */
  sync?: SyncOptions['settings'];
}

export interface FlowContext {
  db: Db;
  repository: Repository;
  search: SearchEngine;
  binaryStore: BinaryStore;
  commits: CommitSignal;
  groupCommit: GroupCommit;
  dataDir: string;
}

export interface ApiFlows {
  extensions: Required<FhirExtensions>;
  sync: RunningSync;
  /** Once the node serves at `url`: the outbox and the sync loops begin; `warn` hears of failing peers. */
  start(url: string, warn: (message: string) => void): void;
  close(): Promise<void>;
}

export function createApiFlows(context: FlowContext, settings: FlowSettings): ApiFlows {
  const { db, repository, search, commits } = context;
  const localRecipients = new LocalRecipients(db);
  const sync = createSync({ db, repository, search, dataDir: context.dataDir, binaryStore: context.binaryStore, commits, write: (work) => context.groupCommit.run(work, { alone: true }), settings: settings.sync, servedRecipients: () => localRecipients.list() });
  const documents = createDocumentFlow({
    db,
    repository,
    binaryStore: context.binaryStore,
    commits,
    dataDir: context.dataDir,
    channels: settings.channels,
    channelsFile: settings.channelsFile,
    requirements: INTEGRATION_SEND_REQUIREMENTS,
    localRecipients,
  });
  const patients = patientApi(db, repository.searchIndex);
  const appointments = appointmentExtensions(db, repository.searchIndex);
  let subscriptions: ReturnType<typeof startSubscriptions>;
  try {
    subscriptions = startSubscriptions(db, repository, search, commits, { onError: (error) => console.error('Subscriptions: matching failed', error), ...settings.subscriptions });
  } catch (error) {
    void sync.close();
    void documents.close();
    throw error;
  }
  return {
    extensions: {
      operations: [...sync.operations, ...patients.operations, ...appointments.operations, ...subscriptions.operations],
      writeRules: [...documents.writeRules, ...patients.writeRules, ...appointments.writeRules, ...subscriptions.writeRules],
    },
    sync,
    start(url, warn) {
      sync.start(warn);
      documents.start(`${url}/fhir`);
    },
    async close() {
      await sync.close();
      await documents.close();
      await subscriptions.close();
    },
  };
}
