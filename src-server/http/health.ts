import type { HealthProblem, NodeModule } from '../rest/extensions';
import { readSchemaVersion, type Db } from '../store/database';
import type { Repository } from '../store/repository';
import type { TextIndex } from '../text/text-index';
import { LIAISON_VERSION } from '../version';

/**
 * What `GET /health` reports (no authentication: it reveals no patient data, only counts per type). `status` is
 * `degraded` while a part of the node is failing, with `reasons` saying what and why and `problems` the same with
 * the part each comes from: each module reports its own (`NodeModule.health`: the text index, sync, the document
 * outbox and its channels), by thresholds it states, so that a single passing failure does not flip it.
 */
export async function healthReport(db: Db, repository: Repository, textIndex: TextIndex, modules: readonly NodeModule[]) {
  const byType = repository.counts();
  const [text, ...reported] = await Promise.all([textIndex.status(), ...modules.map(async (module): Promise<readonly HealthProblem[]> => (await module.health?.()) ?? [])]);
  const problems = reported.flat();
  return {
    status: problems.length === 0 ? 'ok' : 'degraded',
    reasons: problems.map((problem) => problem.reason),
    problems,
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
