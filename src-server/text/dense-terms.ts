/**
 * Bitsets of the longest posting lists, one bit a key, for the intersections of text searches (flex-indexes.ts).
 *
 * A query of two words walks the shorter word's keys and looks each up in the longer word's list. With both lists
 * long (a family name and a city: some 20,000 and 110,000 keys nationally) that walk costs as much as the two lists
 * together, stepped or galloped, to count the 1,001 matches of a default total; a bitset answers each lookup with one
 * read, so the walk costs only the shorter list's keys. A bitset is as big as the key table (a bit a key: 280 KB for
 * a national directory), so only lists of at least a 128th of the keys get one, made when a search first needs it;
 * they are kept within BITSET_CACHE_BYTES, the least recently used dropped first.
 */

/** Memory the bitsets may take together (a national directory: some 230 of them). */
export const BITSET_CACHE_BYTES = 64 * 1024 * 1024;
/** A list gets a bitset from this share of the key table's size (and never below MIN_DENSE_LENGTH keys). */
const DENSE_SHARE = 1 / 128;
const MIN_DENSE_LENGTH = 4096;

interface Dense {
  bits: Uint32Array;
  /** The list the bits were made from, by its length and its last key: a list only changes by keys added at its end (a greater last key) or dead keys swept (a shorter list). */
  length: number;
  last: number;
}

export class DenseTerms {
  /** By index and term, in order of use (a Map keeps insertion order: used entries are moved to its end). */
  private readonly cache = new Map<string, Dense>();
  private bytes = 0;

  constructor(private readonly budget = BITSET_CACHE_BYTES) {}

  /** Whether a list is long enough, among `keys` keys in all, to be looked up through its bitset. */
  static isDense(list: Uint32Array, keys: number): boolean {
    return list.length >= Math.max(MIN_DENSE_LENGTH, keys * DENSE_SHARE);
  }

  /** Whether a list has as many keys as its bitset has words (a 32nd of the key table): ANDing bitsets word by word then reads no more than walking the list. */
  static isWordDense(list: Uint32Array, keys: number): boolean {
    return list.length >= Math.max(MIN_DENSE_LENGTH, keys / 32);
  }

  /** The bitset of a term's list (sorted keys), made now if it has none or its list has changed since. */
  bitsOf(name: string, list: Uint32Array): Uint32Array {
    const last = list[list.length - 1];
    const known = this.cache.get(name);
    if (known) {
      this.cache.delete(name);
      if (known.length === list.length && known.last === last) {
        this.cache.set(name, known);
        return known.bits;
      }
      this.bytes -= known.bits.byteLength;
    }
    const bits = new Uint32Array((last >>> 5) + 1);
    for (let at = 0; at < list.length; at++) bits[list[at] >>> 5] |= 1 << (list[at] & 31);
    this.cache.set(name, { bits, length: list.length, last });
    this.bytes += bits.byteLength;
    for (const [oldest, dense] of this.cache) {
      if (this.bytes <= this.budget || oldest === name) break;
      this.cache.delete(oldest);
      this.bytes -= dense.bits.byteLength;
    }
    return bits;
  }

  /** Memory the bitsets take now. */
  size(): number {
    return this.bytes;
  }

  clear(): void {
    this.cache.clear();
    this.bytes = 0;
  }
}

/** Whether a key's bit is set (a key past the bitset's end is not). */
export function hasKey(bits: Uint32Array, key: number): boolean {
  const word = key >>> 5;
  return word < bits.length && ((bits[word] >>> (key & 31)) & 1) === 1;
}
