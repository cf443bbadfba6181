import { Index } from 'flexsearch';
import { TEXT_FIELDS_OF, type TextDocument, type TextField } from '../fhir/search/text-fields';
import { DenseTerms, hasKey } from './dense-terms';

/**
 * The FlexSearch indexes, one per (type, field). Words come normalised (text-fields.ts): the encoder only splits
 * them. `name` and `address` index every prefix of every word (as-you-type); `_content` and `_text` whole words.
 *
 * Memory is what limits a national directory on a desktop, so documents are not removed from FlexSearch: that
 * needs either its register (each document's posting lists, about as big as the postings themselves) or a scan
 * of the whole index per removal. Instead FlexSearch holds *keys*, and a key maps to the resource version (vseq)
 * it was made from; removing a version kills its key in O(1), searches skip dead keys, and once dead keys are a
 * fair share of the postings a sweep drops them from the posting lists in one pass. A version indexed again (a
 * practitioner whose work cities changed) gets a fresh key.
 *
 * FlexSearch's posting lists are arrays of small integers, 8 bytes a key in V8: the postings are nearly all of the
 * index (national directory: 153 million keys, 76 per document), so they are *compacted* into 32-bit arrays of
 * their own, half that. FlexSearch keeps adding new keys to its arrays; a term's are moved after its compacted keys
 * when it is searched (keys only grow, so the list stays sorted), and all of them by a sweep, when the index is idle
 * and when a snapshot is taken. A snapshot loads straight into compacted lists.
 */

const split = (text: string) => (text ? text.split(' ') : []);
const PREFIXED: ReadonlySet<TextField> = new Set(['name', 'address']);
/** FlexSearch's own id register is not needed (keys are never added twice nor removed): one that holds nothing. */
const NO_REGISTER = { size: 0, has: () => false, add() {}, delete: () => false, clear() {} };
/** Dead keys swept at the latest when they are this share of the live ones (and at least SWEEP_MIN). */
const SWEEP_RATIO = 0.2;
const SWEEP_MIN = 10_000;
/** Once caught up with the change log, dead keys are swept, and new keys compacted, past this share of the live ones. */
const IDLE_SWEEP_RATIO = 0.02;
/** Room left in the key tables after a snapshot loads (they double when full): the writes of a while. */
const KEY_TABLE_ROOM = 1 << 16;

/**
 * The parts of a FlexSearch Index this module reads and fills directly (not in its typings): FlexSearch is pinned
 * to an exact version in package.json, and tests/src-server/text/flexsearch-contract.test.ts fails when what is
 * relied on here changes (this shape, what `add` writes into it, the words taken as the encoder gives them).
 */
export interface FlexInternals {
  /** term → posting lists by score slot (one slot: `resolution: 1`), each the keys in the order they were added. */
  map: Map<string, Array<number[] | undefined>>;
  reg: unknown;
}

/** One (type, field) index: prefixes or whole words, words as given, one score slot, no register. */
export function flexIndex(field: TextField): Index {
  const index = new Index({ tokenize: PREFIXED.has(field) ? 'forward' : 'strict', encode: split, resolution: 1 });
  (index as unknown as FlexInternals).reg = NO_REGISTER;
  return index;
}

/** A (type, field)'s postings: the keys FlexSearch added since they were last compacted, and the compacted ones. */
interface FieldIndex {
  added: FlexInternals['map'];
  flex: Index;
  compacted: Map<string, Uint32Array>;
}

export class FlexIndexes {
  private readonly indexes = new Map<string, FieldIndex>();
  /** key → the vseq it was made from; 0 for a dead key. */
  private vseqOfKey = new Uint32Array(1 << 16);
  /**
   * One bit a key, set while it is live (vseqOfKey non-zero): counting a text search's matches past its page reads
   * only whether each is live, and a term's keys are spread over the whole key table, so each would be a cache miss
   * in vseqOfKey (4 bytes a key) where the bits of the same keys are 32 times closer together.
   */
  private liveBits = new Uint32Array(1 << 11);
  /** vseq → its live key; 0 for none. */
  private keyOfVseq = new Uint32Array(1 << 16);
  private nextKey = 1;
  private liveKeys = 0;
  private deadKeys = 0;
  /** Versions put since the last compaction. */
  private putsSinceCompaction = 0;
  /** Bitsets of the longest lists, for intersections. */
  private readonly dense = new DenseTerms();

  constructor() {
    for (const [type, fields] of Object.entries(TEXT_FIELDS_OF)) {
      for (const field of fields) {
        const flex = flexIndex(field);
        this.indexes.set(key(type, field), { flex, added: (flex as unknown as FlexInternals).map, compacted: new Map() });
      }
    }
  }

  /** Indexes a version, replacing what was indexed for that same version before. */
  put(resourceType: string, vseq: number, document: TextDocument): void {
    this.remove(vseq);
    const documentKey = this.newKey(vseq);
    this.putsSinceCompaction++;
    for (const field of TEXT_FIELDS_OF[resourceType] ?? []) {
      const text = document[field];
      if (text) this.index(resourceType, field).flex.add(documentKey, text);
    }
  }

  /** Forgets a version (nothing happens for one not indexed). */
  remove(vseq: number): void {
    const documentKey = vseq < this.keyOfVseq.length ? this.keyOfVseq[vseq] : 0;
    if (documentKey === 0) return;
    this.keyOfVseq[vseq] = 0;
    this.vseqOfKey[documentKey] = 0;
    this.liveBits[documentKey >>> 5] &= ~(1 << (documentKey & 31));
    this.liveKeys--;
    this.deadKeys++;
    if (this.deadKeys >= Math.max(SWEEP_MIN, this.liveKeys * SWEEP_RATIO)) this.sweep();
  }

  /**
   * The vseqs whose field has a word beginning with each term (whole words for content and text), at most `limit`
   * (the most recently indexed), newest first. The AND is done here on the posting lists rather than by FlexSearch's
   * search, which scores and merges every list in full: keys only ever grow, so each list is sorted, and a leapfrog
   * walk from the newest end takes the shortest list's keys in turn, finds each in the others by a galloping search
   * from where they stood, and jumps the shortest list past keys another lacks, so that it costs about the number of
   * jumps times the logarithm of their length. At the national scale a term of two letters has some 300,000
   * postings: bisecting it whole for every key of the shorter list cost milliseconds, mostly in cache misses; the
   * shortest list leading (rather than each list in turn) measured 0.91 -> 0.66 ms for two terms and 1,001 matches.
   */
  search(resourceType: string, field: TextField, terms: readonly string[], limit: number): number[] {
    return this.searchCounting(resourceType, field, terms, limit, 0).vseqs;
  }

  /**
   * `search`, and the matches counted up to `countUpTo` by the same walk going on past the list: a count of up to
   * 1,001 (the API's default total) without handing 1,001 vseqs over to the request's thread.
   */
  searchCounting(resourceType: string, field: TextField, terms: readonly string[], limit: number, countUpTo: number): { vseqs: number[]; count: number } {
    const index = this.index(resourceType, field);
    const found: Array<{ term: string; list: Uint32Array }> = [];
    for (const term of new Set(terms)) {
      const postings = postingsOf(index, term);
      if (!postings || postings.length === 0) return { vseqs: [], count: 0 };
      found.push({ term, list: postings });
    }
    if (found.length === 0) return { vseqs: [], count: 0 };
    found.sort((a, b) => a.list.length - b.list.length);
    const lists = found.map(({ list }) => list);
    const [shortest] = lists;
    // The other lists all long: looked up through their bitsets (dense-terms.ts), the walk reads only the shortest.
    if (lists.length > 1 && lists.slice(1).every((list) => DenseTerms.isDense(list, this.nextKey))) {
      const bitsOf = ({ term, list }: (typeof found)[number]) => this.dense.bitsOf(`${resourceType}.${field}|${term}`, list);
      const bits = found.slice(1).map(bitsOf);
      // The shortest as long as its bitset has words: their words ANDed, 32 keys a step.
      if (DenseTerms.isWordDense(shortest, this.nextKey)) return this.andBits([bitsOf(found[0]), ...bits], limit, countUpTo);
      return this.filterByBits(shortest, bits, limit, countUpTo);
    }
    if (lists.length === 2 && lists[1].length <= MERGE_RATIO * shortest.length) return this.mergeTwo(shortest, lists[1], limit, countUpTo);
    // Exclusive upper bounds of the other lists: keys are visited in decreasing order, so they only shrink.
    const ends = lists.map((list) => list.length);
    const vseqs: number[] = [];
    const walkTo = Math.max(limit, countUpTo);
    let count = 0;
    let at = shortest.length - 1;
    // A list of a length comparable to the shortest's is stepped through key by key (see mergeTwo), a longer one galloped.
    const stepped = lists.map((list) => list.length <= MERGE_RATIO * shortest.length);
    walk: while (at >= 0 && count < walkTo) {
      const documentKey = shortest[at];
      let agreed = true;
      for (let other = 1; other < lists.length; other++) {
        const list = lists[other];
        const position = stepped[other] ? lastAtMostStepping(list, documentKey, ends[other]) : lastAtMost(list, documentKey, ends[other]);
        if (position < 0) break walk;
        ends[other] = position + 1;
        if (list[position] !== documentKey) {
          // That list's next key is smaller: the shortest list jumps to it.
          at = stepped[other] ? lastAtMostStepping(shortest, list[position], at) : lastAtMost(shortest, list[position], at);
          agreed = false;
          break;
        }
      }
      if (!agreed) continue;
      count += this.take(documentKey, count < limit ? vseqs : undefined);
      at--;
    }
    return { vseqs: newestFirst(vseqs), count };
  }

  /**
   * Two lists of comparable lengths, merged from their newest end: one comparison a step. Leapfrogging them (two
   * gallops a step, each a loop and a bisection) cost some 40 ns a key where they interleave without matching: a
   * two-word query of national prefixes (45,000 and 67,000 postings, no match) took 4.5 ms.
   */
  private mergeTwo(a: Uint32Array, b: Uint32Array, limit: number, countUpTo: number): { vseqs: number[]; count: number } {
    const vseqs: number[] = [];
    const walkTo = Math.max(limit, countUpTo);
    let count = 0;
    let i = a.length - 1;
    let j = b.length - 1;
    while (i >= 0 && j >= 0 && count < walkTo) {
      const x = a[i];
      const y = b[j];
      if (x === y) count += this.take(x, count < limit ? vseqs : undefined);
      // Without a branch on which list steps (they interleave unpredictably): the larger key's list, or both.
      i -= Number(x >= y);
      j -= Number(y >= x);
    }
    return { vseqs: newestFirst(vseqs), count };
  }

  /** The keys of `list` set in every bitset, from its newest end: one read a key and bitset. */
  private filterByBits(list: Uint32Array, bits: readonly Uint32Array[], limit: number, countUpTo: number): { vseqs: number[]; count: number } {
    const vseqs: number[] = [];
    const walkTo = Math.max(limit, countUpTo);
    let count = 0;
    // One bitset (a query of two words), the common case, tested inline: through a call a key it took nearly twice as long.
    const [first] = bits;
    const words = first.length;
    for (let at = list.length - 1; at >= 0 && count < walkTo; at--) {
      const documentKey = list[at];
      const word = documentKey >>> 5;
      if (word >= words || ((first[word] >>> (documentKey & 31)) & 1) === 0) continue;
      let inAll = true;
      for (let other = 1; other < bits.length && inAll; other++) inAll = hasKey(bits[other], documentKey);
      if (inAll) count += this.take(documentKey, count < limit ? vseqs : undefined);
    }
    return { vseqs: newestFirst(vseqs), count };
  }

  /** The keys set in every bitset, from the greatest: their words ANDed. */
  private andBits(bits: readonly Uint32Array[], limit: number, countUpTo: number): { vseqs: number[]; count: number } {
    const vseqs: number[] = [];
    const walkTo = Math.max(limit, countUpTo);
    let count = 0;
    const words = Math.min(...bits.map((each) => each.length));
    for (let at = words - 1; at >= 0 && count < walkTo; at--) {
      let word = bits[0][at];
      for (let other = 1; other < bits.length && word !== 0; other++) word &= bits[other][at];
      while (word !== 0 && count < walkTo) {
        const bit = 31 - Math.clz32(word);
        word &= ~(1 << bit);
        count += this.take(at * 32 + bit, count < limit ? vseqs : undefined);
      }
    }
    return { vseqs: newestFirst(vseqs), count };
  }

  /**
   * A key the walk matched: 1 when it is live (its vseq pushed to `page` when given, the page not being full), 0
   * when dead. Past the page only its live bit is read.
   */
  private take(documentKey: number, page: number[] | undefined): number {
    if (page === undefined) return (this.liveBits[documentKey >>> 5] >>> (documentKey & 31)) & 1;
    const vseq = this.vseqOfKey[documentKey];
    if (vseq === 0) return 0;
    page.push(vseq);
    return 1;
  }

  /** Versions indexed, and dead keys not swept yet. */
  counts(): { live: number; dead: number } {
    return { live: this.liveKeys, dead: this.deadKeys };
  }

  /**
   * When the index has caught up (nothing else to do): sweeps if a few dead keys are left (an import leaves many),
   * or new keys are many (a rebuild, an import).
   */
  sweepWhenIdle(): void {
    const few = this.liveKeys * IDLE_SWEEP_RATIO;
    if ((this.deadKeys > 0 && this.deadKeys >= few) || (this.putsSinceCompaction > 0 && this.putsSinceCompaction >= few)) this.sweep();
  }

  /**
   * Drops the dead keys from every posting list and compacts the keys added since the last sweep: one pass over the
   * postings. A list with neither is left as it is, so a sweep after a few writes copies only the lists they touched.
   */
  sweep(): void {
    const vseqOfKey = this.vseqOfKey;
    const compact = (index: FieldIndex, term: string, compacted: Uint32Array | undefined, added: readonly number[] | undefined) => {
      let kept = 0;
      if (compacted) for (const documentKey of compacted) if (vseqOfKey[documentKey] !== 0) kept++;
      if (added) for (const documentKey of added) if (vseqOfKey[documentKey] !== 0) kept++;
      index.added.delete(term);
      if (kept === 0) index.compacted.delete(term);
      else if (added?.length || kept !== compacted?.length) {
        const list = new Uint32Array(kept);
        kept = 0;
        if (compacted) for (const documentKey of compacted) if (vseqOfKey[documentKey] !== 0) list[kept++] = documentKey;
        if (added) for (const documentKey of added) if (vseqOfKey[documentKey] !== 0) list[kept++] = documentKey;
        index.compacted.set(term, list);
      }
    };
    for (const index of this.indexes.values()) {
      for (const [term, compacted] of index.compacted) compact(index, term, compacted, index.added.get(term)?.[0]);
      for (const [term, slots] of index.added) compact(index, term, undefined, slots[0]);
    }
    this.deadKeys = 0;
    this.putsSinceCompaction = 0;
  }

  /**
   * Every index's terms and postings, as a snapshot writes them: the live versions by key, then for each index
   * its terms with their keys. Swept first, so a snapshot holds only live keys, all compacted.
   */
  *exportParts(): Generator<ExportedPart> {
    this.sweep();
    yield { kind: 'keys', vseqOfKey: this.vseqOfKey.subarray(0, this.nextKey) };
    for (const [name, index] of this.indexes) {
      yield { kind: 'index', name, terms: index.compacted.size };
      for (const [term, postings] of index.compacted) yield { kind: 'term', term, postings };
    }
  }

  /** Restores the keys of a snapshot (before its terms). */
  importKeys(vseqOfKey: Uint32Array): void {
    this.vseqOfKey = new Uint32Array(vseqOfKey.length + KEY_TABLE_ROOM);
    this.vseqOfKey.set(vseqOfKey);
    this.nextKey = Math.max(1, vseqOfKey.length);
    let maxVseq = 0;
    for (const vseq of vseqOfKey) if (vseq > maxVseq) maxVseq = vseq;
    this.keyOfVseq = new Uint32Array(maxVseq + 1 + KEY_TABLE_ROOM);
    this.liveBits = new Uint32Array((this.vseqOfKey.length >>> 5) + 1);
    this.dense.clear();
    this.liveKeys = 0;
    this.deadKeys = 0;
    this.putsSinceCompaction = 0;
    for (let documentKey = 1; documentKey < vseqOfKey.length; documentKey++) {
      const vseq = vseqOfKey[documentKey];
      if (vseq === 0) continue;
      this.keyOfVseq[vseq] = documentKey;
      this.liveBits[documentKey >>> 5] |= 1 << (documentKey & 31);
      this.liveKeys++;
    }
  }

  /** Restores one term of a snapshot's index: its posting list, keys in the order they were added. */
  importTerm(name: string, term: string, postings: Uint32Array): void {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`No text index '${name}'`);
    index.compacted.set(term, postings);
  }

  hasIndex(name: string): boolean {
    return this.indexes.has(name);
  }

  private newKey(vseq: number): number {
    const documentKey = this.nextKey++;
    if (documentKey >= this.vseqOfKey.length) this.vseqOfKey = grown(this.vseqOfKey, documentKey);
    if (documentKey >>> 5 >= this.liveBits.length) this.liveBits = grown(this.liveBits, documentKey >>> 5);
    if (vseq >= this.keyOfVseq.length) this.keyOfVseq = grown(this.keyOfVseq, vseq);
    this.vseqOfKey[documentKey] = vseq;
    this.liveBits[documentKey >>> 5] |= 1 << (documentKey & 31);
    this.keyOfVseq[vseq] = documentKey;
    this.liveKeys++;
    return documentKey;
  }

  private index(resourceType: string, field: TextField): FieldIndex {
    const index = this.indexes.get(key(resourceType, field));
    if (!index) throw new Error(`${resourceType} has no text index`);
    return index;
  }
}

export type ExportedPart =
  | { kind: 'keys'; vseqOfKey: Uint32Array }
  | { kind: 'index'; name: string; terms: number }
  | { kind: 'term'; term: string; postings: Uint32Array };

/** Up to this ratio of lengths, two posting lists are merged step by step rather than leapfrogged (mergeTwo). */
const MERGE_RATIO = 16;

/**
 * A term's keys, the ones FlexSearch added since the last sweep moved after the compacted ones (keys only grow, so
 * the list stays in order): a copy of the term's list, once after writes touched it.
 */
function postingsOf(index: FieldIndex, term: string): Uint32Array | undefined {
  const compacted = index.compacted.get(term);
  const added = index.added.get(term)?.[0];
  if (!added || added.length === 0) return compacted;
  const before = compacted?.length ?? 0;
  const list = new Uint32Array(before + added.length);
  if (compacted) list.set(compacted);
  list.set(added, before);
  index.compacted.set(term, list);
  index.added.delete(term);
  return list;
}

/**
 * Versions newest first, as the page wants them. Key order is nearly that, but a practitioner indexed again (new
 * work cities) keeps an old vseq under a new key; sorted here, in the index's thread, rather than on the request
 * path (a typed array sorts numbers natively, several times faster than a comparator).
 */
function newestFirst(vseqs: number[]): number[] {
  let ordered = true;
  for (let at = 1; at < vseqs.length && ordered; at++) ordered = vseqs[at] < vseqs[at - 1];
  if (ordered) return vseqs;
  const sorted = Float64Array.from(vseqs).sort();
  for (let at = 0; at < sorted.length; at++) vseqs[at] = sorted[sorted.length - 1 - at];
  return vseqs;
}

/**
 * The position of the last key ≤ `key` in `list[0, end)`, -1 when there is none: galloping back from `end` (the key
 * sought is usually close below the last one found), then bisecting the last gallop.
 */
function lastAtMost(list: Uint32Array, key: number, end: number): number {
  let high = end;
  let step = 1;
  let low = high - step;
  while (low >= 0 && list[low] > key) {
    high = low;
    step *= 2;
    low = high - step;
  }
  // list[high, end) > key; list[low] ≤ key when low ≥ 0.
  low = Math.max(low, 0);
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (list[middle] <= key) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** lastAtMost stepping back one key at a time: cheaper when the key is a few places away, as in lists of similar lengths. */
function lastAtMostStepping(list: Uint32Array, key: number, end: number): number {
  let at = end - 1;
  while (at >= 0 && list[at] > key) at--;
  return at;
}

function grown(array: Uint32Array<ArrayBuffer>, needed: number): Uint32Array<ArrayBuffer> {
  const bigger = new Uint32Array(Math.max(needed + 1, array.length * 2));
  bigger.set(array);
  return bigger;
}

const key = (resourceType: string, field: TextField) => `${resourceType}.${field}`;
