import { beforeAll, describe, expect, it } from 'vitest';
import { useTestNode } from '../../helpers/node';
import { patient, PRACTICE_A, references, setUpPractices, type Json, type Practices } from './practices';

/**
 * A patient's record over HTTP, under the access rules: `Patient/<id>/$everything` (exactly what the caller may
 * see, newest first, across pages, with the Practitioners and Organizations it points at) and
 * `Patient/<id>/$care-pathway` (Encounters and EpisodesOfCare, newest period start first).
 */

const node = useTestNode();
let practices: Practices;
const as: Practices['as'] = (...args) => practices.as(...args);

/** Every resource written, in write order. */
const written: string[] = [];
const lastUpdated = new Map<string, string>();

const subject = { reference: 'Patient/pa' };
const encounter = (id: string, period: Json | undefined, kind: string) => ({ resourceType: 'Encounter', id, status: 'finished', class: { system: 'http://hl7.org/fhir/v3/ActCode', code: kind }, subject, ...(period ? { period } : {}), participant: [{ individual: { reference: 'Practitioner/a1' } }] });
const episode = (id: string, start: string) => ({ resourceType: 'EpisodeOfCare', id, status: 'active', patient: subject, period: { start }, managingOrganization: { reference: `Organization/${PRACTICE_A}` } });

beforeAll(async () => {
  practices = setUpPractices(node());
  const put = async (resource: Json) => {
    const response = await as('owner', `${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    written.push(`${resource.resourceType}/${resource.id}`);
    lastUpdated.set(`${resource.resourceType}/${resource.id}`, response.body.meta.lastUpdated);
  };
  await put({ ...patient('Practitioner/a1', { name: [{ family: 'Arnaud' }] }), id: 'pa' });
  await put(encounter('e-mid', { start: '2023-06-01T09:00:00Z', end: '2023-06-03T12:00:00Z' }, 'IMP'));
  await put(episode('ep-old', '2019-01-01'));
  await put(encounter('e-new', { start: '2026-03-01T10:00:00Z', end: '2026-03-01T10:20:00Z' }, 'AMB'));
  await put({ resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'TA' }, subject, effectiveDateTime: '2021-05-01' });
  // Dr Bernard's patient, who links to Arnaud: in Arnaud's compartment (`link`), but not Dr Alpha's to see.
  await put({ ...patient('Practitioner/b1', { name: [{ family: 'Bernardin' }], link: [{ other: subject, type: 'seealso' }] }), id: 'pb' });
  await put({ resourceType: 'Encounter', id: 'eb', status: 'finished', subject: { reference: 'Patient/pb' }, period: { start: '2026-04-01' } });
  await put(encounter('e-old', { start: '2020-01-10', end: '2020-01-12' }, 'IMP'));
  await put({ resourceType: 'DocumentReference', id: 'd1', status: 'current', type: { text: 'CR' }, indexed: '2022-01-01T00:00:00Z', created: '2022-01-01', subject, author: [{ reference: 'Practitioner/b1' }], content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/none' } }] });
  await put({ resourceType: 'Communication', id: 'c1', status: 'completed', subject, sent: '2022-02-01T08:00:00Z', sender: { reference: 'Practitioner/b1' }, recipient: [{ reference: 'Practitioner/a1' }] });
  await put(episode('ep-new', '2024-01-01'));
  await put({ resourceType: 'Appointment', id: 'ap1', status: 'booked', start: '2023-03-01T09:00:00Z', end: '2023-03-01T09:20:00Z', participant: [{ actor: subject, status: 'accepted' }, { actor: { reference: 'Practitioner/a1' }, status: 'accepted' }] });
  await put({ resourceType: 'Coverage', id: 'cov1', status: 'active', beneficiary: subject });
  await put(encounter('e-nostart', undefined, 'AMB'));
});

/** Follows the `next` links; the matches of every page in order, the includes of each page, and the page sizes. */
async function walk(who: string, path: string): Promise<{ matches: string[]; included: string[][]; sizes: number[]; status: number; body: Json }> {
  const matches: string[] = [];
  const included: string[][] = [];
  const sizes: number[] = [];
  let url: string | undefined = path;
  let first: { status: number; body: Json } | undefined;
  while (url) {
    const page = await as(who, url);
    first ??= page;
    if (page.status !== 200) return { matches, included, sizes, status: page.status, body: page.body };
    expect(page.body.type).toBe('searchset');
    matches.push(...references(page.body));
    included.push(references(page.body, 'include'));
    sizes.push(references(page.body).length);
    url = page.body.link.find((link: Json) => link.relation === 'next')?.url;
  }
  return { matches, included, sizes, status: 200, body: first!.body };
}

const newestFirst = (keep: (reference: string) => boolean) => [...written].reverse().filter(keep);
const arnaudRecord = (reference: string) => !['Patient/pb', 'Encounter/eb'].includes(reference);

describe('$everything', () => {
  it('gives Dr Alpha exactly the record he may see, newest first, across pages, with whom it points at', async () => {
    const { matches, included, sizes } = await walk('a1', 'Patient/pa/$everything?_count=4');
    expect(matches).toEqual(newestFirst((reference) => arnaudRecord(reference)));
    expect(sizes).toEqual([4, 4, 4]);
    // Each page brings the directory entries its resources point at.
    expect(included[0]).toEqual([`Organization/${PRACTICE_A}`, 'Practitioner/a1']);
    expect(new Set(included.flat())).toEqual(new Set(['Practitioner/a1', 'Practitioner/b1', `Organization/${PRACTICE_A}`]));
    // The secretary of the practice sees the same; the owner also the patient linking to Arnaud.
    expect((await walk('secretary', 'Patient/pa/$everything?_count=100')).matches).toEqual(matches);
    expect((await walk('owner', 'Patient/pa/$everything')).matches).toEqual(newestFirst((reference) => reference !== 'Encounter/eb'));
  });

  it('is 404 for a patient the caller does not follow, as if it did not exist', async () => {
    const hidden = await walk('b1', 'Patient/pa/$everything');
    expect(hidden.status).toBe(404);
    expect(hidden.body.issue[0].diagnostics).toBe('Patient/pa does not exist');
    expect((await walk('a1', 'Patient/nobody/$everything')).status).toBe(404);
    expect((await walk('b1', 'Patient/pb/$everything')).matches).toEqual(['Encounter/eb', 'Patient/pb']);
  });

  it('leaves out the types the caller has no READ scope for', async () => {
    await practices.addClient('ehr', ['PATIENT_READ', 'ENCOUNTER_READ'], 'a1');
    const { matches, included } = await walk('ehr', 'Patient/pa/$everything?_count=100');
    expect(matches).toEqual(newestFirst((reference) => reference === 'Patient/pa' || (reference.startsWith('Encounter/') && reference !== 'Encounter/eb')));
    expect(included.flat()).toEqual([]);
    await practices.addClient('no-patient', ['ENCOUNTER_READ'], 'a1');
    expect((await walk('no-patient', 'Patient/pa/$everything')).status).toBe(403);
  });

  it('_type, _since and the care dates start/end narrow the record', async () => {
    expect((await walk('a1', 'Patient/pa/$everything?_type=Encounter,Observation')).matches).toEqual(
      newestFirst((reference) => arnaudRecord(reference) && (reference.startsWith('Encounter/') || reference.startsWith('Observation/'))),
    );
    const since = lastUpdated.get('Communication/c1')!;
    expect((await walk('a1', `Patient/pa/$everything?_since=${since}`)).matches).toEqual(newestFirst((reference) => arnaudRecord(reference) && lastUpdated.get(reference)! >= since));
    // Care in 2023: the stay of June 2023 and the episode open since 2019 (the other opens in 2024); what has no
    // care date stays.
    expect((await walk('a1', 'Patient/pa/$everything?start=2023-01-01&end=2023-12-31&_count=100')).matches).toEqual(
      newestFirst((reference) => ['Patient/pa', 'Encounter/e-mid', 'EpisodeOfCare/ep-old', 'Appointment/ap1', 'Coverage/cov1', 'Encounter/e-nostart'].includes(reference)),
    );
    expect((await walk('a1', 'Patient/pa/$everything?start=2022&end=2022&_type=DocumentReference,Communication,Observation')).matches).toEqual(['Communication/c1', 'DocumentReference/d1']);
  });

  it('refuses bad parameters with 400', async () => {
    for (const query of ['_type=Binary', '_type=Nothing', '_count=0', '_cursor=abc', '_since=yesterday', 'start=2023-13']) {
      const { status, body } = await as('a1', `Patient/pa/$everything?${query}`);
      expect(status, query).toBe(400);
      expect(body.resourceType).toBe('OperationOutcome');
    }
    expect((await as('a1', 'Patient/pa/$everything', { method: 'POST', json: {} })).status).toBe(405);
  });
});

describe('$care-pathway', () => {
  it('lists Encounters and EpisodesOfCare newest period start first, those without a start last, across pages', async () => {
    const { matches, sizes } = await walk('a1', 'Patient/pa/$care-pathway?_count=2');
    expect(matches).toEqual(['Encounter/e-new', 'EpisodeOfCare/ep-new', 'Encounter/e-mid', 'Encounter/e-old', 'EpisodeOfCare/ep-old', 'Encounter/e-nostart']);
    expect(sizes).toEqual([2, 2, 2]);
    expect((await walk('a1', 'Patient/pa/$care-pathway?_type=EpisodeOfCare')).matches).toEqual(['EpisodeOfCare/ep-new', 'EpisodeOfCare/ep-old']);
    expect((await walk('secretary', 'Patient/pa/$care-pathway')).matches).toEqual(matches);
  });

  it('follows the access rules and the scopes', async () => {
    expect((await walk('b1', 'Patient/pa/$care-pathway')).status).toBe(404);
    expect((await walk('b1', 'Patient/pb/$care-pathway')).matches).toEqual(['Encounter/eb']);
    await practices.addClient('episodes', ['PATIENT_READ', 'EPISODEOFCARE_READ'], 'a1');
    expect((await walk('episodes', 'Patient/pa/$care-pathway')).matches).toEqual(['EpisodeOfCare/ep-new', 'EpisodeOfCare/ep-old']);
    const refused = await walk('episodes', 'Patient/pa/$care-pathway?_type=Encounter');
    expect(refused.status).toBe(403);
    expect(refused.body.issue[0].diagnostics).toContain('ENCOUNTER_READ');
    expect((await as('a1', 'Patient/pa/$care-pathway?_type=Observation')).status).toBe(400);
  });
});
