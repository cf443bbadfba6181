import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIRST_TEXT_MATCHES, SNAPSHOT_FOLDER } from '../../../src-server/text/text-index';
import { startTestNode, tempDir, type TestNode } from '../../helpers/node';

/**
 * The background text index on a real node: Lifen's directory semantics (word prefixes, terms across names and
 * the cities a practitioner works in, case and accents ignored), `_content` and `_text`, following updates,
 * reported in /health, and kept across a restart.
 */

type Json = Record<string, any>;

const dataDir = tempDir();
let node: TestNode;

const ids = (bundle: Json): string[] => (bundle.entry ?? []).map((entry: Json) => entry.resource.id).sort();
async function search(path: string): Promise<{ status: number; body: Json }> {
  const response = await node.request(path);
  return { status: response.status, body: (await response.json()) as Json };
}
async function caughtUp(): Promise<void> {
  const latest = (node.db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq;
  await node.textIndex.caughtUp(latest);
}

function directory(): void {
  const { repository } = node;
  const practitioner = (id: string, family: string, given: string, text?: string) =>
    repository.update('Practitioner', id, {
      resourceType: 'Practitioner',
      id,
      name: [{ family, given: [given], prefix: ['Dr'] }],
      ...(text ? { text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${text}</p></div>` } } : {}),
    });
  practitioner('martin-lyon', 'Martin', 'Claire', 'Cardiologue, consultations le mardi');
  practitioner('martin-paris', 'Martin', 'Paul');
  practitioner('martinez', 'Martinez', 'Hélène');
  practitioner('le-gall', 'Le Gall', 'Yann');
  const organization = (id: string, name: string, city: string, line: string) =>
    repository.update('Organization', id, { resourceType: 'Organization', id, name, address: [{ line: [line], city, postalCode: city === 'Lyon' ? '69003' : '75011' }] });
  organization('clinique-lyon', 'Clinique du Parc', 'Lyon', '12 rue de la République');
  organization('msp-paris', 'Maison de santé du Port', 'Paris', '3 avenue Parmentier');
  const role = (id: string, practitioner: string, organization: string) =>
    repository.update('PractitionerRole', id, { resourceType: 'PractitionerRole', id, practitioner: { reference: `Practitioner/${practitioner}` }, organization: { reference: `Organization/${organization}` } });
  role('r1', 'martin-lyon', 'clinique-lyon');
  role('r2', 'martin-paris', 'msp-paris');
  role('r3', 'martinez', 'clinique-lyon');
}

beforeAll(async () => {
  node = await startTestNode({ dataDir });
  directory();
  await caughtUp();
});
afterAll(async () => {
  await node?.stop();
});

describe('directory search as you type', () => {
  it('matches the beginning of words, case and accents ignored', async () => {
    expect(ids((await search('Practitioner?name=mart')).body)).toEqual(['martin-lyon', 'martin-paris', 'martinez']);
    expect(ids((await search('Practitioner?name=MARTIN')).body)).toEqual(['martin-lyon', 'martin-paris', 'martinez']);
    expect(ids((await search('Practitioner?name=helene')).body)).toEqual(['martinez']);
    // "Le Gall": every word of a name begins a match, not only the first.
    expect(ids((await search('Practitioner?name=gall')).body)).toEqual(['le-gall']);
    // Not inside a word.
    expect(ids((await search('Practitioner?name=artin')).body)).toEqual([]);
  });

  it('combines terms across family, given and the cities a practitioner works in', async () => {
    expect(ids((await search('Practitioner?name=martin lyon')).body)).toEqual(['martin-lyon', 'martinez']);
    expect(ids((await search('Practitioner?name=martin%20claire')).body)).toEqual(['martin-lyon']);
    expect(ids((await search('Practitioner?name=paris mar')).body)).toEqual(['martin-paris']);
  });

  it('refuses a query of one character, as Lifen does', async () => {
    const { status, body } = await search('Practitioner?name=m');
    expect(status).toBe(400);
    expect(body.issue[0].diagnostics).toContain('at least 2 letters or digits');
    expect((await search('Practitioner?name=%20-%20')).status).toBe(400);
    // A one-letter word is fine next to others: "c martin" is Claire Martin.
    expect(ids((await search('Practitioner?name=c martin')).body)).toEqual(['martin-lyon']);
  });

  it('searches organisations by any word of their name, and addresses word by word', async () => {
    expect(ids((await search('Organization?name=port')).body)).toEqual(['msp-paris']);
    expect(ids((await search('Organization?address=rue repu')).body)).toEqual(['clinique-lyon']);
    expect(ids((await search('Organization?address=690')).body)).toEqual(['clinique-lyon']);
  });

  it('serves _content and _text, combined with SQL filters', async () => {
    expect(ids((await search('Practitioner?_text=cardiologue')).body)).toEqual(['martin-lyon']);
    expect(ids((await search('Organization?_content=parmentier')).body)).toEqual(['msp-paris']);
    expect(ids((await search('Practitioner?name=martin&_id=martin-paris')).body)).toEqual(['martin-paris']);
    const total = await search('Practitioner?name=mar&_total=accurate&_count=1');
    expect(total.body.total).toBe(3);
    expect(total.body.entry).toHaveLength(1);
    expect(total.body.link.some((link: Json) => link.relation === 'next')).toBe(true);
  });

  it('pages text matches newest first, forward and back, like any search', async () => {
    const forward: string[] = [];
    let url: string | undefined = 'Practitioner?name=mar&_count=1';
    let last: Json = {};
    while (url) {
      last = (await search(url)).body;
      forward.push(...ids(last));
      url = last.link.find((link: Json) => link.relation === 'next')?.url;
    }
    expect(forward).toEqual(['martinez', 'martin-paris', 'martin-lyon']); // written last first
    const backward: string[] = [...ids(last)];
    url = last.link.find((link: Json) => link.relation === 'previous')?.url;
    while (url) {
      const page = (await search(url)).body;
      backward.unshift(...ids(page));
      url = page.link.find((link: Json) => link.relation === 'previous')?.url;
    }
    expect(backward).toEqual(forward);
  });

  it('follows updates: a renamed practitioner, a practice that moved', async () => {
    node.repository.update('Practitioner', 'le-gall', { resourceType: 'Practitioner', id: 'le-gall', name: [{ family: 'Le Goff', given: ['Yann'] }] });
    node.repository.update('Organization', 'msp-paris', { resourceType: 'Organization', id: 'msp-paris', name: 'Maison de santé du Port', address: [{ city: 'Brest' }] });
    await caughtUp();
    expect(ids((await search('Practitioner?name=gall')).body)).toEqual([]);
    expect(ids((await search('Practitioner?name=goff')).body)).toEqual(['le-gall']);
    expect(ids((await search('Practitioner?name=martin brest')).body)).toEqual(['martin-paris']);
    expect(ids((await search('Practitioner?name=martin paris')).body)).toEqual([]);
  });

  it('reports its lag in /health', async () => {
    const health = (await (await fetch(`${node.url}/health`)).json()) as Json;
    expect(health.textIndex.ready).toBe(true);
    expect(health.textIndex.lagMs).toBe(0);
    expect(health.textIndex.indexedSeq).toBeGreaterThan(0);
    expect(health.textIndex.lagP95Ms).toBeGreaterThanOrEqual(0);
  });

  it('is kept across a restart: loaded from its snapshot, not rebuilt', async () => {
    await node.close();
    expect(existsSync(join(dataDir, SNAPSHOT_FOLDER, 'meta.sealed'))).toBe(true);
    node = await startTestNode({ dataDir });
    await caughtUp();
    const status = await node.textIndex.status();
    expect(status.startedFrom).toBe('snapshot');
    expect(ids((await search('Practitioner?name=goff')).body)).toEqual(['le-gall']);
    // Loaded entries are removed on update like fresh ones.
    node.repository.update('Practitioner', 'le-gall', { resourceType: 'Practitioner', id: 'le-gall', name: [{ family: 'Le Bihan', given: ['Yann'] }] });
    await caughtUp();
    expect(ids((await search('Practitioner?name=goff')).body)).toEqual([]);
    expect(ids((await search('Practitioner?name=bihan')).body)).toEqual(['le-gall']);
  });
});

describe('text matches beyond the newest', () => {
  // A search is first given the newest FIRST_TEXT_MATCHES matches of its text filter; these need the older ones.
  let many: TestNode;
  const count = FIRST_TEXT_MATCHES + 50;
  const find = async (path: string) => (await (await many.request(path)).json()) as Json;

  beforeAll(async () => {
    many = await startTestNode();
    many.repository.transaction(() => {
      for (let index = 0; index < count; index++) {
        const id = `durand-${String(index).padStart(5, '0')}`;
        // The three oldest are women; every later one a man.
        many.repository.update('Practitioner', id, { resourceType: 'Practitioner', id, gender: index < 3 ? 'female' : 'male', name: [{ family: 'Durand', given: [`P${index}`] }] });
      }
    });
    const latest = (many.db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq;
    await many.textIndex.caughtUp(latest);
  });
  afterAll(async () => {
    await many?.stop();
  });

  it('finds them when the newest do not fill the page', async () => {
    expect(ids(await find('Practitioner?name=durand&gender=female'))).toEqual(['durand-00000', 'durand-00001', 'durand-00002']);
    // The same as a form posted to _search, which runs on the write path.
    const posted = await many.request('Practitioner/_search', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=durand&gender=female' });
    expect(ids((await posted.json()) as Json)).toEqual(['durand-00000', 'durand-00001', 'durand-00002']);
    const newest = await find('Practitioner?name=durand&_count=2');
    expect(ids(newest)).toEqual([`durand-${String(count - 2).padStart(5, '0')}`, `durand-${String(count - 1).padStart(5, '0')}`]);
  });

  it('counts and sorts over all of them', async () => {
    expect((await find('Practitioner?name=durand&_total=accurate&_count=1')).total).toBe(count);
    expect(ids(await find('Practitioner?name=durand&_sort=gender&_count=3'))).toEqual(['durand-00000', 'durand-00001', 'durand-00002']);
  });

  it('pages past them', async () => {
    let bundle = await find("Practitioner?name=durand&_count=100");
    const seen = new Set<string>(ids(bundle));
    for (let next = bundle.link.find((link: Json) => link.relation === 'next'); next; next = bundle.link.find((link: Json) => link.relation === 'next')) {
      bundle = await find(String(next.url).replace(/^.*\/fhir\//, ''));
      for (const id of ids(bundle)) seen.add(id);
    }
    expect(seen.size).toBe(count);
  });
});
