import { beforeAll, describe, expect, it } from 'vitest';
import { useTestNode } from '../../../helpers/node';
import { link, matchIds, searchHelpers, TAG_SYSTEM, withTag, type Json } from './search-helpers';

/**
 * What a search returns: consistency right after a write, _count, _total, _sort, next/previous paging (also while
 * matching resources keep being inserted), _summary/_elements, _include/_revinclude, POST _search.
 */

const node = useTestNode();
const { put, get, ids, ordered } = searchHelpers(node);
const enc = encodeURIComponent;
const tagOf = (tag: string) => ({ tag: [{ system: TAG_SYSTEM, code: tag }] });

async function post(tag: string, resource: Json): Promise<Json> {
  const response = await node().request(resource.resourceType, { method: 'POST', json: { ...resource, meta: tagOf(tag) } });
  expect(response.status).toBe(201);
  return (await response.json()) as Json;
}

describe('consistency', () => {
  it('a search right after a write sees it (index rows are written in the same transaction)', async () => {
    const family = `Fresh${Date.now()}`;
    const created = await post('raw', { resourceType: 'Patient', name: [{ family }] });
    expect(await ids('raw', `Patient?family=${family}`)).toEqual([created.id]);
    // An update replaces the indexed values: the old one no longer matches.
    const renamed = `Renamed${Date.now()}`;
    await put('raw', { resourceType: 'Patient', id: created.id, name: [{ family: renamed }] });
    expect(await ids('raw', `Patient?family=${family}`)).toEqual([]);
    expect(await ids('raw', `Patient?family=${renamed}`)).toEqual([created.id]);
    expect(await ids('raw', `Patient?family:exact=${renamed}&_id=${created.id}`)).toEqual([created.id]);
  });

  it('a search inside a transaction sees the transaction\'s own writes', async () => {
    const family = `Transacted${Date.now()}`;
    const { body } = await get('', {
      method: 'POST',
      json: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'GET', url: withTag('raw', `Patient?family=${family}`) } },
          { fullUrl: 'urn:uuid:0d3f5a4e-6a51-4c8f-9a3e-2f1d1d0f6a11', resource: { resourceType: 'Patient', meta: tagOf('raw'), name: [{ family }] }, request: { method: 'POST', url: 'Patient' } },
        ],
      },
    });
    const createdId = body.entry[1].resource.id;
    expect(matchIds(body.entry[0].resource)).toEqual([createdId]);
  });
});

describe('_count and _total', () => {
  beforeAll(async () => {
    for (let i = 0; i < 12; i++) await post('count', { resourceType: 'Patient', name: [{ family: `Count${i}` }] });
    const repository = node().repository;
    // Directory types in bulk, through the repository (the same write path, without HTTP).
    for (let i = 0; i < 105; i++) repository.create('Practitioner', { resourceType: 'Practitioner', meta: tagOf('directory'), name: [{ family: `Doc${i}` }] });
    for (let i = 0; i < 12; i++) {
      repository.create('Organization', { resourceType: 'Organization', meta: tagOf('directory'), name: `Org${i}` });
      repository.create('PractitionerRole', { resourceType: 'PractitionerRole', meta: tagOf('directory') });
    }
  });

  const page = async (path: string) => {
    const { status, body } = await get(path);
    expect(status).toBe(200);
    return body;
  };

  it('pages by 10 by default, by 100 for the directory types, and never more than 100', async () => {
    const patients = await page(withTag('count', 'Patient'));
    expect(patients.entry).toHaveLength(10);
    expect(link(patients, 'next')).toBeDefined();
    expect((await page(withTag('count', 'Patient?_count=5'))).entry).toHaveLength(5);
    expect((await page(withTag('count', 'Patient?_count=12'))).entry).toHaveLength(12);
    expect(link(await page(withTag('count', 'Patient?_count=12')), 'next')).toBeUndefined();
    expect((await page(withTag('count', 'Patient?_count=0'))).entry).toBeUndefined();
    const practitioners = await page(withTag('directory', 'Practitioner'));
    expect(practitioners.entry).toHaveLength(100);
    expect(link(practitioners, 'next')).toBeDefined();
    expect((await page(withTag('directory', 'Organization'))).entry).toHaveLength(12);
    expect((await page(withTag('directory', 'PractitionerRole'))).entry).toHaveLength(12);
    expect((await page(withTag('directory', 'Practitioner?_count=500'))).entry).toHaveLength(100);
    expect((await page(withTag('directory', 'Practitioner?_count=10'))).entry).toHaveLength(10);
  });

  it('Bundle.total by default and with _total=accurate, whatever the page size; _summary=count gives only the total', async () => {
    expect((await page(withTag('count', 'Patient?_total=accurate'))).total).toBe(12);
    expect((await page(withTag('count', 'Patient?_total=accurate&_count=3'))).total).toBe(12);
    expect((await page(withTag('count', 'Patient?_total=accurate&_count=0'))).total).toBe(12);
    expect((await page(withTag('directory', 'Practitioner?_total=accurate'))).total).toBe(105);
    expect((await page(withTag('count', 'Patient?_total=accurate&family=count1'))).total).toBe(3); // Count1, Count10, Count11
    expect((await page(withTag('count', 'Patient'))).total).toBe(12);
    expect((await page(withTag('count', 'Patient?_count=3'))).total).toBe(12);
    expect((await page(withTag('count', 'Patient?_total=none'))).total).toBeUndefined();
    const count = await page(withTag('count', 'Patient?_summary=count'));
    expect(count.total).toBe(12);
    expect(count.entry).toBeUndefined();
  });
});

describe('_sort', () => {
  beforeAll(async () => {
    await put('sort', { resourceType: 'Patient', id: 'srt1', name: [{ family: 'Bernard' }], birthDate: '1990-01-01' });
    await put('sort', { resourceType: 'Patient', id: 'srt2', name: [{ family: 'bernard' }], birthDate: '1985-05-05' });
    await put('sort', { resourceType: 'Patient', id: 'srt3', name: [{ family: 'Alpha' }], birthDate: '2000-01-01' });
    await put('sort', { resourceType: 'Patient', id: 'srt4', name: [{ family: 'Zed' }] });
    await put('sort', { resourceType: 'Patient', id: 'srt5', birthDate: '1970-01-01' });
  });

  it('sorts by several keys, `-` descending, resources without a value last, ties by age', async () => {
    expect(await ordered('sort', 'Patient?_sort=family,-birthdate')).toEqual(['srt3', 'srt1', 'srt2', 'srt4', 'srt5']);
    expect(await ordered('sort', 'Patient?_sort=family,birthdate')).toEqual(['srt3', 'srt2', 'srt1', 'srt4', 'srt5']);
    expect(await ordered('sort', 'Patient?_sort=-family')).toEqual(['srt4', 'srt2', 'srt1', 'srt3', 'srt5']);
    expect(await ordered('sort', 'Patient?_sort=birthdate')).toEqual(['srt5', 'srt2', 'srt1', 'srt3', 'srt4']);
    expect(await ordered('sort', 'Patient?_sort=-birthdate')).toEqual(['srt3', 'srt1', 'srt2', 'srt5', 'srt4']);
    expect(await ordered('sort', 'Patient?_sort=_id')).toEqual(['srt1', 'srt2', 'srt3', 'srt4', 'srt5']);
    expect(await ordered('sort', 'Patient?_sort=-_id')).toEqual(['srt5', 'srt4', 'srt3', 'srt2', 'srt1']);
    expect(await ordered('sort', 'Patient?_sort=_lastUpdated')).toEqual(['srt1', 'srt2', 'srt3', 'srt4', 'srt5']);
    expect(await ordered('sort', 'Patient')).toEqual(['srt5', 'srt4', 'srt3', 'srt2', 'srt1']); // default -_lastUpdated
  });

  it('keeps the order across pages', async () => {
    for (const sort of ['family,-birthdate', '-family', 'birthdate', '-birthdate', '_id']) {
      expect(await ordered('sort', `Patient?_sort=${sort}&_count=2`), sort).toEqual(await ordered('sort', `Patient?_sort=${sort}`));
    }
  });

  it('refuses unknown and composite sort keys', async () => {
    expect((await get('Patient?_sort=foo')).status).toBe(400);
    expect((await get('Observation?_sort=code-value-quantity')).status).toBe(400);
  });
});

describe('next and previous links', () => {
  const created: string[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 25; i++) created.push((await post('page', { resourceType: 'Patient', name: [{ family: `Page${i}` }] })).id);
  });

  it('walk forwards and backwards over the same pages, keeping the other parameters', async () => {
    const newestFirst = [...created].reverse();
    const first = (await get(withTag('page', 'Patient?_count=10'))).body;
    expect(matchIds(first)).toEqual(newestFirst.slice(0, 10));
    expect(link(first, 'previous')).toBeUndefined();
    expect(link(first, 'self')).toBe(`${node().fhir}/${withTag('page', 'Patient?_count=10')}`);
    const nextUrl = link(first, 'next')!;
    expect(nextUrl).toContain('_count=10');
    expect(nextUrl).toContain(`_tag=${enc(`${TAG_SYSTEM}|page`)}`);
    expect(nextUrl).toContain('_cursor=');

    const second = (await get(nextUrl)).body;
    expect(matchIds(second)).toEqual(newestFirst.slice(10, 20));
    expect(link(second, 'self')).toBe(nextUrl);
    const third = (await get(link(second, 'next')!)).body;
    expect(matchIds(third)).toEqual(newestFirst.slice(20));
    expect(link(third, 'next')).toBeUndefined();

    const backToSecond = (await get(link(third, 'previous')!)).body;
    expect(matchIds(backToSecond)).toEqual(newestFirst.slice(10, 20));
    const backToFirst = (await get(link(backToSecond, 'previous')!)).body;
    expect(matchIds(backToFirst)).toEqual(newestFirst.slice(0, 10));
    expect(link(backToFirst, 'previous')).toBeUndefined();
    expect(matchIds((await get(link(backToFirst, 'next')!)).body)).toEqual(newestFirst.slice(10, 20));
  });

  it('page by a sort key too', async () => {
    const all = await ordered('page', 'Patient?_sort=family&_count=100');
    const first = (await get(withTag('page', 'Patient?_sort=family&_count=7'))).body;
    const second = (await get(link(first, 'next')!)).body;
    expect([...matchIds(first), ...matchIds(second)]).toEqual(all.slice(0, 14));
    expect(matchIds((await get(link(second, 'previous')!)).body)).toEqual(all.slice(0, 7));
  });
});

describe('paging while matching resources keep being inserted', () => {
  for (const [index, sort] of ['', '&_sort=family', '&_sort=-family,_id'].entries()) {
    it(`walking every next page yields every pre-existing match exactly once${sort ? ` (${sort.slice(1)})` : ''}`, async () => {
      const tag = `concurrent${index}`;
      const family = () => `C${Math.random().toString(36).slice(2, 8)}`;
      const existing = new Set<string>();
      for (let i = 0; i < 40; i++) existing.add((await post(tag, { resourceType: 'Patient', name: [{ family: family() }] })).id);

      let inserted = 0;
      let done = false;
      const inserter = (async () => {
        while (!done) {
          await post(tag, { resourceType: 'Patient', name: [{ family: family() }] });
          inserted++;
        }
      })();
      const seen: string[] = [];
      let url: string | undefined = withTag(tag, `Patient?_count=7${sort}`);
      let pages = 0;
      try {
        while (url) {
          const { status, body } = await get(url);
          expect(status).toBe(200);
          seen.push(...matchIds(body));
          url = link(body, 'next');
          pages++;
          // Let the other task insert a few matching resources before the next page.
          const target = inserted + 3;
          while (inserted < target) await new Promise((resolve) => setTimeout(resolve, 1));
        }
      } finally {
        done = true;
        await inserter;
      }
      expect(inserted).toBeGreaterThanOrEqual(pages * 3);
      expect(new Set(seen).size).toBe(seen.length); // no duplicate
      const missing = [...existing].filter((id) => !seen.includes(id));
      expect(missing).toEqual([]);
    });
  }
});

describe('_summary and _elements', () => {
  const subsetted = (resource: Json) => resource.meta.tag.some((tag: Json) => tag.code === 'SUBSETTED');
  beforeAll(async () => {
    await put('shape', {
      resourceType: 'Patient',
      id: 'sh1',
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Hélène Dupont</div>' },
      name: [{ family: 'Dupont' }],
      gender: 'female',
      birthDate: '1980-01-01',
      maritalStatus: { text: 'married' },
    });
    await put('shape', {
      resourceType: 'Observation',
      id: 'sh2',
      status: 'final',
      code: { text: 'weight' },
      subject: { reference: 'Patient/sh1' },
      valueQuantity: { value: 60, unit: 'kg' },
    });
  });

  const first = async (path: string) => {
    const { status, body } = await get(withTag('shape', path));
    expect(status).toBe(200);
    return body.entry[0].resource as Json;
  };

  it('_summary=true keeps the summary elements', async () => {
    const patient = await first('Patient?_summary=true');
    expect(Object.keys(patient).sort()).toEqual(['birthDate', 'gender', 'id', 'meta', 'name', 'resourceType']);
    expect(subsetted(patient)).toBe(true);
    expect(patient.meta.tag).toContainEqual({ system: TAG_SYSTEM, code: 'shape' });
  });

  it('_summary=text keeps text, id, meta and the mandatory elements', async () => {
    expect(Object.keys(await first('Patient?_summary=text')).sort()).toEqual(['id', 'meta', 'resourceType', 'text']);
    expect(Object.keys(await first('Observation?_summary=text')).sort()).toEqual(['code', 'id', 'meta', 'resourceType', 'status']); // it has no text
  });

  it('_summary=data drops the text only; _summary=false returns the resource whole', async () => {
    const data = await first('Patient?_summary=data');
    expect(Object.keys(data).sort()).toEqual(['birthDate', 'gender', 'id', 'maritalStatus', 'meta', 'name', 'resourceType']);
    expect(subsetted(data)).toBe(true);
    const whole = await first('Patient?_summary=false');
    expect(whole).toEqual((await get('Patient/sh1')).body);
    expect(subsetted(whole)).toBe(false);
  });

  it('_elements keeps the listed elements (a choice by its name) and the mandatory ones', async () => {
    const patient = await first('Patient?_elements=name,birthDate');
    expect(Object.keys(patient).sort()).toEqual(['birthDate', 'id', 'meta', 'name', 'resourceType']);
    expect(subsetted(patient)).toBe(true);
    const observation = await first('Observation?_elements=value');
    expect(Object.keys(observation).sort()).toEqual(['code', 'id', 'meta', 'resourceType', 'status', 'valueQuantity']);
    expect(Object.keys(await first('Observation?_elements=valueQuantity')).sort()).toEqual(['code', 'id', 'meta', 'resourceType', 'status', 'valueQuantity']);
  });
});

describe('_include and _revinclude', () => {
  beforeAll(async () => {
    await put('inc', { resourceType: 'Organization', id: 'io1', name: 'Cabinet' });
    await put('inc', { resourceType: 'Patient', id: 'ip1', managingOrganization: { reference: 'Organization/io1' } });
    await put('inc', { resourceType: 'Practitioner', id: 'ipr1' });
    await put('inc', { resourceType: 'Encounter', id: 'ie1', status: 'finished', subject: { reference: 'Patient/ip1' } });
    const observation = (id: string, extra: Json) => put('inc', { resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, ...extra });
    await observation('iob1', { subject: { reference: 'Patient/ip1' }, context: { reference: 'Encounter/ie1' }, performer: [{ reference: 'Practitioner/ipr1' }] });
    await observation('iob2', { subject: { reference: 'Patient/ip1' } });
    await observation('iob3', { subject: { reference: 'http://other.example/fhir/Patient/ip1' } });
  });

  /** `Type/id` of the match entries, then of the include entries, as served. */
  const entries = async (path: string) => {
    const { status, body } = await get(path);
    expect(status, JSON.stringify(body)).toBe(200);
    const of = (mode: string) => (body.entry ?? []).filter((entry: Json) => entry.search.mode === mode).map((entry: Json) => `${entry.resource.resourceType}/${entry.resource.id}`);
    const modes = (body.entry ?? []).map((entry: Json) => entry.search.mode);
    expect(modes, 'matches come first').toEqual([...modes].sort((a: string, b: string) => (a === b ? 0 : a === 'match' ? -1 : 1)));
    for (const entry of body.entry ?? []) expect(entry.fullUrl).toBe(`${node().fhir}/${entry.resource.resourceType}/${entry.resource.id}`);
    return { match: of('match'), include: of('include').sort() };
  };

  it('_include adds the resources the matches point at, once, with search.mode include', async () => {
    expect(await entries('Observation?_id=iob1&_include=Observation:subject')).toEqual({ match: ['Observation/iob1'], include: ['Patient/ip1'] });
    expect((await entries('Observation?_id=iob1,iob2&_include=Observation:subject')).include).toEqual(['Patient/ip1']);
    expect((await entries('Observation?_id=iob1&_include=Observation:subject:Patient')).include).toEqual(['Patient/ip1']);
    expect((await entries('Observation?_id=iob1&_include=Observation:subject:Group')).include).toEqual([]);
    expect((await entries('Observation?_id=iob3&_include=Observation:subject')).include).toEqual([]); // another server's patient
    expect((await entries('Observation?_id=iob1&_include=Observation:subject&_include=Observation:performer')).include).toEqual(['Patient/ip1', 'Practitioner/ipr1']);
  });

  it('_include=* follows every reference parameter', async () => {
    expect((await entries('Observation?_id=iob1&_include=*')).include).toEqual(['Encounter/ie1', 'Patient/ip1', 'Practitioner/ipr1']);
  });

  it(':iterate follows the included resources too', async () => {
    expect((await entries('Observation?_id=iob2&_include=Observation:subject&_include:iterate=Patient:organization')).include).toEqual(['Organization/io1', 'Patient/ip1']);
    expect((await entries('Observation?_id=iob1&_include=Observation:encounter&_include:iterate=Encounter:subject')).include).toEqual(['Encounter/ie1', 'Patient/ip1']);
    // Without :iterate, an _include applies to the matches only.
    expect((await entries('Observation?_id=iob2&_include=Observation:subject&_include=Patient:organization')).include).toEqual(['Patient/ip1']);
  });

  it('_revinclude adds the resources pointing at the matches', async () => {
    expect(await entries('Patient?_id=ip1&_revinclude=Observation:subject')).toEqual({ match: ['Patient/ip1'], include: ['Observation/iob1', 'Observation/iob2'] });
    expect((await entries('Patient?_id=ip1&_revinclude=Encounter:patient')).include).toEqual(['Encounter/ie1']);
    expect((await entries('Patient?_id=ip1&_revinclude=Encounter:*')).include).toEqual(['Encounter/ie1']);
    expect((await get('Patient?_id=ip1&_revinclude=*')).status).toBe(400); // which type points back is not said
    expect((await entries('Organization?_id=io1&_revinclude=Patient:organization&_revinclude:iterate=Observation:subject')).include).toEqual([
      'Observation/iob1',
      'Observation/iob2',
      'Patient/ip1',
    ]);
    expect((await entries('Patient?_id=ip1&_revinclude=Observation:subject&_include=Patient:organization')).include).toEqual([
      'Observation/iob1',
      'Observation/iob2',
      'Organization/io1',
    ]);
  });

  it('included resources are shaped like the matches', async () => {
    const { body } = await get('Observation?_id=iob1&_include=Observation:subject&_elements=status');
    const included = body.entry.find((entry: Json) => entry.search.mode === 'include').resource;
    expect(Object.keys(included).sort()).toEqual(['id', 'meta', 'resourceType']);
  });
});

describe('POST _search', () => {
  beforeAll(async () => {
    await put('post', { resourceType: 'Patient', id: 'ps1', name: [{ family: 'Postman' }], gender: 'male' });
    await put('post', { resourceType: 'Patient', id: 'ps2', name: [{ family: 'Other' }], gender: 'male' });
  });

  const form = (path: string, body: string) =>
    get(path, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

  it('searches with the parameters of the form body (and of the URL), like GET', async () => {
    const tag = `_tag=${enc(`${TAG_SYSTEM}|post`)}`;
    const { status, body } = await form('Patient/_search', `family=postman&${tag}`);
    expect(status).toBe(200);
    expect(matchIds(body)).toEqual(['ps1']);
    expect(link(body, 'self')).toBe(`${node().fhir}/Patient?family=postman&${tag}`);
    expect(matchIds((await form(`Patient/_search?gender=male`, `${tag}&_sort=family`)).body)).toEqual(['ps2', 'ps1']);
    expect((await form('Patient/_search', 'foo=bar')).status).toBe(400);
    expect((await get('Patient/_search')).status).toBe(405);
  });
});
