import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestNode } from '../../helpers/node';
import { FaultyProxy } from '../../helpers/faulty-proxy';
import { converged, ownerCredentials, startSyncNodes, versionsOf } from '../../helpers/sync-nodes';

/**
 * The sync rule of bookings (issue 28) as a property: whatever bookings, moves and cancels the nodes take while
 * their links are cut and healed, once they are rejoined every overlap of two booked or arrived appointments of
 * one practitioner is a booking conflict on every node, the same set everywhere, nothing else is, and no
 * acknowledged booking is lost. The overlaps are computed here from the stored versions, apart from the node's code.
 * Real nodes on 127.0.0.1 linked through real HTTP hops the test cuts and heals: two nodes, and three in a star.
 */

type Json = Record<string, any>;

const PRACTITIONERS = 2;
/** Bookings start on a quarter-hour of one afternoon and last one to three quarters: overlaps are frequent. */
const QUARTERS = 8;

type Command =
  | { kind: 'book'; node: number; practitioner: number; quarter: number; length: number }
  | { kind: 'move'; node: number; which: number; quarter: number }
  | { kind: 'cancel'; node: number; which: number }
  | { kind: 'cut'; link: number }
  | { kind: 'heal'; link: number }
  | { kind: 'pause'; ms: number };

function commands(nodes: number): fc.Arbitrary<Command[]> {
  const node = fc.nat(nodes - 1);
  const command: fc.Arbitrary<Command> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('book' as const), node, practitioner: fc.nat(PRACTITIONERS - 1), quarter: fc.nat(QUARTERS - 1), length: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('move' as const), node, which: fc.nat(20), quarter: fc.nat(QUARTERS - 1) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), node, which: fc.nat(20) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('cut' as const, 'heal' as const), link: fc.nat(nodes - 2) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 150 }) }) },
  );
  return fc.array(command, { minLength: 4, maxLength: 16 });
}

const at = (day: string, quarter: number) => new Date(Date.parse(`${day}T14:00:00Z`) + quarter * 15 * 60_000).toISOString();

/** The overlaps of booked or arrived appointments sharing a practitioner, from the current versions: `a b practitioner`, sorted. */
function expectedOverlaps(node: TestNode, day: string): string[] {
  const rows = node.db
    .prepare("SELECT r.resource_id AS id, v.body FROM resources r JOIN resource_versions v ON v.vseq = r.vseq WHERE r.resource_type = 'Appointment'")
    .all() as Array<{ id: string; body: string }>;
  const booked = rows
    .map((row) => ({ id: row.id, body: JSON.parse(row.body) as Json }))
    .filter(({ body }) => ['booked', 'arrived'].includes(body.status) && String(body.start).startsWith(day))
    .map(({ id, body }) => ({ id, start: Date.parse(body.start), end: Date.parse(body.end), practitioners: (body.participant as Json[]).map((participant) => participant.actor.reference as string) }));
  const overlaps: string[] = [];
  for (const first of booked) {
    for (const second of booked) {
      if (first.id >= second.id || !(first.start < second.end && second.start < first.end)) continue;
      for (const practitioner of first.practitioners) if (second.practitioners.includes(practitioner)) overlaps.push(`${first.id} ${second.id} ${practitioner}`);
    }
  }
  return overlaps.sort();
}

function bookingConflictsOf(node: TestNode): string[] {
  const rows = node.db.prepare('SELECT appointment_a, appointment_b, practitioner_id FROM booking_conflicts').all() as Array<Record<string, string>>;
  return rows.map((row) => `${row.appointment_a} ${row.appointment_b} Practitioner/${row.practitioner_id}`).sort();
}

for (const size of [2, 3]) {
  describe(`bookings across ${size} nodes, partitioned and rejoined`, () => {
    let nodes: TestNode[] = [];
    const proxies: FaultyProxy[] = [];
    let run = 0;

    beforeAll(async () => {
      nodes = await startSyncNodes(size);
      // A star: each office syncs with the first.
      for (let link = 0; link < size - 1; link++) {
        const proxy = await FaultyProxy.start(nodes[0].url);
        proxies.push(proxy);
        nodes[link + 1].sync.peers.add({ name: `link ${link}`, url: proxy.url, ...ownerCredentials(nodes[0]) });
      }
    });
    afterAll(async () => {
      await Promise.all(proxies.map((proxy) => proxy.close()));
      await Promise.all(nodes.map((node) => node.stop()));
    });

    it('flags every overlap of booked appointments on every node, the same set everywhere, and loses no booking', async () => {
      await fc.assert(
        fc.asyncProperty(commands(size), async (steps) => {
          run++;
          // Each run books a day of its own: the runs do not see each other's appointments.
          const day = new Date(Date.parse('2027-01-04T00:00:00Z') + (size * 1000 + run) * 86_400_000).toISOString().slice(0, 10);
          const acknowledged: string[] = [];
          // Each run starts partitioned: the offices book apart until a link heals.
          for (const proxy of proxies) proxy.down = true;
          for (const step of steps) {
            if (step.kind === 'cut') proxies[step.link].down = true;
            else if (step.kind === 'heal') proxies[step.link].down = false;
            else if (step.kind === 'pause') await new Promise((resolve) => setTimeout(resolve, step.ms));
            else if (step.kind === 'book') {
              const response = await nodes[step.node].request('Appointment', {
                method: 'POST',
                json: {
                  resourceType: 'Appointment',
                  status: 'booked',
                  start: at(day, step.quarter),
                  end: at(day, step.quarter + step.length),
                  participant: [{ actor: { reference: `Practitioner/p${step.practitioner}` }, status: 'accepted' }],
                },
              });
              // A node refuses what overlaps what it already knows (409); what it takes must survive sync.
              expect([201, 409]).toContain(response.status);
              if (response.status === 201) acknowledged.push(((await response.json()) as Json).id);
            } else if (acknowledged.length > 0) {
              const id = acknowledged[step.which % acknowledged.length];
              const node = nodes[step.node];
              const current = await node.request(`Appointment/${id}`);
              if (current.status !== 200) continue;
              const body = (await current.json()) as Json;
              const next =
                step.kind === 'cancel'
                  ? { ...body, status: 'cancelled' }
                  : { ...body, start: at(day, step.quarter), end: at(day, step.quarter + (Date.parse(body.end) - Date.parse(body.start)) / 900_000) };
              const written = await node.request(`Appointment/${id}`, { method: 'PUT', json: next });
              expect([200, 409]).toContain(written.status);
            }
          }
          for (const proxy of proxies) proxy.down = false;
          await converged(nodes, 30_000);

          const versions = nodes.map(versionsOf);
          for (const other of versions.slice(1)) expect(other).toEqual(versions[0]);
          const expected = expectedOverlaps(nodes[0], day);
          const ofThisRun = (keys: string[]) => keys.filter((key) => acknowledged.includes(key.split(' ')[0]));
          for (const node of nodes) {
            for (const id of acknowledged) expect(node.repository.read('Appointment', id), `Appointment/${id}`).toBeDefined();
            expect(ofThisRun(bookingConflictsOf(node))).toEqual(expected);
          }
          const all = nodes.map(bookingConflictsOf);
          for (const other of all.slice(1)) expect(other).toEqual(all[0]);
        }),
        { numRuns: size === 2 ? 30 : 20 },
      );
    }, 120_000);
  });
}
