import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * How busy the machine was with other work while we measured (Linux /proc only): on a small shared machine a
 * test suite or browser running alongside moves the figures, and this says by how much the run was disturbed.
 * And pinning: a load generator and the server it loads on CPUs of their own never compete for one core.
 */

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux architecture Node supports

export interface CpuSnapshot {
  at: number;
  /** Non-idle CPU seconds of the whole machine. */
  machine: number;
  /** CPU seconds of the given processes. */
  ours: number;
}

export function cpuSnapshot(pids: readonly number[]): CpuSnapshot | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  try {
    // cpu  user nice system idle iowait irq softirq steal ...
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const machine = fields.reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0);
    let ours = 0;
    for (const pid of pids) {
      // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the whole line.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ours += Number(rest[11]) + Number(rest[12]);
    }
    return { at: performance.now(), machine: machine / TICKS_PER_SECOND, ours: ours / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** Share of all CPUs used by other processes between two snapshots (0 to 1). */
export function backgroundLoad(before: CpuSnapshot | undefined, after: CpuSnapshot | undefined, cpus: number): number | undefined {
  if (!before || !after) return undefined;
  const seconds = (after.at - before.at) / 1000;
  const others = after.machine - before.machine - (after.ours - before.ours);
  return Math.min(1, Math.max(0, others / (seconds * cpus)));
}

/** Whether load generator and servers get CPUs of their own: on 2+ cores, with taskset, unless BENCH_PIN=0. */
export function pinningWanted(): boolean {
  if (process.env.BENCH_PIN === '0' || availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pins this process, all its threads, to one CPU. */
export function pinSelf(cpu: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
}
