import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { flexIndex, type FlexInternals } from '../../../src-server/text/flex-indexes';

/**
 * What src-server/text/flex-indexes.ts relies on in FlexSearch beyond its public API (docs/access.md, "The text
 * index"): it adds documents with `add`, then searches, sweeps and snapshots by reading and writing the index's
 * private `map` itself. A FlexSearch that stored, keyed, tokenized or encoded otherwise would break text search
 * silently, so the version is pinned and this canary fails on any such change: run it before moving the pin.
 */

const internals = (index: unknown) => index as FlexInternals & Record<string, unknown>;
const prefixes = (word: string) => Array.from({ length: word.length }, (_, at) => word.slice(0, at + 1));
/** The map as plain data: term → its slots. */
const contents = (index: unknown) => Object.fromEntries(internals(index).map);

describe('FlexSearch as flex-indexes.ts uses it', () => {
  it('is the exact version package.json pins, no range', () => {
    const pinned = (JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> }).dependencies.flexsearch;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect((JSON.parse(readFileSync('node_modules/flexsearch/package.json', 'utf8')) as { version: string }).version).toBe(pinned);
  });

  it('writes, for name and address, every prefix of every word into `map`: term → one slot of keys, in the order added, each once', () => {
    const index = flexIndex('name');
    index.add(1, 'martin lyon');
    index.add(2, 'marie');
    index.add(3, 'lyon martin martine');
    expect(internals(index).map).toBeInstanceOf(Map);
    const expected: Record<string, number[][]> = {};
    for (const [key, words] of [[1, ['martin', 'lyon']], [2, ['marie']], [3, ['lyon', 'martin', 'martine']]] as const) {
      for (const term of new Set(words.flatMap(prefixes))) (expected[term] ??= [[]])[0].push(key);
    }
    expect(contents(index)).toEqual(expected);
    expect(contents(index).mar).toEqual([[1, 2, 3]]);
  });

  it('writes, for content and text, whole words only', () => {
    const index = flexIndex('content');
    index.add(4, 'cardiologue paris');
    index.add(5, 'paris');
    expect(contents(index)).toEqual({ cardiologue: [[4]], paris: [[4, 5]] });
  });

  it('takes the words exactly as the encoder splits them: no case folding, no accents removed, no other separator, no length limit', () => {
    const index = flexIndex('content');
    const long = 'x'.repeat(64);
    index.add(6, `d'almeida jean-pierre 75013 ÉCOLE a ${long}`);
    expect(Object.keys(contents(index)).sort()).toEqual(["d'almeida", 'jean-pierre', '75013', 'ÉCOLE', 'a', long].sort());
  });

  it('keeps nothing per document but the postings: `add` asks the register only whether the key is there, then adds it', () => {
    const index = flexIndex('name');
    // The register flex-indexes.ts installs holds nothing.
    expect((internals(index).reg as { has(key: number): boolean }).has(1)).toBe(false);
    const calls: Array<[string, number]> = [];
    internals(index).reg = {
      size: 0,
      has: (key: number) => (calls.push(['has', key]), false),
      add: (key: number) => void calls.push(['add', key]),
      delete: () => false,
      clear() {},
    };
    index.add(7, 'durand lille');
    expect(calls).toEqual([
      ['has', 7],
      ['add', 7],
    ]);
    // No other collection of the index fills up (context terms, a cache, pending commits…).
    for (const [name, value] of Object.entries(internals(index))) {
      if (name === 'map' || name === 'reg') continue;
      if (value instanceof Map || value instanceof Set) expect(value.size, name).toBe(0);
      if (Array.isArray(value)) expect(value, name).toEqual([]);
    }
  });

  it('starts a term afresh once it is taken out of `map`, as a search or a sweep compacting it leaves it', () => {
    const index = flexIndex('name');
    index.add(5, 'lyon');
    internals(index).map.delete('ly');
    index.add(9, 'ly');
    expect(contents(index)).toEqual({ l: [[5, 9]], ly: [[9]], lyo: [[5]], lyon: [[5]] });
  });
});
