import type { Statement } from 'better-sqlite3';
import type { Db } from './database';
import type { SearchIndex } from './search-index';

/**
 * What the directory's modules ask of the search index rows (current versions only) without a search: a search
 * through the engine (parse, plan, probe, page, bodies) cost several times what these lookups do, once per line of a
 * national extraction or per change the text index follows.
 */

/**
 * Who works where, from PractitionerRoles' rows, on any connection (the text index's thread reads it: a practitioner's
 * `name` holds the cities they work in). A parameter's id is read once the writer has made it.
 */
export class Workplaces {
  private readonly paramId: Statement<[string, string], { pid: number }>;
  private readonly sites: Statement<[number, number, string, number], string>;
  private readonly practitioners: Statement<[number, number, string], string>;
  private readonly pids = new Map<string, number>();

  constructor(db: Db) {
    this.paramId = db.prepare('SELECT pid FROM search_params WHERE resource_type = ? AND code = ?');
    this.sites = db
      .prepare<[number, number, string, number], string>(
        // From the index rows of the practitioner's current roles, without reading their bodies; CROSS JOIN: the
        // practitioner's rows first (lookup index), then each role's organization row by its key.
        `SELECT o.target_id FROM idx_reference p CROSS JOIN idx_reference o ON o.vseq = p.vseq AND o.pid = ? AND o.target_type = 'Organization'
         WHERE p.pid = ? AND p.target_id = ? AND p.target_type = 'Practitioner'
         AND NOT EXISTS (SELECT 1 FROM idx_token a WHERE a.vseq = p.vseq AND a.pid = ? AND a.code = 'false')`,
      )
      .pluck();
    this.practitioners = db
      .prepare<[number, number, string], string>(
        // CROSS JOIN: the site's role rows first (lookup index), then each role's practitioner row by its key;
        // without statistics SQLite walked every practitioner row instead (1.4 ms a change).
        `SELECT DISTINCT p.target_id FROM idx_reference o CROSS JOIN idx_reference p ON p.vseq = o.vseq AND p.pid = ?
         WHERE o.pid = ? AND o.target_id = ? AND o.target_type = 'Organization' AND p.target_type = 'Practitioner'`,
      )
      .pluck();
  }

  /** The Organizations of a practitioner's active roles. */
  sitesOf(practitionerId: string): string[] {
    const practitionerPid = this.pid('PractitionerRole', 'practitioner');
    const organizationPid = this.pid('PractitionerRole', 'organization');
    const activePid = this.pid('PractitionerRole', 'active') ?? -1;
    if (practitionerPid === undefined || organizationPid === undefined) return [];
    return this.sites.all(organizationPid, practitionerPid, practitionerId, activePid);
  }

  /** Practitioners with a role at an Organization. */
  practitionersAt(organizationId: string): string[] {
    const organizationPid = this.pid('PractitionerRole', 'organization');
    const practitionerPid = this.pid('PractitionerRole', 'practitioner');
    if (organizationPid === undefined || practitionerPid === undefined) return [];
    return this.practitioners.all(practitionerPid, organizationPid, organizationId);
  }

  /** A parameter's id, once the index has one (it is made on first use, by the writer). */
  private pid(type: string, code: string): number | undefined {
    const key = `${type}.${code}`;
    let pid = this.pids.get(key);
    if (pid === undefined) {
      pid = this.paramId.get(type, code)?.pid;
      if (pid !== undefined) this.pids.set(key, pid);
    }
    return pid;
  }
}

/** The owners of the MSSanté file's mailboxes (directory/mssante-sink.ts), on the writer's connection. */
export class MailboxOwners {
  private readonly organizationsById: Statement<[string], string>;
  private readonly rolesAt: Statement<[string, string], string>;
  private readonly practitionerExists: Statement<[string], number>;
  private readonly withTextFrom: Statement<[string, string, string, number], { resource_id: string; holds: number }>;

  constructor(db: Db, index: SearchIndex) {
    // `identifier` (any system) of Organizations, as `Organization?identifier=<value>` matches it.
    const organizationIdentifier = index.rowsOf('Organization', 'identifier', (column) => `t.${column}`);
    this.organizationsById = db
      .prepare<[string], string>(`SELECT v.resource_id FROM idx_token t JOIN resource_versions v ON v.vseq = t.vseq WHERE ${organizationIdentifier} AND t.code = ?`)
      .pluck();
    // The person's roles whose organization has that identifier (`PractitionerRole?practitioner=…&organization.identifier=…`).
    this.rolesAt = db
      .prepare<[string, string], string>(
        `SELECT DISTINCT v.resource_id FROM idx_reference p
         CROSS JOIN idx_reference o ON o.vseq = p.vseq AND ${index.rowsOf('PractitionerRole', 'organization', (column) => `o.${column}`)} AND o.target_type = 'Organization'
         CROSS JOIN resource_versions v ON v.vseq = p.vseq
         WHERE ${index.rowsOf('PractitionerRole', 'practitioner', (column) => `p.${column}`)} AND p.target_type = 'Practitioner' AND p.target_id = ?
         AND o.target_id IN (SELECT v2.resource_id FROM idx_token t JOIN resource_versions v2 ON v2.vseq = t.vseq WHERE ${organizationIdentifier} AND t.code = ?)`,
      )
      .pluck();
    this.practitionerExists = db.prepare<[string], number>("SELECT 1 FROM resources WHERE resource_type = 'Practitioner' AND resource_id = ?").pluck();
    this.withTextFrom = db.prepare(
      `SELECT r.resource_id, instr(v.body, ?) > 0 AS holds FROM resources r JOIN resource_versions v ON v.vseq = r.vseq
       WHERE r.resource_type = ? AND r.resource_id > ? ORDER BY r.resource_id LIMIT ?`,
    );
  }

  /** The Organizations with this identifier value (any system). */
  organizationsWithIdentifier(value: string): string[] {
    return this.organizationsById.all(value);
  }

  /** The practitioner's roles at the Organizations with this identifier value. */
  rolesOfAt(practitionerId: string, organizationIdentifier: string): string[] {
    return this.rolesAt.all(practitionerId, organizationIdentifier);
  }

  practitionerExistsWithId(practitionerId: string): boolean {
    return this.practitionerExists.get(practitionerId) !== undefined;
  }

  /**
   * The directory resources (`Type/id`) whose current JSON holds `text` (the MSSanté extension's URL: those with
   * mailboxes now), a page at a time: each page reads `pageRows` resources, so the caller can give the event loop a
   * turn between pages (the national directory has some 2 million resources to read).
   */
  *holding(text: string, pageRows = 1000): Generator<string[]> {
    for (const resourceType of ['Practitioner', 'PractitionerRole', 'Organization']) {
      for (let after = ''; ; ) {
        const rows = this.withTextFrom.all(text, resourceType, after, pageRows);
        if (rows.length === 0) break;
        after = rows[rows.length - 1].resource_id;
        yield rows.filter((row) => row.holds).map((row) => `${resourceType}/${row.resource_id}`);
      }
    }
  }
}

/**
 * The directory entries an import thread finds archived already (current version `active: false`), from the `active`
 * index rows: an import counts only the active ones it would archive (directory/archive-guard.ts).
 */
export class ArchivedEntries {
  private readonly inactive: Statement<[string, string, string, string], string>;

  constructor(db: Db) {
    this.inactive = db
      .prepare<[string, string, string, string], string>(
        `SELECT v.resource_id FROM search_params p CROSS JOIN idx_token a ON a.pid = p.pid AND a.code = 'false'
         CROSS JOIN resource_versions v ON v.vseq = a.vseq
         WHERE p.resource_type = ? AND p.code = 'active' AND v.resource_id >= ? AND v.resource_id < ? AND v.resource_type = ?`,
      )
      .pluck();
  }

  /** The ids of the type's archived resources that start with `prefix`. */
  idsStartingWith(resourceType: string, prefix: string): Set<string> {
    return new Set(this.inactive.all(resourceType, prefix, `${prefix}\uffff`, resourceType));
  }
}
