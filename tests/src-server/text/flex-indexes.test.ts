import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FlexIndexes } from '../../../src-server/text/flex-indexes';
import { loadSnapshot, saveSnapshot } from '../../../src-server/text/snapshot';

const KEY = randomBytes(32);

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const names = (indexes: FlexIndexes, query: string) => indexes.search('Practitioner', 'name', query.split(' '), 100).sort((a, b) => a - b);

describe('FlexIndexes', () => {
  it('matches word prefixes across words, and forgets a removed or replaced version', () => {
    const indexes = new FlexIndexes();
    indexes.put('Practitioner', 1, { name: 'claire martin lyon' });
    indexes.put('Practitioner', 2, { name: 'paul martinez paris' });
    expect(names(indexes, 'mar')).toEqual([1, 2]);
    expect(names(indexes, 'martin ly')).toEqual([1]);
    indexes.remove(1);
    expect(names(indexes, 'mar')).toEqual([2]);
    // The same version indexed again (its work cities changed): the new words only.
    indexes.put('Practitioner', 2, { name: 'paul martinez lille' });
    expect(names(indexes, 'paris')).toEqual([]);
    expect(names(indexes, 'lil')).toEqual([2]);
    expect(indexes.counts()).toEqual({ live: 1, dead: 2 });
  });

  it('fills a full answer with live versions although dead ones come first, and sweeps dead keys out', () => {
    const indexes = new FlexIndexes();
    for (let vseq = 1; vseq <= 50; vseq++) indexes.put('Practitioner', vseq, { name: 'durand' });
    for (let vseq = 1; vseq <= 40; vseq++) indexes.remove(vseq);
    expect(indexes.search('Practitioner', 'name', ['durand'], 10)).toHaveLength(10);
    expect(names(indexes, 'durand')).toEqual(Array.from({ length: 10 }, (_, i) => 41 + i));
    indexes.sweep();
    expect(indexes.counts()).toEqual({ live: 10, dead: 0 });
    expect(names(indexes, 'du')).toEqual(Array.from({ length: 10 }, (_, i) => 41 + i));
  });

  it('answers every term together, newest first and cut at the limit, as a plain intersection would', () => {
    // Words from a small alphabet, so that prefixes of one or two letters match long, overlapping posting lists.
    const word = fc.stringMatching(/^[abc]{1,4}$/);
    const document = fc.array(word, { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(
        fc.array(document, { minLength: 1, maxLength: 120 }),
        fc.array(fc.integer({ min: 1, max: 120 }), { maxLength: 40 }),
        fc.array(fc.stringMatching(/^[abc]{1,3}$/), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 130 }),
        (documents, removed, terms, limit, countUpTo) => {
          const indexes = new FlexIndexes();
          documents.forEach((words, at) => indexes.put('Practitioner', at + 1, { name: words.join(' ') }));
          for (const vseq of removed) indexes.remove(vseq);
          const gone = new Set(removed);
          const expected = documents
            .map((words, at) => ({ vseq: at + 1, words }))
            .filter(({ vseq, words }) => !gone.has(vseq) && terms.every((term) => words.some((candidate) => candidate.startsWith(term))))
            .map(({ vseq }) => vseq)
            .reverse();
          expect(indexes.search('Practitioner', 'name', terms, limit)).toEqual(expected.slice(0, limit));
          // The same page, and every match counted up to the larger of the two bounds (the API's default total).
          expect(indexes.searchCounting('Practitioner', 'name', terms, limit, countUpTo)).toEqual({ vseqs: expected.slice(0, limit), count: Math.min(expected.length, Math.max(limit, countUpTo)) });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers as a plain model would while writes, removals, searches and sweeps interleave (searches and sweeps compact the postings)', () => {
    const word = fc.stringMatching(/^[ab]{1,3}$/);
    const operation = fc.oneof(
      fc.record({ put: fc.integer({ min: 1, max: 30 }), words: fc.array(word, { minLength: 1, maxLength: 3 }) }),
      fc.record({ remove: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ search: fc.array(fc.stringMatching(/^[ab]{1,2}$/), { minLength: 1, maxLength: 2 }) }),
      fc.constant({ sweep: true as const }),
      fc.constant({ idle: true as const }),
    );
    fc.assert(
      fc.property(fc.array(operation, { minLength: 1, maxLength: 80 }), (operations) => {
        const indexes = new FlexIndexes();
        // vseq → its words; a vseq put again is that version indexed again (its words replaced).
        const model = new Map<number, string[]>();
        const expected = (terms: string[]) =>
          [...model]
            .filter(([, words]) => terms.every((term) => words.some((candidate) => candidate.startsWith(term))))
            .map(([vseq]) => vseq)
            .sort((a, b) => b - a);
        for (const op of operations) {
          if ('put' in op) {
            indexes.put('Practitioner', op.put, { name: op.words.join(' ') });
            model.set(op.put, op.words);
          } else if ('remove' in op) {
            indexes.remove(op.remove);
            model.delete(op.remove);
          } else if ('search' in op) {
            expect(indexes.search('Practitioner', 'name', op.search, 100)).toEqual(expected(op.search));
            // Past a page of two (the two most recently indexed), matches are counted by whether their keys are live.
            const all = expected(op.search);
            const { vseqs, count } = indexes.searchCounting('Practitioner', 'name', op.search, 2, 100);
            expect(count).toBe(all.length);
            expect(vseqs).toHaveLength(Math.min(2, all.length));
            expect(all).toEqual(expect.arrayContaining(vseqs));
          }
          else if ('sweep' in op) indexes.sweep();
          else indexes.sweepWhenIdle();
        }
        for (const terms of [['a'], ['b'], ['ab'], ['a', 'b'], ['ba', 'aa']]) expect(indexes.search('Practitioner', 'name', terms, 100)).toEqual(expected(terms));
        expect(indexes.counts().live).toBe(model.size);
      }),
      { numRuns: 400 },
    );
  });

  it('intersects long lists through their bitsets as a plain intersection would, as they grow and lose keys', () => {
    const indexes = new FlexIndexes();
    // Words shared by thousands, long enough for bitsets (dense-terms.ts) ANDed word by word, and a rare one walked
    // against the bitsets of the others.
    const words = (vseq: number) => `w${vseq % 2} x${vseq % 3} y${vseq % 5}${vseq % 1000 === 0 ? ' z' : ''}`;
    const model = new Map<number, string>();
    const put = (vseq: number) => {
      indexes.put('Organization', vseq, { name: words(vseq) });
      model.set(vseq, words(vseq));
    };
    const expected = (terms: string[]) =>
      [...model]
        .filter(([, text]) => terms.every((term) => text.split(' ').includes(term)))
        .map(([vseq]) => vseq)
        .sort((a, b) => b - a);
    const check = (terms: string[]) => {
      const all = expected(terms);
      expect(indexes.searchCounting('Organization', 'name', terms, 30, 5000)).toEqual({ vseqs: all.slice(0, 30), count: Math.min(all.length, 5000) });
    };
    for (let vseq = 1; vseq <= 30_000; vseq++) put(vseq);
    for (const terms of [['w0', 'x1'], ['x2', 'w1'], ['y3', 'w0', 'x0'], ['z', 'w0'], ['x1', 'z', 'y0']]) check(terms);
    // Keys added to the lists after their bitsets were made, and keys removed.
    for (let vseq = 30_001; vseq <= 30_300; vseq++) put(vseq);
    for (let vseq = 29_000; vseq <= 30_300; vseq += 7) {
      indexes.remove(vseq);
      model.delete(vseq);
    }
    for (const terms of [['w0', 'x1'], ['x2', 'w1'], ['y3', 'w0', 'x0'], ['z', 'w0'], ['x1', 'z', 'y0']]) check(terms);
    indexes.sweep();
    for (const terms of [['w0', 'x1'], ['x2', 'w1'], ['y3', 'w0', 'x0'], ['z', 'w0'], ['x1', 'z', 'y0']]) check(terms);
  });

  it('sweeps by itself once dead keys are many', () => {
    const indexes = new FlexIndexes();
    for (let vseq = 1; vseq <= 30_000; vseq++) indexes.put('Organization', vseq, { name: `site${vseq % 7}` });
    for (let vseq = 1; vseq <= 10_000; vseq++) indexes.remove(vseq);
    expect(indexes.counts()).toEqual({ live: 20_000, dead: 0 });
    expect(indexes.search('Organization', 'name', ['site3'], 100_000)).toHaveLength(2857);
  });
});

describe('snapshot', () => {
  it('loads back the same answers, with the keys of replaced versions gone', async () => {
    const indexes = new FlexIndexes();
    indexes.put('Practitioner', 7, { name: 'hélène', content: 'cardiologue' });
    indexes.put('Practitioner', 9, { name: 'helene dupont lyon', address: '3 rue de la paix' });
    indexes.put('Organization', 12, { name: 'clinique du parc', content: 'chirurgie' });
    indexes.put('Practitioner', 9, { name: 'helene dupont villeurbanne' });
    indexes.remove(7);
    const folder = join(mkdtempSync(join(tmpdir(), 'liaison-snapshot-')), 'text-index');
    folders.push(folder.replace(/\/text-index$/, ''));
    await saveSnapshot(folder, indexes, { nodeId: 'node-a', cursor: 42 }, KEY);
    const loaded = new FlexIndexes();
    expect(loadSnapshot(folder, loaded, 'node-a', 42, KEY)).toBe(42);
    expect(names(loaded, 'hel')).toEqual([9]);
    expect(names(loaded, 'helene vil')).toEqual([9]);
    expect(names(loaded, 'lyon')).toEqual([]);
    expect(loaded.search('Organization', 'content', ['chirurgie'], 10)).toEqual([12]);
    expect(loaded.counts()).toEqual({ live: 2, dead: 0 });
    // Writes after the load go on from the snapshot's keys, and counts follow them.
    loaded.put('Practitioner', 13, { name: 'hugo' });
    loaded.put('Practitioner', 14, { name: 'henri' });
    expect(names(loaded, 'h')).toEqual([9, 13, 14]);
    loaded.remove(9);
    expect(loaded.searchCounting('Practitioner', 'name', ['h'], 1, 10)).toEqual({ vseqs: [14], count: 2 });
  });

  it('is not used for another node or a database behind it, and a truncated file is an error', async () => {
    const indexes = new FlexIndexes();
    indexes.put('Practitioner', 1, { name: 'martin' });
    const folder = join(mkdtempSync(join(tmpdir(), 'liaison-snapshot-')), 'text-index');
    folders.push(folder.replace(/\/text-index$/, ''));
    await saveSnapshot(folder, indexes, { nodeId: 'node-a', cursor: 5 }, KEY);
    expect(loadSnapshot(folder, new FlexIndexes(), 'node-b', 5, KEY)).toBeUndefined();
    expect(loadSnapshot(folder, new FlexIndexes(), 'node-a', 4, KEY)).toBeUndefined();
    const file = join(folder, 'index.bin');
    writeFileSync(file, readFileSync(file).subarray(0, 24));
    expect(() => loadSnapshot(folder, new FlexIndexes(), 'node-a', 5, KEY)).toThrow(/cut short/);
  });
});
