import { readSchemaVersion, type Db } from '../store/database';
import type { Repository } from '../store/repository';
import type { TextIndex, TextIndexHealth } from '../text/text-index';
import { LIAISON_VERSION } from '../version';

/**
 * What `GET /health` reports (no authentication: it reveals no patient data, only counts per type). `status` is
 * `degraded` while part of the node cannot answer, with `reasons` saying what and why: for now, text searches while
 * the text index is rebuilding, replaying or restarting. Not while its thread starts, a moment of every start.
 */
export async function healthReport(db: Db, repository: Repository, textIndex: TextIndex) {
  const byType = repository.counts();
  const text = await textIndex.status();
  const reasons = textIndexTrouble(text);
  return {
    status: reasons.length === 0 ? 'ok' : 'degraded',
    reasons,
    version: LIAISON_VERSION,
    fhirVersion: '3.0.1',
    nodeId: repository.nodeId,
    schemaVersion: readSchemaVersion(db),
    resources: { total: Object.values(byType).reduce((sum, count) => sum + count, 0), byType },
    // The background text index: its state, how far behind the writes it is, now and at the 95th percentile (ms),
    // and how many resources it could not index (listed at GET /admin/text-index).
    textIndex: text,
    // Replicated versions this node cannot store (docs/sync.md): while there are any, its data differs from its peers'.
    sync: { keptAside: repository.keptAsideCount() },
  };
}

function textIndexTrouble(text: TextIndexHealth): string[] {
  switch (text.state) {
    case 'ready':
    case 'starting':
    case 'closed':
      return [];
    case 'rebuilding':
      return [`The text index is being rebuilt (at change ${text.indexedSeq}): name, address, _content and _text searches answer 503 until it is done`];
    case 'replaying':
      return [`The text index is indexing the changes made after its snapshot (at change ${text.indexedSeq}): name, address, _content and _text searches answer 503 until it is done`];
    case 'unresponsive':
      return [`The text index is not answering (${text.error}): name, address, _content and _text searches may answer 503`];
    case 'restarting':
      return [text.error ?? 'The text index thread stopped and restarts'];
  }
}
