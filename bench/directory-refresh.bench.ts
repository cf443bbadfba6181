import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Zip, ZipDeflate } from 'fflate';
import { MAX_RATE_LIMIT, setClientRateLimit } from '../src-server/auth/clients';
import { generateExtraction } from '../src-server/directory/generate';
import type { RefreshStatus } from '../src-server/directory/refresh';
import { openZipEntry, readZipDirectory } from '../src-server/directory/zip';
import { loadHeadlessDataKey } from '../src-server/data-key';
import { startNode } from '../src-server/node';
import { AnsServer, testCa, type Kind } from '../tests/helpers/ans-server';
import { testDataKey } from '../tests/helpers/data-key';
import { percentiles } from './lib/search-shapes';
import { positiveNumber } from './lib/settings';

/**
 * The daily refresh of the directory, end to end on a real node (docs/directory.md, "Daily refresh"): a local HTTPS
 * stand-in of the ANS service publishes day 1 (imported first), then day 2 where 1 % of the lines changed (a family
 * name on every 100th activity line, a mailbox address on every 100th MSSanté line); the node finds it, downloads both ZIPs,
 * checks them, and imports them from the ZIPs, while a client searches the directory (address-city, family) the whole
 * time. Figures: each file's refresh in seconds (download and checks included; targets: activity ≤ 120 s, MSSanté ≤
 * 180 s at the national scale) and the searches' p95 meanwhile (target ≤ 20 ms).
 * Env: BENCH_LINES (generated activity lines, default 40,000: a minute or two here), BENCH_SEED, or BENCH_DATA (a
 * folder holding the national publication's two files, PS_LibreAcces_* and Extraction_Correspondance_MSSante_*, as
 * ZIPs or as their .txt, from which day 2 is derived: the national figure). With BENCH_FOLDER as well, a COPY of a
 * data folder that already holds day 1 (imported by `liaison directory import` from those files; its key as
 * `liaison serve` finds it): day 1 is not imported again and the node refreshes that folder to day 2 (the bench
 * changes it).
 */

const log = (message: string) => process.stderr.write(`[directory-refresh] ${message}\n`);
const work = mkdtempSync(join(tmpdir(), 'liaison-bench-refresh-'));
const givenData = process.env.BENCH_DATA;
const givenFolder = process.env.BENCH_FOLDER;
if (givenFolder && !givenData) throw new Error('BENCH_FOLDER needs BENCH_DATA: the files its day 1 was imported from');
const scale: Record<string, unknown> = givenData ? { data: givenData } : { lines: Math.floor(positiveNumber('BENCH_LINES', 40_000)) };
const figure = (name: string, value: number, unit: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ bench: 'directory-refresh', figure: name, value, unit, ...scale, ...extra }));

/**
 * CPU seconds the node's own thread (the event loop's: requests, the import's writes) has used, from Linux's per-thread
 * counters (10 ms ticks); undefined elsewhere. Unlike latencies it hardly depends on what else loads the machine. The
 * bench's client runs on that thread too: its share grows with the searches it makes.
 */
function nodeThreadCpuSeconds(): number | undefined {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // utime and stime, fields 14 and 15 of stat(5), counted after the command name's closing parenthesis.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

const ENTRY = { activity: 'PS_LibreAcces_Personne_activite', mssante: 'Extraction_Correspondance_MSSante' } as const;

/** A ZIP of one extraction entry, its text streamed from `lines` (each line through `change`). */
async function zipOf(kind: Kind, stamp: string, lines: AsyncIterable<string>, change: (line: string, index: number) => string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  const zip = new Zip((error, data) => {
    if (error) throw error;
    parts.push(data);
  });
  const entry = new ZipDeflate(`${ENTRY[kind]}_${stamp}.txt`, { level: 1 });
  zip.add(entry);
  const encoder = new TextEncoder();
  let index = 0;
  let batch: string[] = [];
  for await (const line of lines) {
    batch.push(change(line, index++));
    if (batch.length === 10_000) {
      entry.push(encoder.encode(`${batch.join('\n')}\n`));
      batch = [];
    }
  }
  entry.push(encoder.encode(batch.length ? `${batch.join('\n')}\n` : ''), true);
  zip.end();
  return Buffer.concat(parts);
}

/** A text file's lines, streamed: a national extraction is larger than a string may be. */
async function* linesOfFile(file: string): AsyncGenerator<string> {
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) if (line !== '') yield line;
}

/** The lines of a publication's extraction entry (latin-1 read as such: changing ASCII suffixes keeps it valid). */
async function* linesOfZip(zip: string, kind: Kind): AsyncGenerator<string> {
  const entry = readZipDirectory(zip).find((candidate) => candidate.name.includes(ENTRY[kind]) && candidate.name.endsWith('.txt'));
  if (!entry) throw new Error(`${zip} holds no ${ENTRY[kind]} entry`);
  let pending = '';
  for await (const chunk of openZipEntry(zip, entry)) {
    const lines = (pending + (chunk as Buffer).toString('latin1')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) yield line.replace(/\r$/, '');
  }
  if (pending) yield pending;
}

/** Day 2: 1 % of the lines changed (the header kept). */
const changed = (kind: Kind) => (line: string, index: number) => {
  if (index === 0 || index % 100 !== 0) return line;
  const fields = line.split('|');
  // The activity file's family name (8th column); the MSSanté file's mailbox address (2nd).
  if (kind === 'activity') fields[7] = `${fields[7]} J2`;
  else fields[1] = fields[1].replace('@', '.j2@');
  return fields.join('|');
};

let server: AnsServer | undefined;
/** What the refresh is doing now (kind:phase), for the searches' latencies by phase. */
let phase = 'idle';
let node: Awaited<ReturnType<typeof startNode>> | undefined;
try {
  const certificate = testCa(work);
  server = await AnsServer.start(certificate);
  const day1 = {} as Record<Kind, () => AsyncIterable<string>>;
  if (givenData) {
    const files = readdirSync(givenData);
    for (const kind of ['activity', 'mssante'] as const) {
      const named = (extension: string) => files.find((file) => file.startsWith(kind === 'activity' ? 'PS_LibreAcces' : 'Extraction_Correspondance_MSSante') && file.endsWith(extension));
      const zip = named('.zip');
      const text = named('.txt');
      if (zip) day1[kind] = () => linesOfZip(join(givenData, zip), kind);
      else if (text) day1[kind] = () => linesOfFile(join(givenData, text));
      else throw new Error(`BENCH_DATA: no ${kind} file (ZIP or .txt) in ${givenData}`);
    }
  } else {
    const generated = generateExtraction(work, { lines: scale.lines as number, seed: Math.floor(positiveNumber('BENCH_SEED', 1)) });
    day1.activity = () => linesOfFile(generated.activityFile);
    day1.mssante = () => linesOfFile(generated.mssanteFile);
    log(`${generated.persons} persons, ${generated.mailboxes} mailboxes`);
  }
  if (!givenFolder) for (const kind of ['activity', 'mssante'] as const) server.publish(kind, '202612061410', await zipOf(kind, '202612061410', day1[kind](), (line) => line));

  const dataDir = givenFolder ?? join(work, 'data');
  const dataKey = givenFolder ? await loadHeadlessDataKey(givenFolder) : testDataKey(dataDir);
  node = await startNode({ port: 0, dataDir, dataKey, directoryRefresh: { source: server.url, extraCa: [certificate.ca], env: {}, firstCheckMs: 3600_000 } });
  const credentials = JSON.parse(readFileSync(node.ownerClientFile, 'utf8')) as { client_id: string; client_secret: string };
  setClientRateLimit(node.db, credentials.client_id, MAX_RATE_LIMIT);
  const tokenAnswer = await fetch(`${node.url}/oauth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', ...credentials }) });
  const { access_token: token } = (await tokenAnswer.json()) as { access_token: string };
  const call = async <T>(path: string, method = 'GET'): Promise<T> => {
    const response = await fetch(`${node!.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    return (await response.json()) as T;
  };

  /** Asks for a check and follows it to its end: when each file's refresh started and ended. */
  const refresh = async (): Promise<{ seconds: Partial<Record<Kind, number>>; phases: Map<string, number>; state: RefreshStatus }> => {
    const started: Partial<Record<Kind, number>> = {};
    const ended: Partial<Record<Kind, number>> = {};
    // Seconds spent in each kind:phase, as seen by the 100 ms polls: where a file's refresh goes.
    const phases = new Map<string, number>();
    let polled = performance.now();
    let state = await call<RefreshStatus>('/admin/directory/refresh', 'POST');
    for (;;) {
      const now = performance.now();
      if (phase !== 'idle') phases.set(phase, (phases.get(phase) ?? 0) + (now - polled) / 1000);
      polled = now;
      phase = state.running ? `${state.running.kind}:${state.running.phase}` : 'idle';
      const kind = state.running?.kind;
      if (kind && started[kind] === undefined) started[kind] = performance.now();
      if (kind === 'mssante' && ended.activity === undefined) ended.activity = performance.now();
      if (!state.running) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
      state = await call<RefreshStatus>('/admin/directory/refresh');
    }
    const end = performance.now();
    ended.activity ??= end;
    ended.mssante = end;
    const seconds: Partial<Record<Kind, number>> = {};
    for (const kind of ['activity', 'mssante'] as const) if (started[kind] !== undefined) seconds[kind] = Math.round((ended[kind]! - started[kind]!) / 100) / 10;
    return { seconds, phases, state };
  };

  if (!givenFolder) {
    log('day 1: the first import');
    const first = await refresh();
    if (first.state.failure) throw new Error(`day 1 failed: ${first.state.failure.message}`);
    figure('first-import-activity', first.seconds.activity ?? 0, 's', { activities: first.state.imported.activity?.lines });
    figure('first-import-mssante', first.seconds.mssante ?? 0, 's', { mailboxes: first.state.imported.mssante?.lines });
  }

  /** The node idle again: its text index has followed the import's writes (as overnight, before the next publication). */
  const settled = async () => {
    for (let polls = 0; polls < 1200; polls++) {
      const health = await call<{ textIndex: { ready: boolean; lagMs?: number } }>('/health');
      if (health.textIndex.ready && (health.textIndex.lagMs ?? 0) < 1000) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  await settled();

  log('day 2: 1 % of the lines changed');
  for (const kind of ['activity', 'mssante'] as const) server.publish(kind, '202612071410', await zipOf(kind, '202612071410', day1[kind](), changed(kind)));
  const latencies: number[] = [];
  const byPhase = new Map<string, number[]>();
  let searching = true;
  const searches = (async () => {
    const queries = ['/fhir/Practitioner?address-city=Lyon&_count=20', '/fhir/Practitioner?family=MARTIN&_count=20', '/fhir/Practitioner?address-postalcode=75015&_count=20'];
    for (let n = 0; searching; n++) {
      const started = performance.now();
      await call(queries[n % queries.length]);
      const took = performance.now() - started;
      latencies.push(took);
      byPhase.set(phase, [...(byPhase.get(phase) ?? []), took]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const cpuBefore = nodeThreadCpuSeconds();
  const daily = await refresh();
  const cpuAfter = nodeThreadCpuSeconds();
  searching = false;
  await searches;
  if (daily.state.failure || daily.state.waiting) throw new Error(`day 2 failed: ${JSON.stringify(daily.state.failure ?? daily.state.waiting)}`);
  const searched = percentiles(latencies);
  await settled();
  figure('daily-refresh-activity', daily.seconds.activity ?? 0, 's', { target: 120, activities: daily.state.imported.activity?.lines });
  figure('daily-refresh-mssante', daily.seconds.mssante ?? 0, 's', { target: 180, mailboxes: daily.state.imported.mssante?.lines });
  if (cpuBefore !== undefined && cpuAfter !== undefined) figure('daily-refresh-node-thread-cpu', Math.round((cpuAfter - cpuBefore) * 100) / 100, 's', { searches: latencies.length });
  figure('searches-during-refresh-p95', searched.p95, 'ms', { target: 20, p50: searched.p50, max: searched.max, searches: latencies.length });
  for (const [during, seconds] of daily.phases) figure('daily-refresh-phase', Math.round(seconds * 10) / 10, 's', { phase: during });
  for (const [during, samples] of byPhase) figure('searches-during-phase-p95', percentiles(samples).p95, 'ms', { phase: during, searches: samples.length, max: percentiles(samples).max });
} finally {
  await node?.close();
  await server?.close();
  rmSync(work, { recursive: true, force: true });
}
