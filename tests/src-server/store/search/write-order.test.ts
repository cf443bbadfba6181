import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SearchEngine } from '../../../../src-server/store/search/search';
import type { PagePlan } from '../../../../src-server/store/search/write-order';
import { openTestStore } from '../../../helpers/store';

/**
 * Pages in write order (a filter's index rows drive the page) against the same pages read over the type's
 * resources: same ids, same order, same next/previous links, for every way of reading the driver's rows.
 */

const BASE = 'http://localhost/fhir';
const LOINC = 'http://loinc.org';
const NIR = 'urn:oid:1.2.250.1.213.1.4.8';
const { db, repository, close } = openTestStore('liaison-write-order-');
/** Every page over the type's resources: the reference. */
let overResources: SearchEngine;
let engine: SearchEngine;
/** Counts few matches as many (walks), with a budget large enough to fill pages. */
let walking: SearchEngine;
/** Walks with a budget of a few rows: every walk runs out and sorts instead. */
let exhausted: SearchEngine;

const observation = (n: number) => ({
  resourceType: 'Observation',
  status: n % 7 === 0 ? 'preliminary' : 'final',
  code: { coding: [{ system: LOINC, code: n % 3 === 0 ? '29463-7' : '8302-2' }] },
  subject: { reference: `Patient/p${n % 4}` },
  effectiveDateTime: `20${10 + (n % 12)}-0${1 + (n % 9)}-15`,
});

beforeAll(() => {
  for (let n = 0; n < 4; n++) {
    repository.update('Patient', `p${n}`, { resourceType: 'Patient', id: `p${n}`, gender: n % 2 ? 'male' : 'female', identifier: [{ system: NIR, value: `nir${n}` }], name: [{ family: `Famille${n}` }] });
  }
  // Updates move resources to the end of the write order, and leave no index rows for the versions they replace.
  for (let n = 0; n < 70; n++) repository.update('Observation', `o${n}`, { ...observation(n), id: `o${n}` });
  for (let n = 0; n < 70; n += 5) repository.update('Observation', `o${n}`, { ...observation(n + 1), id: `o${n}` });
  // Two matching rows for one resource: a sorted page must still list it once.
  const bothCodes = { coding: [{ system: LOINC, code: '29463-7' }, { system: LOINC, code: '8302-2' }] };
  for (let n = 0; n < 6; n++) repository.update('Observation', `both${n}`, { ...observation(n), code: bothCodes, id: `both${n}` });
  overResources = new SearchEngine(db, repository.searchIndex, false);
  engine = new SearchEngine(db, repository.searchIndex);
  walking = new SearchEngine(db, repository.searchIndex, { probeLimit: 3, walkBudget: 100_000, testBudget: 100_000 });
  exhausted = new SearchEngine(db, repository.searchIndex, { probeLimit: 3, walkBudget: 4, testBudget: 4 });
});
afterAll(close);

interface Walk {
  pages: string[][];
  links: Array<{ next?: string; previous?: string }>;
  plans: Array<PagePlan | 'resources'>;
}

function search(with_: SearchEngine, resourceType: string, query: string, cursor?: string) {
  const params = new URLSearchParams(query);
  if (cursor) params.set('_cursor', cursor);
  return with_.search({ resourceType, params, lenient: false, base: BASE });
}

/** Every page following `next`, then back from the last one following `previous`. */
function walk(with_: SearchEngine, resourceType: string, query: string): Walk {
  const result: Walk = { pages: [], links: [], plans: [] };
  const visit = (cursor?: string) => {
    const page = search(with_, resourceType, query, cursor);
    result.pages.push(page.matches.map((match) => match.id));
    result.links.push({ next: page.next, previous: page.previous });
    result.plans.push(page.plan);
    return page;
  };
  let page = visit();
  while (page.next) page = visit(page.next);
  while (page.previous) page = visit(page.previous);
  return result;
}

function expectSamePages(with_: SearchEngine, resourceType: string, query: string, plan: PagePlan | 'resources'): Walk {
  const reference = walk(overResources, resourceType, query);
  const ours = walk(with_, resourceType, query);
  expect(reference.plans.every((used) => used === 'resources')).toBe(true);
  expect(ours.plans[0]).toBe(plan);
  expect(ours.pages).toEqual(reference.pages);
  expect(ours.links).toEqual(reference.links);
  // A few pages each way, and some matches at all: the comparison means something.
  expect(reference.pages.length).toBeGreaterThan(2);
  return ours;
}

describe('pages in write order equal the pages over the resources', () => {
  it('streaming drivers: a code, system|code, a reference', () => {
    expectSamePages(engine, 'Observation', 'code=29463-7&_count=4', 'stream');
    expectSamePages(engine, 'Observation', `code=${LOINC}|8302-2&_count=7`, 'stream');
    expectSamePages(engine, 'Observation', 'subject=Patient/p1&_count=3', 'stream');
    expectSamePages(engine, 'Observation', 'subject=Patient/p1&_sort=-_lastUpdated&_count=3', 'stream');
  });

  it('sorted drivers: date ranges, several values, a chain', () => {
    expectSamePages(engine, 'Observation', 'date=ge2015&_count=6', 'sort');
    expectSamePages(engine, 'Observation', 'subject=Patient/p1,Patient/p2&_count=5', 'sort');
    expectSamePages(engine, 'Observation', 'code=29463-7,8302-2&_count=5', 'sort');
    expectSamePages(engine, 'Observation', `subject:Patient.identifier=${NIR}|nir2&_count=4`, 'sort');
  });

  it('walked drivers, and walks that run out of budget and sort instead', () => {
    expectSamePages(walking, 'Observation', 'date=ge2015&_count=6', 'walk');
    expectSamePages(walking, 'Observation', 'subject:Patient.name=famille&_count=8', 'walk');
    const ranOut = expectSamePages(exhausted, 'Observation', 'date=lt2019&_count=4', 'walk+sort');
    expect(new Set(ranOut.plans)).toEqual(new Set(['walk+sort']));
  });

  it('string prefixes: the newest rows of each value the prefix matches, merged; a prefix of too many values sorts', () => {
    // Family names dupont0…dupont17, some written twice in one name (two rows of one value) or twice with two values.
    for (let n = 0; n < 36; n++) {
      const family = `Dupont${n % 18}`;
      const names = n % 5 === 0 ? [{ family }, { family: family.toUpperCase() }] : n % 7 === 0 ? [{ family }, { family: `Dupont1${n % 8}` }] : [{ family }];
      repository.update('Practitioner', `dupont${n}`, { resourceType: 'Practitioner', id: `dupont${n}`, gender: n % 2 ? 'male' : 'female', name: names });
    }
    // dupont1 and dupont10…dupont17: nine values.
    expectSamePages(engine, 'Practitioner', 'family=dupont1&_count=3', 'values');
    expectSamePages(engine, 'Practitioner', `family=DUPONT1&_id=${Array.from({ length: 30 }, (_, n) => `dupont${n}`).join(',')}&_count=2`, 'values');
    expectSamePages(engine, 'Practitioner', 'family=dupont1&gender:not=male&_count=2', 'values');
    // dupont17's newest practitioner (dupont35) has two rows of that value: still one match of a page of one.
    expectSamePages(engine, 'Practitioner', 'family=dupont17&_count=1', 'values');
    expectSamePages(engine, 'Practitioner', 'family=dupont&_count=5', 'sort');
    expectSamePages(exhausted, 'Practitioner', 'family=dupont&_count=5', 'walk+sort');
    expect(search(engine, 'Practitioner', 'family=dupont9&_count=3').matches.map((match) => match.id)).toEqual(['dupont27', 'dupont9']);
    expect(search(engine, 'Practitioner', 'family=durand').matches).toEqual([]);
  });

  it('a driver combined with _id, _lastUpdated, :not, _has and a compartment', () => {
    const ids = Array.from({ length: 30 }, (_, n) => `o${n}`).join(',');
    expectSamePages(engine, 'Observation', `code=29463-7&_id=${ids}&_count=3`, 'stream');
    expectSamePages(walking, 'Observation', `date=ge2012&_lastUpdated=gt2000-01-01&status:not=preliminary&_count=5`, 'walk');
    expectSamePages(engine, 'Observation', `date=ge2012&subject=Patient/p2&status=final&_count=3`, 'stream');
    const patients = walk(engine, 'Patient', 'gender=female&_has:Observation:subject:code=29463-7&_count=1');
    expect(patients.plans[0]).toBe('stream');
    expect(patients.pages).toEqual(walk(overResources, 'Patient', 'gender=female&_has:Observation:subject:code=29463-7&_count=1').pages);
    const compartment = (with_: SearchEngine, cursor?: string) => {
      const params = new URLSearchParams('code=8302-2&_count=2');
      if (cursor) params.set('_cursor', cursor);
      return with_.search({ resourceType: 'Observation', params, lenient: false, base: BASE, compartment: { type: 'Patient', id: 'p3' } });
    };
    const ours = compartment(engine);
    const reference = compartment(overResources);
    expect(ours.plan).toBe('stream');
    expect(ours.matches.map((match) => match.id)).toEqual(reference.matches.map((match) => match.id));
    expect(compartment(engine, ours.next).matches.map((match) => match.id)).toEqual(compartment(overResources, reference.next).matches.map((match) => match.id));
  });

  it('several drivers: the most selective reads the page, the others (a chain, :missing, :not) test its rows', () => {
    expectSamePages(engine, 'Observation', 'status=final&subject=Patient/p3&_count=2', 'stream');
    expectSamePages(engine, 'Observation', `status=final&date:missing=false&subject:Patient.identifier=${NIR}|nir1&code=8302-2&_count=2`, 'sort');
    expectSamePages(engine, 'Observation', `code=8302-2&subject:Patient.name=famille&status:not=preliminary&_count=4`, 'stream');
    expectSamePages(walking, 'Observation', 'date=ge2011&code=29463-7,8302-2&subject=Patient/p0,Patient/p1&_count=3', 'walk');
  });

  it('without a driver (_has, :missing, :not) the newest resources are tested one by one, or over the resources when too few of them match', () => {
    expectSamePages(engine, 'Observation', 'status:not=preliminary&_count=4', 'walk');
    expectSamePages(engine, 'Observation', 'code:missing=false&_count=5', 'walk');
    expectSamePages(engine, 'Patient', '_has:Observation:subject:code=29463-7&_count=1', 'walk');
    expectSamePages(engine, 'Patient', '_has:Observation:subject:status:not=final&_count=1', 'walk');
    // A short page when the walk saw the whole type (4 Patients): its answer, not read again over the resources.
    const few = search(engine, 'Patient', '_has:Observation:subject:status=preliminary');
    expect(few.plan).toBe('walk');
    expect(few.matches.map((match) => match.id)).toEqual(search(overResources, 'Patient', '_has:Observation:subject:status=preliminary').matches.map((match) => match.id));
    const ranOut = expectSamePages(exhausted, 'Observation', 'status:not=preliminary&_count=4', 'resources');
    expect(new Set(ranOut.plans)).toEqual(new Set(['resources']));
    expect(search(engine, 'Observation', 'code=29463-7&_sort=date').plan).toBe('resources');
  });
});

describe('paging in write order while matching resources keep being inserted', () => {
  const cases: Array<[string, () => SearchEngine, string, PagePlan]> = [
    ['stream', () => engine, 'code=29463-7', 'stream'],
    ['sort', () => engine, 'date=ge2010', 'sort'],
    ['walk', () => walking, 'date=ge2010', 'walk'],
    ['walk+sort', () => exhausted, 'date=ge2010', 'walk+sort'],
  ];
  for (const [name, engineOf, query, plan] of cases) {
    it(`yields every pre-existing match exactly once (${name})`, () => {
      const with_ = engineOf();
      const before: string[] = [];
      for (let page = search(overResources, 'Observation', `${query}&_count=100`); ; page = search(overResources, 'Observation', `${query}&_count=100`, page.next)) {
        before.push(...page.matches.map((match) => match.id));
        if (!page.next) break;
      }
      const seen: string[] = [];
      let page = search(with_, 'Observation', `${query}&_count=4`);
      expect(page.plan).toBe(plan);
      for (let inserted = 0; ; inserted++) {
        seen.push(...page.matches.map((match) => match.id));
        // A new match (newest: it belongs before the pages already served, so it is not seen).
        repository.create('Observation', { ...observation(0), effectiveDateTime: '2020-01-01' }, `new-${name}-${inserted}`);
        if (!page.next) break;
        page = search(with_, 'Observation', `${query}&_count=4`, page.next);
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(before);
    });
  }
});
