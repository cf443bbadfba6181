import { describe, expect, it, vi } from 'vitest';
import { createMany } from '../../../helpers/batch';
import { fhirFetch, useTestNode } from '../../../helpers/node';
import { userToken } from '../../../helpers/users';
import { TOTAL_CAP } from '../../../../src-server/store/search/search';

/** Searches answer `total` unless `_total=none`: exact up to TOTAL_CAP, and beyond it the Bundle says it stopped there. */

type Json = Record<string, any>;
const node = useTestNode();

const devices = (count: number, model: string) => createMany(node(), count, { resourceType: 'Device', model });

const search = async (query: string) => {
  const response = await node().request(`Device?${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
};

describe('Bundle.total by default', () => {
  it('is exact on a first page holding every match, and on later pages', async () => {
    await devices(25, 'total-25');
    expect((await search('model=total-25&_count=50')).total).toBe(25);
    const first = await search('model=total-25&_count=10');
    expect(first.total).toBe(25);
    const next = first.link.find((link: Json) => link.relation === 'next').url as string;
    const second = (await (await node().request(next)).json()) as Json;
    expect(second.total).toBe(25);
    expect(second.entry).toHaveLength(10);
    expect((await search('model=none-such')).total).toBe(0);
  });

  it('is left out with _total=none', async () => {
    expect('total' in (await search('model=total-25&_total=none'))).toBe(false);
  });

  it(`stops at ${TOTAL_CAP} and says so, unless _total=accurate`, async () => {
    for (let made = 0; made <= TOTAL_CAP; made += 500) await devices(500, 'total-many');
    const capped = await search('model=total-many');
    expect(capped.total).toBe(TOTAL_CAP);
    expect(capped.meta.tag).toEqual([expect.objectContaining({ system: 'urn:liaison:search', code: 'total-capped' })]);
    const exact = await search('model=total-many&_total=accurate');
    expect(exact.total).toBe(1500);
    expect(exact.meta).toBeUndefined();
    expect((await search('model=total-25')).meta).toBeUndefined();
  });
});

/**
 * A text search's default total: counted from the text index's list when nothing else restricts the rows (its
 * filter alone, on a type the caller may all see), so it must equal the exact count once the index has caught up,
 * and still never count what the caller may not see nor what another filter rejects.
 */
describe('Bundle.total of a text search by default', () => {
  const practitioners = (count: number, family: string, from = 0) => {
    for (let index = from; index < from + count; index++) {
      node().repository.update('Practitioner', `${family}-${index}`, { resourceType: 'Practitioner', id: `${family}-${index}`, gender: index % 3 === 0 ? 'female' : 'male', name: [{ family }] });
    }
  };
  const caughtUp = async () => {
    const latest = (node().db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq;
    await node().textIndex.caughtUp(latest);
  };
  const bundle = async (query: string, token?: string) => {
    const response = token ? await fhirFetch(node().fhir, token, query) : await node().request(query);
    expect(response.status, query).toBe(200);
    return (await response.json()) as Json;
  };

  it('equals the exact count for a directory name, below the cap, after updates', async () => {
    practitioners(30, 'Zorglubien');
    // Versions replaced (a new name) leave the index's list: they are not counted.
    for (const index of [1, 2]) node().repository.update('Practitioner', `Zorglubien-${index}`, { resourceType: 'Practitioner', id: `Zorglubien-${index}`, name: [{ family: 'Autrenom' }] });
    await caughtUp();
    const estimated = await bundle('Practitioner?name=zorglub&_count=5');
    expect(estimated.total).toBe(28);
    expect(estimated.meta).toBeUndefined();
    expect((await bundle('Practitioner?name=zorglub&_count=5&_total=accurate')).total).toBe(28);
    // Two words: the index counts the matches of both, past the page it hands over.
    expect((await bundle('Practitioner?name=zorg%20zorglub&_count=5')).total).toBe(28);
    expect((await bundle('Practitioner?name=zorg%20autre&_count=5')).total).toBe(0);
  });

  it(`stops at ${TOTAL_CAP} for a directory name and says so, like the exact count`, async () => {
    practitioners(TOTAL_CAP + 20, 'Quaxenbourg');
    await caughtUp();
    const capped = await bundle('Practitioner?name=quaxen&_count=20');
    expect(capped.total).toBe(TOTAL_CAP);
    expect(capped.meta.tag).toEqual([expect.objectContaining({ system: 'urn:liaison:search', code: 'total-capped' })]);
    expect(capped.entry).toHaveLength(20);
    expect((await bundle('Practitioner?name=quaxen&_total=accurate')).total).toBe(TOTAL_CAP + 20);
  });

  it('asks the text index once for a directory name whose matches pass the cap, for a page and a count', async () => {
    // The index counts up to TOTAL_CAP + 1 as it walks and hands over a page's worth: the search neither comes back
    // for every match (MAX_TEXT_MATCHES) only to count them, nor moves 1,001 vseqs between threads.
    const asked = vi.spyOn(node().textIndex, 'search');
    try {
      const capped = await bundle('Practitioner?name=quaxen&_count=20');
      expect(capped.total).toBe(TOTAL_CAP);
      expect(capped.entry).toHaveLength(20);
      expect(asked).toHaveBeenCalledTimes(1);
      expect(asked.mock.calls[0][4]).toBeLessThan(TOTAL_CAP);
      expect(asked.mock.calls[0][5]).toBe(TOTAL_CAP + 1);
      asked.mockClear();
      // Without a total, a page's worth and some spare, no count.
      expect((await bundle('Practitioner?name=quaxen&_count=20&_total=none')).entry).toHaveLength(20);
      expect(asked).toHaveBeenCalledTimes(1);
      expect(asked.mock.calls[0][4]).toBeLessThan(TOTAL_CAP);
      expect(asked.mock.calls[0][5]).toBeUndefined();
    } finally {
      asked.mockRestore();
    }
  });

  it('counts a text search in a compartment among the compartment, in one round', async () => {
    for (let index = 0; index < 40; index++) {
      node().repository.update('Patient', `compart-${index}`, {
        resourceType: 'Patient',
        id: `compart-${index}`,
        name: [{ family: 'Compartimentois' }],
        ...(index < 30 ? { generalPractitioner: [{ reference: 'Practitioner/gp-compart' }] } : {}),
      });
    }
    await caughtUp();
    const asked = vi.spyOn(node().textIndex, 'search');
    try {
      const page = await bundle('Practitioner/gp-compart/Patient?name=compartim&_count=5');
      expect(page.total).toBe(30);
      expect(page.entry).toHaveLength(5);
      // The compartment restricts the rows: the index hands over the whole list for SQL to count, at once.
      expect(asked).toHaveBeenCalledTimes(1);
    } finally {
      asked.mockRestore();
    }
  });

  it('counts exactly when another filter restricts the text matches', async () => {
    // Of the Quaxenbourg practitioners above, one in three is female.
    const female = Math.ceil((TOTAL_CAP + 20) / 3);
    const estimated = await bundle('Practitioner?name=quaxen&gender=female&_count=10');
    expect(estimated.total).toBe(female);
    expect((await bundle('Practitioner?name=quaxen&gender=female&_total=accurate')).total).toBe(female);
  });

  it("never counts another practice's patients for a practitioner", async () => {
    const { repository, db } = node();
    repository.update('Practitioner', 'gp-a', { resourceType: 'Practitioner', id: 'gp-a', name: [{ family: 'Alpha' }] });
    repository.update('Practitioner', 'gp-b', { resourceType: 'Practitioner', id: 'gp-b', name: [{ family: 'Beta' }] });
    const patient = (id: string, gp: string) => node().request(`Patient/${id}`, { method: 'PUT', json: { resourceType: 'Patient', id, name: [{ family: 'Vercingetorix' }], generalPractitioner: [{ reference: `Practitioner/${gp}` }] } });
    for (const id of ['va1', 'va2']) expect((await patient(id, 'gp-a')).status).toBe(201);
    for (const id of ['vb1', 'vb2', 'vb3']) expect((await patient(id, 'gp-b')).status).toBe(201);
    await caughtUp();
    const a = userToken(db, { userId: 'u-gp-a', roles: 'practitioner', practitionerId: 'gp-a', organizations: 'practice-a' });
    const b = userToken(db, { userId: 'u-gp-b', roles: 'practitioner', practitionerId: 'gp-b', organizations: 'practice-b' });
    expect((await bundle('Patient?name=vercinge&_count=1', a)).total).toBe(2);
    expect((await bundle('Patient?name=vercinge&_count=1', b)).total).toBe(3);
    expect((await bundle('Patient?name=vercinge&_count=1')).total).toBe(5);
  });
});
