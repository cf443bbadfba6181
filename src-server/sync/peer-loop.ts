import { storedContentOf } from '../fhir/binary-content';
import { DIRECTORY_TYPES } from '../fhir/directory';
import { FhirError, forbidden } from '../fhir/outcome';
import type { Repository } from '../store/repository';
import { applyVersions } from './apply';
import type { Change, ChangeLog } from '../store/change-log';
import type { ContentQueue } from './content';
import { PeerError, PeerLink, type Handshake } from './peer-link';
import type { PeerInfo, PeerStore } from './peers';
import { entryText, FHIR_VERSION, PageEntries, PROTOCOL_VERSION, readMissingContent, readOutcomes, readPage, readVersions, versionsBundle } from './protocol';

/**
 * Synchronises with one peer, over and over: a handshake, then pull (the peer's `$changes` from the stored cursor,
 * each page stored together with the cursor after it), then push (this node's change log from the push cursor to
 * the peer's `$replicate`). Binary content follows the versions that name it: fetched from the peer after the pull,
 * uploaded to it after the push (docs/sync.md, "Binary content"). It runs again at once after a local commit, every `pollMs` otherwise, and backs off
 * exponentially while the peer fails.
 */

export interface LoopSettings {
  pollMs: number;
  /** First delay after a failure; doubled on each failure after it, up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Versions a page of `$changes` or a `$replicate` call carries. */
  pageSize: number;
  /** How often the handshake is made again while the peer answers: it refreshes the recipients the peer serves. */
  handshakeMs: number;
  /**
   * When a failing peer makes `/health` degraded: after this many failed passes in a row, the first at least
   * `degradedAfterMs` ago, so that one lost connection or a peer restarting does not.
   */
  degradedAfterFailures: number;
  degradedAfterMs: number;
}

/** A loop whose passes fail: how many in a row, since when (epoch ms), and the last error. */
export interface PeerTrouble {
  failures: number;
  since: number;
  error: string;
}

export interface LoopServices {
  repository: Repository;
  peers: PeerStore;
  feed: ChangeLog;
  /** Binary content awaited from peers and owed to them. */
  content: ContentQueue;
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
  /** Since when passes fail, and why the last one did (while `failures` > 0). */
  private trouble: PeerTrouble | undefined;
  /** When success was last written to the peer's status (performance.now()). */
  private successRecorded = -Infinity;
  private link: PeerLink | undefined;
  private remote: Handshake | undefined;
  /** When the last handshake was made (performance.now()). */
  private handshakeAt = -Infinity;
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

  /** Whether the last passes failed, and since when. */
  failing(): PeerTrouble | undefined {
    return this.trouble;
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
          this.saveStatus(() => this.services.peers.recordSuccess(this.peerId));
          this.successRecorded = performance.now();
        }
        this.failures = 0;
        this.trouble = undefined;
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof PeerError && error.status === 429) {
          // Over the rate the peer gave this node's client (docs/access.md, "Rate limits"): no failure, and no new
          // handshake; the pass goes on from its cursors once the wait is over.
          await this.sleep(error.retryAfterMs ?? this.settings.backoffMs);
          continue;
        }
        this.failures++;
        const message = error instanceof Error ? error.message : String(error);
        this.trouble = { failures: this.failures, since: this.trouble?.since ?? Date.now(), error: message };
        this.services.log(`sync with peer ${this.peerId}: ${message}`);
        this.saveStatus(() => this.services.peers.recordError(this.peerId, message, error instanceof PeerError ? error.problem : 'other'));
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

  /**
   * The peer's status is a row of the database: when it cannot be written (a full disk), that is said in the log and
   * the loop goes on, rather than ending it with a rejection nobody awaits until the node stops.
   */
  private saveStatus(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.services.log(`sync with peer ${this.peerId}: its status could not be saved (${error instanceof Error ? error.message : String(error)})`);
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
    if (!this.remote || performance.now() - this.handshakeAt > this.settings.handshakeMs) this.remote = await this.handshake(this.link);
    await this.pull(peer, this.link, this.remote.node);
    if (peer.kind !== 'office') return;
    await this.fetchContent(this.link, this.remote.node);
    await this.push(this.link, this.remote.node);
    await this.uploadContent(this.link);
  }

  /**
   * Checks that both nodes speak the same protocol and FHIR major versions, reports skewed clocks, and records the
   * recipients the peer serves (an office peer's: the internal channel reaches them, docs/documents.md).
   */
  private async handshake(link: PeerLink): Promise<Handshake> {
    const sent = Date.now();
    const remote = await link.handshake();
    const received = Date.now();
    if (major(remote.protocol) !== major(PROTOCOL_VERSION)) {
      throw new PeerError(`The peer speaks sync protocol ${remote.protocol}, this node ${PROTOCOL_VERSION}: upgrade the older node; nothing was synchronised`, undefined, undefined, 'protocol');
    }
    if (majorMinor(remote.fhirVersion) !== majorMinor(FHIR_VERSION)) {
      throw new PeerError(`The peer serves FHIR ${remote.fhirVersion}, this node ${FHIR_VERSION}: they cannot synchronise; nothing was synchronised`, undefined, undefined, 'fhirVersion');
    }
    const skew = Date.parse(remote.time) - (sent + received) / 2;
    if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) this.services.log(`sync with peer ${this.peerId}: its clock is ${Math.round(skew / 1000)} s off this node's`);
    this.services.peers.recordHandshake(this.peerId, remote.node, skew);
    this.services.peers.recordRecipients(this.peerId, remote.recipients);
    this.handshakeAt = performance.now();
    return remote;
  }

  private async pull(peer: PeerInfo, link: PeerLink, remoteNode: string): Promise<void> {
    const { repository, peers } = this.services;
    const directory = peer.kind === 'directory';
    // Directory data comes only from a directory peer; from a directory peer, only directory data.
    const admit = (version: { resourceType: string }) => {
      if (DIRECTORY_TYPES.has(version.resourceType) !== directory) throw forbidden('replica-not-allowed', `${version.resourceType} does not come from ${directory ? 'a directory' : 'an office'} peer`);
    };
    const fetchAfter = (cursor: string) => link.changes(cursor, this.settings.pageSize, directory ? 'directory' : 'records');
    let stored = peers.get(this.peerId).pullCursor;
    let fetching = fetchAfter(stored);
    for (;;) {
      const page = await fetching;
      const { cursor, more } = readPage(page);
      const entries = readVersions(page);
      // The next page travels while this one is stored: the peer serves it on its own core.
      if (more) {
        fetching = fetchAfter(cursor);
        fetching.catch(() => {});
      }
      // Nothing new: no write. A write rings the commit signal, which wakes this loop for another pass at once.
      if (entries.length === 0 && cursor === stored) {
        if (!more || this.stopped) return;
        continue;
      }
      stored = cursor;
      const outcomes = await this.services.write(() => {
        // Its rules read nothing of the store: the page goes in as one batch (its index rows many to a statement).
        const applied = applyVersions(repository, entries, { receivedFrom: remoteNode, admit, content: this.services.content, batch: true });
        peers.setPullCursor(this.peerId, cursor);
        return applied;
      });
      const keptAside = outcomes.filter((result) => result.outcome === 'deferred').length;
      if (keptAside > 0) this.services.log(`sync with peer ${this.peerId}: ${keptAside} versions kept aside: this node cannot store them (/admin/peers/kept-aside says why)`);
      if (!more || this.stopped) return;
    }
  }

  /**
   * Fetches the content this node awaits from this peer: of versions it sent, and of versions from a node that is
   * none of this node's peers (pushed here) which this peer may have too. Each is streamed into the binary store and
   * kept only if its hash and size are those the version names. A failure is recorded and retried later (backing
   * off); an unreachable peer fails the pass.
   */
  private async fetchContent(link: PeerLink, remoteNode: string): Promise<void> {
    const { content, peers } = this.services;
    const due = content.due();
    if (due.length === 0) return; // the common case: a pass runs after every local commit
    const otherPeers = new Set(peers.list().flatMap((peer) => (peer.remoteNode && peer.remoteNode !== remoteNode ? [peer.remoteNode] : [])));
    for (const wanted of due) {
      if (this.stopped) return;
      if (wanted.receivedFrom !== null && wanted.receivedFrom !== remoteNode && otherPeers.has(wanted.receivedFrom)) continue;
      if (content.store.has(wanted.hash)) {
        content.fulfilled(wanted.hash);
        continue;
      }
      try {
        await content.receive(await link.content(wanted.id, wanted.versionId), wanted);
        content.fulfilled(wanted.hash);
      } catch (error) {
        if (this.stopped) return;
        // The peer is down: the pass fails and backs off. A refusal (403, 404, a wrong hash) is this content's alone.
        if (error instanceof PeerError && error.status === undefined) throw error;
        const message = error instanceof PeerError || error instanceof FhirError ? error.message : String(error);
        this.services.log(`sync with peer ${this.peerId}: the content of Binary/${wanted.id} (version ${wanted.versionId}) could not be fetched: ${message}`);
        content.failed(wanted, message);
      }
    }
  }

  private async push(link: PeerLink, remoteNode: string): Promise<void> {
    const { feed, peers, repository, content } = this.services;
    let cursor = peers.get(this.peerId).pushCursor;
    for (;;) {
      const rows = feed.after(cursor, this.settings.pageSize, 'records');
      if (rows.length === 0) return;
      const { sent, entries, last } = pushPage(rows, remoteNode, link.base);
      let owed: Array<{ hash: string; id: string; versionId: string }> = [];
      if (sent.length > 0) {
        const answer = await link.replicate(versionsBundle(entries), repository.nodeId);
        const outcomes = readOutcomes(answer);
        const refused = outcomes.filter((outcome) => outcome === 'refused').length;
        if (refused > 0) this.services.log(`sync with peer ${this.peerId}: the peer refused ${refused} of ${sent.length} versions (outside what its client allows)`);
        const keptAside = outcomes.filter((outcome) => outcome === 'deferred').length;
        if (keptAside > 0) this.services.log(`sync with peer ${this.peerId}: the peer kept ${keptAside} of ${sent.length} versions aside: it cannot store them (its /admin/peers/kept-aside says why)`);
        owed = readMissingContent(answer).flatMap((index) => (sent[index] ? owedContent(sent[index]) : []));
      }
      cursor = last.seq;
      // The content owed is recorded with the cursor that leaves its versions behind: a crash loses neither.
      repository.transaction(() => {
        for (const item of owed) content.owe(this.peerId, item);
        peers.setPushCursor(this.peerId, cursor);
      });
      if (this.stopped) return;
    }
  }

  /**
   * Uploads the content the peer said it lacks (its `$replicate` answer), streamed from the binary store. Content
   * this node does not have yet itself (it awaits it from elsewhere) stays owed and goes at a later pass.
   */
  private async uploadContent(link: PeerLink): Promise<void> {
    const { content } = this.services;
    for (const item of content.owedTo(this.peerId)) {
      if (this.stopped) return;
      const size = content.store.size(item.hash);
      if (size === undefined) continue;
      try {
        await link.upload(item.hash, size, async () => (await content.store.open(item.hash))!);
        content.settled(this.peerId, item.hash);
      } catch (error) {
        // The peer is down or busy: the pass fails and backs off; the content stays owed.
        if (!(error instanceof PeerError) || error.status === undefined || error.status >= 500 || error.status === 429) throw error;
        // Refused (the client may not upload, or the bytes do not match): it would be refused again.
        this.services.log(`sync with peer ${this.peerId}: the peer refused the content of Binary/${item.id} (version ${item.versionId}): ${error.message}`);
        content.settled(this.peerId, item.hash);
      }
    }
  }
}

/**
 * The rows of a push page to send, as `$replicate` entries up to PAGE_BYTES (one at least), and the last row the page
 * covers, where the push cursor moves to. What the peer made or sent here, it has: those rows are covered, not sent.
 */
function pushPage(rows: readonly Change[], remoteNode: string, base: string): { sent: Change[]; entries: string[]; last: Change } {
  const sent: Change[] = [];
  const page = new PageEntries();
  let last = rows[0];
  for (const row of rows) {
    if (row.origin_node !== remoteNode && row.received_from !== remoteNode) {
      if (!page.add(entryText(row, base))) break;
      sent.push(row);
    }
    last = row;
  }
  return { sent, entries: page.entries, last };
}

/** The content a sent Binary version names, owed to a peer that answered it lacks it. */
function owedContent(row: Change): Array<{ hash: string; id: string; versionId: string }> {
  const ref = row.resource_type === 'Binary' ? storedContentOf(JSON.parse(row.body) as Record<string, unknown>) : undefined;
  return ref ? [{ hash: ref.hash, id: row.resource_id, versionId: row.version_id }] : [];
}

const major = (version: string) => version.split('.')[0];
const majorMinor = (version: string) => version.split('.').slice(0, 2).join('.');
