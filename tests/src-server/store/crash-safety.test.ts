import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaVersion } from '../../../src-server/store/migrations';
import { killAllChildren, serve, type ServingNode } from '../../helpers/child-node';
import { unlockTestDatabase } from '../../helpers/data-key';

/**
 * "A write acknowledged to the client survives `kill -9` of the node at any moment; the database opens clean
 * afterwards."
 *
 * A real `liaison serve` child takes a load of concurrent creates and updates over HTTP and is SIGKILLed at a
 * random moment of it, three times over the same data directory (so cycles 2 and 3 start over a crashed WAL).
 * Every request carries a unique marker (an identifier), so each stored version can be traced back to the request
 * that made it. What a kill may legitimately do to a request depends on whether its answer arrived:
 *
 * - acknowledged (200/201 and its body received): its version must be stored, with the versionId it was answered;
 * - rejected (any other status): it must not be stored;
 * - in flight (no complete answer when the node died): it may be stored or not, at most once, and whichever it
 *   is must stay so in every later look at the database (no lost write that comes back, no stored one that goes).
 *
 * Each load loop works on its own resources, one request at a time, so a resource's versions form a chain in which
 * only the very last request can be in flight: its current version is the last acknowledged one, or the in-flight
 * update that followed it when that one was stored.
 */

const CYCLES = 3;
const WORKERS = 8;
const UPDATES_PER_RESOURCE = 3;
const MARKER_SYSTEM = 'urn:liaison-test:crash-safety:write';

type Json = Record<string, any>;

interface Ack {
  marker: string;
  id: string;
  versionId: string;
  cycle: number;
}

interface InFlight {
  marker: string;
  /** Undefined for a POST: the server would have chosen the id. */
  id?: string;
  /** The acknowledged version the request was built on (If-Match), undefined for a create. */
  parent?: string;
  cycle: number;
}

/** What the client knows, over all cycles. */
const acked = new Map<string, Ack>();
const inFlight = new Map<string, InFlight>();
const rejected = new Map<string, number>();
/** In-flight requests whose fate a look at the database settled: stored (as this version id) or lost. */
const settled = new Map<string, { stored: true; versionId: string } | { stored: false }>();
/** Per resource id: the acknowledged version ids, in order, and the request still unanswered at the kill, if any. */
const resources = new Map<string, { acked: string[]; pending?: string }>();

/** Writes acknowledged per cycle, and who waits for the next acknowledgement. */
const ackedInCycle = new Map<number, number>();
let onAck: (() => void) | undefined;

let root: string;
let dataDir: string;
let node: ServingNode | undefined;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'liaison-crash-'));
  dataDir = join(root, 'data');
});
afterAll(async () => {
  await killAllChildren();
  rmSync(root, { recursive: true, force: true });
});

/**
 * Loops below this number send bulky resources (an extension with a ~330 kB string): their versions span many
 * overflow pages of the WAL, and their answers take several socket writes, which widens the window in which a
 * kill lands after a commit but before the answer is complete (the "in flight, yet stored" case).
 */
const BULKY_WORKERS = 2;
const BULK = 'Lorem ipsum dolor sit amet. '.repeat(12000); // ~330 kB

function patient(marker: string, worker: number, step: number, id?: string): Json {
  return {
    resourceType: 'Patient',
    ...(id !== undefined ? { id } : {}),
    identifier: [{ system: MARKER_SYSTEM, value: marker }],
    name: [{ family: `Charge${worker}`, given: [`etape${step}`] }],
    active: step % 2 === 0,
    ...(worker < BULKY_WORKERS ? { extension: [{ url: 'urn:liaison-test:crash-safety:bulk', valueString: BULK }] } : {}),
  };
}

class NodeGone extends Error {}

/**
 * One write over HTTP, recorded as acknowledged, rejected or (when the connection dies) in flight.
 * Returns the acknowledged id and versionId; throws NodeGone when the node is no longer answering.
 */
async function write(
  target: ServingNode,
  cycle: number,
  request: { method: 'POST' | 'PUT'; path: string; body: Json; marker: string; id?: string; ifMatch?: string },
): Promise<{ id: string; versionId: string }> {
  const { marker } = request;
  inFlight.set(marker, { marker, id: request.id, parent: request.ifMatch, cycle });
  if (request.id !== undefined) resources.get(request.id)!.pending = marker;
  let status: number;
  let text: string;
  try {
    const response = await fetch(`${target.fhir}/${request.path}`, {
      method: request.method,
      headers: {
        authorization: `Bearer ${target.token}`,
        accept: 'application/fhir+json',
        'content-type': 'application/fhir+json',
        ...(request.ifMatch !== undefined ? { 'if-match': `W/"${request.ifMatch}"` } : {}),
      },
      body: JSON.stringify(request.body),
      signal: AbortSignal.timeout(10000),
    });
    status = response.status;
    text = await response.text();
  } catch {
    // No complete answer: the node died with this request somewhere between our socket and its commit.
    throw new NodeGone();
  }
  inFlight.delete(marker);
  let body: Json | undefined;
  try {
    body = JSON.parse(text) as Json;
  } catch {
    body = undefined;
  }
  const expected = request.method === 'POST' || resources.get(request.id!)!.acked.length === 0 ? 201 : 200;
  if (status !== expected || body?.meta?.versionId === undefined || typeof body.id !== 'string') {
    rejected.set(marker, status);
    throw new Error(`${request.method} ${request.path} answered ${status} (expected ${expected}): ${text.slice(0, 300)}`);
  }
  const ack = { marker, id: body.id as string, versionId: body.meta.versionId as string, cycle };
  acked.set(marker, ack);
  ackedInCycle.set(cycle, (ackedInCycle.get(cycle) ?? 0) + 1);
  onAck?.();
  if (!resources.has(ack.id)) resources.set(ack.id, { acked: [] });
  const state = resources.get(ack.id)!;
  state.acked.push(ack.versionId);
  state.pending = undefined;
  return ack;
}

/** One load loop: create a resource (POST, or PUT with a client id), update it a few times with If-Match, repeat. */
async function loadLoop(target: ServingNode, cycle: number, worker: number): Promise<void> {
  for (let round = 0; ; round++) {
    const marker = (step: number) => `c${cycle}-w${worker}-r${round}-s${step}`;
    let current: { id: string; versionId: string };
    if (round % 2 === 0) {
      current = await write(target, cycle, { method: 'POST', path: 'Patient', body: patient(marker(0), worker, 0), marker: marker(0) });
    } else {
      const id = `crash-c${cycle}-w${worker}-r${round}`;
      resources.set(id, { acked: [] });
      current = await write(target, cycle, { method: 'PUT', path: `Patient/${id}`, body: patient(marker(0), worker, 0, id), marker: marker(0), id });
    }
    for (let step = 1; step <= UPDATES_PER_RESOURCE; step++) {
      current = await write(target, cycle, {
        method: 'PUT',
        path: `Patient/${current.id}`,
        body: patient(marker(step), worker, step, current.id),
        marker: marker(step),
        id: current.id,
        ifMatch: current.versionId,
      });
    }
  }
}

interface VersionRow {
  vseq: number;
  version_id: string;
  resource_type: string;
  resource_id: string;
  parent_ids: string;
  body: string;
}

const markerOf = (row: VersionRow): string | undefined =>
  (JSON.parse(row.body) as Json).identifier?.find((identifier: Json) => identifier.system === MARKER_SYSTEM)?.value;

/**
 * Checks a database file (closed by everyone else) against everything the client knows, settles the fate of the
 * requests that were in flight, and returns the current version id of every resource.
 */
function checkDatabase(file: string, label: string, folder = dirname(file)): { currentById: Map<string, string>; total: number } {
  const db = new Database(file, { fileMustExist: true });
  // Encrypted under the key of the folder the node served.
  unlockTestDatabase(db, folder);
  try {
    expect(db.pragma('integrity_check'), `${label}: integrity_check`).toEqual([{ integrity_check: 'ok' }]);
    expect(db.pragma('foreign_key_check'), `${label}: foreign_key_check`).toEqual([]);
    expect(db.pragma('user_version', { simple: true })).toBe(schemaVersion);

    const versions = db.prepare('SELECT vseq, version_id, resource_type, resource_id, parent_ids, body FROM resource_versions ORDER BY vseq').all() as VersionRow[];
    const current = db.prepare('SELECT resource_type, resource_id, vseq FROM resources').all() as Array<{ resource_type: string; resource_id: string; vseq: number }>;
    const changes = db.prepare('SELECT seq, vseq, resource_type FROM change_log ORDER BY seq').all() as Array<{ seq: number; vseq: number; resource_type: string }>;

    // Every stored version comes from exactly one request we sent, which was acknowledged or in flight.
    const byMarker = new Map<string, VersionRow>();
    for (const row of versions) {
      expect(row.resource_type).toBe('Patient');
      const marker = markerOf(row);
      expect(marker, `${label}: version ${row.version_id} carries no marker`).toBeDefined();
      expect(byMarker.has(marker!), `${label}: marker ${marker} stored twice`).toBe(false);
      byMarker.set(marker!, row);
      expect(acked.has(marker!) || inFlight.has(marker!), `${label}: ${marker} stored but never sent or rejected`).toBe(true);
    }
    // Every acknowledged write is there, as acknowledged.
    for (const ack of acked.values()) {
      const row = byMarker.get(ack.marker);
      expect(row, `${label}: acknowledged write ${ack.marker} (${ack.id}/${ack.versionId}) is missing`).toBeDefined();
      expect(row!.version_id).toBe(ack.versionId);
      expect(row!.resource_id).toBe(ack.id);
    }
    for (const marker of rejected.keys()) expect(byMarker.has(marker), `${label}: rejected write ${marker} was stored`).toBe(false);
    // In-flight writes: either way, but a decision once seen never changes.
    for (const pending of inFlight.values()) {
      const row = byMarker.get(pending.marker);
      const before = settled.get(pending.marker);
      if (before) {
        expect(row?.version_id, `${label}: in-flight ${pending.marker} changed fate`).toBe(before.stored ? before.versionId : undefined);
      } else {
        settled.set(pending.marker, row ? { stored: true, versionId: row.version_id } : { stored: false });
      }
      if (row && pending.id !== undefined) expect(row.resource_id).toBe(pending.id);
      if (row) expect(row.parent_ids).toBe(JSON.stringify(pending.parent === undefined ? [] : [pending.parent]));
    }

    // Each resource's versions form a chain, and `resources` points at its last link.
    const chains = new Map<string, VersionRow[]>();
    for (const row of versions) {
      if (!chains.has(row.resource_id)) chains.set(row.resource_id, []);
      chains.get(row.resource_id)!.push(row);
    }
    const currentVseq = new Map(current.map((row) => [row.resource_id, row.vseq]));
    expect(current.length).toBe(chains.size);
    const currentById = new Map<string, string>();
    for (const [id, chain] of chains) {
      chain.forEach((row, index) => expect(row.parent_ids).toBe(JSON.stringify(index === 0 ? [] : [chain[index - 1].version_id])));
      const last = chain[chain.length - 1];
      expect(currentVseq.get(id), `${label}: resources row of ${id}`).toBe(last.vseq);
      currentById.set(id, last.version_id);
    }
    // The current version of a resource we wrote is its last acknowledged one, unless the request that followed
    // it was in flight at the kill and got stored: then it is that one (whose parent is the last acknowledged).
    for (const [id, state] of resources) {
      const pendingRow = state.pending !== undefined ? byMarker.get(state.pending) : undefined;
      const expected = pendingRow?.version_id ?? state.acked[state.acked.length - 1];
      expect(currentById.get(id), `${label}: current version of ${id}`).toBe(expected);
    }

    // The change log: gap-free from 1, one entry per version, in the order the versions were written.
    expect(changes.map((row) => row.seq)).toEqual(versions.map((_row, index) => index + 1));
    expect(changes.map((row) => row.vseq)).toEqual(versions.map((row) => row.vseq));
    expect(changes.every((row) => row.resource_type === 'Patient')).toBe(true);
    return { currentById, total: chains.size };
  } finally {
    db.close();
  }
}

/** Opens a copy of the crashed files (database and WAL, no -shm), leaving the originals for the next start. */
function checkCrashedCopy(cycle: number): ReturnType<typeof checkDatabase> {
  const copy = join(root, `copy-${cycle}`);
  mkdirSync(copy);
  for (const suffix of ['', '-wal']) {
    const source = join(dataDir, `liaison.db${suffix}`);
    if (existsSync(source)) copyFileSync(source, join(copy, `liaison.db${suffix}`));
  }
  return checkDatabase(join(copy, 'liaison.db'), `cycle ${cycle}, direct`, dataDir);
}

async function mapLimit<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** Over HTTP, on a node restarted over the crashed data: health, every version acknowledged in `cycle`, current versions. */
async function checkOverHttp(target: ServingNode, cycle: number, expected: ReturnType<typeof checkDatabase>): Promise<void> {
  const get = (path: string) => fetch(`${target.fhir}/${path}`, { headers: { authorization: `Bearer ${target.token}`, accept: 'application/fhir+json' } });
  // The text index rebuilds what the crash left unsaved first, and /health says degraded until then (docs/access.md).
  const readHealth = async () => (await (await fetch(`${target.url}/health`)).json()) as Json;
  let health = await readHealth();
  for (const deadline = Date.now() + 60_000; health.status !== 'ok' && Date.now() < deadline; health = await readHealth()) {
    expect(health.reasons.join(' ')).toContain('text index');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(health.status).toBe('ok');
  expect(health.schemaVersion).toBe(schemaVersion);
  expect(health.resources.total).toBe(expected.total);

  const acks = [...acked.values()].filter((ack) => ack.cycle === cycle);
  await mapLimit(acks, 16, async (ack) => {
    const response = await get(`Patient/${ack.id}/_history/${ack.versionId}`);
    expect(response.status, `vread of acknowledged ${ack.marker}`).toBe(200);
    const body = (await response.json()) as Json;
    expect(body.meta.versionId).toBe(ack.versionId);
    expect(body.identifier[0].value).toBe(ack.marker);
  });
  const ids = [...new Set(acks.map((ack) => ack.id))];
  await mapLimit(ids, 16, async (id) => {
    const response = await get(`Patient/${id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('etag'), `current version of ${id} over HTTP`).toBe(`W/"${expected.currentById.get(id)}"`);
    await response.arrayBuffer();
  });
}

describe('kill -9 of a node under write load', () => {
  let lastCheck: ReturnType<typeof checkDatabase> | undefined;

  for (let cycle = 0; cycle < CYCLES; cycle++) {
    // A generous bound: each step waits for what it needs (a start, a number of writes, the index rebuilt), never a set time.
    it(`cycle ${cycle + 1}/${CYCLES}: keeps every acknowledged write and opens clean`, { timeout: 120_000 }, async () => {
      node = await serve(dataDir);
      const target = node;
      if (cycle > 0) await checkOverHttp(target, cycle - 1, lastCheck!); // restarted over the previous crash's WAL

      // Killed once a random number of this cycle's writes are acknowledged, however long the machine takes to
      // answer them, then after a random pause of up to 50 ms so that the kill does not land just after an answer.
      const killAfterAcks = 20 + Math.floor(Math.random() * 100);
      const killAfterMs = Math.floor(Math.random() * 50);
      const reached = new Promise<void>((resolve) => (onAck = () => (ackedInCycle.get(cycle) ?? 0) >= killAfterAcks && resolve()));
      // allSettled at once, so the loops' rejections (when the node dies) are handled as they happen.
      const loops = Promise.allSettled(Array.from({ length: WORKERS }, (_, worker) => loadLoop(target, cycle, worker)));
      // The loops end only when the node is gone, an unexpected answer aside: checked below.
      await Promise.race([reached, loops]);
      await new Promise((resolve) => setTimeout(resolve, killAfterMs));
      onAck = undefined;
      const ackedBefore = acked.size;
      target.child.kill('SIGKILL');
      const exit = await target.exited;
      expect(exit.signal).toBe('SIGKILL');
      const outcomes = await loops;
      // Loops only end because the node is gone, never on an unexpected answer.
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        if (outcome.status === 'rejected' && !(outcome.reason instanceof NodeGone)) throw outcome.reason;
      }
      expect(rejected.size).toBe(0);
      const ackedThisCycle = ackedInCycle.get(cycle) ?? 0;
      expect(ackedThisCycle).toBeGreaterThanOrEqual(killAfterAcks);
      // The node died with a WAL on disk: the next start has to recover it.
      expect(statSync(join(dataDir, 'liaison.db-wal')).size).toBeGreaterThan(0);

      lastCheck = checkCrashedCopy(cycle);
      const pendingThisCycle = [...inFlight.values()].filter((pending) => pending.cycle === cycle);
      const storedPending = pendingThisCycle.filter((pending) => settled.get(pending.marker)?.stored).length;
      console.info(
        `cycle ${cycle + 1}: SIGKILL ${killAfterMs} ms after ${killAfterAcks} acknowledged writes; ${ackedThisCycle} in all (${acked.size - ackedBefore} more answers ` +
          `read after the kill), ${pendingThisCycle.length} in flight of which ${storedPending} stored; ${lastCheck.total} resources in total`,
      );
    });
  }

  it('restarts over the last crash, serves it all, stops cleanly and leaves a clean file', { timeout: 120_000 }, async () => {
    expect(lastCheck).toBeDefined();
    node = await serve(dataDir);
    await checkOverHttp(node, CYCLES - 1, lastCheck!);
    node.child.kill('SIGTERM');
    const exit = await node.exited;
    expect(exit, node.output().stderr).toEqual({ code: 0, signal: null });
    // A graceful stop checkpoints and removes the WAL; the real file (not a copy) passes every check.
    expect(existsSync(join(dataDir, 'liaison.db-wal'))).toBe(false);
    const final = checkDatabase(join(dataDir, 'liaison.db'), 'after graceful stop');
    expect(final.total).toBe(lastCheck!.total);
    expect([...final.currentById]).toEqual([...lastCheck!.currentById]);
  });
});
