import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQuery } from '../../../../src-server/fhir/search/parse';
import { ConditionBuilder, qualified } from '../../../../src-server/store/search/conditions';
import { SearchEngine } from '../../../../src-server/store/search/search';
import { openTestStore } from '../../../helpers/store';

/**
 * A pair of bounds on one date parameter (`date=ge…&date=lt…`) driving a page or a count as one range of its index
 * rows: the same matches, in the same order, as the reference engine reading over the type's resources.
 */

const BASE = 'http://localhost/fhir';
const { db, repository, close } = openTestStore('liaison-date-range-');
let overResources: SearchEngine;
let engine: SearchEngine;

const DAY = 86_400_000;
const FIRST = Date.UTC(2026, 0, 5, 8);

beforeAll(() => {
  // Two practitioners' appointments every few hours for 60 days, some updated since (their old rows are gone).
  for (let n = 0; n < 240; n++) {
    const start = FIRST + Math.floor(n / 2) * (DAY / 2) + (n % 3) * 15 * 60_000;
    repository.update('Appointment', `a${n}`, {
      resourceType: 'Appointment',
      id: `a${n}`,
      status: 'booked',
      start: new Date(start).toISOString(),
      end: new Date(start + 15 * 60_000).toISOString(),
      participant: [{ actor: { reference: `Practitioner/pr${n % 2}` }, status: 'accepted' }],
    });
  }
  for (let n = 0; n < 240; n += 7) repository.update('Appointment', `a${n}`, { resourceType: 'Appointment', id: `a${n}`, status: 'booked', start: new Date(FIRST + n * 3_600_000).toISOString(), end: new Date(FIRST + n * 3_600_000 + 600_000).toISOString(), participant: [{ actor: { reference: 'Practitioner/pr1' }, status: 'accepted' }] });
  // Encounters over long periods (one row each, years wide) among short ones: the range's start reaches back.
  repository.update('Encounter', 'long', { resourceType: 'Encounter', id: 'long', status: 'in-progress', period: { start: '2024-03-01', end: '2027-06-30' } });
  for (let n = 0; n < 30; n++) repository.update('Encounter', `e${n}`, { resourceType: 'Encounter', id: `e${n}`, status: 'finished', period: { start: new Date(FIRST + n * DAY).toISOString(), end: new Date(FIRST + n * DAY + 3_600_000).toISOString() } });
  // Several locations each: a stay matching `ge` through one period and `lt` through another, with none in between.
  repository.update('Encounter', 'moved', {
    resourceType: 'Encounter',
    id: 'moved',
    status: 'finished',
    location: [
      { location: { reference: 'Location/l1' }, period: { start: '2025-01-01', end: '2025-01-10' } },
      { location: { reference: 'Location/l2' }, period: { start: '2027-01-01', end: '2027-01-10' } },
    ],
  });
  overResources = new SearchEngine(db, repository.searchIndex, false);
  engine = new SearchEngine(db, repository.searchIndex);
});
afterAll(close);

function search(with_: SearchEngine, resourceType: string, query: string, cursor?: string) {
  const params = new URLSearchParams(query);
  if (cursor) params.set('_cursor', cursor);
  return with_.search({ resourceType, params, lenient: false, base: BASE });
}

/** Every page's ids following `next`, and the count. */
function all(with_: SearchEngine, resourceType: string, query: string) {
  const pages: string[][] = [];
  let page = search(with_, resourceType, query);
  for (;;) {
    pages.push(page.matches.map((match) => match.id));
    if (!page.next) break;
    page = search(with_, resourceType, query, page.next);
  }
  return { pages, total: search(with_, resourceType, `${query}&_summary=count`).total, estimate: search(with_, resourceType, `${query.replace(/&?_count=\d+/, '')}&_count=1&_total=estimate`).total };
}

function expectSame(resourceType: string, query: string, atLeast = 1) {
  const ours = all(engine, resourceType, query);
  const reference = all(overResources, resourceType, query);
  expect(ours).toEqual(reference);
  // Counted through the driver as well (`_total=estimate` past the first page).
  expect(ours.estimate).toBe(reference.pages.flat().length);
  expect(reference.pages.flat().length).toBeGreaterThanOrEqual(atLeast);
}

/** The range drivers the builder makes of a query's filters. */
function ranges(resourceType: string, query: string) {
  const { filters } = parseQuery(repository.searchIndex.definitions, resourceType, new URLSearchParams(query), false);
  const builder = new ConditionBuilder((sql) => db.prepare(sql), repository.searchIndex, BASE);
  return builder.dateRangeRows(resourceType, filters, qualified('d'));
}

describe('a pair of date bounds as one range', () => {
  it('drives a week of appointments, alone or with a practitioner, with every kind of bound', () => {
    expect(ranges('Appointment', 'date=ge2026-01-12&date=lt2026-01-19')).toHaveLength(1);
    expectSame('Appointment', 'date=ge2026-01-12&date=lt2026-01-19&_count=7', 20);
    expectSame('Appointment', 'actor=Practitioner/pr1&date=ge2026-01-12&date=lt2026-01-19&_count=5', 10);
    expectSame('Appointment', 'date=gt2026-01-12T08:00:00Z&date=le2026-01-19T20:00&_count=9', 20);
    // Another date filter on the same parameter still tests the range's rows.
    expectSame('Appointment', 'date=ge2026-01-12&date=lt2026-01-19&date=sa2026-01-15&_count=4', 5);
    expectSame('Appointment', 'date=ge2026-01-12&date=lt2026-01-19&date=eb2026-01-14T12:00Z&_count=4', 5);
    // Several bounds of each side: the tightest pair.
    expectSame('Appointment', 'date=ge2026-01-01&date=ge2026-01-15&date=lt2026-02-01&date=lt2026-01-22&_count=6', 10);
    // Empty ranges, and one before every appointment.
    expectSame('Appointment', 'date=ge2026-01-19&date=lt2026-01-12', 0);
    expectSame('Appointment', 'date=ge2020&date=lt2021', 0);
  });

  it('finds a period begun long before the range (the widest value closes the range)', () => {
    expect(ranges('Encounter', 'date=ge2026-01-10&date=lt2026-01-12')).toHaveLength(1);
    expectSame('Encounter', 'date=ge2026-01-10&date=lt2026-01-12&_count=2', 3);
    expect(all(engine, 'Encounter', 'date=ge2026-12-01&date=lt2026-12-02').pages.flat()).toEqual(['long']);
  });

  it('is not made of a parameter whose resource may hold several values: both bounds may match different ones', () => {
    expect(all(engine, 'Encounter', 'location-period=ge2026-01-01&location-period=lt2026-02-01').pages.flat()).toEqual(['moved']);
    expectSame('Encounter', 'location-period=ge2026-01-01&location-period=lt2026-02-01');
    expect(ranges('Encounter', 'location-period=ge2026-01-01&location-period=lt2026-02-01')).toHaveLength(0);
    // Nor of one bound alone, a list of values (an OR) or eq.
    expect(ranges('Appointment', 'date=ge2026-01-12')).toHaveLength(0);
    expect(ranges('Appointment', 'date=ge2026-01-12,lt2026-01-19')).toHaveLength(0);
    expect(ranges('Appointment', 'date=2026-01-12&date=lt2026-01-19')).toHaveLength(0);
  });
});
