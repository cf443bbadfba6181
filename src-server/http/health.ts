import { readSchemaVersion, type Db } from '../storage/database';
import type { Repository } from '../storage/repository';
import { LIAISON_VERSION } from '../version';

/** What `GET /health` reports (no authentication: it reveals no patient data, only counts per type). */
export function healthReport(db: Db, repository: Repository) {
  const byType = repository.counts();
  return {
    status: 'ok',
    version: LIAISON_VERSION,
    fhirVersion: '3.0.1',
    nodeId: repository.nodeId,
    schemaVersion: readSchemaVersion(db),
    resources: { total: Object.values(byType).reduce((sum, count) => sum + count, 0), byType },
  };
}
