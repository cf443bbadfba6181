import { readSchemaVersion, type Db } from '../storage/database';
import type { Repository } from '../storage/repository';
import type { TextIndex } from '../text/text-index';
import { LIAISON_VERSION } from '../version';

/** What `GET /health` reports (no authentication: it reveals no patient data, only counts per type). */
export async function healthReport(db: Db, repository: Repository, textIndex: TextIndex) {
  const byType = repository.counts();
  const text = await textIndex.status().catch((error: Error) => ({ ready: false, error: error.message }));
  return {
    status: 'ok',
    version: LIAISON_VERSION,
    fhirVersion: '3.0.1',
    nodeId: repository.nodeId,
    schemaVersion: readSchemaVersion(db),
    resources: { total: Object.values(byType).reduce((sum, count) => sum + count, 0), byType },
    // The background text index: how far behind the writes it is, now and at the 95th percentile (ms).
    textIndex: text,
    // Replicated versions this node cannot store (docs/sync.md): while there are any, its data differs from its peers'.
    sync: { keptAside: repository.keptAsideCount() },
  };
}
