import { customDefinition } from '../fhir/search/custom-parameters';
import { SearchParameters, type SearchParameterDefinition } from '../fhir/search/parameters';
import type { Db } from './database';

/**
 * The registry of custom SearchParameters, one per open store (DESIGN §4): the definitions in force in this store,
 * read from its current, active SearchParameter resources when it opens, and followed by every SearchParameter write
 * in that write's transaction. Several stores open in one process (sync tests run several nodes) each keep their own.
 */
export class CustomParameters {
  private inForce: SearchParameters;

  constructor(private readonly db: Db) {
    this.inForce = definitionsOf(db);
  }

  /** The built-in definitions with this store's custom ones. */
  get definitions(): SearchParameters {
    return this.inForce;
  }

  /** Puts other definitions in force (a SearchParameter write, inside its transaction). */
  use(definitions: SearchParameters): void {
    this.inForce = definitions;
  }

  /** The custom definitions the store holds now, in force or not. */
  stored(): SearchParameterDefinition[] {
    return readCustomParameters(this.db);
  }

  /** Puts the store's own definitions back in force: after a transaction that changed them rolled back. */
  reload(): void {
    this.inForce = definitionsOf(this.db);
  }
}

/** The definitions a store's SearchParameters put in force, without keeping a registry (checks, tests). */
export function definitionsOf(db: Db): SearchParameters {
  return SearchParameters.withCustom(readCustomParameters(db));
}

/** The custom definitions in force in the store: its current, active SearchParameter resources. */
function readCustomParameters(db: Db): SearchParameterDefinition[] {
  const rows = db
    .prepare<[], { body: string }>(
      `SELECT v.body FROM resources r JOIN resource_versions v ON v.vseq = r.vseq WHERE r.resource_type = 'SearchParameter' ORDER BY r.resource_id`,
    )
    .all();
  return rows.flatMap((row) => {
    const definition = customDefinition(JSON.parse(row.body) as Record<string, unknown>);
    return definition ? [definition] : [];
  });
}
