import { beforeAll, describe, expect, it } from 'vitest';
import { fhirFetch, useTestNode } from '../../helpers/node';
import { userToken } from '../../helpers/users';

/**
 * History and vread show each version to those who may see that version, by its own content (docs/access.md):
 * an Observation of practice A's patient, moved to practice B's patient, keeps its earlier versions A's and its
 * later ones B's, whatever the current version says.
 */

type Json = Record<string, any>;

const node = useTestNode();
const tokens: Record<string, string> = {};
/** The Observation's version ids, oldest first: two about A's patient, then one about B's. */
const versions: string[] = [];

async function as(who: string, path: string): Promise<{ status: number; body: Json }> {
  const response = await fhirFetch(node().fhir, tokens[who], path);
  return { status: response.status, body: (await response.json()) as Json };
}

const versionIds = (bundle: Json, id = 'moved'): string[] =>
  (bundle.entry ?? []).filter((entry: Json) => entry.resource.resourceType === 'Observation' && entry.resource.id === id).map((entry: Json) => entry.resource.meta.versionId);

beforeAll(async () => {
  const { repository, db } = node();
  for (const id of ['a1', 'b1', 'c1']) repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family: id }] });
  const put = async (resource: Json) => {
    const response = await node().request(`${resource.resourceType}/${resource.id}`, { method: 'PUT', json: resource });
    expect(response.status, await response.clone().text()).toBeLessThan(300);
    return ((await response.json()) as Json).meta.versionId as string;
  };
  await put({ resourceType: 'Patient', id: 'pa', name: [{ family: 'Arnaud' }], generalPractitioner: [{ reference: 'Practitioner/a1' }] });
  await put({ resourceType: 'Patient', id: 'pb', name: [{ family: 'Bernard' }], generalPractitioner: [{ reference: 'Practitioner/b1' }] });
  const observation = (patient: string, value: number) => ({ resourceType: 'Observation', id: 'moved', status: 'final', code: { text: 'TA' }, subject: { reference: `Patient/${patient}` }, valueQuantity: { value, unit: 'mmHg' } });
  versions.push(await put(observation('pa', 120)), await put(observation('pa', 125)));
  // Filed under the wrong patient: the owner moves it to practice B's.
  versions.push(await put(observation('pb', 125)));
  tokens.a1 = userToken(db, { userId: 'u-a1', roles: 'practitioner', practitionerId: 'a1', organizations: '' });
  tokens.b1 = userToken(db, { userId: 'u-b1', roles: 'practitioner', practitionerId: 'b1', organizations: '' });
  tokens.c1 = userToken(db, { userId: 'u-c1', roles: 'practitioner', practitionerId: 'c1', organizations: '' });
});

describe('a version is seen by those who may see it as it is', () => {
  it('the new practice does not read the versions from before the move', async () => {
    expect((await as('b1', 'Observation/moved')).status).toBe(200);
    for (const earlier of versions.slice(0, 2)) {
      const vread = await as('b1', `Observation/moved/_history/${earlier}`);
      expect(vread.status).toBe(404);
      expect(vread.body.resourceType).toBe('OperationOutcome');
      expect(vread.body.issue[0].diagnostics).toBe(`Observation/moved has no version '${earlier}'`);
    }
    expect((await as('b1', `Observation/moved/_history/${versions[2]}`)).status).toBe(200);
    expect(versionIds((await as('b1', 'Observation/moved/_history')).body)).toEqual([versions[2]]);
    expect(versionIds((await as('b1', 'Observation/_history?_count=100')).body)).toEqual([versions[2]]);
    expect(versionIds((await as('b1', '_history?_count=100')).body)).toEqual([versions[2]]);
  });

  it('the first practice keeps the history of its own record, not what it became', async () => {
    expect((await as('a1', 'Observation/moved')).status).toBe(404);
    for (const earlier of versions.slice(0, 2)) {
      const vread = await as('a1', `Observation/moved/_history/${earlier}`);
      expect(vread.status).toBe(200);
      expect(vread.body.subject.reference).toBe('Patient/pa');
    }
    expect((await as('a1', `Observation/moved/_history/${versions[2]}`)).status).toBe(404);
    const history = await as('a1', 'Observation/moved/_history');
    expect(history.status).toBe(200);
    expect(versionIds(history.body)).toEqual([versions[1], versions[0]]);
    expect(versionIds((await as('a1', 'Observation/moved/_history?_count=1')).body)).toEqual([versions[1]]);
    expect(versionIds((await as('a1', 'Observation/_history?_count=100')).body)).toEqual([versions[1], versions[0]]);
  });

  it('a caller who never saw a version finds no resource', async () => {
    const history = await as('c1', 'Observation/moved/_history');
    expect(history.status).toBe(404);
    expect(history.body.issue[0].diagnostics).toBe('Observation/moved does not exist');
    expect((await as('c1', 'Observation/nothing-here/_history')).body.issue[0].diagnostics).toBe('Observation/nothing-here does not exist');
    for (const version of versions) expect((await as('c1', `Observation/moved/_history/${version}`)).status).toBe(404);
    expect(versionIds((await as('c1', 'Observation/_history?_count=100')).body)).toEqual([]);
  });

  it('the owner reads every version', async () => {
    expect(versionIds((await (await node().request('Observation/moved/_history')).json()) as Json)).toEqual([...versions].reverse());
  });
});
