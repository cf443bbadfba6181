import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LatencyHistogram, runLoad, type Workload } from './lib/load';
import { pinningWanted, pinSelf } from './lib/machine';
import { seedPatients, shuffled } from './lib/patients';
import { startServer, type ServerHandle, type ServerInfo } from './lib/server-process';
import { positiveNumber } from './lib/settings';

/**
 * `POST /oauth/token` flooded on 10 connections, and what another API client sees meanwhile: the p50 of its FHIR
 * reads by id on a real Liaison node, without and with the flood, side by side in alternating rounds of one run
 * (the median round of each is reported, and their ratio: target ≤ 2). Two floods:
 * - `minting`: a client's own right secret in a loop (its rate limit, 10 a second, is soon reached);
 * - `wrong-secret`: wrong secrets for a known client_id whose secret the node has not checked since it started.
 *
 * The node runs in a child process; the reader (autocannon) in this one, the flood in an autocannon worker thread.
 * On 2+ cores this process is pinned to CPU 0 and the node to CPU 1, as in rest-http.bench.ts. Each flood first
 * runs 2 s unmeasured (the node's first check of the secret, as once after each start), then the rounds alternate.
 *
 * Env: BENCH_SECONDS (measured seconds per round, default 5), BENCH_ROUNDS (default 3), BENCH_READERS (the
 * reader's connections, default 1: one client's calls one after the other), BENCH_PATIENTS (default 2000),
 * BENCH_PIN (0 to not pin).
 */

const FLOOD_CONNECTIONS = 10;
const TARGET_RATIO = 2;

const seconds = positiveNumber('BENCH_SECONDS', 5);
const rounds = Math.floor(positiveNumber('BENCH_ROUNDS', 3));
const readers = Math.floor(positiveNumber('BENCH_READERS', 1));
const patientCount = Math.floor(positiveNumber('BENCH_PATIENTS', 2000));
const pin = pinningWanted();

const log = (message: string) => process.stderr.write(`[token-flood] ${message}\n`);
const round2 = (value: number) => Math.round(value * 100) / 100;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

type Credentials = { client_id: string; client_secret: string };

/** An API client made with the owner's token through the admin API. */
async function createClient(server: ServerInfo, name: string, rateLimit?: number): Promise<Credentials> {
  const origin = new URL(server.base).origin;
  const response = await fetch(`${origin}/admin/clients`, {
    method: 'POST',
    headers: { authorization: server.headers.authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ name, scopes: ['PATIENT_READ'], ...(rateLimit ? { rateLimit } : {}) }),
  });
  if (response.status !== 201) throw new Error(`POST /admin/clients answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Credentials;
}

async function tokenOf(server: ServerInfo, credentials: Credentials): Promise<string> {
  const response = await fetch(`${new URL(server.base).origin}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', ...credentials }) });
  if (response.status !== 200) throw new Error(`POST /oauth/token answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** 10 connections sending one token request over and over; the answers by status, per second. */
async function flood(server: ServerInfo, credentials: Credentials, duration: number): Promise<Record<string, number>> {
  const result = await autocannon({
    url: `${new URL(server.base).origin}/oauth/token`,
    connections: FLOOD_CONNECTIONS,
    workers: 1,
    duration,
    // Wrong secrets are answered after a hold-back of up to 10 s: not a timeout.
    timeout: 30,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...credentials }).toString(),
  });
  return Object.fromEntries(Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, round2(count / result.duration)]));
}

const dataDir = mkdtempSync(join(tmpdir(), 'liaison-bench-token-flood-'));
let server: ServerHandle | undefined;
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // The process exits either way: a failed stop leaves nothing to report to.
  process.once(signal, () => void (server?.stop() ?? Promise.resolve()).finally(() => process.exit(130)));
}
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});

try {
  if (pin) pinSelf(0);
  log(`seeding ${patientCount} Patients; load average ${loadavg().map(round2).join(' ')}`);
  server = await startServer(fileURLToPath(new URL('./lib/liaison-server.ts', import.meta.url)), { dataDir, patients: patientCount }, pin ? { cpu: 1 } : {});
  const owner = server.info;
  // The reader: an office software's client, with room enough that its own limit never answers it 429.
  const reader: ServerInfo = { ...owner, headers: { ...owner.headers, authorization: `Bearer ${await tokenOf(owner, await createClient(owner, 'reader', 10_000))}` } };
  const reads: Workload = { method: 'GET', paths: shuffled(seedPatients(patientCount).map((patient) => `/Patient/${patient.id}`)) };
  const minter = await createClient(owner, 'minter');
  const floods: Record<'minting' | 'wrong-secret', Credentials> = {
    minting: minter,
    'wrong-secret': { client_id: (await createClient(owner, 'guessed')).client_id, client_secret: 'not-the-secret' },
  };
  log(`reader on ${readers} connection(s), flood on ${FLOOD_CONNECTIONS}; ${rounds} alternating rounds of ${seconds} s` + (pin ? '; load on CPU 0, node on CPU 1' : '; not pinned'));
  await runLoad(reader, reads, 2, readers);

  for (const [kind, credentials] of Object.entries(floods)) {
    const alone = { rounds: [] as number[], latencies: new LatencyHistogram() };
    const flooded = { rounds: [] as number[], latencies: new LatencyHistogram() };
    let floodAnswers: Record<string, number> = {};
    // Warm-up with the flood: the node checks the client's secret for the first time, as once after each start.
    await Promise.all([runLoad(reader, reads, 2, readers), flood(owner, credentials, 2)]);
    for (let round = 0; round < rounds; round++) {
      for (const withFlood of round % 2 === 0 ? [false, true] : [true, false]) {
        const [figures, answers] = await Promise.all([runLoad(reader, reads, seconds, readers), withFlood ? flood(owner, credentials, seconds) : undefined]);
        const into = withFlood ? flooded : alone;
        into.rounds.push(figures.latencies.percentile(50));
        into.latencies.add(figures.latencies);
        if (answers) floodAnswers = answers;
        log(`${kind} round ${round + 1} ${withFlood ? 'with' : 'without'} the flood: reads p50 ${figures.latencies.percentile(50)} ms, ${Math.round(figures.requestsPerSecond)} reads/s` + (answers ? `; flood answers/s by status ${JSON.stringify(answers)}` : ''));
      }
    }
    const without = median(alone.rounds);
    const withFlood = median(flooded.rounds);
    const ratio = round2(withFlood / without);
    console.log(
      JSON.stringify({
        benchmark: `token-flood.${kind}`,
        unit: 'ms',
        readP50WithoutFloodMs: without,
        readP50WithFloodMs: withFlood,
        ratio,
        targetRatio: TARGET_RATIO,
        meetsTarget: ratio <= TARGET_RATIO,
        readP99WithoutFloodMs: alone.latencies.percentile(99),
        readP99WithFloodMs: flooded.latencies.percentile(99),
        floodAnswersPerSecond: floodAnswers,
        roundsWithoutFlood: alone.rounds,
        roundsWithFlood: flooded.rounds,
        readerConnections: readers,
        floodConnections: FLOOD_CONNECTIONS,
        durationSeconds: seconds,
        pinned: pin,
      }),
    );
  }
} finally {
  await server?.stop();
}
