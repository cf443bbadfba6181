import type { Db } from '../storage/database';
import { ID_PREFIXES } from './ids';
import type { ActivityRecord } from './layouts';
import { mailboxesIn, withMailboxes } from './mailboxes';
import { idnpsOf, mapPerson, type Resource } from './map-activity';
import type { DirectoryWriter } from './writer';

/**
 * The activity file's lines → resources. A person's lines come together in the file (it is sorted by person): they
 * are mapped as one group when the next person starts. What this import did not see is archived at the end.
 */

const NATIONAL_ID = /^[0-9A-Za-z]{1,30}$/;
const ARCHIVE_BATCH = 2000;

export class ActivitySink {
  private group: ActivityRecord[] = [];
  private groupKey = '';
  private persons = 0;
  private readonly seen = { Practitioner: new Set<string>(), PractitionerRole: new Set<string>(), Organization: new Set<string>() };

  constructor(
    private readonly db: Db,
    private readonly writer: DirectoryWriter,
  ) {}

  /** Takes a line, or says why it cannot. */
  accept(record: ActivityRecord): string | undefined {
    if (!record.ppId) return "no 'Identifiant PP'";
    const idnps = idnpsOf(record);
    if (!NATIONAL_ID.test(idnps)) return `'Identification nationale PP' is not a national identifier`;
    if (!record.familyName) return "no 'Nom d'exercice'";
    if (idnps !== this.groupKey) this.mapGroup();
    this.groupKey = idnps;
    this.group.push(record);
    return undefined;
  }

  /** After each batch of lines: what is mapped is written (the person being read stays open). */
  endBatch(): void {
    this.writer.flush();
  }

  finish(): { persons: number } {
    this.mapGroup();
    this.writer.flush();
    for (const resourceType of ['PractitionerRole', 'Practitioner', 'Organization'] as const) this.archiveUnseen(resourceType);
    return { persons: this.persons };
  }

  private mapGroup(): void {
    if (this.group.length === 0) return;
    const { practitioner, roles, organizations } = mapPerson(this.group);
    this.group = [];
    this.persons++;
    // A person or site already written by this import (a person whose lines are not together, a shared site):
    // the first occurrence stands.
    for (const resource of [practitioner, ...roles, ...organizations]) {
      const seen = this.seen[resource.resourceType as keyof ActivitySink['seen']];
      if (seen.has(resource.id)) continue;
      seen.add(resource.id);
      this.writer.put(resource.resourceType, resource.id, (current) => keepMailboxes(resource, current));
    }
  }

  /** Sets `active: false` on the resources of this import's kind that the file no longer has. Never deletes. */
  private archiveUnseen(resourceType: keyof ActivitySink['seen']): void {
    const prefix = ID_PREFIXES[resourceType];
    const ids = this.db
      .prepare<[string, string, string], string>('SELECT resource_id FROM resources WHERE resource_type = ? AND resource_id >= ? AND resource_id < ?')
      .pluck()
      .all(resourceType, prefix, `${prefix}\uffff`);
    const seen = this.seen[resourceType];
    for (const id of ids) {
      if (seen.has(id)) continue;
      this.writer.put(resourceType, id, archived, 'archived');
      if (this.writer.queued >= ARCHIVE_BATCH) this.writer.flush();
    }
    this.writer.flush();
  }
}

/** The MSSanté import owns the mailboxes: a new version of the activity keeps them. */
const keepMailboxes = (resource: Resource, current: string | undefined): Resource => {
  const mailboxes = mailboxesIn(current);
  return mailboxes.length > 0 ? withMailboxes(resource, mailboxes) : resource;
};

function archived(current: string | undefined): Resource | undefined {
  if (!current) return undefined;
  const resource = storedResource(current);
  return resource.active === false ? undefined : { ...resource, active: false };
}

/** A stored version as the resource an import writes: its meta is the repository's. */
export function storedResource(json: string): Resource {
  const { meta: _meta, ...resource } = JSON.parse(json) as Resource;
  return resource;
}
