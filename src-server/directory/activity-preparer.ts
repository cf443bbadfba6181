import { FhirError } from '../fhir/outcome';
import type { SearchParameters } from '../fhir/search/parameters';
import { prepareWrite, type PreparedWrite } from '../store/prepared-write';
import type { ImportedType } from './ids';
import type { ActivityRecord } from './layouts';
import { idnpsOf, mapPerson, type Resource } from './person-resources';
import { holdsImport } from './same-content';

/**
 * The activity file's lines → resources, in the import's own thread. A person's lines come together in the file (it
 * is sorted by person): they are mapped as one group when the next person starts. A resource new to the store is
 * checked and its index rows made here (prepareWrite), so that the storing thread only stores it; one the store holds
 * already as the file has it is only counted (the daily re-import changes 1 % of them): the storing thread, which is
 * the node's, never reads it.
 */

/**
 * A resource of the file, as the storing thread gets it:
 * - prepared: new to the store when this thread looked, checked and indexed;
 * - existing: in the store already, as JSON: the storing thread compares it with the current version (the daily re-import
 *   changes few), and checks and indexes it itself if it changed;
 * - unprepared: the storing thread checks and indexes it itself (the checks refused it, and the storing thread's will say why; or it
 *   has a parameter the storing thread had no id for).
 */
export type MappedResource =
  | { prepared: PreparedWrite }
  | { existing: { resourceType: string; id: string; json: string } }
  | { unprepared: Resource };

/** The resource's current version in the store, as JSON (read by this thread); undefined when it has none. */
type Current = (resourceType: string, id: string) => string | undefined;

/** The type and id of a mapped resource. */
export const keyOf = (mapped: MappedResource): { resourceType: string; id: string } =>
  'prepared' in mapped ? mapped.prepared : 'existing' in mapped ? mapped.existing : mapped.unprepared;

/** Parameter ids by resource type and code (SearchIndex.paramIdsOf), from the storing thread's database. */
export type ParameterIds = Record<string, Record<string, number>>;

const NATIONAL_ID = /^[0-9A-Za-z]{1,30}$/;

export class ActivityPreparer {
  persons = 0;
  private group: ActivityRecord[] = [];
  private groupKey = '';
  private mapped: MappedResource[] = [];
  /** Resources the store holds as the file has them, by type, since the last `take`. */
  private unchanged: Partial<Record<ImportedType, number>> = {};
  private readonly seen: Record<ImportedType, Set<string>> = { Practitioner: new Set(), PractitionerRole: new Set(), Organization: new Set() };

  constructor(
    /** The definitions in force where the storing thread runs: the index rows are made under them. */
    private readonly definitions: SearchParameters,
    private readonly parameterIds: ParameterIds,
    /** Absent: the ids of the file are only noted (the archiving guard's reading), nothing is mapped. */
    private current?: Current,
  ) {}

  /** From now on, the ids of the file are only noted. */
  idsOnly(): void {
    this.current = undefined;
    this.mapped = [];
    this.unchanged = {};
  }

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

  /** The ids among `stored` (ids of a type the store has) that this file did not have. */
  unseen(resourceType: ImportedType, stored: Iterable<string>): string[] {
    const seen = this.seen[resourceType];
    const unseen: string[] = [];
    for (const id of stored) if (!seen.has(id)) unseen.push(id);
    return unseen;
  }

  /** The resources mapped since the last call (the person being read stays open until `finish`), and those unchanged. */
  take(): { resources: MappedResource[]; unchanged: Partial<Record<ImportedType, number>> } {
    const taken = { resources: this.mapped, unchanged: this.unchanged };
    this.mapped = [];
    this.unchanged = {};
    return taken;
  }

  finish(): { resources: MappedResource[]; unchanged: Partial<Record<ImportedType, number>> } {
    this.mapGroup();
    return this.take();
  }

  private mapGroup(): void {
    if (this.group.length === 0) return;
    const { practitioner, roles, organizations } = mapPerson(this.group);
    this.group = [];
    this.persons++;
    // A person or site already mapped by this import (a person whose lines are not together, a shared site): the
    // first occurrence stands.
    for (const resource of [practitioner, ...roles, ...organizations]) {
      const type = resource.resourceType as ImportedType;
      const seen = this.seen[type];
      if (seen.has(resource.id)) continue;
      seen.add(resource.id);
      if (!this.current) continue;
      const { resourceType, id } = resource;
      const current = this.current(resourceType, id);
      if (current === undefined) {
        this.mapped.push(this.prepare(resource));
        continue;
      }
      const json = JSON.stringify(resource);
      if (holdsImport(current, resource, json)) this.unchanged[type] = (this.unchanged[type] ?? 0) + 1;
      else this.mapped.push({ existing: { resourceType, id, json } });
    }
  }

  private prepare(resource: Resource): MappedResource {
    const ids = this.parameterIds[resource.resourceType] ?? {};
    try {
      return {
        prepared: prepareWrite(resource, this.definitions, (code) => {
          const pid = ids[code];
          if (pid === undefined) throw new UnknownParameter();
          return pid;
        }),
      };
    } catch (error) {
      if (error instanceof FhirError || error instanceof UnknownParameter) return { unprepared: resource };
      throw error;
    }
  }
}

/** A parameter the storing thread's database had no id for (a custom one added since): the storing thread then indexes it itself. */
class UnknownParameter extends Error {}
