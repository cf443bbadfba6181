import type { Statement } from 'better-sqlite3';
import type { Db } from './database';

/**
 * A practitioner's `address` and `telecom` (and the parameters reading their rows: `address-city`,
 * `address-postalcode`, `email`, `phone`…) also match where they work: the addresses of their active roles'
 * Organizations and their roles' telecoms, MSSanté mailboxes included. Lifen's directory answers them so, its
 * Practitioner holding what the Annuaire Santé puts on the roles.
 *
 * No FHIRPath expression reaches another resource, so these values are copied, index row to index row, onto the
 * practitioner's current version under parameters of their own (`WORKPLACE_CODES`), which the queries of
 * `address` and `telecom` read beside the practitioner's own rows (SearchIndex.rowsOf). A write of a Practitioner,
 * a PractitionerRole or an Organization marks the practitioners concerned; they are derived again once the rows of
 * the write are in, in its transaction (at the end of a bulk write: the directory import, a reindex).
 */

/** The practitioner's parameter whose rows the workplace rows join → the code they are kept under. */
export const WORKPLACE_CODES: Readonly<Record<string, string>> = { address: '_workplace-address', telecom: '_workplace-telecom' };
const WORKPLACE_TYPES: ReadonlySet<string> = new Set(['Practitioner', 'PractitionerRole', 'Organization']);

/** The index's ids and row conditions the derivation needs. */
export interface WorkplaceIndex {
  paramId(resourceType: string, code: string): number;
  /** The rows of a parameter as an SQL condition on columns `column(name)` (SearchIndex.rowsOf). */
  rowsOf(resourceType: string, code: string, column: (name: string) => string): string;
}

export class WorkplaceRows {
  private readonly pending = { practitioners: new Set<string>(), roles: new Set<string>(), organizations: new Set<string>() };
  /** Practitioner versions written since the last flush: they have no workplace rows yet, nothing to delete. */
  private readonly fresh = new Set<number>();
  private statements: ReturnType<typeof prepare> | undefined;
  private readonly idOf: Statement<[number], string>;

  constructor(
    private readonly db: Db,
    private readonly index: WorkplaceIndex,
  ) {
    this.idOf = db.prepare<[number], string>('SELECT resource_id FROM resource_versions WHERE vseq = ?').pluck();
  }

  /** Whether a write of this type may change some practitioner's workplace rows. */
  static concerns(resourceType: string | undefined): boolean {
    return resourceType !== undefined && WORKPLACE_TYPES.has(resourceType);
  }

  /**
   * Notes a version of a directory type about to be written: before the rows of the version it replaces go (a role
   * may have named another practitioner).
   */
  written(resourceType: string, vseq: number, replacedVseq: number | undefined): void {
    const id = this.idOf.get(vseq);
    if (id === undefined) return;
    if (resourceType === 'Practitioner') {
      this.pending.practitioners.add(id);
      this.fresh.add(vseq);
    }
    else if (resourceType === 'Organization') this.pending.organizations.add(id);
    else if (resourceType === 'PractitionerRole') {
      this.pending.roles.add(id);
      if (replacedVseq !== undefined) for (const practitioner of this.sql().practitionersOfRoleVersion.all(replacedVseq)) this.pending.practitioners.add(practitioner);
    }
  }

  /** Derives the rows of the practitioners marked, once the rows of the writes are in the tables. */
  flush(): void {
    const { practitioners, roles, organizations } = this.pending;
    if (practitioners.size + roles.size + organizations.size === 0) return;
    const sql = this.sql();
    for (const role of roles) for (const practitioner of sql.practitionersOfRole.all(role)) practitioners.add(practitioner);
    for (const organization of organizations) for (const practitioner of sql.practitionersAt.all(organization)) practitioners.add(practitioner);
    for (const practitioner of practitioners) {
      const vseq = sql.currentPractitioner.get(practitioner);
      if (vseq === undefined) continue;
      if (!this.fresh.has(vseq)) {
        sql.deleteTelecoms.run(vseq);
        sql.deleteAddresses.run(vseq);
      }
      sql.insertTelecoms.run({ vseq, practitioner });
      sql.insertAddresses.run({ vseq, practitioner });
    }
    this.discard();
  }

  /** Forgets what was marked (the transaction rolled back). */
  discard(): void {
    for (const set of Object.values(this.pending)) set.clear();
    this.fresh.clear();
  }

  /** Prepared on first use: the parameter ids are made by the first write of the types. */
  private sql(): ReturnType<typeof prepare> {
    return (this.statements ??= prepare(this.db, this.index));
  }
}

function prepare(db: Db, index: WorkplaceIndex) {
  const telecomPid = index.paramId('Practitioner', WORKPLACE_CODES.telecom);
  const addressPid = index.paramId('Practitioner', WORKPLACE_CODES.address);
  const rolePractitioner = (alias: string) => `${index.rowsOf('PractitionerRole', 'practitioner', (column) => `${alias}.${column}`)} AND ${alias}.target_type = 'Practitioner'`;
  const roleOrganization = index.rowsOf('PractitionerRole', 'organization', (column) => `o.${column}`);
  const roleTelecom = index.rowsOf('PractitionerRole', 'telecom', (column) => `t.${column}`);
  const organizationAddress = index.rowsOf('Organization', 'address', (column) => `s.${column}`);
  const inactive = `EXISTS (SELECT 1 FROM idx_token a WHERE a.vseq = p.vseq AND ${index.rowsOf('PractitionerRole', 'active', (column) => `a.${column}`)} AND a.code = 'false')`;
  // The practitioner's role rows first (lookup index), then each role's rows by their key (vseq first).
  const activeRolesOf = `idx_reference p WHERE ${rolePractitioner('p')} AND p.target_id = ? AND NOT ${inactive}`;
  return {
    currentPractitioner: db.prepare<[string], number>("SELECT vseq FROM resources WHERE resource_type = 'Practitioner' AND resource_id = ?").pluck(),
    practitionersOfRoleVersion: db.prepare<[number], string>(`SELECT p.target_id FROM idx_reference p WHERE p.vseq = ? AND ${rolePractitioner('p')}`).pluck(),
    practitionersOfRole: db
      .prepare<[string], string>(
        `SELECT p.target_id FROM resources r CROSS JOIN idx_reference p ON p.vseq = r.vseq AND ${rolePractitioner('p')}
         WHERE r.resource_type = 'PractitionerRole' AND r.resource_id = ?`,
      )
      .pluck(),
    practitionersAt: db
      .prepare<[string], string>(
        `SELECT DISTINCT p.target_id FROM idx_reference o CROSS JOIN idx_reference p ON p.vseq = o.vseq AND ${rolePractitioner('p')}
         WHERE ${roleOrganization} AND o.target_type = 'Organization' AND o.target_id = ?`,
      )
      .pluck(),
    deleteTelecoms: db.prepare<[number]>(`DELETE FROM idx_token WHERE vseq = ? AND pid = ${telecomPid}`),
    deleteAddresses: db.prepare<[number]>(`DELETE FROM idx_string WHERE vseq = ? AND pid = ${addressPid}`),
    insertTelecoms: db.prepare<[{ vseq: number; practitioner: string }]>(
      `INSERT OR IGNORE INTO idx_token (vseq, pid, system, code, text)
       SELECT @vseq, ${telecomPid}, t.system, t.code, t.text FROM (SELECT p.vseq FROM ${activeRolesOf.replace('?', '@practitioner')}) roles
       CROSS JOIN idx_token t ON t.vseq = roles.vseq AND ${roleTelecom}`,
    ),
    insertAddresses: db.prepare<[{ vseq: number; practitioner: string }]>(
      `INSERT OR IGNORE INTO idx_string (vseq, pid, part, value, exact)
       SELECT @vseq, ${addressPid}, s.part, s.value, s.exact FROM (SELECT p.vseq FROM ${activeRolesOf.replace('?', '@practitioner')}) roles
       CROSS JOIN idx_reference o ON o.vseq = roles.vseq AND ${roleOrganization} AND o.target_type = 'Organization'
       CROSS JOIN resources site ON site.resource_type = 'Organization' AND site.resource_id = o.target_id
       CROSS JOIN idx_string s ON s.vseq = site.vseq AND ${organizationAddress}`,
    ),
  };
}
