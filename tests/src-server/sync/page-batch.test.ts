import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INDEX_TABLES } from '../../../src-server/store/search-index';
import { reindexAll } from '../../../src-server/store/reindex';
import type { TestNode } from '../../helpers/node';
import { connect, eventually, FAST_SYNC, startSyncNodes } from '../../helpers/sync-nodes';

/**
 * A pulled page is stored as one batch (Repository.batch): its index rows go in at the page's end, its resource counts
 * once a type. What reads the index in between must still see the page's earlier versions, and the rows at the end
 * must be those ordinary writes make. Real nodes: `source` holds the data, `puller` starts empty and pulls it.
 */

type Json = Record<string, unknown>;

let source: TestNode;
let puller: TestNode;

beforeAll(async () => {
  [source, puller] = await startSyncNodes(2);
});
afterAll(async () => {
  await Promise.all([source?.stop(), puller?.stop()]);
});

const appointment = (id: string, from: string, to: string): Json => ({
  resourceType: 'Appointment',
  id,
  status: 'booked',
  start: `2026-12-09T${from}:00Z`,
  end: `2026-12-09T${to}:00Z`,
  participant: [{ actor: { reference: 'Practitioner/martin' }, status: 'accepted' }],
});

const patient = (id: string, family: string, phone: string): Json => ({
  resourceType: 'Patient',
  id,
  name: [{ family, given: ['Jeanne'] }],
  telecom: [{ system: 'phone', value: phone }],
  birthDate: '1980-04-02',
});

const indexRows = (node: TestNode) =>
  INDEX_TABLES.flatMap((table) => node.db.prepare(`SELECT * FROM ${table}`).all().map((row) => `${table} ${JSON.stringify(row)}`)).sort();

describe('a pulled page stored as one batch', () => {
  it('flags two overlapping appointments of the same page as a booking conflict, and indexes and counts the page as ordinary writes do', async () => {
    // Practitioners are directory data: each node has its own.
    for (const node of [source, puller]) node.repository.update('Practitioner', 'martin', { resourceType: 'Practitioner', id: 'martin', name: [{ family: 'Martin' }] });
    // Two overlapping bookings the source holds as a booking conflict (as sync from two desktops apart brings them).
    source.repository.update('Appointment', 'first', appointment('first', '09:00', '09:30'));
    source.repository.update('Appointment', 'second', appointment('second', '09:15', '09:45'));
    // A patient written twice (both versions in the page) and others.
    for (let index = 0; index < 20; index++) source.repository.update('Patient', `p${index}`, patient(`p${index}`, `Durand${index}`, `06 00 00 00 ${String(index).padStart(2, '0')}`));
    source.repository.update('Patient', 'p3', patient('p3', 'Lefèvre', '06 11 11 11 11'));
    const changes = source.db.prepare('SELECT count(*) FROM change_log').pluck().get() as number;
    // Everything in the puller's first page.
    expect(changes).toBeLessThan(FAST_SYNC.pageSize ?? 0);

    connect(puller, source);
    const records = (node: TestNode) => node.db.prepare("SELECT version_id FROM resource_versions WHERE resource_type IN ('Patient', 'Appointment') ORDER BY 1").pluck().all().join(' ');
    await eventually(() => records(puller) === records(source), 'the puller holds the source\'s records');

    // Both appointments flagged, as on the source.
    const flagged = (node: TestNode) => node.db.prepare("SELECT appointment_a || ' ' || appointment_b || ' ' || practitioner_id FROM booking_conflicts ORDER BY 1").pluck().all();
    expect(flagged(source)).toEqual(['first second martin']);
    expect(flagged(puller)).toEqual(flagged(source));

    // The page's rows are those a rebuild of the index makes: the first version of p3 left none behind.
    for (const peer of puller.sync.peers.list()) puller.sync.peers.remove(peer.peerId);
    const pulled = indexRows(puller);
    expect(pulled.some((row) => row.includes('"durand3"'))).toBe(false);
    expect(pulled.some((row) => row.includes('"lefevre"'))).toBe(true);
    reindexAll(puller.db, puller.repository.searchIndex);
    expect(indexRows(puller)).toEqual(pulled);
    // And a search finds the current version.
    const found = (await (await puller.request('Patient?family=lefevre')).json()) as { entry?: Array<{ resource: Json }> };
    expect(found.entry?.map((entry) => entry.resource.id)).toEqual(['p3']);

    // Counted once each.
    const counted = puller.repository.counts();
    const stored = Object.fromEntries(
      (puller.db.prepare('SELECT resource_type, count(*) AS n FROM resources GROUP BY resource_type').all() as Array<{ resource_type: string; n: number }>).map((row) => [row.resource_type, row.n]),
    );
    expect(counted).toEqual(stored);
    expect(counted.Patient).toBe(20);
    expect(counted.Appointment).toBe(2);
  });
});
