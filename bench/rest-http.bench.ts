import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONNECTIONS, LatencyHistogram, runLoad, type Workload } from './lib/load';
import { backgroundLoad, cpuSnapshot, pinningWanted, pinSelf } from './lib/machine';
import { newPatients, seedPatients, shuffled } from './lib/patients';
import { startServer, type ServerHandle } from './lib/server-process';
import { positiveNumber } from './lib/settings';

/**
 * REST over HTTP on 127.0.0.1: read by id and create of Patients on a real Liaison node, each compared with a
 * bare Fastify + better-sqlite3 route doing the same work in the same run.
 *
 * Fairness on a small machine: both servers run in child processes and autocannon in this one, so the load
 * generator never shares an event loop with a server; on 2+ cores this process is pinned to CPU 0 and the servers
 * to CPU 1, so generator and server never compete for one core. Liaison and baseline are measured in alternating
 * rounds and the median round is reported, so background noise hits both alike. Read ids are shuffled: random
 * access, as in a practice, not a walk in insertion order that keeps every page hot.
 *
 * Env: BENCH_SECONDS (measured seconds per server and workload, default 10), BENCH_ROUNDS (default 3),
 * BENCH_WARMUP_SECONDS (default 2), BENCH_PATIENTS (seeded Patients, default 10000), BENCH_PIN (0 to not pin),
 * BENCH_PROFILE_DIR (write CPU profiles of both servers there, one per workload; figures are then slowed).
 */

const TARGETS = { read: { requestsPerSecond: 9000, ratio: 0.5 }, create: { requestsPerSecond: 3000 } };
const CREATE_BODIES = 512;

const seconds = positiveNumber('BENCH_SECONDS', 10);
const rounds = Math.floor(positiveNumber('BENCH_ROUNDS', 3));
const warmupSeconds = positiveNumber('BENCH_WARMUP_SECONDS', 2);
const patientCount = Math.floor(positiveNumber('BENCH_PATIENTS', 10_000));
const profileDir = process.env.BENCH_PROFILE_DIR ? resolve(process.env.BENCH_PROFILE_DIR) : undefined;
const pin = pinningWanted();

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const log = (message: string) => process.stderr.write(`[rest-http] ${message}\n`);
const round2 = (value: number) => Math.round(value * 100) / 100;
const percent = (share: number) => `${Math.round(share * 100)}%`;
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const workloads: Record<'read' | 'create', Workload> = {
  // Shuffled: reading in insertion order walks the tables page by page, which measured ~25% faster.
  read: { method: 'GET', paths: shuffled(seedPatients(patientCount).map((patient) => `/Patient/${patient.id}`)) },
  create: { method: 'POST', paths: ['/Patient'], bodies: newPatients(CREATE_BODIES).map((patient) => JSON.stringify(patient)) },
};

interface Measured {
  rounds: number[];
  latencies: LatencyHistogram;
  /** Share of the machine other processes used during each round. */
  background: number[];
}

type ServerName = 'liaison' | 'baseline';
const SERVER_NAMES: readonly ServerName[] = ['liaison', 'baseline'];

/** Warms both servers up, then alternates measured rounds between them. */
async function compare(kind: 'read' | 'create', servers: Record<ServerName, ServerHandle>): Promise<Record<ServerName, Measured>> {
  const measured = (): Measured => ({ rounds: [], latencies: new LatencyHistogram(), background: [] });
  const results = { liaison: measured(), baseline: measured() };
  const names = SERVER_NAMES;
  const pids = [process.pid, servers.liaison.pid, servers.baseline.pid];
  for (const name of names) await runLoad(servers[name].info, workloads[kind], warmupSeconds);
  if (profileDir) for (const name of names) await servers[name].startProfile();
  for (let round = 0; round < rounds; round++) {
    // Swap the order every round so neither server always runs right after the other's load.
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const before = cpuSnapshot(pids);
      const figures = await runLoad(servers[name].info, workloads[kind], seconds / rounds);
      const background = backgroundLoad(before, cpuSnapshot(pids), availableParallelism());
      results[name].rounds.push(Math.round(figures.requestsPerSecond));
      results[name].latencies.add(figures.latencies);
      if (background !== undefined) results[name].background.push(background);
      log(
        `${kind} ${name} round ${round + 1}: ${Math.round(figures.requestsPerSecond)} req/s ` +
          `(load generator ${percent(figures.clientCpu)} of a CPU` +
          (background === undefined ? ')' : `, other processes ${percent(background)} of the machine)`),
      );
    }
  }
  if (profileDir) for (const name of names) await servers[name].stopProfile(join(profileDir, `${name}-${kind}.cpuprofile`));
  return results;
}

const dataDirs: string[] = [];
const started: ServerHandle[] = [];
const newDataDir = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `liaison-bench-${name}-`));
  dataDirs.push(dir);
  return dir;
};
const removeDataDirs = () => dataDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
const stopAll = () => Promise.allSettled(started.map((server) => server.stop()));
// Runs on every way out, crashes included (the servers, orphaned, stop by themselves).
process.on('exit', removeDataDirs);
// Ctrl-C: stop the servers before leaving.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // The process exits either way: a failed stop leaves nothing to report to.
  process.once(signal, () => void stopAll().finally(() => process.exit(130)));
}
// A closed stdout (`npm run bench | head -1`) must not crash the run before it cleans up.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});

try {
  const cpuOption = pin ? { cpu: 1 } : {};
  if (pin) pinSelf(0);
  log(`seeding ${patientCount} Patients in a Liaison node and in the baseline; load average ${loadavg().map(round2).join(' ')}`);
  // Seeded in parallel; whichever started is kept for stopping even if the other failed.
  const starting = await Promise.allSettled([
    startServer(here('./lib/liaison-server.ts'), { dataDir: newDataDir('liaison'), patients: patientCount }, cpuOption),
    startServer(here('./lib/baseline-server.ts'), { dataDir: newDataDir('baseline'), patients: patientCount }, cpuOption),
  ]);
  for (const outcome of starting) if (outcome.status === 'fulfilled') started.push(outcome.value);
  const failed = starting.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  const [liaison, baseline] = started;
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    log(`profiling both servers into ${profileDir}: figures are slowed by the profiler`);
  }
  log(
    `${CONNECTIONS} connections, ${warmupSeconds} s warm-up, then ${rounds} alternating rounds of ${round2(seconds / rounds)} s per server` +
      (pin ? '; load generator on CPU 0, servers on CPU 1' : '; not pinned'),
  );

  for (const kind of ['read', 'create'] as const) {
    const results = await compare(kind, { liaison, baseline });
    const value = median(results.liaison.rounds);
    const ceiling = median(results.baseline.rounds);
    const ratio = round2(value / ceiling);
    const target = TARGETS[kind];
    const targetRatio = 'ratio' in target ? target.ratio : undefined;
    console.log(
      JSON.stringify({
        benchmark: `rest.${kind}`,
        unit: 'req/s',
        value,
        baseline: ceiling,
        ratio,
        target: target.requestsPerSecond,
        ...(targetRatio !== undefined ? { targetRatio } : {}),
        meetsTarget: value >= target.requestsPerSecond && (targetRatio === undefined || ratio >= targetRatio),
        latencyP50Ms: results.liaison.latencies.percentile(50),
        latencyP99Ms: results.liaison.latencies.percentile(99),
        baselineLatencyP50Ms: results.baseline.latencies.percentile(50),
        baselineLatencyP99Ms: results.baseline.latencies.percentile(99),
        rounds: results.liaison.rounds,
        baselineRounds: results.baseline.rounds,
        connections: CONNECTIONS,
        durationSeconds: seconds,
        seededPatients: patientCount,
        pinned: pin,
        ...(results.liaison.background.length
          ? { backgroundCpu: round2(mean([...results.liaison.background, ...results.baseline.background])) }
          : {}),
        ...(profileDir ? { profiled: true } : {}),
      }),
    );
  }
} finally {
  const stopped = await stopAll();
  removeDataDirs();
  for (const outcome of stopped) {
    if (outcome.status === 'rejected') {
      log(`a server did not stop cleanly: ${String(outcome.reason)}`);
      process.exitCode = 1;
    }
  }
}
