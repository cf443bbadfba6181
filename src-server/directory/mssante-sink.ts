import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/database';
import type { SearchIndex } from '../store/search-index';
import { MSSANTE_EXTENSION } from './codes';
import { practitionerId } from './ids';
import type { MssanteRecord } from './layouts';
import { mailboxPoint, withMailboxes, type ContactPoint } from './mailboxes';
import { storedResource } from './activity-sink';
import type { DirectoryWriter } from './import-batch';

/**
 * The MSSanté file's mailboxes → `telecom` of the directory resources the activity import wrote. A personal (PER)
 * mailbox goes to the person's roles at the mailbox's structure when there are some, else to the Practitioner; an
 * organisational (ORG) or applicative (APP) one to the Organization. Each resource ends with exactly the mailboxes
 * of the latest file: the ones that disappeared go.
 */

const WRITE_BATCH = 2000;

export class MssanteSink {
  /** Mailboxes per target resource ("Type/id"), in file order. */
  private readonly mailboxes = new Map<string, ContactPoint[]>();
  private unmatched = 0;
  /**
   * A mailbox line's owner, straight from the search index rows (which describe current versions only): a search
   * through the engine (parse, plan, probe, page, bodies) cost several times the rest of the line.
   */
  private readonly organizationsById: Statement<[string], string>;
  private readonly rolesAt: Statement<[string, string], string>;
  private readonly practitionerExists: Statement<[string], number>;

  constructor(
    private readonly db: Db,
    index: SearchIndex,
    private readonly writer: DirectoryWriter,
  ) {
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
  }

  accept(record: MssanteRecord): string | undefined {
    if (!/^[^@\s]+@[^@\s]+$/.test(record.mailbox)) return "'Adresse BAL' is not a mail address";
    const targets = this.targetsOf(record);
    if (targets === undefined) return `unknown 'Type de BAL' '${record.mailboxType.slice(0, 10)}'`;
    if (targets.length === 0) this.unmatched++;
    for (const target of targets) {
      const list = this.mailboxes.get(target) ?? [];
      if (!list.some((point) => point.value === record.mailbox)) list.push(mailboxPoint(record.mailbox, record.mailboxType));
      this.mailboxes.set(target, list);
    }
    return undefined;
  }

  finish(): { unmatchedMailboxes: number } {
    const withMailboxesNow = this.db
      .prepare<[string], { resource_type: string; resource_id: string }>(
        `SELECT r.resource_type, r.resource_id FROM resources r JOIN resource_versions v ON v.vseq = r.vseq
         WHERE r.resource_type IN ('Practitioner', 'PractitionerRole', 'Organization') AND instr(v.body, ?) > 0`,
      )
      .all(MSSANTE_EXTENSION)
      .map((row) => `${row.resource_type}/${row.resource_id}`);
    const targets = new Set([...this.mailboxes.keys(), ...withMailboxesNow]);
    for (const target of targets) {
      const [resourceType, id] = target.split('/');
      const mailboxes = this.mailboxes.get(target) ?? [];
      this.writer.put(resourceType, id, (current) => (current ? withMailboxes(storedResource(current), mailboxes) : undefined));
      if (this.writer.queued >= WRITE_BATCH) this.writer.flush();
    }
    this.writer.flush();
    return { unmatchedMailboxes: this.unmatched };
  }

  /** Where a mailbox goes ("Type/id"), [] when its owner is not in the directory, undefined for an unknown type. */
  private targetsOf(record: MssanteRecord): string[] | undefined {
    switch (record.mailboxType) {
      case 'PER':
      case 'CAB':
        return this.personTargets(record);
      case 'ORG':
      case 'APP':
        return record.structureId ? this.organizationsById.all(record.structureId).map((id) => `Organization/${id}`) : [];
      default:
        return undefined;
    }
  }

  private personTargets(record: MssanteRecord): string[] {
    const idnps = record.idnps || (record.ppId && `${record.ppIdType}${record.ppId}`);
    if (!idnps) return [];
    const practitioner = practitionerId(idnps);
    if (record.structureId) {
      const roles = this.rolesAt.all(practitioner, record.structureId);
      if (roles.length > 0) return roles.map((id) => `PractitionerRole/${id}`);
    }
    return this.practitionerExists.get(practitioner) ? [`Practitioner/${practitioner}`] : [];
  }
}
