import { Index } from 'flexsearch';
import { TEXT_FIELDS_OF, type TextDocument, type TextField } from './text-fields';

/**
 * The FlexSearch indexes, one per (type, field). Documents are keyed by the vseq of the resource version they were
 * made from, so that a search answers vseqs the SQL side filters and pages directly. Words come normalised
 * (text-fields.ts): the encoder only splits them.
 *
 * `name` and `address` index every prefix of every word (as-you-type); `_content` and `_text` whole words, which
 * keeps the index of every string of a resource affordable. `fastupdate` keeps a register of each document's
 * entries: replacing a version removes its terms without scanning the index.
 */

const split = (text: string) => (text ? text.split(' ') : []);
const PREFIXED: ReadonlySet<TextField> = new Set(['name', 'address']);

export class FlexIndexes {
  private readonly indexes = new Map<string, Index>();

  constructor() {
    for (const [type, fields] of Object.entries(TEXT_FIELDS_OF)) {
      for (const field of fields) {
        this.indexes.set(key(type, field), new Index({ tokenize: PREFIXED.has(field) ? 'forward' : 'strict', encode: split, fastupdate: true, resolution: 1 }));
      }
    }
  }

  put(resourceType: string, vseq: number, document: TextDocument): void {
    for (const field of TEXT_FIELDS_OF[resourceType] ?? []) {
      const text = document[field];
      if (text) this.index(resourceType, field).add(vseq, text);
    }
  }

  remove(resourceType: string, vseq: number): void {
    for (const field of TEXT_FIELDS_OF[resourceType] ?? []) this.index(resourceType, field).remove(vseq);
  }

  /** The vseqs whose field has a word beginning with each term (whole words for content and text), best first. */
  search(resourceType: string, field: TextField, terms: readonly string[], limit: number): number[] {
    if (terms.length === 0) return [];
    return this.index(resourceType, field).search(terms.join(' '), { limit }) as number[];
  }

  /** Every index as [key, chunk key, data] triples, for a snapshot. */
  async exportAll(): Promise<Array<[string, string, string]>> {
    const chunks: Array<[string, string, string]> = [];
    for (const [name, index] of this.indexes) {
      await index.export((chunkKey: string | number, data: string) => {
        if (data !== undefined && data !== null) chunks.push([name, String(chunkKey), data]);
      });
    }
    return chunks;
  }

  importChunk(name: string, chunkKey: string, data: string): void {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`No text index '${name}'`);
    // Import adds ids to a Set register; a fastupdate index has a Map (see finishImport).
    const internals = index as unknown as FlexInternals;
    if (!(internals.reg instanceof Set)) internals.reg = new Set();
    index.import(chunkKey, data);
  }

  /**
   * After the chunks are imported: FlexSearch's import turns `fastupdate` off and keeps only the ids in its
   * register (flexsearch 0.8.212, serialize.js), so every later removal would scan the whole index. The register
   * is rebuilt as `add` makes it: each id → the posting lists that hold it.
   */
  finishImport(): void {
    for (const index of this.indexes.values()) {
      const internals = index as unknown as FlexInternals;
      const register = new Map<number, number[][]>();
      for (const slots of internals.map.values()) {
        for (const postings of slots) {
          if (!postings) continue;
          for (const id of postings) {
            const lists = register.get(id);
            if (lists) lists.push(postings);
            else register.set(id, [postings]);
          }
        }
      }
      internals.reg = register;
      internals.fastupdate = true;
    }
  }

  private index(resourceType: string, field: TextField): Index {
    const index = this.indexes.get(key(resourceType, field));
    if (!index) throw new Error(`${resourceType} has no text index`);
    return index;
  }
}

/** The parts of a FlexSearch Index that finishImport rebuilds (not in its typings). */
interface FlexInternals {
  map: Map<string, Array<number[] | undefined>>;
  reg: Map<number, number[][]> | Set<number>;
  fastupdate: boolean;
}

const key = (resourceType: string, field: TextField) => `${resourceType}.${field}`;
