import { Index } from 'flexsearch';
import { TEXT_FIELDS_OF, type TextDocument, type TextField } from '../../src-server/fhir/search/text-fields';

/**
 * The text index as FlexSearch's public API alone would hold it, for the text-index bench to weigh against
 * src-server/text/flex-indexes.ts (which fills and reads FlexSearch's `map` itself): the same indexes and options, but
 * documents added by vseq with the register `remove` needs (`fastupdate`), searched with `search`, saved with
 * `export` and read back with `import`. Only what the bench measures.
 */
export class PublicApiIndexes {
  private readonly indexes = new Map<string, Index>();

  /** `fastupdate: false` for an index to import into: FlexSearch's import cannot fill a register (it throws). */
  constructor(fastupdate = true) {
    for (const [type, fields] of Object.entries(TEXT_FIELDS_OF)) {
      for (const field of fields) {
        const tokenize = field === 'name' || field === 'address' ? 'forward' : 'strict';
        this.indexes.set(`${type}.${field}`, new Index({ tokenize, encode: (text: string) => (text ? text.split(' ') : []), resolution: 1, fastupdate }));
      }
    }
  }

  /** As FlexIndexes.put: what was indexed for the vseq is replaced. */
  put(resourceType: string, vseq: number, document: TextDocument): void {
    this.remove(vseq);
    for (const field of TEXT_FIELDS_OF[resourceType] ?? []) {
      const text = document[field];
      if (text) this.index(resourceType, field).add(vseq, text);
    }
  }

  remove(vseq: number): void {
    for (const index of this.indexes.values()) index.remove(vseq);
  }

  sweepWhenIdle(): void {}

  search(resourceType: string, field: TextField, terms: readonly string[], limit: number): number[] {
    return this.index(resourceType, field).search(terms.join(' '), { limit }) as number[];
  }

  /** FlexSearch's export of every index, kept in memory (each chunk is a JSON string). */
  export(): Map<string, Array<[string, string]>> {
    const chunks = new Map<string, Array<[string, string]>>();
    for (const [name, index] of this.indexes) {
      const own: Array<[string, string]> = [];
      index.export((key: string, data: string) => {
        own.push([key, data]);
      });
      chunks.set(name, own);
    }
    return chunks;
  }

  import(chunks: Map<string, Array<[string, string]>>): void {
    for (const [name, own] of chunks) for (const [key, data] of own) this.indexes.get(name)?.import(key, data);
  }

  private index(resourceType: string, field: TextField): Index {
    const index = this.indexes.get(`${resourceType}.${field}`);
    if (!index) throw new Error(`${resourceType} has no text index`);
    return index;
  }
}
