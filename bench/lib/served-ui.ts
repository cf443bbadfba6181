import { rmSync } from 'node:fs';
import type { ServingNode } from '../../tests/helpers/child-node';

/**
 * The end of a benchmark of the built UI on `liaison serve`: the node stopped, not killed (a given data folder keeps
 * its text index snapshot and a checkpointed database), then the benchmark's folder and the built UI removed.
 */
export async function stopServedUi(node: ServingNode | undefined, work: string, outDir: string | undefined): Promise<void> {
  node?.child.kill('SIGTERM');
  await node?.exited;
  rmSync(work, { recursive: true, force: true });
  if (outDir) rmSync(outDir, { recursive: true, force: true });
}
