import type { Db } from '../store/database';
import type { LocalRecipients } from './local-recipients';

/**
 * Who the internal channel reaches: the recipients of this node (LocalRecipients), and those an office peer serves,
 * as its last `$handshake` said (`sync_peer_recipients`, docs/sync.md). A document for a peer's recipient is stored
 * here and travels to the peer by sync, where their reach shows it in their inbox. A directory peer's recipients do
 * not count (nothing is pushed to it), and a removed peer's are forgotten with it.
 */
export class NetworkRecipients {
  private readonly servedByPeer;

  constructor(
    db: Db,
    readonly local: LocalRecipients,
  ) {
    this.servedByPeer = db.prepare<[string, string]>(
      `SELECT 1 FROM sync_peer_recipients r JOIN sync_peers p ON p.peer_id = r.peer_id
       WHERE r.resource_type = ? AND r.resource_id = ? AND p.kind = 'office' LIMIT 1`,
    );
  }

  /** Whether `Practitioner/<id>` or `Organization/<id>` receives on this node or on one of its office peers. */
  has(type: string, id: string): boolean {
    return this.local.has(type, id) || this.onPeer(type, id);
  }

  /** Whether an office peer serves `Practitioner/<id>` or `Organization/<id>`. */
  onPeer(type: string, id: string): boolean {
    return (type === 'Practitioner' || type === 'Organization') && this.servedByPeer.get(type, id) !== undefined;
  }
}
