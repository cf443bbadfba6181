import type { HealthProblem, NodeModule } from '../rest/extensions';
import type { Store } from '../store/store';
import { ChangeLog } from '../store/change-log';
import { ConflictOperations } from './conflicts';
import { ContentQueue } from './content';
import { ContentUploads } from './content-upload';
import { syncOperations } from './operations';
import { PeerLoop, type LoopSettings } from './peer-loop';
import { PeerStore } from './peers';

/**
 * Sync as the node runs it (docs/sync.md): the protocol and conflict operations, and one loop per configured peer.
 * Loops follow the peers table (peers added or removed by the admin API or the CLI are picked up within `pollMs`),
 * are woken by local commits to push at once, and retry versions kept aside now and then.
 */

export interface SyncSettings {
  dataDir: string;
  /** How the loops poll, back off and page (docs/sync.md). */
  settings?: Partial<LoopSettings>;
  /** The recipients this node serves (`Practitioner/<id>`, `Organization/<id>`), told to peers in the handshake. */
  servedRecipients?: () => readonly string[];
}

export interface SyncModule extends NodeModule {
  peers: PeerStore;
  /** Binary content awaited from peers (reads answer 503 meanwhile; pushing peers upload it with `POST $content`). */
  content: ContentQueue;
  /** Those uploads (`POST [base]/$content`). */
  uploads: ContentUploads;
  /** Starts the loops, once the node serves; `warn` hears of failing peers (never a secret). */
  start(url: string, warn: (message: string) => void): void;
  close(): Promise<void>;
}

/**
 * pageSize: a page is stored in one transaction, whose commit writes every index page it touched once: at 100,000
 * Patients pages of 2,000 cost 5-8% less CPU than pages of 1,000 (more per page paid little more), and store in
 * about 0.3 s, the longest the node's other requests then wait.
 */
const DEFAULTS: LoopSettings = { pollMs: 2000, backoffMs: 1000, maxBackoffMs: 60_000, pageSize: 2000, handshakeMs: 60_000, degradedAfterFailures: 3, degradedAfterMs: 60_000 };
/** How often versions kept aside are tried again (a newer build may now know their type). */
const RETRY_DEFERRED_MS = 10 * 60_000;

export function syncModule(store: Store, options: SyncSettings): SyncModule {
  const { db, repository } = store;
  const settings = { ...DEFAULTS, ...options.settings };
  const feed = new ChangeLog(db);
  const peers = new PeerStore(db, options.dataDir);
  const content = new ContentQueue(db, store.binaries);
  const loops = new Map<string, PeerLoop>();
  // Each pulled page in a transaction of its own of the group commit: signalled like API writes.
  const write = <T>(work: () => T) => store.groupCommit.run(work, { alone: true });
  const services = { repository, peers, feed, content, write, log: (_message: string) => {} };
  const timers: NodeJS.Timeout[] = [];
  let stopListening = () => {};
  let stopFollowing = () => {};
  let closed = false;

  // Followed at each poll (the CLI writes the table from another process), and at once after this process added a peer.
  // A removed peer's loop stops at the next poll: stopped at once, it left a connection open (docs/sync.md, "Performance").
  const follow = () => {
    const configured = new Set(peers.list().map((peer) => peer.peerId));
    for (const peerId of configured) {
      if (loops.has(peerId)) continue;
      const loop = new PeerLoop(peerId, services, settings);
      loops.set(peerId, loop);
      loop.start();
    }
    for (const [peerId, loop] of loops) {
      if (configured.has(peerId)) continue;
      loops.delete(peerId);
      loop.stop().catch((error: unknown) => services.log(`sync with peer ${peerId}: stopping its loop failed: ${error instanceof Error ? error.message : String(error)}`));
    }
  };
  const retryDeferred = () => {
    const stored = repository.retryDeferred();
    if (stored > 0) services.log(`sync: ${stored} versions kept aside are now stored`);
  };

  return {
    operations: [...syncOperations(feed, repository.nodeId, content, options.servedRecipients), ...new ConflictOperations(repository.conflicts).operations()],
    peers,
    content,
    uploads: new ContentUploads(store.search, content),
    start(_url, warn) {
      services.log = warn;
      retryDeferred();
      follow();
      timers.push(setInterval(follow, settings.pollMs), setInterval(retryDeferred, RETRY_DEFERRED_MS));
      // After the change's transaction: the first-run join adds its peers inside one, which may yet roll back.
      const followSoon = () => void setImmediate(() => closed || follow());
      stopFollowing = peers.onAdded(followSoon);
      for (const timer of timers) timer.unref();
      stopListening = store.commits.listen(() => {
        for (const loop of loops.values()) loop.wake();
      });
    },
    health() {
      const problems: HealthProblem[] = [];
      const now = Date.now();
      const failing = [...loops.values()].flatMap((loop) => {
        const trouble = loop.failing();
        return trouble && trouble.failures >= settings.degradedAfterFailures && now - trouble.since >= settings.degradedAfterMs ? [{ peerId: loop.peerId, trouble }] : [];
      });
      const configured = failing.length === 0 ? [] : peers.list();
      for (const { peerId, trouble } of failing) {
        const peer = configured.find((candidate) => candidate.peerId === peerId);
        if (!peer) continue;
        const seconds = Math.round((now - trouble.since) / 1000);
        problems.push({ part: 'sync', reason: `Sync with peer '${peer.name}' (${peer.url}) has failed ${trouble.failures} times in a row for ${seconds} s: ${trouble.error}` });
      }
      const keptAside = repository.keptAsideCount();
      if (keptAside > 0) {
        const versions = keptAside === 1 ? '1 replicated version is' : `${keptAside} replicated versions are`;
        problems.push({ part: 'sync', reason: `${versions} kept aside: this node cannot store them, so its data differs from its peers' (GET /admin/peers/kept-aside says why)` });
      }
      return problems;
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      closed = true;
      stopListening();
      stopFollowing();
      await Promise.all([...loops.values()].map((loop) => loop.stop()));
      loops.clear();
    },
  };
}
