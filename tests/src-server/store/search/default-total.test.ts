import { describe, expect, it } from 'vitest';
import { createMany } from '../../../helpers/batch';
import { useTestNode } from '../../../helpers/node';
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
