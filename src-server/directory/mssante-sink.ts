import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MailboxOwners } from '../store/directory-queries';
import { MSSANTE_EXTENSION } from './codes';
import { practitionerId } from './ids';
import type { MssanteRecord } from './layouts';
import { mailboxPoint, withMailboxes, type ContactPoint } from './mailboxes';
import { storedResource } from './activity-sink';
import type { ImportBatch } from './import-batch';
import type { ArchiveCounts } from './archive-guard';

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
  constructor(
    /**
     * A mailbox line's owner, straight from the search index rows: a search through the engine cost several times the
     * rest of the line.
     */
    private readonly owners: MailboxOwners,
    private readonly batch: ImportBatch,
  ) {}

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

  /**
   * Writes the mailboxes. `removeAbsent`: those of the resources the file no longer names go (the file is the whole
   * list), after `check` was told how many resources would lose all theirs (archive-guard.ts); else the file only adds.
   */
  async finish(check: (counts: ArchiveCounts) => void, removeAbsent: boolean): Promise<{ unmatchedMailboxes: number }> {
    const withMailboxesNow: string[] = [];
    if (removeAbsent) {
      // Every directory resource is read: a page at a time, the node answering between two.
      for (const page of this.owners.holding(MSSANTE_EXTENSION)) {
        withMailboxesNow.push(...page);
        await nextTurn();
      }
    }
    const losing = withMailboxesNow.filter((target) => !this.mailboxes.has(target)).length;
    check({ mailboxes: { archiving: losing, active: withMailboxesNow.length } });
    const targets = new Set([...this.mailboxes.keys(), ...withMailboxesNow]);
    for (const target of targets) {
      const [resourceType, id] = target.split('/');
      const mailboxes = this.mailboxes.get(target) ?? [];
      this.batch.put(resourceType, id, (current) => (current ? withMailboxes(storedResource(current), mailboxes) : undefined));
      // The national file writes some 400,000 resources here: queued a batch at a time, in short transactions.
      if (this.batch.queued >= WRITE_BATCH) await this.batch.flush();
    }
    await this.batch.flush();
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
        return record.structureId ? this.owners.organizationsWithIdentifier(record.structureId).map((id) => `Organization/${id}`) : [];
      default:
        return undefined;
    }
  }

  private personTargets(record: MssanteRecord): string[] {
    const idnps = record.idnps || (record.ppId && `${record.ppIdType}${record.ppId}`);
    if (!idnps) return [];
    const practitioner = practitionerId(idnps);
    if (record.structureId) {
      const roles = this.owners.rolesOfAt(practitioner, record.structureId);
      if (roles.length > 0) return roles.map((id) => `PractitionerRole/${id}`);
    }
    return this.owners.practitionerExistsWithId(practitioner) ? [`Practitioner/${practitioner}`] : [];
  }
}
