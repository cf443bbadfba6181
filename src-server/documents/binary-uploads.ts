import type { Db } from '../storage/database';

/**
 * Who uploaded each Binary through the API (table `binary_uploads`), as FhirRequest.caller names them. Kept by the
 * node beside the version rather than in it: versions travel unchanged between sync peers, and this is a fact of
 * this node's API, not of the document. A Binary replicated from a peer, imported or written before this table
 * existed has no uploader here.
 */
export class BinaryUploads {
  private readonly insert;
  private readonly uploader;

  constructor(db: Db) {
    this.insert = db.prepare<[string, string, string]>('INSERT INTO binary_uploads (binary_id, caller, uploaded_at) VALUES (?, ?, ?)');
    this.uploader = db.prepare<[string], { caller: string }>('SELECT caller FROM binary_uploads WHERE binary_id = ?');
  }

  /** In the transaction that creates the Binary's first version: a refused write leaves no record. */
  record(binaryId: string, caller: string): void {
    this.insert.run(binaryId, caller, new Date().toISOString());
  }

  uploaderOf(binaryId: string): string | undefined {
    return this.uploader.get(binaryId)?.caller;
  }
}
