import { availableParallelism } from 'node:os';
import { backgroundLoad, cpuSnapshot } from './machine';

/** Two nodes syncing in a benchmark: the source in a child process, the receiving node in this one. */

/** Waits until a node's text index has indexed its `changes` first changes (its startup work is done). */
export async function sourceSettled(url: string, changes: number): Promise<void> {
  for (;;) {
    const health = (await (await fetch(`${url}/health`)).json()) as { textIndex: { ready?: boolean; indexedSeq?: number } };
    if (health.textIndex.ready && (health.textIndex.indexedSeq ?? 0) >= changes) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface SyncTiming {
  seconds: number;
  /** CPU seconds of both nodes (undefined where /proc cannot tell). */
  cpuSecondsBothNodes?: number;
  cpuSecondsReceivingNode: number;
  /** The share of the machine other processes took meanwhile (a shared machine moves the wall-clock figure). */
  otherProcessesShareOfMachine?: number;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** Starts the clocks (wall, both nodes' CPU, the machine's); the function returned stops them. */
export function startSyncTiming(sourcePid: number): () => SyncTiming {
  const started = performance.now();
  const cpuBefore = cpuSnapshot([process.pid, sourcePid]);
  const receiverBefore = process.cpuUsage();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = cpuSnapshot([process.pid, sourcePid]);
    const receiver = process.cpuUsage(receiverBefore);
    const others = backgroundLoad(cpuBefore, cpuAfter, availableParallelism());
    return {
      seconds: round1(seconds),
      ...(cpuBefore && cpuAfter ? { cpuSecondsBothNodes: round1(cpuAfter.ours - cpuBefore.ours) } : {}),
      cpuSecondsReceivingNode: round1((receiver.user + receiver.system) / 1e6),
      ...(others !== undefined ? { otherProcessesShareOfMachine: Math.round(others * 100) / 100 } : {}),
    };
  };
}
