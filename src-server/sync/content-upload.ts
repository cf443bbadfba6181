import { Readable } from 'node:stream';
import { SYNC_SCOPE } from '../auth/scopes';
import { badRequest, FhirError, forbidden, notFound } from '../fhir/outcome';
import type { FhirRequest } from '../rest/types';
import { isContentHash } from '../store/binary-store';
import type { SearchEngine } from '../store/search/search';
import type { ContentQueue } from './content';

/**
 * `POST [base]/$content?hash=<sha256>`: a sync peer's upload of content this node awaits (after a push, docs/sync.md).
 * It needs SYNC, Binary CREATE or UPDATE, and one of the awaiting Binaries within the caller's reach; the bytes are
 * kept only if their hash and size are those the Binary names. The HTTP route streams the body here.
 */
export class ContentUploads {
  constructor(
    private readonly search: SearchEngine,
    /** Binary content awaited from sync peers; none on a node without sync. */
    private readonly content?: ContentQueue,
  ) {}

  /** The hash of the content, once the caller may upload (checked before a byte is read). */
  check(request: FhirRequest, hash: unknown): string {
    const { scopes } = request;
    scopes.requireNamed(SYNC_SCOPE, '$content');
    if (!scopes.allows('Binary', 'CREATE') && !scopes.allows('Binary', 'UPDATE')) throw forbidden('scope-missing', 'Uploading Binary content needs BINARY_CREATE or BINARY_UPDATE', undefined, { scope: 'BINARY_CREATE' });
    if (typeof hash !== 'string' || !isContentHash(hash)) throw badRequest('content-hash-invalid', 'hash must be the SHA-256 of the content, in lower-case hex', 'hash');
    return hash;
  }

  /**
   * Stores the bytes (no body at all is content of no bytes: refused unless that is what the Binary names) for a Binary
   * the caller sees that awaits them; `refused` hears of bytes whose hash or size is not the one the Binary names.
   */
  async receive(request: FhirRequest, base: string, hash: string, body: Readable | undefined, refused: (binaryId: string) => void): Promise<void> {
    const awaiting = (this.content?.waitingFor(hash) ?? []).filter((wanted) => this.search.isVisible({ resourceType: 'Binary', id: wanted.id }, request, base));
    if (awaiting.length === 0) throw notFound('content-not-awaited', 'No Binary on this node awaits this content');
    try {
      await this.content!.receive(body ?? Readable.from([]), { hash, size: awaiting[0].size });
    } catch (error) {
      if (error instanceof FhirError && error.status === 422) refused(awaiting[0].id);
      throw error;
    }
    this.content!.fulfilled(hash);
  }
}
