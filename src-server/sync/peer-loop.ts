import { DIRECTORY_TYPES } from '../fhir/directory';
import { forbidden } from '../fhir/outcome';
import type { Repository } from '../storage/repository';
import { applyVersions } from './apply';
import type { ChangeFeed } from './change-feed';
import { PeerError, PeerLink, type Handshake } from './peer-link';
import type { PeerInfo, PeerStore } from './peers';
import { entryText, FHIR_VERSION, PROTOCOL_VERSION, readOutcomes, readPage, readVersions, versionsBundle } from './protocol';

/**
 * Synchronises with one peer, over and over: a handshake, then pull (the peer's `$changes` from the stored cursor,
 * each page stored together with the cursor after it), then push (this node's change log from the push cursor to
 * the peer's `$replicate`). It runs again at once after a local commit, every `pollMs` otherwise, and backs off
 * exponentially while the peer fails.
 */

export interface LoopSettings {
  pollMs: number;
  /** First delay after a failure; doubled on each failure after it, up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Versions a page of `$changes` or a `$replicate` call carries. */
  pageSize: number;
}

export interface LoopServices {
  repository: Repository;
  peers: PeerStore;
  feed: ChangeFeed;
  /** Runs writes in the node's group commit: answered once durable, and the commit is signalled. */
  write<T>(work: () => T): Promise<T>;
  /** Told of what happens, for the node's log (never a secret). */
  log(message: string): void;
}

const SUCCESS_RECORD_MS = 10_000;

/** Clocks further apart than this are reported (DESIGN: timestamps from a skewed clock mislead people). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export class PeerLoop {
  private stopped = false;
  private running: Promise<void> | undefined;
  /** A local commit arrived during a pass: run another at once. */
  private again = false;
  private wakeUp: (() => void) | undefined;
  private failures = 0;
  /** When success was last written to the peer's status (performance.now()). */
  private successRecorded = -Infinity;
  private link: PeerLink | undefined;
  private remote: Handshake | undefined;
  /** Cancels the calls in flight when the loop stops: closing the node must not wait for a slow peer. */
  private readonly stopping = new AbortController();

  constructor(
    readonly peerId: string,
    private readonly services: LoopServices,
    private readonly settings: LoopSettings,
  ) {}

  start(): void {
    this.running ??= this.run();
  }

  /** A local commit: push it now (unless backing off from a failing peer). */
  wake(): void {
    this.again = true;
    if (this.failures === 0) this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.wakeUp?.();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.again = false;
      let delay = this.settings.pollMs;
      try {
        await this.pass();
        // A pass runs after every local commit: its status is written when it changes, or every 10 s.
        if (this.failures > 0 || performance.now() - this.successRecorded > SUCCESS_RECORD_MS) {
          this.services.peers.recordSuccess(this.peerId);
          this.successRecorded = performance.now();
        }
        this.failures = 0;
      } catch (error) {
        if (this.stopped) return;
        this.failures++;
        const message = error instanceof Error ? error.message : String(error);
        this.services.peers.recordError(this.peerId, message);
        this.services.log(`sync with peer ${this.peerId}: ${message}`);
        // The peer may have been upgraded or replaced meanwhile: shake hands again.
        this.remote = undefined;
        const backoff = Math.min(this.settings.maxBackoffMs, this.settings.backoffMs * 2 ** (this.failures - 1));
        delay = Math.max(backoff * (0.8 + Math.random() * 0.4), error instanceof PeerError ? (error.retryAfterMs ?? 0) : 0);
      }
      if (this.stopped) return;
      if (this.again && this.failures === 0) continue;
      await this.sleep(delay);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  /** One round: handshake if needed, pull until caught up, then push until caught up. */
  private async pass(): Promise<void> {
    const peer = this.services.peers.get(this.peerId);
    this.link ??= new PeerLink(peer.url, peer.clientId, () => this.services.peers.secretOf(this.peerId), this.stopping.signal);
    this.remote ??= await this.handshake(this.link);
    await this.pull(peer, this.link, this.remote.node);
    if (peer.kind === 'office') await this.push(this.link, this.remote.node);
  }

  /** Checks that both nodes speak the same protocol and FHIR major versions, and reports skewed clocks. */
  private async handshake(link: PeerLink): Promise<Handshake> {
    const sent = Date.now();
    const remote = await link.handshake();
    const received = Date.now();
    if (major(remote.protocol) !== major(PROTOCOL_VERSION)) {
      throw new Error(`The peer speaks sync protocol ${remote.protocol}, this node ${PROTOCOL_VERSION}: upgrade the older node; nothing was synchronised`);
    }
    if (majorMinor(remote.fhirVersion) !== majorMinor(FHIR_VERSION)) {
      throw new Error(`The peer serves FHIR ${remote.fhirVersion}, this node ${FHIR_VERSION}: they cannot synchronise; nothing was synchronised`);
    }
    const skew = Date.parse(remote.time) - (sent + received) / 2;
    if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) this.services.log(`sync with peer ${this.peerId}: its clock is ${Math.round(skew / 1000)} s off this node's`);
    this.services.peers.recordHandshake(this.peerId, remote.node, skew);
    return remote;
  }

  private async pull(peer: PeerInfo, link: PeerLink, remoteNode: string): Promise<void> {
    const { repository, peers } = this.services;
    const directory = peer.kind === 'directory';
    // Directory data comes only from a directory peer; from a directory peer, only directory data.
    const admit = (version: { resourceType: string }) => {
      if (DIRECTORY_TYPES.has(version.resourceType) !== directory) throw forbidden(`${version.resourceType} does not come from ${directory ? 'a directory' : 'an office'} peer`);
    };
    const fetchAfter = (cursor: string) => link.changes(cursor, this.settings.pageSize, directory ? 'directory' : 'records');
    let fetching = fetchAfter(peers.get(this.peerId).pullCursor);
    for (;;) {
      const page = await fetching;
      const { cursor, more } = readPage(page);
      const entries = readVersions(page);
      // The next page travels while this one is stored: the peer serves it on its own core.
      if (more) {
        fetching = fetchAfter(cursor);
        fetching.catch(() => {});
      }
      await this.services.write(() => {
        applyVersions(repository, entries, { receivedFrom: remoteNode, admit });
        peers.setPullCursor(this.peerId, cursor);
      });
      if (!more || this.stopped) return;
    }
  }

  private async push(link: PeerLink, remoteNode: string): Promise<void> {
    const { feed, peers, repository } = this.services;
    let cursor = peers.get(this.peerId).pushCursor;
    for (;;) {
      const rows = feed.page(cursor, this.settings.pageSize, 'records');
      if (rows.length === 0) return;
      // What the peer made or sent here, it has.
      const entries = rows.filter((row) => row.origin_node !== remoteNode && row.received_from !== remoteNode).map((row) => entryText(row, link.base));
      if (entries.length > 0) {
        const outcomes = readOutcomes(await link.replicate(versionsBundle(entries), repository.nodeId));
        const refused = outcomes.filter((outcome) => outcome === 'refused').length;
        if (refused > 0) this.services.log(`sync with peer ${this.peerId}: the peer refused ${refused} of ${entries.length} versions (outside what its client allows)`);
      }
      cursor = rows[rows.length - 1].seq;
      peers.setPushCursor(this.peerId, cursor);
      if (this.stopped) return;
    }
  }
}

const major = (version: string) => version.split('.')[0];
const majorMinor = (version: string) => version.split('.').slice(0, 2).join('.');
