import { randomUUID } from 'node:crypto';
import { badRequest, notFound, refusal } from '../fhir/outcome';
import { dataFolderKey, seal, unseal } from '../sealing';
import type { Db } from '../store/database';
import type { PeerProblem } from './peer-link';

/**
 * The remote nodes this node synchronises with (`liaison peers add|list|remove`, `/admin/peers`): a URL, this node's
 * OAuth client on the peer, and how far each way has got. The client secret is sealed with AES-256-GCM under the data
 * folder's key (sealing.ts `dataFolderKey`: a subkey of the data key), so a copy of the database alone does not
 * carry it; it is never listed, returned or logged.
 */

/** office: records flow both ways; directory: directory data flows from it, nothing goes to it. */
export type PeerKind = 'office' | 'directory';

export interface NewPeer {
  name: string;
  url: string;
  kind?: PeerKind;
  clientId: string;
  clientSecret: string;
}

/** A peer as an admin sees it: never its secret. */
export interface PeerInfo {
  peerId: string;
  name: string;
  url: string;
  kind: PeerKind;
  clientId: string;
  /** The peer's node id, once a handshake told it. */
  remoteNode?: string;
  pullCursor: string;
  pushCursor: number;
  lastSyncAt?: string;
  lastError?: string;
  /** What kind of problem lastError is. */
  lastProblem?: PeerProblem;
  /** The peer's clock minus this node's, at the last handshake. */
  clockSkewMs?: number;
  createdAt: string;
}

interface PeerRow {
  peer_id: string;
  name: string;
  url: string;
  kind: PeerKind;
  client_id: string;
  secret: string;
  remote_node: string | null;
  pull_cursor: string;
  push_cursor: number;
  last_sync_at: string | null;
  last_error: string | null;
  last_problem: PeerProblem | null;
  clock_skew_ms: number | null;
  created_at: string;
}

const MAX_NAME_LENGTH = 200;
const MAX_ERROR_LENGTH = 500;

export class PeerStore {
  private key: Buffer | undefined;
  private readonly addListeners = new Set<() => void>();

  constructor(
    private readonly db: Db,
    /** The data folder: its key seals the secrets (created on first use). */
    private readonly dataDir: string,
  ) {}

  /**
   * 409 `directory-source-taken` for a second directory peer: the directory's versions from two sources (two imports
   * of the same national file) would be conflicting versions of every entry.
   */
  add(peer: NewPeer): PeerInfo {
    const url = checkPeer(peer);
    const peerId = randomUUID();
    this.db.transaction(() => {
      const source = peer.kind === 'directory' ? this.directorySource() : undefined;
      if (source) throw refusal(409, 'directory-source-taken', `This node follows the directory from '${source.name}' (${source.url}) already: remove that peer first`, 'kind');
      this.db
        .prepare('INSERT INTO sync_peers (peer_id, name, url, kind, client_id, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(peerId, peer.name.trim(), url, peer.kind ?? 'office', peer.clientId, seal(this.sealingKey(), peer.clientSecret), new Date().toISOString());
    })();
    for (const listener of this.addListeners) listener();
    return this.get(peerId);
  }

  /**
   * Calls `listener` once this process has added a peer (admin API, first-run join); the CLI's peers, added by another
   * process, are only seen by polling. Returns the function that stops the calls.
   */
  onAdded(listener: () => void): () => void {
    this.addListeners.add(listener);
    return () => this.addListeners.delete(listener);
  }

  /** The peer this node follows the directory from (a directory node, or its office's node for a desktop that joined it). */
  directorySource(): PeerInfo | undefined {
    const row = this.db.prepare("SELECT * FROM sync_peers WHERE kind = 'directory'").get() as PeerRow | undefined;
    return row && infoOf(row);
  }

  list(): PeerInfo[] {
    return (this.db.prepare('SELECT * FROM sync_peers ORDER BY created_at, peer_id').all() as PeerRow[]).map(infoOf);
  }

  get(peerId: string): PeerInfo {
    return infoOf(this.row(peerId));
  }

  remove(peerId: string): PeerInfo {
    const info = this.get(peerId);
    // Its recipients go with it: sync_peer_recipients cascades (openDatabase turns foreign keys on).
    this.db.prepare('DELETE FROM sync_peers WHERE peer_id = ?').run(peerId);
    return info;
  }

  /**
   * The recipients the peer's handshake said it serves (`Practitioner/<id>`, `Organization/<id>`), replacing those
   * of its last handshake. Recorded for an office peer only: documents reach them through it.
   */
  recordRecipients(peerId: string, recipients: readonly string[]): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO sync_peer_recipients (resource_type, resource_id, peer_id) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM sync_peer_recipients WHERE peer_id = ?').run(peerId);
      if (this.row(peerId).kind !== 'office') return;
      for (const recipient of recipients) {
        const [type, id] = recipient.split('/');
        insert.run(type, id, peerId);
      }
    })();
  }

  /** The recipients an office peer serves, as its last handshake said. */
  recipientsOf(peerId: string): string[] {
    const rows = this.db.prepare('SELECT resource_type, resource_id FROM sync_peer_recipients WHERE peer_id = ? ORDER BY 1, 2').all(peerId) as Array<{ resource_type: string; resource_id: string }>;
    return rows.map((row) => `${row.resource_type}/${row.resource_id}`);
  }

  /** The client secret on the peer, for the sync loop's token requests only. */
  secretOf(peerId: string): string {
    return unseal(this.sealingKey(), this.row(peerId).secret);
  }

  /** The handshake told the peer's node id: a different node than before (a new database there) starts the pull over. */
  recordHandshake(peerId: string, remoteNode: string, clockSkewMs: number): void {
    this.db
      .prepare(
        `UPDATE sync_peers SET pull_cursor = CASE WHEN remote_node IS NULL OR remote_node = @remoteNode THEN pull_cursor ELSE '0' END,
           remote_node = @remoteNode, clock_skew_ms = @skew WHERE peer_id = @peerId`,
      )
      .run({ remoteNode, skew: Math.round(clockSkewMs), peerId });
  }

  /** Call inside the transaction that stored the page: a crash re-fetches it, never skips it. */
  setPullCursor(peerId: string, cursor: string): void {
    this.db.prepare('UPDATE sync_peers SET pull_cursor = ? WHERE peer_id = ?').run(cursor, peerId);
  }

  setPushCursor(peerId: string, seq: number): void {
    this.db.prepare('UPDATE sync_peers SET push_cursor = ? WHERE peer_id = ?').run(seq, peerId);
  }

  recordSuccess(peerId: string): void {
    this.db.prepare('UPDATE sync_peers SET last_sync_at = ?, last_error = NULL, last_problem = NULL WHERE peer_id = ?').run(new Date().toISOString(), peerId);
  }

  recordError(peerId: string, message: string, problem: PeerProblem): void {
    this.db.prepare('UPDATE sync_peers SET last_error = ?, last_problem = ? WHERE peer_id = ?').run(message.slice(0, MAX_ERROR_LENGTH), problem, peerId);
  }

  private row(peerId: string): PeerRow {
    const row = this.db.prepare('SELECT * FROM sync_peers WHERE peer_id = ?').get(peerId) as PeerRow | undefined;
    if (!row) throw notFound('peer-unknown', `No peer '${peerId}'`);
    return row;
  }

  /** Every peer's secret sealed again by `reseal` (a change of sealing key). */
  resealSecrets(reseal: (sealed: string) => string): void {
    const rows = this.db.prepare('SELECT peer_id, secret FROM sync_peers').all() as Array<Pick<PeerRow, 'peer_id' | 'secret'>>;
    const update = this.db.prepare('UPDATE sync_peers SET secret = ? WHERE peer_id = ?');
    this.db.transaction(() => {
      for (const row of rows) {
        const secret = reseal(row.secret);
        if (secret !== row.secret) update.run(secret, row.peer_id);
      }
    })();
  }

  private sealingKey(): Buffer {
    return (this.key ??= dataFolderKey(this.dataDir));
  }
}

/** Checks what an admin asks for; returns the peer's base URL without a trailing `/fhir` or slash. */
function checkPeer(peer: NewPeer): string {
  if (typeof peer.name !== 'string' || peer.name.trim() === '' || peer.name.length > MAX_NAME_LENGTH) throw badRequest('peer-invalid', `A peer needs a name of 1 to ${MAX_NAME_LENGTH} characters`, 'name');
  let url: URL;
  try {
    url = new URL(String(peer.url));
  } catch {
    throw badRequest('peer-invalid', `'${String(peer.url)}' is not a URL: give the peer's address, e.g. https://cabinet.example:8347`, 'url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest('peer-invalid', 'A peer URL is http or https', 'url');
  if (url.username || url.password || url.search || url.hash) throw badRequest('peer-invalid', 'A peer URL carries no credentials, query or fragment: give them as clientId and clientSecret', 'url');
  if (peer.kind !== undefined && peer.kind !== 'office' && peer.kind !== 'directory') throw badRequest('peer-invalid', 'kind is office or directory', 'kind');
  if (typeof peer.clientId !== 'string' || peer.clientId === '') throw badRequest('peer-invalid', "A peer needs this node's clientId on it", 'clientId');
  if (typeof peer.clientSecret !== 'string' || peer.clientSecret === '') throw badRequest('peer-invalid', "A peer needs this node's clientSecret on it", 'clientSecret');
  return url.href.replace(/\/+$/, '').replace(/\/fhir$/, '');
}

function infoOf(row: PeerRow): PeerInfo {
  return {
    peerId: row.peer_id,
    name: row.name,
    url: row.url,
    kind: row.kind,
    clientId: row.client_id,
    ...(row.remote_node !== null ? { remoteNode: row.remote_node } : {}),
    pullCursor: row.pull_cursor,
    pushCursor: row.push_cursor,
    ...(row.last_sync_at !== null ? { lastSyncAt: row.last_sync_at } : {}),
    ...(row.last_error !== null ? { lastError: row.last_error, lastProblem: row.last_problem ?? 'other' } : {}),
    ...(row.clock_skew_ms !== null ? { clockSkewMs: row.clock_skew_ms } : {}),
    createdAt: row.created_at,
  };
}
