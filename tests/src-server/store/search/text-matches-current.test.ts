import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textMatchKey, type TextMatch } from '../../../../src-server/store/search/conditions';
import { SearchEngine } from '../../../../src-server/store/search/search';
import { openTestStore } from '../../../helpers/store';

/**
 * The text index answers with the versions it holds and the last change it had applied. A page takes them as they
 * are only when that change is the store's last; an index behind the store may still list a version replaced since,
 * which must never be a result (a practitioner found under the name they had before).
 */

const { db, repository, close } = openTestStore('liaison-text-current-');
let engine: SearchEngine;

/** The vseq of a practitioner's first version. */
const firstVseq = (id: string) => (db.prepare("SELECT min(vseq) AS vseq FROM resource_versions WHERE resource_type = 'Practitioner' AND resource_id = ?").get(id) as { vseq: number }).vseq;
const latestChange = () => (db.prepare('SELECT max(seq) AS seq FROM change_log').get() as { seq: number }).seq;
const practitioner = (id: string, family: string) => repository.update('Practitioner', id, { resourceType: 'Practitioner', id, name: [{ family }] });

function search(match: TextMatch): { ids: string[]; families: string[]; total: number | undefined } {
  const result = engine.search({
    resourceType: 'Practitioner',
    params: new URLSearchParams({ name: 'dupont' }),
    lenient: false,
    base: 'http://localhost/fhir',
    defaultTotal: 'estimate',
    textMatches: new Map([[textMatchKey('Practitioner', 'name', 'dupont'), match]]),
  });
  return {
    ids: result.matches.map((resource) => resource.id),
    families: result.matches.map((resource) => (JSON.parse(resource.json) as { name: Array<{ family: string }> }).name[0].family),
    total: result.total,
  };
}

let renamedBefore: number;
let kept: number;
let indexedBeforeRename: number;

beforeAll(() => {
  engine = new SearchEngine(db, repository.searchIndex);
  practitioner('kept', 'Dupont');
  practitioner('renamed', 'Dupont');
  indexedBeforeRename = latestChange();
  practitioner('renamed', 'Durand');
  renamedBefore = firstVseq('renamed');
  kept = firstVseq('kept');
});
afterAll(close);

describe('a text search page and the versions the index lists', () => {
  it('leaves out a version replaced after the change the index had applied', () => {
    const behind = search({ vseqs: [renamedBefore, kept], partial: false, indexedSeq: indexedBeforeRename });
    expect(behind.ids).toEqual(['kept']);
    expect(behind.families).toEqual(['Dupont']);
  });

  it('checks every version when the index did not say where it stood', () => {
    expect(search({ vseqs: [renamedBefore, kept], partial: false }).ids).toEqual(['kept']);
  });

  it('takes the versions as listed once the index had applied the store’s last change', () => {
    // What an index caught up lists for "dupont": the renamed practitioner's first version is gone from it.
    const caughtUp = search({ vseqs: [kept], partial: false, count: 1, indexedSeq: latestChange() });
    expect(caughtUp).toEqual({ ids: ['kept'], families: ['Dupont'], total: 1 });
  });
});
