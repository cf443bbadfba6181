import { describe, expect, it } from 'vitest';
import { DenseTerms, hasKey } from '../../../src-server/text/dense-terms';

/** The bitsets of long posting lists: the keys of the list, made again when the list changes, kept within a budget. */

const list = (...keys: number[]) => Uint32Array.from(keys);

describe('dense terms', () => {
  it('holds exactly the keys of the list', () => {
    const bits = new DenseTerms().bitsOf('t', list(1, 31, 32, 33, 64, 1000));
    for (let key = 0; key < 1100; key++) expect(hasKey(bits, key)).toBe([1, 31, 32, 33, 64, 1000].includes(key));
    expect(hasKey(bits, 1 << 30)).toBe(false);
  });

  it('is made again once keys are added to the list or swept from it', () => {
    const dense = new DenseTerms();
    const first = dense.bitsOf('t', list(3, 5, 8));
    expect(dense.bitsOf('t', list(3, 5, 8))).toBe(first);
    const grown = dense.bitsOf('t', list(3, 5, 8, 40));
    expect(hasKey(grown, 40)).toBe(true);
    const swept = dense.bitsOf('t', list(5, 8, 40));
    expect(hasKey(swept, 3)).toBe(false);
    expect(dense.size()).toBe(swept.byteLength);
  });

  it('keeps within its budget, dropping the least recently used', () => {
    // Each bitset of keys up to 32,767 takes 4 KiB: three fit in 12 KiB.
    const dense = new DenseTerms(3 * 4096);
    const a = dense.bitsOf('a', list(32_767));
    dense.bitsOf('b', list(32_767));
    dense.bitsOf('c', list(32_767));
    expect(dense.bitsOf('a', list(32_767))).toBe(a);
    dense.bitsOf('d', list(32_767));
    expect(dense.size()).toBe(3 * 4096);
    // b was the least recently used: made again; a was kept.
    expect(dense.bitsOf('a', list(32_767))).toBe(a);
    const b = dense.bitsOf('b', list(32_767));
    expect(dense.bitsOf('b', list(32_767))).toBe(b);
    expect(dense.size()).toBe(3 * 4096);
  });

  it('gives a bitset only to lists of at least a 128th of the keys, and a few thousand', () => {
    expect(DenseTerms.isDense(new Uint32Array(4095), 10_000)).toBe(false);
    expect(DenseTerms.isDense(new Uint32Array(4096), 10_000)).toBe(true);
    expect(DenseTerms.isDense(new Uint32Array(10_000), 2_000_000)).toBe(false);
    expect(DenseTerms.isDense(new Uint32Array(15_625), 2_000_000)).toBe(true);
  });
});
