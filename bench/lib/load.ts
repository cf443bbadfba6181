import autocannon, { type Request } from 'autocannon';
import type { ServerInfo } from './server-process';

/** One HTTP load run with autocannon, cycling over request paths and bodies, reduced to the figures we print. */

export const CONNECTIONS = 16;

export interface Workload {
  method: 'GET' | 'POST';
  /** Paths relative to the server's base (`/Patient/<id>`), cycled over by all connections together. */
  paths: readonly string[];
  /** Request bodies, cycled over likewise. */
  bodies?: readonly string[];
}

export interface Figures {
  /** Successful (2xx) responses per second. */
  requestsPerSecond: number;
  /** Their latencies. */
  latencies: LatencyHistogram;
  /** CPU time of this process (the load generator) per second of run: near 1 means the client may be the limit. */
  clientCpu: number;
}

export async function runLoad(server: ServerInfo, workload: Workload, seconds: number, connections = CONNECTIONS): Promise<Figures> {
  const url = new URL(server.base);
  const prefix = url.pathname.replace(/\/$/, '');
  const headers = { ...server.headers, ...(workload.bodies ? { 'content-type': server.contentType } : {}) };
  const count = Math.max(workload.paths.length, workload.bodies?.length ?? 0);
  // Connection k of n cycles over requests k, k + n, k + 2n...: together they cover every path and body, and each
  // request is encoded once up front (building each one in setupRequest kept autocannon's core ~98% busy
  // against the baseline, this ~70%).
  const requestsOf = (connection: number): Request[] => {
    const requests: Request[] = [];
    for (let index = connection; index < Math.max(count, connections); index += connections) {
      requests.push({
        method: workload.method,
        path: prefix + workload.paths[index % workload.paths.length],
        headers,
        ...(workload.bodies ? { body: workload.bodies[index % workload.bodies.length] } : {}),
      });
    }
    return requests;
  };
  let nextConnection = 0;
  const latencies = new LatencyHistogram();
  const cpuBefore = process.cpuUsage();
  const run = autocannon({
    url: url.origin,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    requests: requestsOf(0).slice(0, 1),
    setupClient: (client) => client.setRequests(requestsOf(nextConnection++ % connections)),
  });
  // autocannon's own histogram has 1 ms resolution: too coarse for sub-millisecond reads.
  run.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode >= 200 && statusCode < 300) latencies.record(responseTime);
  });
  const result = await run;
  const cpu = process.cpuUsage(cpuBefore);
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(
      `${workload.method} ${server.base}: ${result.errors} errors, ${result.non2xx} non-2xx responses ` +
        `(status counts ${JSON.stringify(result.statusCodeStats)})`,
    );
  }
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    latencies,
    clientCpu: (cpu.user + cpu.system) / 1e6 / result.duration,
  };
}

/** Fixed 10 µs buckets up to 1 s (slower responses share the last bucket): bounded memory, O(1) recording. */
export class LatencyHistogram {
  private static readonly BUCKET_MS = 0.01;
  private readonly counts = new Uint32Array(100_000);
  private total = 0;

  record(ms: number): void {
    const bucket = Math.min(Math.floor(ms / LatencyHistogram.BUCKET_MS), this.counts.length - 1);
    this.counts[bucket]++;
    this.total++;
  }

  add(other: LatencyHistogram): void {
    for (let bucket = 0; bucket < this.counts.length; bucket++) this.counts[bucket] += other.counts[bucket];
    this.total += other.total;
  }

  /** Upper bound of the bucket holding the percentile, in ms with 2 decimals. */
  percentile(percent: number): number {
    const rank = Math.ceil((percent / 100) * this.total);
    let seen = 0;
    for (let bucket = 0; bucket < this.counts.length; bucket++) {
      seen += this.counts[bucket];
      if (seen >= rank && seen > 0) return Math.round((bucket + 1) * LatencyHistogram.BUCKET_MS * 100) / 100;
    }
    return Number.NaN;
  }
}
